"""Forward mode: ``Rop`` (Jacobian times a vector) by the double-VJP trick.

With a placeholder cotangent ``u`` of ``f``'s type, ``Lop(f, wrt, u) = J^T u`` is linear in
``u``; differentiating ``<J^T u, v>`` with respect to ``u`` gives ``J v``. The result does not
depend on ``u``: where a VJP still mentions it, it is replaced by zeros.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

from .. import config
from ..lang import dtypes
from ..lang import frontend as F
from ..lang.errors import DisconnectedInputError, EgoptTypeError
from ..lang.graph import Variable, ancestors, clone_replace
from ..lang.types import TensorType
from .reverse import _Pairs, grad


def Rop(f: Variable | Sequence[Variable], wrt: Variable | Sequence[Variable], eval_points: Any,
        disconnected_outputs: str = "raise", return_disconnected: str = "zero",
        consider_constant: Iterable[Variable] | None = None) -> Any:
    """The Jacobian of ``f`` with respect to ``wrt`` times ``eval_points`` (one per ``wrt``).

    Returns one result per ``f`` (the structure of ``f``), each of ``f``'s shape. An ``f`` that
    does not depend on ``wrt``: ``disconnected_outputs`` 'raise', 'warn' or 'ignore' (zeros).

    >>> import egopt.tensor as T
    >>> x, v = T.dvector("x"), T.dvector("v")
    >>> Rop(x ** 3, x, v).eval({x: [1.0, 2.0], v: [1.0, 0.5]})
    array([3., 6.])
    """
    if disconnected_outputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"Rop: disconnected_outputs must be 'raise', 'warn' or 'ignore', "
                         f"not {disconnected_outputs!r}")
    single = not isinstance(f, (list, tuple))
    fs = [F.as_tensor_variable(e) for e in ([f] if single else f)]
    ws = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    vs = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(ws) != len(vs):
        raise ValueError(f"Rop: {len(ws)} wrt variable(s) but {len(vs)} eval point(s)")
    vs = [_direction(w, v) for w, v in zip(ws, vs)]
    # J^T u with placeholders u (float, f's shape), then J v = d<J^T u, v>/du
    us = [Variable(TensorType(e.dtype if dtypes.is_differentiable(e.dtype) else config.floatX,
                              e.type.shape), name=f"u{i}") for i, e in enumerate(fs)]
    uJ = grad(None, ws, consider_constant=consider_constant, known_grads=_Pairs(zip(fs, us)),
              disconnected_inputs="ignore",
              return_disconnected="None")
    seeds = _Pairs((g, v) for g, v in zip(uJ, vs) if g is not None)
    Jv = (grad(None, us, known_grads=seeds, disconnected_inputs="ignore", return_disconnected="None")
          if seeds else [None] * len(us))
    out = []
    for e, u, r in zip(fs, us, Jv):
        if r is None:
            above = {id(a) for a in ancestors([e], stop=list(consider_constant or ()))}
            connected = any(id(w) in above for w in ws)     # only through integer paths: zeros
            if not connected:
                _disconnected(e, ws, disconnected_outputs)
            r = _zeros_of(e, u.dtype) if connected or return_disconnected == "zero" else None
        out.append(r)
    # a VJP may read its output gradient where it need not: J v is the same at u = 0
    found = [r for r in out if r is not None]
    mentioned = {id(a) for a in ancestors(found)}
    stale = {u: _zeros_of(e, u.dtype) for u, e in zip(us, fs) if id(u) in mentioned}
    if stale:
        fixed = iter(clone_replace(found, stale))
        out = [None if r is None else next(fixed) for r in out]
    for r in out:     # J v is a function of wrt even where this J happens not to read it (Theano's
        if r is not None:   # tutorial compiles Rop(dot(x, W), W, V) with W as an input)
            r.tag.depends_on = tuple(getattr(r.tag, "depends_on", ())) + tuple(ws)
    return out[0] if single else type(f)(out)


def _zeros_of(e: Variable, dtype: str) -> Variable:
    return F.second(e, F.constant(0, dtype=dtype))


def _direction(w: Variable, v: Any) -> Variable:
    v = F.as_tensor_variable(v)
    if v.ndim != w.ndim:
        raise EgoptTypeError(f"Rop: the eval point {v!r} ({v.type}) must have the type of {w!r} ({w.type})")
    return F.cast(v, w.dtype) if dtypes.is_differentiable(w.dtype) else v


def _disconnected(e: Variable, ws: list[Variable], policy: str) -> None:
    msg = (f"Rop: {e!r} ({e.type}) does not depend on {', '.join(map(repr, ws))}; pass "
           f"disconnected_outputs='ignore' (or 'warn') to get zeros for it")
    if policy == "raise":
        raise DisconnectedInputError(msg)
    if policy == "warn":
        warnings.warn(msg, stacklevel=4)
