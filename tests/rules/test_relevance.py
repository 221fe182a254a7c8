"""Rules that cannot fire on a graph are not loaded into its e-graph."""
from __future__ import annotations

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules.relevance import relevant

x, = rules.pattern_vars("x")


def _names(rs):
    return [r.name for r in rs]


def test_rules_need_their_constructors():
    r1 = rules.rewrite(T.log(1 + x), T.log1p(x), name="log1p", phase="stabilize")
    r2 = rules.rewrite(T.log1p(T.exp(x)), T.softplus(x), name="log1p-exp", phase="stabilize")
    r3 = rules.rewrite(1 - T.cos(x), 2 * T.sqr(T.sin(x / 2)), name="half-angle", phase="stabilize")
    assert _names(relevant([r1, r2, r3], {"Log", "Add", "Exp"})) == ["log1p", "log1p-exp"]   # via log1p
    assert _names(relevant([r1, r2, r3], {"Log", "Exp"})) == []
    assert _names(relevant([r1, r2, r3], {"Sub", "Cos"})) == ["half-angle"]


def test_egg_rule_forms_are_kept():
    from egopt.rules.loader import load_egg_text
    [form] = load_egg_text("(rule ((= e (Exp a))) ((union e (Exp a))) :ruleset canonicalize :name \"r\")")
    assert relevant([form], set()) == [form]


def test_pruned_library_optimizes_the_same():
    v = T.dvector("v")
    f = egopt.function([v], T.log(1 + T.exp(v)))
    rep = f.optimization_report()
    assert rep.outcome == "optimized" and "log1p-exp" in rep.fired
