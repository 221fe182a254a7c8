"""Which rules can fire on a given graph: a rule whose left side needs a parent-child pair of
constructors (``(Sub (Cos a) ...)`` needs Sub over Cos) that is neither in the encoded graph
nor produced by another rule that can fire is left out of the e-graph. egglog compiles every
rule it is given and matches each one every iteration, so a library of trigonometric and
special-function repairs would otherwise slow down the compilation of every training graph.

Pairs are taken with the fusion constructors looked through (``(Ld (Ew s))`` is s). The
closure is conservative: a rule that can fire adds the pairs of its right side, and its right
side's root under every parent its left side's root has; its ``:when`` facts are ignored;
``birewrite`` counts both directions; a plain ``rule`` form (facts and actions) is always kept.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from .sexpr import parse

TRANSPARENT = frozenset({"Ld", "Ew"})
LISTS = frozenset({"TCons", "TNil"})     # a variadic op's argument list: its elements are its children
ANY = "*"


def _head(e):
    """The constructor at the top of e, looking through Ld/Ew; ANY for a variable or literal."""
    while isinstance(e, list) and e and e[0] in TRANSPARENT:
        e = e[1]
    if isinstance(e, list) and e and isinstance(e[0], str) and e[0][:1].isupper():
        return e[0]
    return ANY


def _var(e):
    """The pattern variable at the top of e (looking through Ld/Ew), or None."""
    while isinstance(e, list) and e and e[0] in TRANSPARENT:
        e = e[1]
    return e if isinstance(e, str) and e[:1].islower() else None


def _args(e):
    """The arguments of node e, a ``(TCons x (TCons y (TNil)))`` argument list read as its
    elements (the encoding gives a variadic op's inputs as such a list, and graph_pairs pairs
    the op with each input's constructor directly)."""
    for a in e[1:]:
        if isinstance(a, list) and a and a[0] in LISTS:
            yield from _args(a)
        else:
            yield a


def _pairs(e, out: set, var_parents: dict) -> set:
    """(parent, child) constructor pairs of a pattern; var_parents gets, for each variable,
    the constructors it sits under."""
    if isinstance(e, list) and e and isinstance(e[0], str):
        h = e[0]
        for a in _args(e):
            if h not in TRANSPARENT and h not in LISTS and h[:1].isupper():
                c, v = _head(a), _var(a)
                if c != ANY:
                    out.add((h, c))
                elif v is not None:
                    var_parents.setdefault(v, set()).add(h)
            _pairs(a, out, var_parents)
    return out


@lru_cache(maxsize=8192)
def _sides(text: str):
    """(kind, left root, pairs the left side needs, right root, pairs the right side makes,
    variable -> parents on the left, variable -> parents on the right)."""
    form = parse(text)
    kind = form[0]
    if kind not in ("rewrite", "birewrite"):
        return kind, ANY, frozenset(), ANY, frozenset(), {}, {}
    lhs, rhs = form[1], form[2]
    lv, rv = {}, {}
    lp, rp = frozenset(_pairs(lhs, set(), lv)), frozenset(_pairs(rhs, set(), rv))
    return kind, _head(lhs), lp, _head(rhs), rp, lv, rv


def graph_pairs(enc) -> set:
    """(parent, child) constructor pairs of an encoded graph, and (ROOT, c) for its nodes."""
    from .schema import op_ctor
    from .encode import weak_literal
    out = set()
    for v in enc.origin.values():
        node = v.owner
        if node is None:
            continue
        p = op_ctor(node.op).name
        out.add((ROOT, p))
        for i, u in enumerate(node.inputs):
            lit = weak_literal(node.inputs, i) if node.op.kind == "elemwise" else None
            c = lit[0] if lit else (op_ctor(u.owner.op).name if u.owner is not None else "Input")
            out.add((p, c))
    return out


ROOT = "^"


def relevant(rules: Iterable, pairs: set) -> list:
    """The rules (in their order) that may fire on a graph with these constructor ``pairs``."""
    rules = list(rules)
    have = set(pairs)
    parents: dict = {}
    for p, c in have:
        parents.setdefault(c, set()).add(p)
    sides = [_sides(r.egg()) for r in rules]
    keep = [False] * len(rules)

    def add(pair):
        if pair not in have:
            have.add(pair)
            parents.setdefault(pair[1], set()).add(pair[0])

    def fires(root, need):
        return root in parents and need <= have

    def bindings(var_parents, var):
        """Constructors a variable may stand for: any child of a parent it sits under."""
        out = set()
        for par in var_parents.get(var, ()):
            out |= {c for (p, c) in have if p == par}
        return out

    changed = True
    while changed:
        changed = False
        for i, (kind, lroot, lneed, rroot, rmake, lvars, rvars) in enumerate(sides):
            if keep[i]:
                continue
            if kind not in ("rewrite", "birewrite"):
                keep[i] = changed = True
                continue
            directions = [(lroot, lneed, rroot, rmake, lvars, rvars)]
            if kind == "birewrite":
                directions.append((rroot, rmake, lroot, lneed, rvars, lvars))
            for root, need, new_root, make, bound, used in directions:
                if root != ANY and not fires(root, need):
                    continue
                keep[i] = changed = True
                new = set(make)
                for var, pars in used.items():
                    for c in bindings(bound, var):
                        new |= {(q, c) for q in pars}
                if new_root != ANY:
                    new |= {(par, new_root) for par in parents.get(root, ())} | {(ROOT, new_root)}
                for pair in new:
                    add(pair)
    return [r for r, k in zip(rules, keep) if k]
