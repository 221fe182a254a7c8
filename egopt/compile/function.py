"""Theano's ``theano.compile.function`` path."""
from ..runtime import function  # noqa: F401
