"""The e-graph schema, generated from the op table (``egopt schema`` prints it).

Two sorts. ``T`` is a tensor; ``S`` is a scalar expression evaluated at each element of an
elementwise tensor. Elementwise ops are ``S`` constructors; ``(Ew s)`` is the tensor whose
elements are ``s``; ``(Ld t)`` is the element of tensor ``t`` at the current position
(broadcast). Fusion is two equalities, ``(Ld (Ew s)) = s`` and ``(Ew (Ld t)) = t``, so
fused and unfused forms share e-classes and the extractor chooses. ``(Fred s R p)`` is the
reduction ``(R (Ew s) p)`` computed without storing ``(Ew s)``: a reduction fused with the
elementwise body it reads (``R`` names the reduction's constructor, ``p`` its params).

Leaves: ``(Input i)`` is the i-th leaf tensor of the function (inputs, shared variables,
non-scalar constants); ``(Lit f)``, ``(Int i)``, ``(Bool i)`` are weak scalar constants
(NumPy's NEP 50: they take the dtype of the expression they meet).
Other ops are ``T`` constructors over their inputs and one ``String`` holding their params
(a Python literal, e.g. ``"(('axis', (1,)), ('keepdims', False))"``); variadic ops take a
``TL`` list (``TCons``/``TNil``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..lang.ops import REGISTRY, Op


@dataclass(frozen=True)
class Ctor:
    name: str            # egglog constructor name
    args: tuple[str, ...]
    sort: str            # "T" or "S" (or "TL")
    op: str | None       # registry name, None for the structural constructors
    has_params: bool = False


STRUCTURAL = (
    Ctor("Input", ("i64",), "T", None),
    Ctor("Ew", ("S",), "T", None),
    Ctor("Ld", ("T",), "S", None),
    Ctor("Fred", ("S", "String", "String"), "T", None),
    Ctor("Lit", ("f64",), "S", None),
    Ctor("Int", ("i64",), "S", None),
    Ctor("Bool", ("i64",), "S", None),
    Ctor("TNil", (), "TL", None),
    Ctor("TCons", ("T", "TL"), "TL", None),
)


def op_ctor(op: Op) -> Ctor:
    if op.kind == "elemwise":
        has = bool(op.extra.get("params"))
        return Ctor(op.egraph, ("S",) * (op.nin or 0) + (("String",) if has else ()), "S", op.name, has)
    ins = ("T",) * op.nin if op.nin is not None else ("TL",)
    return Ctor(op.egraph, ins + ("String",), "T", op.name, True)


def constructors() -> list[Ctor]:
    out = list(STRUCTURAL)
    names = {c.name for c in out}
    for op in sorted(REGISTRY.values(), key=lambda o: o.name):
        if op.nout != 1 or op.kind == "fused":
            continue   # multi-output ops stay outside the e-graph; fused ops are its output only
        c = op_ctor(op)
        if c.name in names:
            raise ValueError(f"e-graph constructor {c.name!r} of op {op.name!r} clashes with another")
        names.add(c.name)
        out.append(c)
    return out


def by_name() -> dict[str, Ctor]:
    return {c.name: c for c in constructors()}


def schema_text() -> str:
    """egglog declarations of the sorts and constructors (the language of ``.egg`` rule files)."""
    lines = ["(datatype*"]
    for sort in ("T", "S", "TL"):
        ctors = [c for c in constructors() if c.sort == sort]
        body = "\n".join(f"    ({c.name}{''.join(' ' + a for a in c.args)})" + (f"  ; {c.op}" if c.op else "")
                         for c in ctors)
        lines.append(f"  ({sort}\n{body}\n  )")
    lines.append(")")
    return "\n".join(lines) + "\n" + CORE_RULES


FUSABLE_REDUCTIONS = ("Sum", "Prod", "Max", "Min", "Mean")

# The fusion equalities (sound by definition of Ew/Ld/Fred) run in every phase.
CORE_RULES = """
(ruleset core)
(rewrite (Ld (Ew s)) s :ruleset core)
(rewrite (Ew (Ld t)) t :ruleset core)
""" + "".join(f'(rewrite ({r} (Ew s) p) (Fred s "{r}" p) :ruleset core)\n' for r in FUSABLE_REDUCTIONS)
