"""Theano's ``theano.compile.monitormode`` path."""
from ..runtime.monitor import MonitorMode  # noqa: F401
