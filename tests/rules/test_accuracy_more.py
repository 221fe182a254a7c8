"""The repairs beyond the first library (hypot, inverse hyperbolic logs, power, exponential and
quotient differences, 1 +- tanh, log-cosh): egopt against mpmath in the regime where the naive
form loses its digits, and unchanged values (NaN, inf, exact zeros) outside it.

The formulas and the metric are those of ``bench/accuracy.py``.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules.soundness import check_rule
from tests.rules.test_accuracy import assert_repaired

NEW = [("2cbrt", "float64"), ("2nthrt", "float64"), ("logq", "float64"), ("hypot", "float64"),
       ("hypot-normalize", "float32"), ("asinh-by-log", "float64"), ("acosh-by-log", "float64"),
       ("atanh-by-log", "float64"), ("gelu-tanh", "float64"), ("1-tanh", "float64"), ("log-cosh", "float64"),
       ("sqrt1p-1", "float64"), ("exp-diff", "float64"), ("log-quotient", "float64"), ("pow1p-m1", "float64"),
       ("tanh-by-exp2", "float64"), ("hypot", "float32"), ("asinh-by-log", "float32"), ("2cbrt", "float32"),
       ("log-cosh", "float32"), ("logs", "float64"), ("softplus-minus-x", "float64"), ("1-exp-neg", "float32"),
       ("kl-term", "float64"), ("bce-by-hand", "float64"), ("pow1p-big", "float64"),
       ("kl-term", "float32"), ("diff-squares", "float64"), ("sqrt-1-x2", "float64"), ("1-exp-neg", "float64"),
       ("2sqr", "float64"), ("2sqr", "float32"), ("complex-sqrt-re", "float64"), ("complex-sqrt-im", "float32")]


@pytest.mark.parametrize("name,dtype", NEW, ids=[f"{n}-{d}" for n, d in NEW])
def test_repaired(name, dtype):
    assert_repaired(name, dtype)


def _ulps(got, exact):
    got, exact = np.asarray(got, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    return np.abs(got - exact) / np.spacing(np.abs(exact))


def _mp(f, *vals):
    with mpmath.workdps(60):
        return float(f(*[mpmath.mpf(float(v)) for v in vals]))


def test_hypot_far_outside_the_squares_range_and_at_the_edges():
    x, y = T.dvector("x"), T.dvector("y")
    f = egopt.function([x, y], T.sqrt(x * x + y * y))
    xs = np.array([3e300, -3e-300, 0.0, np.inf, np.nan, 3.0, -0.0])
    ys = np.array([4e300, 4e-300, 0.0, 1.0, 1.0, 4.0, 0.0])
    out = f(xs, ys)
    assert f.optimization_report().fired.get("hypot")
    assert out[:2] == pytest.approx([5e300, 5e-300], rel=1e-15)
    assert out[2] == 0.0 and out[3] == np.inf and np.isnan(out[4]) and out[5] == 5.0 and out[6] == 0.0


def test_inverse_hyperbolic_logs_within_two_ulps():
    x = T.dvector("x")
    v = np.array([-1e300, -1e5, -3.0, -1e-12, 0.0, 2e-9, 0.5, 7.0, 1e200])
    f = egopt.function([x], T.log(x + T.sqrt(x * x + 1)))
    ref = [_mp(mpmath.asinh, t) for t in v]
    assert np.all(_ulps(f(v), ref) <= 2), (f(v), ref)
    w = np.array([1.0, 1 + 2e-15, 1 + 1e-9, 1.5, 30.0, 1e200])
    g = egopt.function([x], T.log(x + T.sqrt(x * x - 1)))
    ref = [_mp(mpmath.acosh, t) for t in w]
    assert np.all(_ulps(g(w), ref) <= 2), (g(w), ref)
    # outside the domain the naive form is NaN (x < 1) and so is the repair
    assert np.all(np.isnan(g(np.array([0.5, -2.0, np.nan]))))


def test_log_quotient_keeps_nan_and_signs_outside_the_regime():
    x, y = T.dvector("x"), T.dvector("y")
    f = egopt.function([x, y], T.log(x / y))
    xs = np.array([1.0 + 1e-12, -2.0, 2.0, 0.0, 5.0, -3.0 * (1 + 1e-13)])
    ys = np.array([1.0, 2.0, 0.0, 2.0, 1.0, -3.0])
    with np.errstate(all="ignore"):
        naive = np.log(xs / ys)
    out = f(xs, ys)
    assert f.optimization_report().fired.get("log-quotient-elements")
    ok = np.isfinite(naive)
    ref = [_mp(lambda a, b: mpmath.log(a / b), a, b) if k else math.nan for a, b, k in zip(xs, ys, ok)]
    assert np.all(_ulps(out[ok], np.array(ref)[ok]) <= 2), (out, ref)
    # NaN (log of a negative quotient), +inf (x/0) and -inf (0/y) as the naive form has them
    np.testing.assert_array_equal(np.isnan(out), np.isnan(naive))
    np.testing.assert_array_equal(out[np.isinf(naive)], naive[np.isinf(naive)])


def test_power_difference_regimes():
    x, n = T.dvector("x"), T.dvector("n")
    f = egopt.function([x, n], (x + 1) ** (1 / n) - x ** (1 / n))
    xs = np.array([1e12, 1e15, 3.0, 0.0, np.inf, -8.0])
    ns = np.array([3.0, 7.0, 2.0, 2.0, 2.0, 3.0])
    out = f(xs, ns)
    for i in range(3):       # (the exponent as the program rounds it: 1/n in float64)
        assert _ulps(out[i], _mp(lambda a, p: (a + 1) ** p - a ** p, xs[i], 1 / ns[i])) <= 4
    with np.errstate(all="ignore"):
        naive = (xs + 1) ** (1 / ns) - xs ** (1 / ns)
    # 1 - 0 at x = 0 (outside the regime), inf - inf = NaN, and NaN for a negative base, as naive
    assert out[3] == naive[3] == 1.0
    assert np.isnan(out[4]) and np.isnan(naive[4]) and np.isnan(out[5]) and np.isnan(naive[5])


def test_compound_growth_and_exp_difference():
    x, k = T.dvector("x"), T.dvector("k")
    f = egopt.function([x, k], (1 + x) ** k - 1)
    xs, ks = np.array([1e-12, -3e-9, 0.3, 2.0, -1.0]), np.array([12.0, 360.0, 5.0, 3.0, 2.0])
    out = f(xs, ks)
    ref = [_mp(lambda a, b: (1 + a) ** b - 1, a, b) for a, b in zip(xs, ks)]
    assert np.all(_ulps(out[:4], ref[:4]) <= 4), (out, ref)
    assert out[4] == -1.0                    # (1 - 1)**2 - 1, outside the regime
    y = T.dvector("y")
    g = egopt.function([x, y], T.exp(x) - T.exp(y))
    xs, ys = np.array([3.0 + 1e-12, -20.0, 50.0, 710.0]), np.array([3.0, -20.0 - 1e-9, 40.0, 0.0])
    out = g(xs, ys)
    ref = [_mp(lambda a, b: mpmath.exp(a) - mpmath.exp(b), a, b) for a, b in zip(xs, ys)]
    assert np.all(_ulps(out[:3], ref[:3]) <= 4), (out, ref)
    assert out[3] == np.inf                  # exp(710) overflows in both forms


def test_one_plus_tanh_and_log_cosh():
    x = T.dvector("x")
    f = egopt.function([x], 1 + T.tanh(x))
    v = np.array([-30.0, -3.0, 0.0, 2.0, 400.0, -np.inf, np.inf])
    out = f(v)
    ref = [_mp(lambda a: 1 + mpmath.tanh(a), t) for t in v[:5]]
    assert np.all(_ulps(out[:5], ref) <= 2), (out, ref)
    assert out[5] == 0.0 and out[6] == 2.0
    g = egopt.function([x], T.log(T.cosh(x)))
    v = np.array([1e-9, -3e-5, 0.7, -19.9, 20.1, -800.0, 1e300])
    ref = [_mp(lambda a: mpmath.log(mpmath.cosh(a)), t) for t in v]
    assert np.all(_ulps(g(v), ref) <= 2), (g(v), ref)
    assert g(np.array([np.inf]))[0] == np.inf and np.isnan(g(np.array([np.nan]))[0])


def test_sqrt_minus_one_and_the_shared_term_differences():
    x = T.dvector("x")
    f = egopt.function([x], T.sqrt(1 + x) - 1)
    v = np.array([1e-18, -3e-10, 0.25, 3.0, np.inf, -1.0, -2.0])
    out = f(v)
    ref = [_mp(lambda a: mpmath.sqrt(1 + a) - 1, t) for t in v[:4]]
    assert np.all(_ulps(out[:4], ref) <= 2), (out, ref)
    assert out[4] == np.inf and out[5] == -1.0 and np.isnan(out[6])
    g = egopt.function([x], T.log((1 - x) / (1 + x)))
    v = np.array([1e-17, -2e-9, 0.5, 1.0, -1.0, 2.0])
    with np.errstate(all="ignore"):
        naive = np.log((1 - v) / (1 + v))
    out = g(v)
    ref = [_mp(lambda a: mpmath.log((1 - a) / (1 + a)), t) for t in v[:3]]
    assert np.all(_ulps(out[:3], ref) <= 2), (out, ref)
    assert out[3] == -np.inf and out[4] == np.inf and np.isnan(out[5]) and np.isnan(naive[5])


def test_the_new_ops_against_numpy_in_float32():
    x, y = T.fvector("x"), T.fvector("y")
    f = egopt.function([x, y], [T.hypot(x, y), T.arcsinh(x), T.arctanh(y / 4), T.arccosh(abs(x) + 1)])
    a = np.array([1e30, -2.0, 0.5, 1e-30], dtype="float32")
    b = np.array([3e30, 1.0, -0.25, 0.0], dtype="float32")
    outs = f(a, b)
    refs = [np.hypot(a, b), np.arcsinh(a), np.arctanh(b / 4), np.arccosh(np.abs(a) + 1)]
    for o, r in zip(outs, refs):
        assert o.dtype == np.float32
        np.testing.assert_allclose(o, r, rtol=2e-6)


x_, y_, z_ = rules.pattern_vars("x y z")


@pytest.mark.parametrize("rule", [
    rules.rewrite(T.log(x_ + T.sqrt(x_ * x_ - 1)), T.arcsinh(x_), name="acosh-as-asinh"),
    rules.rewrite(x_ ** z_ - y_ ** z_, (x_ - y_) ** z_, name="power-difference-as-power"),
    rules.rewrite(T.log(T.cosh(x_)), abs(x_) - 0.6931471805599453, name="log-cosh-first-order"),
    rules.rewrite(1 + T.tanh(x_), 2 * T.sigmoid(x_), name="one-plus-tanh-half-argument"),
    rules.rewrite(T.log(x_ / y_), T.log1p((x_ - y_) / x_), name="log-quotient-wrong-denominator"),
], ids=lambda r: r.name)
def test_plausible_wrong_versions_are_refuted(rule):
    assert check_rule(rule).status == "refuted"


def test_tanh_gradient_is_left_as_written():
    """1 - tanh(y)^2 (tanh's derivative) is not factored: the MLP step's cost is unchanged."""
    x = T.dvector("x")
    g = T.grad(T.sum(T.tanh(x)), x)
    f = egopt.function([x], g)
    fired = f.optimization_report().fired
    assert not any(k.startswith(("one-minus-tanh", "one-plus-tanh", "difference-of-squares")) for k in fired), fired
    v = np.array([-3.0, 0.1, 2.0])
    np.testing.assert_allclose(f(v), 1 - np.tanh(v) ** 2, rtol=1e-13)


def test_pow1p_and_squares_outside_their_regimes():
    x, n = T.dvector("x"), T.dvector("n")
    f = egopt.function([x, n], (1 + x) ** n)
    xs = np.array([1e-15, -1e-12, 3.0, -3.0, 0.25, -2.0, 1e-10])
    ns = np.array([1e15, 1e12, 2.0, 3.0, np.inf, 0.5, -np.inf])
    with np.errstate(all="ignore"):
        naive = (1 + xs) ** ns
    out = f(xs, ns)
    ref = [_mp(lambda a, b: (1 + a) ** b, a, b) for a, b in zip(xs[:2], ns[:2])]
    assert np.all(_ulps(out[:2], ref) <= 8), (out, ref)
    # outside |x| < 1/2, and for an infinite exponent, the power as written
    np.testing.assert_array_equal(out[2:], naive[2:])
    y = T.dvector("y")
    g = egopt.function([x, y], [x * x - y * y, T.sqrt(1 - x * x)])
    xs, ys = np.array([1 + 1e-12, 3e200, 0.999999, 2.0]), np.array([1.0, 1e200, 0.5, 0.0])
    d, r = g(xs, ys)
    assert _ulps(d[0], _mp(lambda a, b: a * a - b * b, xs[0], ys[0])) <= 2
    assert d[1] == np.inf                     # overflows as the squares do
    assert _ulps(r[2], _mp(lambda a: mpmath.sqrt(1 - a * a), xs[2])) <= 2
    assert np.isnan(r[3])
