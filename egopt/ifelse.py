"""``from theano.ifelse import ifelse``: a conditional on a scalar, built on ``switch``.

Unlike Theano's lazy ``IfElse`` op, both branches are computed (egopt has no lazy evaluation);
the value is the same. Branches are variables or equally long lists of them, of the same ndim.
"""
from __future__ import annotations

from .lang import frontend as F
from .lang.errors import EgoptTypeError


def ifelse(condition, then_branch, else_branch, name: str | None = None):
    """``then_branch`` where the scalar ``condition`` is true, else ``else_branch``.

    >>> import egopt, egopt.tensor as T
    >>> a, b = T.dscalars("a", "b")
    >>> float(ifelse(T.lt(a, b), a, b).eval({a: 1.0, b: 2.0}))
    1.0
    """
    cond = F.as_tensor_variable(condition)
    if cond.ndim != 0:
        raise EgoptTypeError(f"ifelse: the condition must be a scalar, got {cond.type}")
    many = isinstance(then_branch, (list, tuple))
    thens = list(then_branch) if many else [then_branch]
    elses = list(else_branch) if isinstance(else_branch, (list, tuple)) else [else_branch]
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: {len(thens)} then-branch output(s) but {len(elses)} else-branch output(s)")
    outs = []
    for i, (t, e) in enumerate(zip(thens, elses)):
        t, e = F.as_tensor_variable(t), F.as_tensor_variable(e)
        if t.ndim != e.ndim:
            raise EgoptTypeError(f"ifelse: output {i} has type {t.type} in the then-branch but {e.type} "
                                 f"in the else-branch; both branches must have the same ndim")
        out = F.switch(cond, t, e)
        if name:
            out.name = name if len(thens) == 1 else f"{name}[{i}]"
        outs.append(out)
    return outs if many else outs[0]
