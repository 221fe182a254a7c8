"""Theano's ``theano.tensor.var`` / PyTensor's ``pytensor.tensor.variable`` paths."""
from ..lang.graph import Constant as TensorConstant, Variable as TensorVariable  # noqa: F401
from ..lang.shared import SharedVariable as TensorSharedVariable  # noqa: F401
