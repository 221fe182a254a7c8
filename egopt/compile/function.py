"""Theano's ``theano.compile.function`` path (``from theano.compile.function import function``);
the module is callable, as ``theano.compile.function(...)`` is."""
from .._modules import callable_module
from ..runtime import function

callable_module(__name__, function)
