"""Theano's ``theano.compile.mode`` path: ``Mode``, ``get_mode``, ``get_default_mode``."""
from ..runtime.mode import Mode, PREDEFINED, get_default_mode, get_mode  # noqa: F401

FAST_RUN, FAST_COMPILE = PREDEFINED["FAST_RUN"], PREDEFINED["FAST_COMPILE"]
