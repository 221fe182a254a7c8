"""``mode="DebugMode"``: every call runs the optimized program and the unoptimized graph on the
same inputs and compares every value the two share.

Which values are shared comes from the optimizer: a decoded variable and the input graph's
variables in its e-class (and of its type) are equal by the rules (``OptimizationReport.
equivalents``). The first optimized value (in run order) that disagrees with its input-graph
twin is reported with the op, the user's source line, the input values, and the rules to blame.

Which rules: DebugMode optimizes with rule provenance on (``egopt.rules.provenance``): each
e-node records the rules that built it and each e-class the rules that rewrote into it, and
each optimized variable (fused ones: the union over their body) carries the rules of the nodes
and classes it was decoded from. The first diverging value's rules are the candidates; a sound
rule that fired elsewhere in the graph is not among them. Each candidate is then confirmed by leaving it out and re-optimizing (only
after a mismatch, only over the candidates): the confirmed ones are ``BadOptimization.rules``
(all the candidates where no single one is confirmed).

Where the diverging value is a fused node's, the graph before fusion (kept by the optimizer in
DebugMode, with the elementwise bodies paired to their input-graph twins) is run too, and the
first op inside that diverges is reported and its rules are the candidates.

Then the C linker's program of the same optimized graph (what FAST_RUN runs) is checked kernel
by kernel against the NumPy run (``kernel_check``): a kernel bug is a ``BadKernel``, not a
``BadOptimization``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..lang.errors import EgoptError
from ..lang.graph import Variable
from .py_linker import Program

MAX_BLAMED_RULES = 60


class BadOptimization(EgoptError):
    """DebugMode found an optimized value that differs from the unoptimized graph's."""

    def __init__(self, message: str, rules: list[str] | None = None, provenance: list[str] | None = None):
        super().__init__(message)
        self.rules = rules or []                 # confirmed: without each one, the results agree
        self.provenance = provenance or []       # the rules that built its e-nodes or rewrote its e-classes
        self.built_by: list[str] = []            # of those, the rules that built the extracted e-nodes
        self.optimized = None                    # the first diverging optimized variable
        self.inner = None                        # where that is a fused node's: the op inside that diverges


def _close(got, want) -> bool:
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return False
    if want.dtype.kind not in "fc":
        return bool(np.array_equal(got, want))
    fin = np.isfinite(want)
    if (fin & ~np.isfinite(got)).any():
        return False                       # the optimized value became NaN/inf where the reference is finite
    if not fin.any():
        return True                        # where the reference is NaN/inf the rewrite may refine it
    eps = np.finfo(want.dtype).eps
    scale = max(1.0, float(np.abs(want[fin]).max()))
    tol = 1e4 * eps * scale + 1e4 * eps * np.abs(want)
    with np.errstate(all="ignore"):
        err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return bool((err[fin] <= tol[fin]).all())


@dataclass
class Mismatch:
    optimized: Variable
    original: Variable
    got: np.ndarray
    want: np.ndarray
    inner: "Mismatch | None" = None     # inside a fused node: the op that diverges first


def _first_mismatch(program: Program, reference: Program, equivalents: dict, leaves, values,
                    seen: dict | None = None):
    """Run both programs; the first optimized value (inputs first, then nodes in order) that
    differs from an input-graph variable of its e-class, and the optimized outputs.
    ``seen`` (if given) receives every optimized value, by id of its variable."""
    want: dict[int, np.ndarray] = {id(v): a for v, a in zip(leaves, values)}
    reference.run(values, observer=lambda node, args, outs: want.update(
        (id(o), a) for o, a in zip(node.outputs, outs)))
    found: list[Mismatch] = []

    def check(var, value):
        if seen is not None:
            seen[id(var)] = value
        if found or id(var) not in equivalents:
            return
        for orig in equivalents[id(var)][1]:
            if id(orig) in want and orig is not var and not _close(value, want[id(orig)]):
                found.append(Mismatch(var, orig, np.asarray(value), np.asarray(want[id(orig)])))
                return

    for v, a in zip(leaves, values):
        check(v, a)
    with np.errstate(all="ignore"):
        outs = program.run(values, observer=lambda node, args, res: [check(o, a) for o, a in zip(node.outputs, res)])
    return (found[0] if found else None), outs


def _describe(v: Variable) -> str:
    if v.owner is None:
        return f"input {v!r}"
    node = v.owner
    where = f" (built at {node.loc})" if node.loc else ""
    return f"{node.op.name}{where}"


def _short(a) -> str:
    return np.array2string(np.asarray(a), threshold=12, precision=6, edgeitems=3)


class DebugProgram:
    """Runs like a ``Program``; raises ``BadOptimization`` when the optimized run disagrees."""

    def __init__(self, fn):
        self.fn = fn
        self.leaves = fn.input_vars + fn.shared_vars
        self.program = fn.program
        self.reference = Program(self.leaves, fn.input_graph)
        self.equivalents = fn.report.equivalents
        self._cprog = False                 # the C program of the optimized graph, built at the first call

    def run(self, values, profile=None):
        seen: dict = {}
        mismatch, outs = _first_mismatch(self.program, self.reference, self.equivalents, self.leaves, values,
                                         seen)
        if mismatch is None:
            self._check_kernels(values, seen)
            return outs
        mismatch.inner = self._inside_fused(mismatch, values)
        origin = self.fn.report.provenance.get(id((mismatch.inner or mismatch).optimized))
        built = sorted(origin.built) if origin else []
        produced = sorted(origin.rules) if origin else []
        confirmed = self._blame(values, produced)
        msg = self._message(mismatch, values, confirmed, built, produced)
        # no candidate alone explains it (two rules each enough to break it): the provenance answer
        err = BadOptimization(msg, confirmed or produced, produced)
        err.optimized, err.built_by = mismatch.optimized, built
        err.inner = mismatch.inner.optimized if mismatch.inner is not None else None
        raise err

    def _inside_fused(self, m: "Mismatch", values) -> "Mismatch | None":
        """Where the diverging value is a fused node's, the first diverging value of the graph
        before fusion: the one op inside it whose inputs agree and whose output does not."""
        node = m.optimized.owner
        unfused = self.fn.report.unfused
        if node is None or unfused is None or node.op.name not in ("fused_elemwise", "fused_reduce"):
            return None
        outputs, equivalents = unfused
        inner, _ = _first_mismatch(Program(self.leaves, outputs), self.reference, equivalents, self.leaves, values)
        return inner

    def _check_kernels(self, values, seen: dict) -> None:
        """The C linker's run of the same optimized graph agrees kernel by kernel (else BadKernel)."""
        from .kernel_check import c_program, check_kernels
        if self._cprog is False:
            fn = self.fn
            self._cprog = c_program(self.leaves, list(fn.outputs) + [e for _, e in fn.updates])
        if self._cprog is not None:
            check_kernels(self._cprog, values, seen, _close, _short, self.fn._label())

    def _blame(self, values, candidates: list[str]) -> list[str]:
        """The candidate rules (else every fired rule) without which the optimized program agrees
        with the reference."""
        from ..rules import RuleSet
        from .optimize import optimize
        report = self.fn.report
        ruleset = report.ruleset
        if ruleset is None:
            return []
        if candidates:
            fired = [r for r in ruleset if r.name in set(candidates)]
        else:
            fired = [r for r in ruleset if report.fired.get(r.name) or report.fired.get(r.name + "=>")
                     or report.fired.get(r.name + "<=")][:MAX_BLAMED_RULES]
        blamed = []
        for rule in fired:
            rest = RuleSet([r for r in ruleset if r is not rule], name=ruleset.name)
            outputs, rep = optimize(self.fn.input_graph, self.leaves, rest)
            mismatch, _ = _first_mismatch(Program(self.leaves, outputs), self.reference, rep.equivalents,
                                          self.leaves, values)
            if mismatch is None:
                blamed.append(rule.name)
        return blamed

    def _message(self, m: Mismatch, values, rules: list[str], built: list[str], produced: list[str]) -> str:
        names = [getattr(v, "name", None) or f"input {i}" for i, v in enumerate(self.leaves)]
        lines = [f"DebugMode: {self.fn._label()}: the optimized graph disagrees with the unoptimized one",
                 f"  at: {_describe(m.original)}",
                 f"  optimized as: {_describe(m.optimized)}"]
        lines += [f"  unoptimized value: {_short(m.want)}",
                  f"  optimized value:   {_short(m.got)}"]
        if m.inner is not None:
            i = m.inner
            lines += [f"  inside it, the first op that diverges: {_describe(i.optimized)}",
                      f"    its unoptimized twin: {_describe(i.original)}",
                      f"    unoptimized value: {_short(i.want)}",
                      f"    optimized value:   {_short(i.got)}"]
        lines.append("  inputs: " + "; ".join(f"{n} = {_short(a)}" for n, a in zip(names, values)))
        if built:
            lines.append(f"  its e-nodes were built by the rules: {', '.join(built)}")
        if produced:
            lines.append("  produced by the rules (built its e-nodes or rewrote its e-classes): "
                         + ", ".join(produced))
        if rules:
            lines.append(f"  rules to blame (without them the results agree): {', '.join(rules)}")
        elif produced:
            lines.append("  (leaving out any one of them alone does not make the results agree)")
        else:
            lines.append("  rules fired: " + ", ".join(sorted(k for k, n in self.fn.report.fired.items() if n)))
        return "\n".join(lines)
