"""Rule provenance in DebugMode: the rules recorded for the first diverging node's e-classes
name the unsound rule directly; sound rules that fired elsewhere are not among them; fused
nodes carry their body's rules; recording changes nothing about what is optimized."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import rules


def _mode(*rule_sets):
    return egopt.Mode("egraph", "py", rules=rule_sets, name="DEBUG_MODE", options={"check": "debug"})


def test_provenance_names_the_unsound_rule_and_not_a_sound_one_elsewhere():
    x, = rules.pattern_vars("x")
    bad = rules.RuleSet([rules.rewrite(T.sqrt(x * x), x, name="bad-sqrt-square")], name="mine")
    v, w = T.dvectors("v", "w")
    elsewhere = T.log(1 + T.exp(w))                   # a stability rule rewrites this (softplus)
    f = egopt.function([v, w], [T.sqrt(v * v) + 1, elsewhere], mode=_mode(bad))
    fired_elsewhere = {n for n in f.report.fired if "softplus" in n or "log1p" in n}
    assert fired_elsewhere                             # a sound rewrite did fire, on w's side
    with pytest.raises(egopt.BadOptimization) as e:
        f([-1.0, 2.0], [0.5, 1.0])
    assert "bad-sqrt-square" in e.value.provenance
    assert not fired_elsewhere & set(e.value.provenance)
    assert e.value.rules == ["bad-sqrt-square"]        # leave-one-out confirms it among the candidates
    assert "produced by the rules" in str(e.value)
    assert e.value.optimized is v                      # the diverging value is v; its twin is sqrt(v * v)
    assert e.value.built_by == []                      # v is an input: no rule built it, one rewrote into it


def test_fused_nodes_carry_the_rules_of_their_body():
    x, y = rules.pattern_vars("x y")
    bad = rules.RuleSet([rules.rewrite(T.exp(x) * T.exp(y), x * y + 1, name="bad-exp-mul")], name="mine")
    a, b = T.dvectors("a", "b")
    f = egopt.function([a, b], T.tanh(T.exp(a) * T.exp(b)) * 3, mode=_mode(bad))
    fused = [o for o in f.report.provenance.values()
             if o.var.owner is not None and o.var.owner.op.name == "fused_elemwise"]
    assert fused and all("bad-exp-mul" in o.built for o in fused)
    av, bv = np.array([-3.0, 0.1]), np.array([-2.0, -0.2])
    with pytest.raises(egopt.BadOptimization) as e:
        f(av, bv)
    assert e.value.optimized.owner.op.name == "fused_elemwise"
    inner = e.value.inner                                     # narrowed inside the fused node:
    assert inner.owner.op.name == "add" and inner.owner.inputs[0].owner.op.name == "mul"   # a * b + 1
    assert "inside it, the first op that diverges: add" in str(e.value)
    assert "bad-exp-mul" in e.value.provenance and e.value.rules == ["bad-exp-mul"]
    assert "bad-exp-mul" in e.value.built_by                 # it built the nodes that run (a*b + 1)
    assert "exp-mul" not in e.value.built_by and "exp-mul" not in e.value.rules
    ref = np.tanh(np.exp(av) * np.exp(bv)) * 3          # what the program should have computed
    assert not np.allclose(np.tanh(av * bv + 1) * 3, ref)


def test_recording_provenance_optimizes_exactly_as_without():
    x = T.dvector("x")
    w = egopt.shared(np.array([0.5, -1.0, 2.0]), name="w")
    cost = T.sum(T.log(1 + T.exp(-(x * w))) + x * 0 + (x / x))
    outs = [cost, T.grad(cost, w)]
    debug = egopt.function([x], outs, mode="DebugMode")
    plain = egopt.function([x], outs, mode=egopt.Mode("egraph", "py"))
    assert debug.report.provenance and not plain.report.provenance
    assert debug.report.fired == plain.report.fired
    assert debug.report.egraph_nodes == plain.report.egraph_nodes
    assert debug.report.cost_after == plain.report.cost_after
    xv = np.array([1.0, -2.0, 3.0])
    for got, want in zip(debug(xv), plain(xv)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_training_graph_in_debugmode_optimizes_as_without_and_passes_its_checks():
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from bench.compile_time import mlp
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 20)), rng.integers(0, 3, 16)
    runs = []
    for mode in ("DebugMode", egopt.Mode("egraph", "py")):
        ins, outs, upd = mlp(T, egopt.shared, n_in=20, n_hid=8, n_out=3)
        f = egopt.function(ins, outs, updates=upd, mode=mode)
        costs = [float(f(x, y)[0]) for _ in range(3)]    # DebugMode checks values and kernels each call
        runs.append((f.report, costs))
    (debug, c_debug), (plain, c_plain) = runs
    assert debug.outcome == plain.outcome == "optimized"
    assert debug.fired == plain.fired and debug.egraph_nodes == plain.egraph_nodes
    phases = [[(p.name, p.iterations, p.stop) for p in r.phases] for r in (debug, plain)]
    assert phases[0] == phases[1]
    np.testing.assert_allclose(c_debug, c_plain, rtol=1e-12)


def test_two_unsound_rules_each_enough_are_both_named():
    x, = rules.pattern_vars("x")
    bad = rules.RuleSet([rules.rewrite(T.sqrt(x * x), x, name="bad-1"),
                         rules.rewrite(T.sqrt(x * x), x * 1, name="bad-2")], name="mine")
    v = T.dvector("v")
    f = egopt.function([v], T.sqrt(v * v) + 1, mode=_mode(bad))
    with pytest.raises(egopt.BadOptimization) as e:
        f([-1.0, 2.0])
    assert {"bad-1", "bad-2"} <= set(e.value.rules)          # leaving either out alone is not enough
    assert e.value.rules == e.value.provenance
    assert "leaving out any one of them alone" in str(e.value)


def test_unsound_rules_from_an_egg_file_are_named(tmp_path):
    path = tmp_path / "mine.egg"      # |a| = a only for a >= 0; -(-b) = -b only for b = 0
    path.write_text('(rewrite (Abs a) a :ruleset canonicalize :name "abs-drop")\n'
                    "(rewrite (Neg (Neg b)) (Neg b) :ruleset canonicalize)\n")   # unnamed: mine.egg:2
    a, b = T.dvectors("a", "b")
    f = egopt.function([a, b], T.abs(a) * 2 + T.neg(T.neg(b)),
                       mode=egopt.Mode("egraph", "py", rules=[str(path)], options={"check": "debug"}))
    np.testing.assert_allclose(f([2.0, 3.0], [0.0, 0.0]), [4.0, 6.0])      # where both happen to hold
    for av, bv, rule in (([-2.0, 3.0], [0.0, 0.0], "abs-drop"), ([2.0, 3.0], [1.0, -1.0], "mine.egg:2")):
        with pytest.raises(egopt.BadOptimization) as e:
            f(av, bv)
        # (-(-b) = -b needs the sound neg-neg too to break the result: both are then confirmed)
        assert rule in e.value.rules and set(e.value.rules) <= set(e.value.provenance)
        assert set(e.value.rules) <= {rule, "neg-neg"}
