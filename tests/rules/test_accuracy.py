"""Accuracy of the stability and cancellation rules: egopt's result against mpmath, in bits.

The formulas and the error metric are those of ``bench/accuracy.py`` (the full table runs
with ``python -m bench.accuracy``; the whole suite is the slow test below).
"""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from bench import accuracy as A

# one formula per mechanism, float64 (a few in float32)
REPRESENTATIVE = [
    ("log1m", "float64"), ("logaddexp", "float64"), ("logdiffexp", "float64"), ("erfc", "float64"),
    ("log-erfc", "float64"), ("sqrt-sqr", "float64"), ("logit-sigmoid", "float64"),
    ("softmax-by-hand", "float64"), ("log-prod-sigmoid", "float64"), ("log-softmax-top", "float64"),
    ("logsumexp-near-0", "float64"), ("2sqrt", "float64"), ("2frac", "float64"), ("2log", "float64"),
    ("2cos", "float64"), ("2tan", "float64"), ("cos2", "float64"), ("exp2", "float64"),
    ("quadp", "float64"), ("quadm", "float64"), ("tanh-by-exp", "float64"), ("tan-sin", "float64"),
    ("2sinh", "float64"), ("hyp-conj", "float64"),
    ("2sqrt", "float32"), ("2cos", "float32"), ("log-softmax-top", "float32"), ("quadp", "float32"),
]
_BY_NAME = {f.name: f for f in A.FORMULAS}


def assert_repaired(name: str, dtype: str) -> None:
    """The formula's regime loses > BAD_BITS in NumPy and at most REPAIRED_BITS in egopt."""
    row = A.measure(_BY_NAME[name], dtype, n=32, libs=("egopt", "numpy"))
    assert row.errors["numpy"] > A.BAD_BITS, f"{name}: the regime no longer shows the naive error"
    assert row.errors["egopt"] <= A.REPAIRED_BITS, (name, dtype, row.errors)


@pytest.mark.parametrize("name,dtype", REPRESENTATIVE, ids=[f"{n}-{d}" for n, d in REPRESENTATIVE])
def test_repaired(name, dtype):
    assert_repaired(name, dtype)


def test_bits_of_error_metric():
    exact = np.array([1.0, 1.0, 2.0, 0.0])
    got = np.array([1.0, np.nextafter(1.0, 2.0), np.nan, 5e-324])
    err = A.bits_of_error(got, exact, "float64")
    assert err[0] == 0 and err[1] == 1.0 and err[2] == 64 and err[3] == 1.0


def test_softmax_cross_entropy_within_one_bit():
    z = T.dmatrix("z")
    f = egopt.function([z], -T.log(T.nnet.softmax(z))[:, 0])
    vals = A.points(_BY_NAME["softmax-xent"], "float64", 64)[0]
    exact = A.reference(_BY_NAME["softmax-xent"], [vals])
    err = A.bits_of_error(f(vals), exact, "float64")
    assert err.mean() <= 1.0 and err.max() <= 2.0, (err.mean(), err.max())


@pytest.mark.slow
def test_whole_suite_no_formula_made_worse():
    rows = A.run(("float64", "float32"), n=64, libs=("egopt", "numpy"))
    worse = [(r.name, r.dtype, r.errors) for r in rows if r.errors["egopt"] > r.errors["numpy"] + 1.0]
    assert not worse, worse
    repaired = sum(A.repaired(r, "egopt") for r in rows if r.dtype == "float64")
    assert repaired >= 78, repaired


def test_log_erfc_far_tail_is_finite():
    x = T.dvector("x")
    f = egopt.function([x], T.log(1 - T.erf(x)))
    v = np.array([30.0, 1e3, 1e6])
    import mpmath
    with mpmath.workdps(50):
        ref = [float(mpmath.log(mpmath.erfc(mpmath.mpf(t)))) for t in v]
    out = f(v)
    assert np.all(np.isfinite(out))
    assert out == pytest.approx(ref, rel=1e-13)
