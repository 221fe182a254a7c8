"""DebugMode compares the optimized run with the unoptimized graph and names the rule to blame;
NanGuardMode names the node that made NaN/inf/huge values."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import rules


def _unsound(lhs, rhs, name):
    return rules.RuleSet([rules.rewrite(lhs, rhs, name=name)], name="mine")


def test_debugmode_agrees_on_a_sound_optimization():
    x = T.dvector("x")
    w = egopt.shared(np.array([0.5, -1.0, 2.0]), name="w")
    cost = T.sum(T.log(1 + T.exp(-(x * w))) + x * 0 + (x / x))
    f = egopt.function([x], [cost, T.grad(cost, w)], mode="DebugMode")
    assert f.optimization_report().outcome == "optimized"
    assert f.report.equivalents                      # intermediates are compared, not only outputs
    ref = egopt.function([x], [cost, T.grad(cost, w)], mode="FAST_COMPILE")
    xv = np.array([1.0, -2.0, 3.0])
    for got, want in zip(f(xv), ref(xv)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_debugmode_names_an_unsound_user_rule_at_a_leaf():
    x, = rules.pattern_vars("x")
    bad = _unsound(T.sqrt(x * x), x, "bad-sqrt-square")            # sqrt(x^2) is |x|, not x
    v = T.dvector("v")
    f = egopt.function([v], T.sqrt(v * v) + 1, mode=egopt.get_mode("DebugMode").including(bad))
    np.testing.assert_allclose(f([1.0, 2.0]), [2.0, 3.0])           # agrees where x >= 0
    with pytest.raises(egopt.BadOptimization) as e:
        f([-1.0, 2.0])
    assert e.value.rules == ["bad-sqrt-square"]
    msg = str(e.value)
    assert "sqrt" in msg and "test_debugmode.py" in msg and "v = [-1.  2.]" in msg


def test_debugmode_names_an_unsound_rule_inside_the_graph():
    x, y = rules.pattern_vars("x y")
    bad = _unsound(T.exp(x) * T.exp(y), x * y + 1, "bad-exp-mul")    # exp(x)exp(y) = exp(x + y)
    a, b = T.dvectors("a", "b")
    out = T.tanh(T.exp(a) * T.exp(b))
    mode = egopt.Mode("egraph", "py", rules=(bad,), name="DEBUG_MODE", options={"check": "debug"})
    f = egopt.function([a, b], out, mode=mode)
    with pytest.raises(egopt.BadOptimization) as e:
        f(np.array([-3.0, 0.1]), np.array([-2.0, -0.2]))
    assert "bad-exp-mul" in e.value.rules
    assert "exp-mul" not in e.value.rules                           # the built-in (sound) one is not blamed


def test_nanguard_names_the_op_and_line():
    x = T.dvector("x")
    f = egopt.function([x], T.log(x) * 2, mode=egopt.NanGuardMode(nan_is_error=True, inf_is_error=True,
                                                                      big_is_error=True))
    np.testing.assert_allclose(f([1.0, np.e]), [0.0, 2.0])
    with pytest.raises(egopt.NanGuardError) as e:
        f([-1.0, 0.0])
    msg = str(e.value)
    assert "log(" in msg and "1 NaN" in msg and "1 inf" in msg and "test_debugmode.py" in msg
    assert "inputs were all fine" in msg


def test_nanguard_says_when_inputs_were_already_bad_and_checks_big_values():
    x = T.dvector("x")
    s = egopt.shared(np.array([1.0, 2.0]), name="s")
    f = egopt.function([x], T.exp(x) + s, mode="NanGuardMode")
    with pytest.raises(egopt.NanGuardError, match=r"\|x\| > 1e\+10"):
        f([30.0, 0.0])                                  # exp(30) ~ 1e13
    with pytest.raises(egopt.NanGuardError, match="input x"):
        f([np.nan, 0.0])
    quiet = egopt.function([x], T.exp(x), mode=egopt.NanGuardMode(False, False, False))
    assert np.isinf(quiet([1000.0]))[0]
