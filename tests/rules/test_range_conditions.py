"""Rules conditioned on the range analysis: they fire where the interval proves the condition,
not elsewhere, and the checker proves them under the condition and refutes wrong ones."""
from __future__ import annotations

import numpy as np

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules.soundness import check_rule

x, y = rules.pattern_vars("x y")


def _ops(f):
    return {n.op.name for n in f.maker.fgraph.toposort()} if hasattr(f, "maker") else None


def test_range_conditions_fire_only_when_proved():
    v = T.dvector("v")
    data = np.array([-800.0, -3.0, -0.5, 0.0, 0.25, 2.0, 40.0])
    cases = [
        (abs(T.tanh(v) - 2), "abs-nonpos", lambda a: np.abs(np.tanh(a) - 2)),
        (T.minimum(T.nnet.sigmoid(v), 1.0), "min-one-below", lambda a: 1 / (1 + np.exp(-a))),
        (T.maximum(T.nnet.softplus(v), 0.0), "relu-nonneg", lambda a: np.logaddexp(0, a)),
        (T.sgn(T.cos(v) - 3), "sgn-neg", lambda a: np.sign(np.cos(a) - 3)),
        (T.maximum(T.sin(v) * 0.5, -1.0), "max-minus-one-above", lambda a: np.sin(a) * 0.5),
    ]
    for expr, rule, ref in cases:
        f = egopt.function([v], expr)
        assert rule in f.optimization_report().fired, (rule, f.optimization_report().fired)
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(f(data), ref(data), rtol=1e-12)
    # the same forms where the range does not prove the condition: nothing fires
    for expr, rule in [(abs(T.tanh(v) - 0.5), "abs-nonpos"), (T.minimum(T.exp(v), 1.0), "min-one-below"),
                       (T.maximum(v, 0.0), "relu-nonneg"), (T.sgn(T.cos(v) - 1), "sgn-neg"),
                       (T.maximum(T.sin(v) * 2, -1.0), "max-minus-one-above")]:
        f = egopt.function([v], expr)
        assert rule not in f.optimization_report().fired, rule
        with np.errstate(all="ignore"):
            g = egopt.function([v], expr, mode="FAST_COMPILE")
            np.testing.assert_allclose(f(data), g(data), rtol=1e-12)


def test_checker_proves_under_ranges_and_refutes_wrong_bounds():
    good = rules.rewrite(T.minimum(x, 2.0), x, name="min-two-below", when=[rules.in_range(x, hi=2.0)])
    assert check_rule(good).status == "proved"
    bad = [
        rules.rewrite(abs(x), -x, name="abs-below-one", when=[rules.in_range(x, hi=1.0)]),
        rules.rewrite(T.minimum(x, 1.0), x, name="min-one-loose", when=[rules.in_range(x, hi=2.0)]),
        rules.rewrite(T.sgn(x), T.second(x, 1.0), name="sgn-nonneg", when=[rules.in_range(x, lo=0.0)]),
        rules.rewrite(T.maximum(x, -1.0), x, name="max-lower-loose", when=[rules.in_range(x, lo=-2.0, hi=5.0)]),
    ]
    for r in bad:
        assert check_rule(r).status == "refuted", (r.name, check_rule(r))


def test_in_range_text():
    assert rules.in_range(x, -1.0, 1.0, strict=True) == "(> (Lo x) -1.0) (< (Hi x) 1.0)"
    assert rules.nonzero(x) == "(NonZero x)"
