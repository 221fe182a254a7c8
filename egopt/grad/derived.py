"""``jacobian`` and ``hessian``, built from ``Lop`` rows or ``Rop`` columns.

Small Jacobians (an expression of at most ``UNROLL_MAX`` elements, known statically) are
unrolled: one Lop per element. Larger ones, and those whose size is known only at run time,
are a ``scan`` over the rows, each step the gradient of one element (Theano's construction):
the graph is the size of one gradient whatever the number of rows.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from .. import config
from ..lang import dtypes
from ..lang import frontend as F
from ..lang.graph import Variable, ancestors
from ..lang.scan import scan
from .reverse import _disconnected, _Pairs, grad


def jacobian(expression: Variable, wrt: Variable | Sequence[Variable],
             consider_constant: Iterable[Variable] | None = None,
             disconnected_inputs: str = "raise", vectorize: bool = False) -> Any:
    """The Jacobian of ``expression`` with respect to ``wrt``: shape ``expression.shape + wrt.shape``.

    ``wrt`` a variable or a list (the result has its structure). A scalar expression gives its
    gradient. Needs the static size of ``expression`` or of ``wrt`` (see the module docstring).
    ``vectorize`` (PyTensor's) is accepted; egopt picks unrolling or a scan by the output's size.

    >>> import egopt.tensor as T
    >>> x = T.tensor("float64", shape=(2,), name="x")
    >>> jacobian(x ** 2, x).eval({x: [1.0, 3.0]})
    array([[2., 0.],
           [0., 6.]])
    """
    expr = F.as_tensor_variable(expression)
    if expr.ndim == 0:
        return grad(expr, wrt, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)
    single = not isinstance(wrt, (list, tuple))
    ws = [wrt] if single else list(wrt)
    const = list(consider_constant or ())
    above = {id(a) for a in ancestors([expr], stop=const)}
    for w in ws:
        if id(w) not in above:
            _disconnected(w, disconnected_inputs)
    n = _static_size(expr)
    if n is not None and n <= UNROLL_MAX:
        out = _by_rows(expr, ws, n, const)
    else:
        out = _by_scan(expr, ws, const)
    return out[0] if single else type(wrt)(out)


def hessian(cost: Variable, wrt: Variable | Sequence[Variable],
            consider_constant: Iterable[Variable] | None = None,
            disconnected_inputs: str = "raise", vectorize: bool = False) -> Any:
    """The Hessian of a scalar ``cost`` with respect to each ``wrt``: shape ``wrt.shape * 2``.

    Needs ``wrt`` with a static shape (``T.tensor('float64', shape=(3,))``).

    >>> import egopt.tensor as T
    >>> x = T.tensor("float64", shape=(2,), name="x")
    >>> hessian((x ** 3).sum(), x).eval({x: [1.0, 2.0]})
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    single = not isinstance(wrt, (list, tuple))
    ws = [wrt] if single else list(wrt)
    gs = grad(cost, ws, consider_constant=consider_constant, disconnected_inputs=disconnected_inputs)
    out = [jacobian(g, w, consider_constant=consider_constant, disconnected_inputs="ignore")
           for g, w in zip(gs, ws)]
    return out[0] if single else type(wrt)(out)


UNROLL_MAX = 16     # larger (or unknown) sizes loop with scan: the graph stays one row's size


def _by_scan(expr: Variable, ws: list[Variable], const: list[Variable]) -> list[Variable]:
    """Row i of every Jacobian is the gradient of expr.flatten()[i], one scan step per row (Theano's way)."""
    flat = F.flatten(expr)

    def row(i, flat_, *ws_):
        return grad(flat_[i], list(ws_), consider_constant=const, disconnected_inputs="ignore")

    rows, _ = scan(row, sequences=F.arange(F.shape(flat)[0]), non_sequences=[flat] + ws, return_list=True,
                   name="jacobian")
    return [F.reshape(J, _sizes(expr) + _sizes(w)) if expr.ndim != 1 else J for J, w in zip(rows, ws)]


def _static_size(v: Variable) -> int | None:
    return None if None in v.type.shape else math.prod(v.type.shape)


def _one_hot(shape: tuple[int, ...], i: int, dtype: str) -> Variable:
    e = np.zeros(shape, dtype=dtype)
    e.flat[i] = 1
    return F.constant(e)


def _by_rows(expr: Variable, ws: list[Variable], n: int, const: list[Variable]) -> list[Variable]:
    """Reverse mode: row i of every Jacobian is Lop(expr, ws, e_i)."""
    dt = _grad_dtype(expr)
    rows = [grad(None, ws, consider_constant=const, disconnected_inputs="ignore",
                 known_grads=_Pairs([(expr, _one_hot(expr.type.shape, i, dt))])) for i in range(n)]
    out = []
    for j, w in enumerate(ws):
        if n == 0:
            out.append(F.alloc(F.constant(0, dtype=_grad_dtype(w)), *expr.type.shape, *_sizes(w)))
            continue
        J = F.stack([r[j] for r in rows])               # (n, *w.shape)
        if expr.ndim != 1:
            J = F.reshape(J, list(expr.type.shape) + _sizes(w))
        out.append(J)
    return out


def _grad_dtype(v: Variable) -> str:
    return v.dtype if dtypes.is_differentiable(v.dtype) else config.floatX


def _sizes(v: Variable) -> list:
    shp = None
    out: list[Any] = []
    for i, s in enumerate(v.type.shape):
        if s is None:
            shp = F.shape(v) if shp is None else shp
            out.append(shp[i])
        else:
            out.append(s)
    return out
