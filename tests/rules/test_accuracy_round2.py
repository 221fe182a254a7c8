"""The round-2 repairs (quotients near 1, negated conjugates, erf complements, scaled sigmoids,
log of a power, log of a scaled erfc, differences of negations), on formulas from Herbie's
mathematics/numerics/libraries benches and ML/statistics forms: egopt against mpmath in the
regime where the naive form loses its digits (``bench/accuracy.py``, group "r2").
"""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules.soundness import check_rule
from tests.rules.test_accuracy import assert_repaired

R2 = [("logistic-garg", "float64"), ("quotient-minus-one", "float64"), ("one-minus-quotient", "float32"),
      ("recip1p-minus-one", "float64"), ("x-minus-sqrt-x2m1", "float64"), ("log-normal-cdf", "float64"),
      ("log-normal-cdf", "float32"), ("erf-minus-one", "float64"), ("sigmoid-minus-half", "float64"),
      ("two-sigmoid-minus-one", "float32"), ("log-pow", "float64"), ("log-pow", "float32"),
      ("exp-neg-diff", "float64"), ("gauss-kernel-diff", "float64"), ("log-ndtr-erfc", "float32"),
      ("radioactive", "float64"), ("expand-square", "float64"), ("sqrt1p-sqrt1m", "float64"),
      ("log1p-difference2", "float64"), ("binary-entropy", "float64"), ("compound-interest", "float64"),
      ("mills-ratio", "float64"), ("mills-ratio", "float32"), ("erfinv-near-one", "float64"),
      ("erfinv-near-one", "float32"), ("excel-ratio", "float64"), ("log-sinh", "float64"),
      ("logistic-pdf", "float64"), ("sech2-by-tanh", "float64"),
      ("cosh-minus-sinh", "float64"), ("cosh-minus-sinh", "float32"), ("normal-quantile-tail", "float64"),
      ("normal-quantile-tail", "float32"), ("expm1-neg-literal", "float64"), ("quadp-pow", "float64"),
      ("exp2-summed", "float64"), ("2sqrt-neg", "float32"), ("2log-quot", "float64")]


@pytest.mark.parametrize("name,dtype", R2, ids=[f"{n}-{d}" for n, d in R2])
def test_repaired(name, dtype):
    assert_repaired(name, dtype)


def test_regime_switches_keep_values_outside_the_regime():
    """Where a repair's regime does not hold, the naive value (NaN, inf, signs) is kept."""
    x, y = T.dvector("x"), T.dvector("y")
    f = egopt.function([x, y], [x / y - 1, T.log(x ** y), x - T.sqrt(x * x - y)])
    xs = np.array([1e308, 5.0, -2.0, 0.0, np.inf, 3.0, -3.0, 0.5])
    ys = np.array([-1e308, 0.0, 3.0, 2.0, 2.0, np.nan, 1.0, 4.0])
    with np.errstate(all="ignore"):
        naive = [xs / ys - 1, np.log(xs ** ys), xs - np.sqrt(xs * xs - ys)]
        # the conjugate's own regime (x > 0, x*x finite) is left out: there it refines inf - inf
        # and an overflowing x*x, as check-rules reports
        keep = [np.ones(len(xs), bool), np.ones(len(xs), bool), (xs <= 0) | (xs * xs - ys < 0) | np.isnan(ys)]
    for got, ref, k in zip(f(xs, ys), naive, keep):
        got, ref = got[k], ref[k]
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-14)
        np.testing.assert_array_equal(got[~fin & ~np.isnan(ref)], ref[~fin & ~np.isnan(ref)])


def test_erfinv_oddness_proves_the_true_sign_only():
    """check-rules takes erfinv's sign out of its argument (SymPy does not): the normal
    quantile's rule is proved, the same rule with the wrong sign is not."""
    x, = rules.pattern_vars("x")
    good = rules.rewrite(T.erfinv(x - 1), -T.erfcinv(x), name="t-good", phase="stabilize")
    bad = rules.rewrite(T.erfinv(x - 1), T.erfcinv(x), name="t-bad", phase="stabilize")
    assert check_rule(good).status == "proved"
    assert "proved" not in check_rule(bad).status


def test_rule_commands_parsed_once_give_the_same_optimization():
    """The engine parses each rule's egglog text once per process (engine._PARSED) and runs the
    parsed commands in every later e-graph: a second compile optimizes the same way."""
    from egopt.rules import engine
    x, y = T.dvector("x"), T.dvector("y")
    reports = []
    for _ in range(2):
        with egopt.config.change_flags(graph_cache=False):
            f = egopt.function([x, y], [T.log(1 + T.exp(x)) - x, x / y - 1])
        reports.append(f.optimization_report())
    assert engine._PARSED
    assert reports[0].outcome == reports[1].outcome == "optimized"
    assert reports[0].cost_after == reports[1].cost_after
    assert reports[0].fired == reports[1].fired
