"""Theano's ``theano.tensor.var`` path (``TensorVariable``, ``TensorConstant``). Importing it makes
``egopt.tensor.var`` this module, so the module is callable as the variance ``T.var(x, ...)``."""
import sys
import types

from ..lang.frontend import var as _variance
from ..lang.graph import Constant as TensorConstant, Variable as TensorVariable  # noqa: F401
from ..lang.shared import SharedVariable as TensorSharedVariable  # noqa: F401


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return _variance(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
