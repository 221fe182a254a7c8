"""Which rules can fire on a given graph: a rule whose left side needs a constructor that
is neither in the encoded graph nor produced by another rule that can fire is left out of
the e-graph. egglog compiles every rule it is given and matches each one every iteration, so
a library of trigonometric and special-function repairs would otherwise slow down the
compilation of every training graph that has no sin or erf in it.

The closure is conservative: a rule's right-side constructors count as present as soon as its
left side's do (whatever its ``:when`` facts say); ``birewrite`` counts both directions, and
a plain ``rule`` form (facts and actions) is always kept.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from .sexpr import parse

ALWAYS = frozenset({"Input", "Ew", "Ld", "Lit", "Int", "Bool", "TNil", "TCons"})


def _heads(e, out: set) -> set:
    if isinstance(e, list) and e:
        if isinstance(e[0], str) and e[0][:1].isupper():
            out.add(e[0])
        for a in e[1:] if isinstance(e[0], str) else e:
            _heads(a, out)
    return out


@lru_cache(maxsize=4096)
def _sides(text: str):
    """(kind, constructors the left side needs, constructors the right side makes)."""
    form = parse(text)
    kind = form[0]
    if kind not in ("rewrite", "birewrite"):
        return kind, frozenset(), frozenset(_heads(form, set()))
    lhs, rhs = frozenset(_heads(form[1], set())), frozenset(_heads(form[2], set()))
    return kind, lhs, rhs


def relevant(rules: Iterable, present: Iterable[str]) -> list:
    """The rules (in their order) that may fire on a graph built from ``present`` constructors."""
    rules = list(rules)
    have = set(present) | ALWAYS
    sides = [_sides(r.egg()) for r in rules]
    keep = [False] * len(rules)
    changed = True
    while changed:
        changed = False
        for i, (kind, lhs, rhs) in enumerate(sides):
            if keep[i]:
                continue
            if kind == "birewrite" and (lhs <= have or rhs <= have):
                new = lhs | rhs
            elif lhs <= have:
                new = rhs
            else:
                continue
            keep[i] = changed = True
            have |= new
    return [r for r, k in zip(rules, keep) if k]
