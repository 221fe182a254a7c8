"""Theano's ``theano.tensor.var`` path (``TensorVariable``, ``TensorConstant``); the module is
callable as the variance ``T.var(x, ...)``, which importing it would otherwise hide."""
from .._modules import callable_module
from ..lang.frontend import var as _variance
from ..lang.graph import Constant as TensorConstant, Variable as TensorVariable  # noqa: F401
from ..lang.shared import SharedVariable as TensorSharedVariable  # noqa: F401

callable_module(__name__, _variance)
