"""``NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=True)``: every node's
outputs are checked as the program runs; the first bad one raises ``NanGuardError`` naming the
op, the user's source line, and which of the node's inputs were already bad.

It checks the program the function runs (the optimized graph), through the program's
per-node observer, so a backend that runs kernels reports per kernel the same way.
"""
from __future__ import annotations

import numpy as np

from ..lang.errors import EgoptError
from ..lang.ops import describe_call
from .mode import Mode

BIG = 1e10      # Theano's threshold for "big" values


class NanGuardError(EgoptError):
    """A node produced NaN, inf or a huge value under NanGuardMode."""


def NanGuardMode(nan_is_error: bool = True, inf_is_error: bool = True, big_is_error: bool = True,
                 optimizer: str | None = "egraph", linker: str = "py", rules=()) -> Mode:
    """A mode that raises ``NanGuardError`` at the first node output with NaN / inf / |x| > 1e10."""
    guard = {"nan_is_error": nan_is_error, "inf_is_error": inf_is_error, "big_is_error": big_is_error}
    return Mode(optimizer, linker, rules=tuple(rules), name="NanGuardMode",
                options={"check": "nanguard", "nanguard": guard})


def problems(a, nan_is_error: bool, inf_is_error: bool, big_is_error: bool) -> list[str]:
    """What is wrong with array ``a`` under these flags ("3 NaN", "1 inf", "2 |x| > 1e10")."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or a.size == 0:
        return []
    out = []
    with np.errstate(all="ignore"):
        if nan_is_error and (n := int(np.isnan(a).sum())):
            out.append(f"{n} NaN")
        if inf_is_error and (n := int(np.isinf(a).sum())):
            out.append(f"{n} inf")
        if big_is_error and (n := int((np.isfinite(a) & (np.abs(a) > BIG)).sum())):
            out.append(f"{n} |x| > {BIG:g}")
    return out


class NanGuardProgram:
    """Runs like a ``Program``, checking the inputs and every node's outputs."""

    def __init__(self, fn, nan_is_error: bool = True, inf_is_error: bool = True, big_is_error: bool = True):
        self.fn = fn
        self.program = fn.program
        self.flags = dict(nan_is_error=nan_is_error, inf_is_error=inf_is_error, big_is_error=big_is_error)
        self.leaves = fn.input_vars + fn.shared_vars

    def run(self, values, profile=None):
        for v, a in zip(self.leaves, values):
            bad = problems(a, **self.flags)
            if bad:
                raise NanGuardError(f"NanGuardMode: {self.fn._label()}: input {v!r} holds {', '.join(bad)}")
        return self.program.run(values, profile, observer=self._check)

    def _check(self, node, args, outs) -> None:
        for i, o in enumerate(outs):
            bad = problems(o, **self.flags)
            if not bad:
                continue
            ins = []
            for j, a in enumerate(args):
                p = problems(a, **self.flags)
                ins.append(f"input {j} {np.shape(a)} {np.asarray(a).dtype}: {', '.join(p) if p else 'ok'}")
            label = describe_call(node.op, node.params, [v.type for v in node.inputs])
            raise NanGuardError(
                f"NanGuardMode: {label} produced {', '.join(bad)} in output {i} (shape {np.shape(o)})"
                + (f"\n  built at {node.loc}" if node.loc else "")
                + "\n  its inputs: " + "; ".join(ins)
                + ("\n  the inputs were already bad" if any("ok" != s.rsplit(": ", 1)[1] for s in ins)
                   else "\n  the inputs were all fine: this op made the bad values"))
