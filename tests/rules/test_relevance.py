"""Rules that cannot fire on a graph are not loaded into its e-graph."""
from __future__ import annotations

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules.encode import encode
from egopt.rules.relevance import ROOT, graph_pairs, relevant

x, = rules.pattern_vars("x")

R1 = rules.rewrite(T.log(1 + x), T.log1p(x), name="log1p", phase="stabilize")
R2 = rules.rewrite(T.log1p(T.exp(x)), T.softplus(x), name="log1p-exp", phase="stabilize")
R3 = rules.rewrite(1 - T.cos(x), 2 * T.sqr(T.sin(x / 2)), name="half-angle", phase="stabilize")


def _names(rs):
    return [r.name for r in rs]


def test_rules_need_their_parent_child_pairs():
    # log(1 + exp(v)): log1p fires, and its right side puts Log1p over what x stood for (the
    # Exp below the Add), so log1p-exp may fire after it
    pairs = {(ROOT, "Log"), ("Log", "Add"), ("Add", "Lit"), ("Add", "Exp"), ("Exp", "Input")}
    assert _names(relevant([R1, R2, R3], pairs)) == ["log1p", "log1p-exp"]
    # log(1 + sin(v)): Log1p over Sin only; log1p-exp needs Log1p over Exp
    pairs = {(ROOT, "Log"), ("Log", "Add"), ("Add", "Lit"), ("Add", "Sin"), ("Sin", "Exp")}
    assert _names(relevant([R1, R2, R3], pairs)) == ["log1p"]
    assert _names(relevant([R1, R2, R3], {(ROOT, "Sub"), ("Sub", "Lit"), ("Sub", "Cos")})) == ["half-angle"]
    assert _names(relevant([R1, R2, R3], {(ROOT, "Sub"), ("Sub", "Cos")})) == []


def test_graph_pairs_look_through_fusion():
    v = T.dvector("v")
    pairs = graph_pairs(encode([T.log(1 + T.exp(v))], [v]))
    assert {("Log", "Add"), ("Add", "Lit"), ("Add", "Exp"), ("Exp", "Input")} <= pairs


def test_egg_rule_forms_are_kept():
    from egopt.rules.loader import load_egg_text
    [form] = load_egg_text('(rule ((= e (Exp a))) ((union e (Exp a))) :ruleset canonicalize :name "r")')
    assert relevant([form], set()) == [form]


def test_pruned_library_optimizes_the_same():
    v = T.dvector("v")
    f = egopt.function([v], T.log(1 + T.exp(v)))
    rep = f.optimization_report()
    assert rep.outcome == "optimized" and "log1p-exp" in rep.fired
