"""Theano's ``theano.scan_module`` path: ``scan``, ``until`` and the views (re-exports only)."""
from .lang.scan import foldl, foldr, map, reduce, scan, scan_last, until  # noqa: F401
