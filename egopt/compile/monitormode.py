"""Theano's ``theano.compile.monitormode`` path."""
from ..runtime.monitor import MonitorMode, detect_nan  # noqa: F401
