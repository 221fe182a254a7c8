"""Module paths that share their name with a function of the package above them
(``theano.tensor.var`` and ``T.var``, ``pytensor.tensor.shape`` and ``T.shape``,
``theano.compile.function``, ``pytensor.scan``): importing such a module makes it the package's
attribute, so the module is made callable as the function it hides."""
from __future__ import annotations

import sys
import types
from typing import Callable


def callable_module(name: str, fn: Callable) -> None:
    """Make the module ``name`` callable as ``fn``."""
    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return fn(*args, **kwargs)
    _CallableModule.__name__ = f"callable_module[{fn.__name__}]"
    sys.modules[name].__class__ = _CallableModule
