"""Theano's ``theano.scan_module`` path: ``scan`` and ``until`` (re-exports only)."""
from .lang.scan import scan, until  # noqa: F401
