"""Theano's ``theano.compile.sharedvalue`` path."""
from ..lang.shared import SharedVariable, shared  # noqa: F401
