"""Shape ops: dimshuffle (transpose, broadcastable axes), shape, reshape, concatenate, alloc, ...

Each op's type rule, NumPy reference and gradient live together here.
"""
from __future__ import annotations

import numpy as np

from . import frontend as F
from .ops import Op, register
from .types import TensorType


# ---- dimshuffle: permute axes, insert broadcastable axes ('x'), drop size-1 axes ------------------

def _ds_infer(params, t):
    pattern = params["pattern"]
    kept = [p for p in pattern if p != "x"]
    if len(set(kept)) != len(kept) or any(not (0 <= p < t.ndim) for p in kept):
        raise ValueError(f"invalid pattern {pattern} for a tensor of ndim {t.ndim}")
    for i, s in enumerate(t.shape):
        if i not in kept and s != 1:
            raise ValueError(f"axis {i} is dropped by pattern {pattern} but is not broadcastable "
                             f"(static size {'?' if s is None else s}); only size-1 axes can be dropped")
    return TensorType(t.dtype, tuple(1 if p == "x" else t.shape[p] for p in pattern))


def _ds_perform(params, x):
    pattern = params["pattern"]
    kept = [p for p in pattern if p != "x"]
    dropped = tuple(i for i in range(x.ndim) if i not in kept)
    if any(x.shape[i] != 1 for i in dropped):
        raise ValueError(f"dimshuffle{pattern}: cannot drop axes {dropped} of shape {x.shape}")
    y = x.reshape([s for i, s in enumerate(x.shape) if i not in dropped]) if dropped else x
    order = sorted(kept)
    y = np.transpose(y, [order.index(p) for p in kept])
    return y.reshape([1 if p == "x" else x.shape[p] for p in pattern])


def _ds_vjp(node, g):
    (x,) = node.inputs
    pattern = node.params["pattern"]
    # positions of x's axes in the output; x's dropped axes come back as 'x'
    back = ["x" if i not in pattern else pattern.index(i) for i in range(x.ndim)]
    # first sum away the inserted axes that broadcast in the output
    inserted = tuple(j for j, p in enumerate(pattern) if p == "x")
    if inserted:
        g = F.sum(g, axis=inserted, keepdims=True)
    return [dimshuffle(g, back)]


dimshuffle_op = register(Op("dimshuffle", _ds_infer, _ds_perform, _ds_vjp, kind="shape",
                            defined_in="egopt/lang/shape.py"))


def dimshuffle(x, pattern) -> "F.Variable":
    """Reorder axes and insert broadcastable ones: ``x.dimshuffle(0, 'x', 1)``; ``'x'`` adds an axis."""
    x = F.as_tensor_variable(x)
    pattern = tuple(p if p == "x" else int(p) for p in pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return dimshuffle_op(x, pattern=pattern)


def transpose(x, axes=None):
    """Permute axes (reverse them by default); ``x.T``."""
    x = F.as_tensor_variable(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    return dimshuffle(x, axes)


# ---- shape ---------------------------------------------------------------------------------------------

shape_op = register(Op("shape", lambda params, t: TensorType("int64", (t.ndim,)),
                       lambda params, x: np.asarray(x.shape, dtype=np.int64), None, kind="shape",
                       defined_in="egopt/lang/shape.py"))


def shape(x):
    """The run-time shape of ``x`` as an int64 vector (``x.shape``; ``x.shape[0]`` is a scalar)."""
    return shape_op(F.as_tensor_variable(x))


def _todo(name):
    def f(*a, **k):
        raise NotImplementedError(f"{name} is being written")
    f.__name__ = name
    return f


(reshape, flatten, squeeze, concatenate, stack, zeros, ones, zeros_like, ones_like, alloc, arange,
 expand_dims, shape_padleft, shape_padright, addbroadcast, unbroadcast, patternbroadcast,
 specify_shape, join, eye, tile, repeat, shape_padaxis) = (_todo(n) for n in (
    "reshape flatten squeeze concatenate stack zeros ones zeros_like ones_like alloc arange "
    "expand_dims shape_padleft shape_padright addbroadcast unbroadcast patternbroadcast "
    "specify_shape join eye tile repeat shape_padaxis").split())
