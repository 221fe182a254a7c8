"""The e-graph optimizer end to end: naive forms become stable ones, answers never change."""
from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import rules
import egopt.rules.engine
from egopt.runtime import optimize as optimize_mod

FAST = "FAST_RUN"


def compiled(inputs, out, mode=FAST):
    return egopt.function(inputs, out, mode=mode)


def ops_in(f):
    """The ops the compiled graph computes (those inside fused nodes included)."""
    from egopt.lang.graph import toposort
    return [name for n in toposort(f.graph_outputs(), stop=f.input_vars + f.shared_vars)
            for name in (n.params["body"].op_names() + ([n.params["reduce"]] if "reduce" in n.params else [])
                         if "body" in n.params else [n.op.name])]


def test_log1p_of_tiny_x_is_exact():
    x = T.dscalar("x")
    f = compiled([x], T.log(1 + x))
    got = f(1e-17)
    assert got == np.log1p(1e-17)                 # the naive form gives 0.0
    assert "log1p" in ops_in(f)


def test_log_softmax_written_by_hand_is_stable():
    z = T.dvector("z")
    sm = T.exp(z - z.max()) / T.exp(z - z.max()).sum()
    f = compiled([z], T.log(sm))
    got = f(np.array([1000.0, 0.0, -1000.0]))
    np.testing.assert_allclose(got, [0.0, -1000.0, -2000.0], rtol=1e-12)


def test_log_sigmoid_far_left():
    x = T.dscalar("x")
    f = compiled([x], T.log(T.nnet.sigmoid(x)))
    assert f(-800.0) == -800.0
    g = compiled([x], T.log(1 / (1 + T.exp(-x))))
    assert g(-800.0) == -800.0


def test_saturated_sigmoid_cross_entropy_is_finite_with_finite_gradient():
    x, y = T.dscalar("x"), T.dscalar("y")
    p = T.nnet.sigmoid(x)
    xent = -y * T.log(p) - (1 - y) * T.log(1 - p)
    f = compiled([x, y], [xent, T.grad(xent, x)])
    for xv, yv in [(-800.0, 1.0), (800.0, 0.0), (-40.0, 1.0)]:
        val, grad = f(xv, yv)
        assert np.isfinite(val) and np.isfinite(grad), (xv, yv, val, grad)
        assert val == pytest.approx(math.log1p(math.exp(-abs(xv))) + abs(xv), rel=1e-12)


def test_expm1_and_log1mexp():
    x = T.dscalar("x")
    assert compiled([x], T.exp(x) - 1)(1e-10) == np.expm1(1e-10)
    f = compiled([x], T.log(1 - T.exp(x)))
    assert f(-1e-20) == pytest.approx(math.log(1e-20), rel=1e-12)


def test_pytensor_misses_are_handled():
    a, b, c = T.dvectors("a", "b", "c")
    f = compiled([a, b, c], a * b + a * c)
    assert ops_in(f).count("mul") == 1
    # (on bounded operands: a*b - b*a with a = inf is NaN, which sub-self keeps; see below)
    ta, tb = T.tanh(a), T.tanh(b)
    g = compiled([a, b], ta * tb - tb * ta)
    assert "mul" not in ops_in(g) and "sub" not in ops_in(g)
    np.testing.assert_array_equal(g(np.ones(3), np.arange(3.0)), np.zeros(3))


def test_self_cancellation_keeps_numpys_nan_at_infinity():
    """x - x and x / x are 0 and 1 only where the range analysis bounds x (and, for x / x, keeps
    it off 0): an overflowed exp or an infinite input gives NaN there, in NumPy and here.
    (x * 0 is still 0 at inf: mul-zero, which gradients need, is left as PyTensor has it.)"""
    x = T.dvector("x")
    xv = np.array([1.0, 800.0, np.inf, -np.inf, 0.0])
    with np.errstate(all="ignore"):
        for e, want in [(x - x, xv - xv), (x / x, xv / xv), (T.exp(x) / T.exp(x), np.exp(xv) / np.exp(xv)),
                        (T.exp(x) - T.exp(x), np.exp(xv) - np.exp(xv))]:
            np.testing.assert_array_equal(compiled([x], e)(xv), want, err_msg=egopt.printing.pp(e))
    bounded = compiled([x], T.tanh(x) - T.tanh(x) + T.nnet.sigmoid(x) / T.nnet.sigmoid(x))
    assert {"sub-self", "div-self"} <= set(bounded.optimization_report().fired)
    np.testing.assert_array_equal(bounded(xv), np.ones(5))


def test_zero_keeps_the_shape():
    x = T.dmatrix("x")
    f = compiled([x], x * 0)
    np.testing.assert_array_equal(f(np.ones((2, 3))), np.zeros((2, 3)))


def test_optimized_equals_unoptimized_on_many_expressions():
    x, y = T.dmatrices("x", "y")
    v = T.dvector("v")
    exprs = [T.exp(x) * T.exp(y), (x * 2).sum(), x / 2 + y / 4, x ** 2 + x ** 3 - x ** -1,
             T.log(1 + T.exp(x)), T.sqrt(x * x), -(-x) + (x - (-y)), x / x, T.sum(T.sum(x, axis=1), axis=0),
             (x + v).mean(axis=1), T.switch(x > 0, x, 0) * y, x.T.T + y,
             x.reshape((4, 3)).reshape((2, 6)), T.dot(x.T, y[:, :3].T)]
    xv = np.random.default_rng(0).normal(size=(3, 4))
    yv = np.random.default_rng(1).normal(size=(3, 4)) + 3
    vv = np.random.default_rng(2).normal(size=4)
    for e in exprs:
        f_opt = egopt.function([x, y, v], e, mode=FAST, on_unused_input="ignore")
        f_ref = egopt.function([x, y, v], e, mode="FAST_COMPILE", on_unused_input="ignore")
        np.testing.assert_allclose(f_opt(xv, yv, vv), f_ref(xv, yv, vv), rtol=1e-12, atol=1e-12,
                                   err_msg=egopt.printing.pp(e))


def test_report_lists_phases_rules_and_costs():
    x = T.dvector("x")
    f = compiled([x], T.log(1 + x) * 1)
    rep = f.optimization_report()
    assert [p.name for p in rep.phases] == ["canonicalize", "stabilize", "specialize", "fuse"]
    assert rep.fired.get("log1p", 0) >= 1 and rep.fired.get("mul-one", 0) >= 1
    assert rep.cost_after < rep.cost_before
    assert all(p.stop in ("saturated", "no rules") or "limit" in p.stop for p in rep.phases)
    text = str(rep)
    assert "canonicalize" in text and "log1p" in text


def test_limits_stop_phases_and_still_compile():
    x = T.dvector("x")
    e = x
    for i in range(30):
        e = e * (x + i) + T.exp(e) * x
    phases = tuple(egopt.rules.engine.Phase(p, iters=1, nodes=10, seconds=0.001) for p in rules.PHASES)
    new, rep = optimize_mod.optimize([e], [x], optimize_mod.ruleset_for(egopt.get_mode(FAST)), phases)
    assert any("limit" in p.stop for p in rep.phases)
    xv = np.linspace(-0.1, 0.1, 5)
    ref = egopt.function([x], e, mode="FAST_COMPILE")(xv)
    np.testing.assert_allclose(egopt.function([x], new[0], mode="FAST_COMPILE")(xv), ref, rtol=1e-10)


def test_engine_panic_falls_back(monkeypatch):
    class FakePanic(BaseException):
        pass

    def boom(*a, **k):
        raise FakePanic("rust panic")

    monkeypatch.setattr(egopt.rules.engine, "saturate", boom)
    x = T.dvector("x")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        f = compiled([x], T.log(1 + x))
    assert any("optimizer failed" in str(m.message) for m in w)
    np.testing.assert_allclose(f([1.0, 2.0]), np.log([2.0, 3.0]))
    assert "failed" in f.optimization_report().outcome


def test_fast_compile_skips_the_optimizer():
    x = T.dscalar("x")
    f = compiled([x], T.log(1 + x), mode="FAST_COMPILE")
    assert "log1p" not in ops_in(f)


def test_user_rules_in_mode(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(
        "from egopt import rules\nimport egopt.tensor as T\n"
        "x, = rules.pattern_vars('x')\n"
        "rules.rewrite(T.cos(x) ** 2 + T.sin(x) ** 2, T.second(x, 1.0), name='pythagoras')\n")
    x = T.dvector("x")
    e = T.cos(x) ** 2 + T.sin(x) ** 2
    f = egopt.function([x], e, mode=egopt.Mode(rules=[str(path)]))
    assert f.optimization_report().fired.get("pythagoras")
    assert set(ops_in(f)) <= {"second"}
    np.testing.assert_array_equal(f(np.arange(3.0)), np.ones(3))


def test_optimized_function_pickles():
    x = T.dvector("x")
    f = compiled([x], T.log(1 + x))
    g = pickle.loads(pickle.dumps(f))
    assert g(np.array([1e-17]))[0] == 1e-17


@pytest.mark.parametrize("model", ["logreg", "mlp"])
def test_training_graphs_shrink_and_match_the_unoptimized_run(model):
    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from bench.compile_time import logreg, mlp
    build = {"logreg": lambda T, s: logreg(T, s, feats=20),
             "mlp": lambda T, s: mlp(T, s, n_in=20, n_hid=8, n_out=3)}[model]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 20))
    y = (rng.random(16) > 0.5).astype("float64") if model == "logreg" else rng.integers(0, 3, 16)
    results = []
    for mode in ("FAST_RUN", "FAST_COMPILE"):
        ins, outs, upd = build(T, egopt.shared)
        f = egopt.function(ins, outs, updates=upd, mode=mode)
        costs = [float(f(x, y)[0]) for _ in range(5)]
        results.append((costs, [k.get_value() for k, _ in upd], f))
    (c_opt, p_opt, f_opt), (c_ref, p_ref, _) = results
    np.testing.assert_allclose(c_opt, c_ref, rtol=1e-10)
    for a, b in zip(p_opt, p_ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    rep = f_opt.optimization_report()
    assert rep.outcome == "optimized" and rep.nodes_out <= rep.nodes_in
    stabilized = any(k in rep.fired for k in ("log-sigmoid", "log-softmax-2d", "log1p"))
    # stable forms (softplus, log_softmax) may cost a few flops more than the naive ones
    assert rep.cost_after < rep.cost_before or (stabilized and rep.cost_after < 1.1 * rep.cost_before)


def test_sign_facts_are_not_derived_for_wrapping_integers():
    """Integer arithmetic wraps: sqr(int8(31)) is -63 and abs(int8(-128)) is -128, so abs of a
    square, or max(x*x, 0), must not be dropped as for floats (the range analysis derives
    those facts for float classes only: Real in egopt/rules/analysis.py)."""
    x = T.bvector("x")
    xv = np.array([31, -128, 12, -7, 0, 127], dtype=np.int8)
    exprs = [abs(T.sqr(x)), abs(x * x), T.maximum(x * x, 0), T.sgn(x * x + 1), abs(abs(x)) + 0,
             T.maximum(abs(x), 0), T.minimum(-abs(x), 0), abs(x * 3 + x * 3)]
    f = compiled([x], exprs)
    assert f.optimization_report().outcome == "optimized"
    for got, e in zip(f(xv), exprs):
        want = egopt.function([x], e, mode="FAST_COMPILE")(xv)
        np.testing.assert_array_equal(got, want, err_msg=egopt.printing.pp(e))
    with np.errstate(all="ignore"):     # exp(x)exp(y) is not exp(x + y) when x + y wraps
        e = T.exp(x) * T.exp(x[::-1])
        np.testing.assert_allclose(compiled([x], e)(xv), np.exp(xv.astype(np.float32)) * np.exp(xv[::-1].astype(np.float32)),
                                   rtol=1e-6)
    y = T.dvector("y")       # the float forms still simplify
    g = compiled([y], [abs(T.sqr(y)), T.maximum(y * y, 0), T.exp(y) * T.exp(y[::-1])])
    assert {"abs-nonneg", "relu-nonneg", "exp-mul"} <= set(g.optimization_report().fired)
