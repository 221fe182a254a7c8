"""Sums of fractions over a common denominator (egopt/rules/rational.py): accurate where the
written sum cancels, the written sum's value where the combined denominator overflows or is 0,
and no change where the numerator does not simplify."""
from __future__ import annotations

import mpmath
import numpy as np

import egopt
import egopt.tensor as T
from egopt.rules.encode import encode
from egopt.rules.rational import combined_fractions


def _exact(fn, xs):
    mpmath.mp.dps = 80
    out = []
    for v in xs:
        try:
            out.append(float(fn(mpmath.mpf(float(v)))))
        except ZeroDivisionError:
            out.append(np.nan)
    return np.array(out)


def test_three_fractions_cancel_symbolically():
    x = T.dvector("x")
    y = 1 / (x + 1) - 2 / x + 1 / (x - 1)
    assert "(TrueDiv (Lit 2.0)" in combined_fractions(encode([y], [x]))
    f = egopt.function([x], y)
    big = np.array([2.0, 10.0, 1e5, 1e10, 1e15, -3.0, -1e7])
    ref = _exact(lambda v: 1 / (v + 1) - 2 / v + 1 / (v - 1), big)
    np.testing.assert_allclose(f(big), ref, rtol=1e-14)
    with np.errstate(all="ignore"):
        special = np.array([0.0, 1.0, -1.0, 1e200, np.inf])
        np.testing.assert_array_equal(f(special), 1 / (special + 1) - 2 / special + 1 / (special - 1))


def test_mixed_numerators_and_a_second_variable():
    x, y = T.dvector("x"), T.dvector("y")
    f = egopt.function([x, y], x / (x + y) - (x - y) / x)       # = y^2 / (x (x + y))
    a, b = np.array([1e8, 3.0, 1e12]), np.array([1.0, 0.5, 7.0])
    ref = np.array([float(mpmath.mpf(v) ** 0 * mpmath.mpf(w) ** 2 / (mpmath.mpf(v) * (mpmath.mpf(v) + w)))
                    for v, w in zip(a, b)])
    np.testing.assert_allclose(f(a, b), ref, rtol=1e-14)


def test_sums_that_do_not_simplify_are_left_alone():
    x, y = T.dvector("x"), T.dvector("y")
    out = 1 / (x + 1) + y / (x - 2)
    assert combined_fractions(encode([out], [x, y])) == ""
    s = T.nnet.sigmoid(x)                  # not a rational function of the inputs: SymPy stays out
    assert combined_fractions(encode([y / s - (1 - y) / (1 - s)], [x, y])) == ""
    f = egopt.function([x, y], out)
    a, b = np.array([3.0, 10.0]), np.array([1.0, 2.0])
    np.testing.assert_allclose(f(a, b), 1 / (a + 1) + b / (a - 2), rtol=1e-15)
