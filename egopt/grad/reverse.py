"""Reverse mode: ``grad`` and ``Lop``, one backward pass over the op records' VJPs.

The walker visits, in reverse topological order, only the nodes that both depend on a ``wrt``
variable and lead to a seed (the cost, or a ``known_grads`` variable). Each node's
``op.vjp(node, *output_grads)`` builds its input gradients as ordinary IR (``None``: no
contribution); a variable used several times gets the sum of the contributions.

Gradients never flow into integer or boolean variables: a function of them is piecewise
constant, so the walker drops what arrives there (Theano's rule). The gradient with respect
to an integer or boolean ``wrt`` is therefore zeros of ``config.floatX`` of its shape (when
the cost depends on it; otherwise the disconnected-input policy applies).
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

from .. import config
from ..lang import dtypes
from ..lang import frontend as F
from ..lang.errors import DisconnectedInputError, EgoptError, EgoptTypeError, MissingField
from ..lang.graph import Apply, Variable, ancestors, toposort
from ..lang.ops import describe_call
from ..lang.shape import with_static

Seed = tuple[Variable, Variable]


def grad(cost: Variable | None, wrt: Variable | Sequence[Variable],
         consider_constant: Iterable[Variable] | None = None, disconnected_inputs: str = "raise",
         add_names: bool = True, known_grads: dict[Variable, Any] | None = None,
         return_disconnected: str = "zero", null_gradients: str = "raise") -> Any:
    """The gradient of a scalar ``cost`` with respect to ``wrt`` (a variable, or a list/tuple).

    Returns the same structure as ``wrt``; each gradient has its variable's dtype and shape.
    ``consider_constant``: variables the gradient does not flow through.
    ``disconnected_inputs``: 'raise' (``DisconnectedInputError``), 'warn' or 'ignore' when the
    cost does not depend on a ``wrt`` variable; ``return_disconnected``: 'zero' (zeros of its
    shape) or 'None' for those. ``known_grads``: ``{variable: gradient}`` seeds, added to the
    cost's (``cost`` may then be None). No gradient flows through integer or boolean variables;
    for such a ``wrt`` the result is zeros of ``config.floatX`` (as Theano). ``null_gradients``
    is accepted for compatibility (egopt has no null gradients).

    >>> import egopt.tensor as T
    >>> x = T.dvector("x")
    >>> gx = grad((x ** 2).sum(), x)
    >>> gx.eval({x: [1.0, -2.0]})
    array([ 2., -4.])
    """
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"grad: disconnected_inputs must be 'raise', 'warn' or 'ignore', "
                         f"not {disconnected_inputs!r}")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError(f"grad: return_disconnected must be 'zero' or 'None', not {return_disconnected!r}")
    single = not isinstance(wrt, (list, tuple))
    wrts = [wrt] if single else list(wrt)
    for w in wrts:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {type(w).__name__} {w!r}")
    seeds = _cost_seed(cost) + _known_seeds(known_grads)
    if not seeds:
        raise TypeError("grad: give a cost, or known_grads={variable: gradient} when cost is None")
    const = list(consider_constant or ()) + _disconnecting([v for v, _ in seeds])
    acc = backprop(seeds, wrts, const)
    reached = {id(v) for v in ancestors([v for v, _ in seeds], stop=const)}
    seed_values = {id(g) for _, g in seeds}
    out = []
    for w in wrts:
        g = acc.get(id(w))
        if g is None and id(w) not in reached:
            _disconnected(w, disconnected_inputs)
            g = _zeros(w) if return_disconnected == "zero" else None
        elif g is None:            # connected through integer/non-differentiable paths only
            g = _zeros(w)
        if (add_names and g is not None and g.name is None and id(g) not in seed_values
                and w.name and cost is not None):
            g.name = f"(d{getattr(cost, 'name', None) or 'cost'}/d{w.name})"
        out.append(g)
    return out[0] if single else type(wrt)(out)


def Lop(f: Variable | Sequence[Variable], wrt: Variable | Sequence[Variable],
        eval_points: Any, consider_constant: Iterable[Variable] | None = None,
        disconnected_inputs: str = "raise") -> Any:
    """The row vector ``eval_points`` times the Jacobian of ``f`` with respect to ``wrt``.

    ``f`` and ``eval_points`` are a variable or lists of the same length; ``wrt`` a variable
    or a list (the result has its structure).

    >>> import egopt.tensor as T
    >>> x, v = T.dvector("x"), T.dvector("v")
    >>> Lop(x ** 2, x, v).eval({x: [1.0, 3.0], v: [1.0, 1.0]})
    array([2., 6.])
    """
    fs = list(f) if isinstance(f, (list, tuple)) else [f]
    es = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(fs) != len(es):
        raise ValueError(f"Lop: {len(fs)} expression(s) but {len(es)} eval point(s)")
    return grad(None, wrt, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs, known_grads=_Pairs(zip(fs, es)))


# ops whose outputs grad treats as constants, as if listed in consider_constant
# (theano.gradient.disconnected_grad)
DISCONNECTING_OPS = frozenset({"disconnected_grad"})


def _disconnecting(roots: Sequence[Variable]) -> list[Variable]:
    return [o for node in toposort(list(roots)) if node.op.name in DISCONNECTING_OPS for o in node.outputs]


class _Pairs(list):
    """known_grads given as (variable, gradient) pairs: the same variable may appear twice."""

    def items(self):
        return iter(self)


def backprop(seeds: Sequence[Seed], wrt: Sequence[Variable],
             consider_constant: Sequence[Variable] = ()) -> dict[int, Variable]:
    """One reverse pass from the seeds; returns ``{id(variable): gradient}`` for the variables
    on the paths from ``wrt`` to the seeds (``wrt`` included)."""
    blocked = {id(v) for v in consider_constant}
    nodes = toposort([v for v, _ in seeds], stop=consider_constant)
    live = {id(w) for w in wrt}             # variables that depend on wrt
    path: list[Apply] = []
    for node in nodes:
        if any(id(i) in live for i in node.inputs):
            path.append(node)
            live.update(id(o) for o in node.outputs if id(o) not in blocked)
    acc: dict[int, Variable] = {}
    for v, g in seeds:
        if id(v) in live and _flows(v):
            _accumulate(acc, v, g)
    for node in reversed(path):
        out_grads = [acc.get(id(o)) if id(o) not in blocked and _flows(o) else None
                     for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        allowed = node.op.grad_inputs
        need = [i for i, x in enumerate(node.inputs) if id(x) in live and _flows(x)
                and (allowed is None or i in allowed)]
        if not need:
            continue
        in_grads = _call_vjp(node, out_grads)
        for i in need:
            if in_grads[i] is not None:
                _accumulate(acc, node.inputs[i], _fit(in_grads[i], node, i))
    return acc


def _flows(v: Variable) -> bool:
    return dtypes.is_differentiable(v.dtype)


def _accumulate(acc: dict[int, Variable], v: Variable, g: Variable) -> None:
    prev = acc.get(id(v))
    acc[id(v)] = g if prev is None else prev + g


def _call_vjp(node: Apply, out_grads: list[Variable | None]) -> Sequence[Variable | None]:
    op = node.op
    where = f"\n  the node was built at {node.loc}" if node.loc else ""
    try:
        rule = op.require("vjp")
    except MissingField as e:
        raise MissingField(f"grad: cannot differentiate through "
                           f"{describe_call(op, node.params, [v.type for v in node.inputs])}: "
                           f"{e}{where}") from None
    grads = list(rule(node, *out_grads))
    if len(grads) != len(node.inputs):
        raise EgoptError(f"the vjp of op {op.name!r} returned {len(grads)} gradient(s) for "
                         f"{len(node.inputs)} input(s); fix it in {op.defined_in or 'egopt/lang'}{where}")
    return grads


def _fit(g: Any, node: Apply, i: int) -> Variable:
    """A VJP's gradient for input i, checked against the input's type and cast to its dtype."""
    x = node.inputs[i]
    g = F.as_tensor_variable(g)
    bad = g.ndim != x.ndim or any(a is not None and b is not None and a != b
                                  for a, b in zip(g.type.shape, x.type.shape))
    if bad:
        raise EgoptTypeError(f"the vjp of op {node.op.name!r} returned a gradient of type {g.type} "
                             f"for input {i} of type {x.type}; fix it in "
                             f"{node.op.defined_in or 'egopt/lang'}")
    if any(b == 1 and a is None for a, b in zip(g.type.shape, x.type.shape)):
        # a broadcastable axis of x must stay one in its gradient (e.g. the slice of a join's
        # gradient that belongs to a keepdims reduction): downstream VJPs broadcast against it
        g = with_static(g, x.type.shape)
    return g if g.dtype == x.dtype else F.cast(g, x.dtype)


def _cost_seed(cost) -> list[Seed]:
    if cost is None:
        return []
    cost = F.as_tensor_variable(cost)
    if cost.ndim != 0:
        raise EgoptTypeError(f"grad: the cost must be a scalar, got {cost!r} of type {cost.type}; "
                             f"reduce it first (cost.sum(), cost.mean()), or use jacobian / Lop")
    dt = cost.dtype if _flows(cost) else config.floatX
    return [(cost, F.constant(1, dtype=dt))]


def _known_seeds(known_grads) -> list[Seed]:
    seeds = []
    for v, g in (known_grads or {}).items():
        if not isinstance(v, Variable):
            raise TypeError(f"grad: known_grads keys must be symbolic variables, got {v!r}")
        g = F.as_tensor_variable(g)
        if g.ndim != v.ndim:
            raise EgoptTypeError(f"grad: known_grads[{v!r}] has type {g.type} but {v!r} has type "
                                 f"{v.type}: a gradient has its variable's shape")
        if _flows(v) and g.dtype != v.dtype:
            g = F.cast(g, v.dtype)
        seeds.append((v, g))
    return seeds


def _zeros(w: Variable) -> Variable:
    """Zeros of ``w``'s shape, with its dtype (floatX for integer and boolean variables)."""
    dt = w.dtype if _flows(w) else config.floatX
    return F.second(w, F.constant(0, dtype=dt))


def _disconnected(w: Variable, policy: str) -> None:
    msg = (f"grad: the cost does not depend on {w!r} ({w.type}): it is not in the cost's graph, or "
           f"every path to it passes through consider_constant. Pass disconnected_inputs='ignore' "
           f"(or 'warn') to get zeros for it.")
    if policy == "raise":
        raise DisconnectedInputError(msg)
    if policy == "warn":
        warnings.warn(msg, stacklevel=4)
