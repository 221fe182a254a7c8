"""Theano's ``theano.compile.function`` path (``from theano.compile.function import function``).
Importing it makes ``egopt.compile.function`` this module, so the module itself is callable, as
``theano.compile.function(...)`` is."""
import sys
import types

from ..runtime import function  # noqa: F401


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return function(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
