"""Linear algebra: dot (1-D/2-D), tensordot, matmul, and the frontends outer and batched_dot.

Costs: ``kind="blas"`` tells the cost model to count 2*m*n*k flops; NumPy (and its BLAS)
runs them on every linker.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .elemwise import unbroadcast
from .errors import ShapeError
from .ops import Op, register
from .types import TensorType


def _fmt(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


def _check_inner(a, b, what="dot"):
    if a is not None and b is not None and a != b:
        raise ShapeError(f"inner dimensions differ ({a} != {b})")


# ---- dot: vector/matrix products ---------------------------------------------------------------

def _dot_infer(params, a: TensorType, b: TensorType):
    if not (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2):
        raise ValueError(f"the dot op takes 1-D or 2-D inputs, got ndim {a.ndim} and {b.ndim}")
    ka = a.shape[-1]
    kb = b.shape[0]
    _check_inner(ka, kb)
    shape = a.shape[:-1] + b.shape[1:]
    return TensorType(dtypes.upcast(a.dtype, b.dtype), shape)


def _dot_vjp(node, g):
    a, b = node.inputs
    if a.ndim == 2 and b.ndim == 2:
        ga, gb = dot(g, b.T), dot(a.T, g)
    elif a.ndim == 2:                     # matrix . vector -> (m,)
        ga, gb = outer(g, b), dot(a.T, g)
    elif b.ndim == 2:                     # vector . matrix -> (k,)
        ga, gb = dot(b, g), outer(a, g)
    else:                                 # vector . vector -> ()
        ga, gb = g * b, g * a
    return [_cast_like(ga, a), _cast_like(gb, b)]


def _cast_like(g, x):
    return F.cast(g, x.dtype) if g.dtype != x.dtype and dtypes.is_differentiable(x.dtype) else g


dot_op = register(Op("dot", _dot_infer, lambda params, a, b: np.dot(a, b), _dot_vjp, kind="blas",
                     nin=2, flops=2.0, fmt="dot({0}, {1})", defined_in="egopt/lang/blas.py",
                     sympy=lambda params, a, b: np.dot(a, b)))


# ---- tensordot ------------------------------------------------------------------------------------

def _normalize_axes(axes, nda: int, ndb: int):
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n > nda or n > ndb:
            raise ValueError(f"tensordot: axes={n} but the inputs have ndim {nda} and {ndb}")
        return tuple(range(nda - n, nda)), tuple(range(n))
    xa, xb = axes
    xa = (xa,) if isinstance(xa, (int, np.integer)) else tuple(xa)
    xb = (xb,) if isinstance(xb, (int, np.integer)) else tuple(xb)
    if len(xa) != len(xb):
        raise ValueError(f"tensordot: axes {xa} and {xb} have different lengths")
    return tuple(int(a) % nda for a in xa), tuple(int(b) % ndb for b in xb)


def _td_infer(params, a: TensorType, b: TensorType):
    xa, xb = params["axes"]
    for i, j in zip(xa, xb):
        _check_inner(a.shape[i], b.shape[j])
    shape = tuple(s for i, s in enumerate(a.shape) if i not in xa) + \
        tuple(s for j, s in enumerate(b.shape) if j not in xb)
    return TensorType(dtypes.upcast(a.dtype, b.dtype), shape)


def _td_vjp(node, g):
    a, b = node.inputs
    xa, xb = node.params["axes"]
    fa = [i for i in range(a.ndim) if i not in xa]
    fb = [j for j in range(b.ndim) if j not in xb]
    # g . b over b's free axes: axes of a in the order fa + (a's summed axes, ordered by b)
    ga = tensordot(g, b, axes=(list(range(len(fa), g.ndim)), fb))
    order_a = fa + [xa[xb.index(j)] for j in sorted(xb)]
    ga = F.transpose(ga, [order_a.index(i) for i in range(a.ndim)])
    gb = tensordot(a, g, axes=(fa, list(range(len(fa)))))
    order_b = [xb[xa.index(i)] for i in sorted(xa)] + fb
    gb = F.transpose(gb, [order_b.index(j) for j in range(b.ndim)])
    return [_cast_like(ga, a), _cast_like(gb, b)]


tensordot_op = register(Op("tensordot", _td_infer,
                           lambda params, a, b: np.tensordot(a, b, axes=params["axes"]), _td_vjp,
                           kind="blas", nin=2, flops=2.0, defined_in="egopt/lang/blas.py",
                           sympy=lambda params, a, b: np.tensordot(a, b, axes=params["axes"])))


# ---- matmul (batched, broadcasting batch axes) -----------------------------------------------------

def _mm_infer(params, a: TensorType, b: TensorType):
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError("the matmul op takes inputs of ndim >= 2")
    _check_inner(a.shape[-1], b.shape[-2])
    from .types import broadcast_shapes
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    return TensorType(dtypes.upcast(a.dtype, b.dtype), batch + (a.shape[-2], b.shape[-1]))


def _swap_last(x):
    return F.dimshuffle(x, list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2])


def _mm_vjp(node, g):
    a, b = node.inputs
    ga = matmul_op(g, _swap_last(b))
    gb = matmul_op(_swap_last(a), g)
    return [unbroadcast(ga, a.type, ga.type), unbroadcast(gb, b.type, gb.type)]


matmul_op = register(Op("matmul", _mm_infer, lambda params, a, b: np.matmul(a, b), _mm_vjp,
                        kind="blas", nin=2, flops=2.0, fmt="({0} @ {1})", defined_in="egopt/lang/blas.py",
                        sympy=lambda params, a, b: np.matmul(a, b)))


# ---- frontend ---------------------------------------------------------------------------------------------

def dot(a, b):
    """NumPy's ``dot``: scalars multiply; 1-D/2-D are vector and matrix products; N-D
    contracts the last axis of ``a`` with the second-to-last of ``b``.

    >>> import egopt.tensor as T
    >>> T.dot(T.dmatrix("A"), T.dvector("v")).type
    vector[float64](?)
    """
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return dot_op(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [max(b.ndim - 2, 0)]))


def tensordot(a, b, axes=2):
    """NumPy's ``tensordot``: ``axes`` an int (last n of a with first n of b) or two axis lists."""
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    return tensordot_op(a, b, axes=_normalize_axes(axes, a.ndim, b.ndim))


def matmul(a, b):
    """NumPy's ``matmul`` (the ``@`` operator): batched over leading axes, which broadcast."""
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: scalar operands are not allowed; use * instead")
    if a.ndim <= 2 and b.ndim <= 2:
        return dot_op(a, b)
    if a.ndim == 1:
        return F.dimshuffle(matmul_op(F.dimshuffle(a, ["x", 0]), b),
                            list(range(b.ndim - 2)) + [b.ndim - 1])
    if b.ndim == 1:
        return F.dimshuffle(matmul_op(a, F.dimshuffle(b, [0, "x"])), list(range(a.ndim - 1)))
    return matmul_op(a, b)


def outer(x, y):
    """NumPy's ``outer`` (inputs are flattened)."""
    x, y = F.as_tensor_variable(x), F.as_tensor_variable(y)
    x = x if x.ndim == 1 else F.flatten(x, 1)
    y = y if y.ndim == 1 else F.flatten(y, 1)
    return dot_op(F.dimshuffle(x, [0, "x"]), F.dimshuffle(y, ["x", 0]))


def batched_dot(a, b):
    """Theano's ``batched_dot``: a product per item of the leading (batch) axis.

    (B, n, m) . (B, m, k) -> (B, n, k); (B, n) . (B, n) -> (B,); (B, n, m) . (B, m) -> (B, n).
    """
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"batched_dot needs a leading batch axis, got ndim {a.ndim} and {b.ndim}")
    if a.ndim == 2 and b.ndim == 2:
        return F.sum(a * b, axis=1)
    if b.ndim == 2:
        return matmul(a, F.dimshuffle(b, [0, 1, "x"]))[:, :, 0]
    if a.ndim == 2:
        return matmul(F.dimshuffle(a, [0, "x", 1]), b)[:, 0, :]
    return matmul(a, b)
