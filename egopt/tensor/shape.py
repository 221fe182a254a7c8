"""PyTensor's ``pytensor.tensor.shape`` path (reshape, shape_padleft, specify_shape, ...); the
module is callable as ``T.shape(x)``, which importing it would otherwise hide."""
from .._modules import callable_module
from ..lang.frontend import (  # noqa: F401
    reshape, shape, shape_padaxis, shape_padleft, shape_padright, specify_shape, squeeze, unbroadcast,
)

callable_module(__name__, shape)
