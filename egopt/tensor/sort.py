"""PyTensor's ``pytensor.tensor.sort`` path (``sort``, ``argsort``); the module is callable as
``T.sort(x)``, which importing it would otherwise hide."""
from .._modules import callable_module
from ..lang.sorting import argsort, sort  # noqa: F401

callable_module(__name__, sort)
