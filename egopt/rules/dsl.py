"""Rules as data: ``rules.rewrite(lhs, rhs, name=, phase=, when=)`` with patterns written in the
tensor API, and their translation to egglog text over the schema.

    >>> from egopt import rules
    >>> import egopt.tensor as T
    >>> x, = rules.pattern_vars("x")
    >>> print(rules.rewrite(T.log(1 + x), T.log1p(x), name="log1p", phase="stabilize").egg())
    (rewrite (Log (Add (Lit 1.0) x)) (Log1p x) :subsume :ruleset stabilize :name "log1p")

A pattern variable stands for any scalar expression where it is used elementwise, and for any
tensor where a non-elementwise op reads it. Patterns follow NumPy broadcasting: when the
right side drops a variable of the left side (``x * 0 -> 0``), the result keeps the left
side's shape (the rule produces ``second(x, 0)``).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..lang import frontend as F
from ..lang.graph import Constant, SourceLoc, Variable
from ..lang.types import TensorType
from .encode import params_text
from .schema import op_ctor

PHASES = ("canonicalize", "stabilize", "specialize", "fuse")


def pattern_vars(names: str | Sequence[str], ndim: int = 2, dtype: str = "float64") -> list[Variable]:
    """Pattern variables: ``x, y = rules.pattern_vars("x y")``.

    ``ndim`` only matters to ops whose params depend on it (``T.sum(x)`` sums all axes of an
    ``ndim``-D tensor); elementwise patterns match tensors of any ndim and dtype.
    """
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    out = []
    for n in names:
        v = Variable(TensorType(dtype, (None,) * ndim), name=n)
        v.tag.pattern = n
        out.append(v)
    return out


@dataclass
class Rule:
    name: str
    phase: str
    lhs: Variable | None = None
    rhs: Variable | None = None
    text: str | None = None              # egglog text (for .egg rules, or generated)
    when: tuple[str, ...] = ()           # egglog facts guarding the rule
    loc: str = ""                         # file:line
    meta: dict = field(default_factory=dict)

    def egg(self) -> str:
        if self.text is None:
            self.text = to_egg(self)
        return self.text


class RuleSet:
    """An ordered collection of rules; combine with ``+``."""

    def __init__(self, rules: Iterable[Rule] = (), name: str = ""):
        self.rules = list(rules)
        self.name = name

    def __add__(self, other: "RuleSet") -> "RuleSet":
        names = {r.name for r in self.rules}
        dup = [r.name for r in other.rules if r.name in names]
        if dup:
            raise ValueError(f"rule names defined twice when combining rule sets: {dup}")
        return RuleSet(self.rules + other.rules, name=f"{self.name}+{other.name}".strip("+"))

    def __iter__(self):
        return iter(self.rules)

    def __len__(self):
        return len(self.rules)

    def by_phase(self, phase: str) -> list[Rule]:
        return [r for r in self.rules if r.phase == phase]

    def __repr__(self):
        return f"RuleSet({self.name!r}, {len(self.rules)} rules)"


_COLLECTING: list[list[Rule]] = []


def rewrite(lhs, rhs, name: str | None = None, phase: str = "canonicalize",
            when: Sequence[str] = (), **meta) -> Rule:
    """Declare ``lhs -> rhs`` (patterns built with the tensor API over ``pattern_vars``)."""
    if phase not in PHASES:
        raise ValueError(f"rule {name!r}: phase must be one of {PHASES}, not {phase!r}")
    frame = sys._getframe(1)
    loc = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    lhs, rhs = F.as_tensor_variable(lhs), F.as_tensor_variable(rhs)
    rule = Rule(name or f"rule@{loc}", phase, lhs, rhs, when=tuple(when), loc=loc, meta=meta)
    rule.egg()   # translate now, so a bad pattern fails at its own line
    if _COLLECTING:
        _COLLECTING[-1].append(rule)
    return rule


def positive(v: Variable) -> str:
    """A ``when=`` condition: the sign analysis proves v > 0 (``(Pos v)``)."""
    return f"(Pos {_scalar_name(v)})"


def nonnegative(v: Variable) -> str:
    """A ``when=`` condition: the sign analysis proves v >= 0 (``(NonNeg v)``)."""
    return f"(NonNeg {_scalar_name(v)})"


def nonzero(v: Variable) -> str:
    """A ``when=`` condition: the range analysis proves v != 0 (``(NonZero v)``)."""
    return f"(NonZero {_scalar_name(v)})"


def real(v: Variable) -> str:
    """A ``when=`` condition: v is float-valued (``(Real v)``), so real-number identities hold
    for it where integer arithmetic would wrap around (exp(x)exp(y) -> exp(x + y))."""
    return f"(Real {_scalar_name(v)})"


def in_range(v: Variable, lo: float | None = None, hi: float | None = None, strict: bool = False) -> str:
    """A ``when=`` condition: the range analysis proves lo <= v <= hi (lo < v < hi if
    ``strict``); a bound of None is not checked. ``in_range(x, -1, 1, strict=True)`` is |x| < 1."""
    if lo is None and hi is None:
        raise ValueError("in_range needs a lower or an upper bound")
    name = _scalar_name(v)
    facts = []
    if lo is not None:
        facts.append(f"({'>' if strict else '>='} (Lo {name}) {float(lo)!r})")
    if hi is not None:
        facts.append(f"({'<' if strict else '<='} (Hi {name}) {float(hi)!r})")
    return " ".join(facts)


def _scalar_name(v: Variable) -> str:
    if not _is_pattern(v):
        raise ValueError(f"sign and range conditions take a pattern variable, got {v!r}")
    return v.tag.pattern


# ---- translation to egglog text ------------------------------------------------------------------

def _is_pattern(v: Variable) -> bool:
    return getattr(v.tag, "pattern", None) is not None


def _tensor_vars(*roots: Variable) -> set[str]:
    """Pattern variables read directly by a non-elementwise op (they are tensors, sort T)."""
    out: set[str] = set()
    stack, seen = list(roots), set()
    while stack:
        v = stack.pop()
        if id(v) in seen or v.owner is None:
            continue
        seen.add(id(v))
        for i in v.owner.inputs:
            if _is_pattern(i) and v.owner.op.kind != "elemwise":
                out.add(i.tag.pattern)
            stack.append(i)
    return out


def _vars(v: Variable) -> list[str]:
    out, stack, seen = [], [v], set()
    while stack:
        u = stack.pop()
        if id(u) in seen:
            continue
        seen.add(id(u))
        if _is_pattern(u):
            if u.tag.pattern not in out:
                out.append(u.tag.pattern)
        elif u.owner is not None:
            stack.extend(u.owner.inputs)
    return out


def _literal(c: Constant) -> str:
    if c.ndim != 0:
        raise ValueError(f"patterns may use scalar constants only, got a constant of shape {c.data.shape}")
    val = c.data.item()
    if c.dtype == "bool":
        return f"(Bool {int(val)})"
    if isinstance(val, int):
        return f"(Int {val})"
    text = repr(float(val))
    return f"(Lit {text})"


class _Printer:
    def __init__(self, tvars: set[str]):
        self.tvars = tvars

    def s(self, v: Variable) -> str:
        """v as a scalar expression (sort S)."""
        if _is_pattern(v):
            return f"(Ld {v.tag.pattern})" if v.tag.pattern in self.tvars else v.tag.pattern
        if isinstance(v, Constant):
            return _literal(v)
        if v.owner is None:
            raise ValueError(f"pattern mentions {v!r}, which is neither a pattern variable nor a constant")
        node = v.owner
        if node.op.kind == "elemwise":
            c = op_ctor(node.op)
            args = [self.s(i) for i in node.inputs]
            if c.has_params:
                args.append(_string(params_text(node.params)))
            return f"({c.name} {' '.join(args)})" if args else f"({c.name})"
        return f"(Ld {self.t(v)})"

    def t(self, v: Variable) -> str:
        """v as a tensor (sort T)."""
        if _is_pattern(v):
            if v.tag.pattern not in self.tvars:
                return f"(Ew {v.tag.pattern})"
            return v.tag.pattern
        if isinstance(v, Constant) or v.owner.op.kind == "elemwise":
            return f"(Ew {self.s(v)})"
        node = v.owner
        c = op_ctor(node.op)
        if node.op.nin is None:
            lst = "(TNil)"
            for i in reversed(node.inputs):
                lst = f"(TCons {self.t(i)} {lst})"
            args = [lst]
        else:
            args = [self.t(i) for i in node.inputs]
        args.append(_string(params_text(node.params)))
        return f"({c.name} {' '.join(args)})"


def _string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _elementwise_root(v: Variable) -> bool:
    return _is_pattern(v) or isinstance(v, Constant) or v.owner.op.kind == "elemwise"


def to_egg(rule: Rule) -> str:
    lhs, rhs = rule.lhs, rule.rhs
    if _is_pattern(lhs):
        raise ValueError(f"rule {rule.name}: the left side is a bare variable (it would match everything)")
    missing = set(_vars(rhs)) - set(_vars(lhs))
    if missing:
        raise ValueError(f"rule {rule.name}: right side uses {sorted(missing)}, unbound on the left")
    dropped = [n for n in _vars(lhs) if n not in _vars(rhs)]
    tvars = _tensor_vars(lhs, rhs)
    p = _Printer(tvars)
    if _elementwise_root(lhs):
        left, right = p.s(lhs), p.s(rhs)
        for n in dropped:   # keep the left side's broadcast shape
            right = f"(Second {n if n not in tvars else f'(Ld {n})'} {right})"
    else:
        left, right = p.t(lhs), p.t(rhs)
        if dropped:
            raise ValueError(f"rule {rule.name}: a tensor-level rule drops {dropped}; "
                             "its right side must keep the left side's shape explicitly")
    when = f" :when ({' '.join(rule.when)})" if rule.when else ""
    # a stability rule retires the naive form: the extractor may not pick it again
    subsume = " :subsume" if rule.meta.get("subsume", rule.phase == "stabilize") else ""
    return f"(rewrite {left} {right}{when}{subsume} :ruleset {rule.phase} :name {_string(rule.name)})"
