"""``sort`` and ``argsort`` along an axis (NumPy's, Theano's ``T.sort``/``T.argsort``, PyTensor's
``pt.sort``). ``axis=None`` sorts the flattened input. Sorting is stable for ``argsort``
(``kind="stable"``), so ties keep their order; the gradient of ``sort`` sends each output
element's gradient back to the input element it came from."""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .errors import EgoptTypeError
from .ops import Op, register
from .types import TensorType

_HERE = "egopt/lang/sorting.py"


def _axis(axis, ndim: int, name: str):
    if axis is None:
        return None
    if ndim == 0 or not -ndim <= axis < ndim:
        raise EgoptTypeError(f"{name}: axis {axis} is out of range for a tensor of ndim {ndim}; "
                             f"use axis=None for a scalar")
    return int(axis) % ndim


def _infer(out_dtype):
    def infer(params, t: TensorType) -> TensorType:
        dtype = out_dtype or t.dtype
        if params["axis"] is None:
            return TensorType(dtype, (None if None in t.shape else int(np.prod(t.shape, dtype=np.int64)),))
        return TensorType(dtype, t.shape)
    return infer


def gather_index(like, idx, axis: int):
    """The advanced index that reads positions ``idx`` along ``axis`` and every other axis in
    order, over the shape of ``like`` (np.take_along_axis's index)."""
    index = []
    for d in range(like.ndim):
        if d == axis:
            index.append(idx)
        else:
            pattern = ["x"] * like.ndim
            pattern[d] = 0
            index.append(F.arange(F.shape(like)[d]).dimshuffle(*pattern))
    return tuple(index)


def _sort_vjp(node, g):
    x, axis = node.inputs[0], node.params["axis"]
    if not dtypes.is_differentiable(x.dtype):
        return [None]
    flat = x.flatten() if axis is None else x
    ax = 0 if axis is None else axis
    idx = argsort(flat, axis=ax)
    gx = F.inc_subtensor(F.zeros_like(flat)[gather_index(flat, idx, ax)], g)
    return [F.reshape(gx, F.shape(x), ndim=x.ndim) if axis is None else gx]


sort_op = register(Op("sort", _infer(None), lambda params, x: np.sort(x, axis=params["axis"], kind="stable"),
                      _sort_vjp, nin=1, flops=10.0, defined_in=_HERE))
argsort_op = register(Op("argsort", _infer("int64"),
                         lambda params, x: np.argsort(x, axis=params["axis"], kind="stable").astype(np.int64),
                         lambda node, g: [None], nin=1, flops=10.0, defined_in=_HERE))


def sort(x, axis=-1):
    """``x`` sorted along ``axis`` (None: the flattened input), as ``np.sort``.

    >>> import egopt.tensor as T
    >>> v = T.dvector("v")
    >>> sort(v).eval({v: [3.0, 1.0, 2.0]})
    array([1., 2., 3.])
    """
    x = F.as_tensor_variable(x)
    return sort_op(x, axis=_axis(axis, x.ndim, "sort"))


def argsort(x, axis=-1):
    """The int64 indices that sort ``x`` along ``axis`` (stable), as ``np.argsort``."""
    x = F.as_tensor_variable(x)
    return argsort_op(x, axis=_axis(axis, x.ndim, "argsort"))


# ---- unique --------------------------------------------------------------------------------------------------

_UNIQUE_PARTS = ("values", "index", "inverse", "counts")


def _unique_infer(params, t: TensorType) -> TensorType:
    part = params["part"]
    if part not in _UNIQUE_PARTS:
        raise EgoptTypeError(f"unique: part must be one of {_UNIQUE_PARTS}, got {part!r}")
    if part == "inverse":
        n = None if None in t.shape else int(np.prod(t.shape, dtype=np.int64))
        return TensorType("int64", (n,))
    return TensorType(t.dtype if part == "values" else "int64", (None,))


def _unique_perform(params, x):
    values, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    out = {"values": values, "index": index, "inverse": inverse.ravel(), "counts": counts}[params["part"]]
    return out if params["part"] == "values" else out.astype(np.int64)


unique_op = register(Op("unique", _unique_infer, _unique_perform, lambda node, g: [None], nin=1, flops=10.0,
                        defined_in=_HERE))


def unique(ar, return_index: bool = False, return_inverse: bool = False, return_counts: bool = False,
           axis=None):
    """The sorted distinct elements of ``ar`` (flattened), as ``np.unique``; with the flags, also the
    first indices, the inverse (flattened) and the counts. No gradient (the values are a selection)."""
    if axis is not None:
        raise NotImplementedError("unique: only axis=None (the flattened input) is supported by egopt")
    x = F.as_tensor_variable(ar)
    parts = ["values"] + [p for p, on in (("index", return_index), ("inverse", return_inverse),
                                          ("counts", return_counts)) if on]
    outs = [unique_op(x, part=p) for p in parts]
    return outs[0] if len(outs) == 1 else tuple(outs)


class Unique:
    """Theano's ``extra_ops.Unique(return_index, return_inverse, return_counts)`` op: ``Unique()(x)``."""

    def __init__(self, return_index: bool = False, return_inverse: bool = False, return_counts: bool = False,
                 axis=None):
        self.flags = dict(return_index=return_index, return_inverse=return_inverse, return_counts=return_counts,
                          axis=axis)

    def __call__(self, x):
        return unique(x, **self.flags)
