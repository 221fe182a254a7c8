"""Running sums and products along an axis: ``cumsum`` and ``cumprod`` (NumPy's, Theano's
``T.extra_ops.cumsum``, PyTensor's ``pt.cumsum``). ``axis=None`` runs over the flattened input."""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .errors import EgoptTypeError
from .ops import Op, register
from .types import TensorType

_HERE = "egopt/lang/cumulative.py"


def _axis(axis, ndim: int, name: str):
    if axis is None:
        return None
    if not -ndim <= axis < max(ndim, 1):
        raise EgoptTypeError(f"{name}: axis {axis} is out of range for a tensor of ndim {ndim}")
    return int(axis) % max(ndim, 1)


def _infer(name: str):
    def infer(params, t: TensorType) -> TensorType:
        dtype = getattr(np, name)(np.zeros(1, dtype=t.dtype)).dtype.name   # NumPy's accumulator dtype
        if params["axis"] is None:
            size = None if None in t.shape else int(np.prod(t.shape, dtype=np.int64))
            return TensorType(dtype, (size,))
        if t.ndim == 0:
            raise EgoptTypeError(f"{name}: a scalar has no axis {params['axis']}; use axis=None")
        return TensorType(dtype, t.shape)
    return infer


def _reversed_cumsum(g, axis: int):
    flip = (slice(None),) * axis + (slice(None, None, -1),)
    return cumsum(g[flip], axis=axis)[flip]


def _cumsum_vjp(node, g):
    x, axis = node.inputs[0], node.params["axis"]
    if not dtypes.is_differentiable(x.dtype):
        return [None]
    if axis is None:
        return [F.reshape(_reversed_cumsum(g, 0), F.shape(x), ndim=x.ndim)]
    return [_reversed_cumsum(g, axis)]


def _cumprod_vjp(node, g):
    """Theano's formula ``revcumsum(g * out) / x``: NaN where x holds a zero."""
    x, axis = node.inputs[0], node.params["axis"]
    if not dtypes.is_differentiable(x.dtype):
        return [None]
    out = node.outputs[0]
    if axis is None:
        return [F.reshape(_reversed_cumsum(g * out, 0), F.shape(x), ndim=x.ndim) / x]
    return [_reversed_cumsum(g * out, axis) / x]


cumsum_op = register(Op("cumsum", _infer("cumsum"), lambda params, x: np.cumsum(x, axis=params["axis"]),
                        _cumsum_vjp, kind="op", nin=1, flops=1.0, defined_in=_HERE))
cumprod_op = register(Op("cumprod", _infer("cumprod"), lambda params, x: np.cumprod(x, axis=params["axis"]),
                         _cumprod_vjp, kind="op", nin=1, flops=1.0, defined_in=_HERE))


def cumsum(x, axis=None):
    """Running sums along ``axis`` (None: over the flattened input), as ``np.cumsum``.

    >>> import egopt.tensor as T
    >>> v = T.dvector("v")
    >>> cumsum(v).eval({v: [1.0, 2.0, 3.0]})
    array([1., 3., 6.])
    """
    x = F.as_tensor_variable(x)
    return cumsum_op(x, axis=_axis(axis, x.ndim, "cumsum"))


def cumprod(x, axis=None):
    """Running products along ``axis`` (None: over the flattened input), as ``np.cumprod``."""
    x = F.as_tensor_variable(x)
    return cumprod_op(x, axis=_axis(axis, x.ndim, "cumprod"))
