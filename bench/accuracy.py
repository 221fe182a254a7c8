"""Accuracy of naive formulas: bits of error against mpmath (Herbie's metric), egopt vs peers.

Each formula is written once, as ``fn(m, *vars)`` over a small namespace ``m`` (exp, log,
sqrt, sum, ...), and evaluated through five namespaces: mpmath on object arrays at
``DPS`` digits (the reference), egopt (compiled with FAST_RUN), NumPy, and, where they are
installed, PyTensor (FAST_RUN) and JAX (jit). So every library sees the same naive formula.

Points are drawn per formula from the regimes where it is usually evaluated (including the
ones where the naive form cancels, overflows or underflows); a point whose exact result is
NaN or outside the dtype's range is dropped (Herbie samples valid inputs only).

Error of one result: ``log2(1 + n)`` where ``n`` is the number of floats of the dtype between
the result and the exactly rounded value; NaN where the exact value is a number counts as
the dtype's width (64 or 32 bits). "Repaired" = mean error <= 3 bits where NumPy loses > 8.

    python -m bench.accuracy [--dtype float64|float32|both] [--points N] [--only NAME]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

DPS = 400            # e^-700 next to 1 needs ~300 digits
REPAIRED_BITS = 3.0
BAD_BITS = 8.0


# ---- formulas ----------------------------------------------------------------------------------

@dataclass
class Formula:
    name: str
    fn: Callable                    # fn(m, *vars) -> expression
    sample: Callable                # sample(rng, n) -> list of arrays, one per variable
    vec: int = 0                    # > 0: variables are (n, vec) matrices (reductions on the last axis)
    group: str = "hamming"
    sample32: Callable | None = None   # the float32 regime, where it differs (range limits)


def _logu(rng, n, lo, hi, sign=1):
    """n magnitudes log-uniform in [lo, hi]; sign 1, -1 or 0 (both)."""
    v = 10.0 ** rng.uniform(math.log10(lo), math.log10(hi), n)
    if sign == 0:
        v *= rng.choice([-1.0, 1.0], n)
    return v * (sign or 1)


def _u(rng, n, lo, hi):
    return rng.uniform(lo, hi, n)


def one(f):
    """A sampler of one variable."""
    return lambda rng, n: [f(rng, n)]


def _dominant(rng, n, k, lo=20.0, hi=700.0):
    """Rows whose first entry exceeds the others by a gap in [lo, hi]: log-softmax of that
    entry is log(1 + tiny)."""
    top = rng.uniform(-50, 50, (n, 1))
    gaps = rng.uniform(lo, hi, (n, k - 1))
    return [np.concatenate([top, top - gaps], axis=1)]


def _wide(rng, n, k):
    return [rng.uniform(-1000, 1000, (n, k))]


def _near_zero_lse(rng, n, k):
    """max entry 0, others far below: logsumexp = log1p(tiny)."""
    rest = -rng.uniform(20, 700, (n, k - 1))
    return [np.concatenate([np.zeros((n, 1)), rest], axis=1)]


def _quad(sign):
    def s(rng, n):
        a = _logu(rng, n, 1e-3, 1e3)
        c = _logu(rng, n, 1e-3, 1e3)
        b = sign * _logu(rng, n, 1e2, 1e9) * np.sqrt(a * c)
        return [a, b, c]
    return s


def _x_eps(lo_x, hi_x):
    def s(rng, n):
        return [_u(rng, n, lo_x, hi_x), _logu(rng, n, 1e-14, 1e-2, 0)]
    return s


def _two_close(rng, n):
    x = _logu(rng, n, 1e-3, 1e3)
    return [x, x * (1 + _logu(rng, n, 1e-14, 1e-3, 0))]


def _logdiff(rng, n):
    x = _u(rng, n, -800, 800)
    return [x, x - _logu(rng, n, 1e-10, 100)]


def _hypot(big_lo, big_hi, small_lo, small_hi):
    """Pairs whose squares overflow (half the points) or underflow (the other half)."""
    def s(rng, n):
        h = n // 2
        return [np.concatenate([_logu(rng, h, big_lo, big_hi, 0), _logu(rng, n - h, small_lo, small_hi, 0)])
                for _ in range(2)]
    return s


def _pow1p_big(rng, n):
    """(1 + x)**k with x small and k x in [-40, 40]: (1 + 1/n)**n and compound growth."""
    x = _logu(rng, n, 1e-15, 1e-2, 0)
    return [x, _u(rng, n, 1, 40) / np.abs(x)]


def _two_close32(rng, n):
    """x and y within 1e-7 to 1e-3 relatively: distinct in float32."""
    x = _logu(rng, n, 1e-3, 1e3)
    return [x, x * (1 + _logu(rng, n, 1e-7, 1e-3, 0))]


def _softmax(m, z):
    e = m.exp(z)
    return e / m.sum(e, axis=-1, keepdims=True)


FORMULAS = [
    # --- parity with PyTensor's stability rewrites ---------------------------------------------
    Formula("log1m", lambda m, x: m.log(1 - x), one(lambda r, n: _logu(r, n, 1e-20, 0.5, 0)), group="parity"),
    Formula("logistic", lambda m, x: m.exp(x) / (1 + m.exp(x)),
            one(lambda r, n: np.concatenate([_u(r, n // 2, -800, 800), _u(r, n - n // 2, 700, 800)])), group="parity"),
    Formula("logaddexp", lambda m, x, y: m.log(m.exp(x) + m.exp(y)),
            lambda r, n: [_u(r, n, -900, 900), _u(r, n, -900, 900)], group="parity"),
    Formula("logdiffexp", lambda m, x, y: m.log(m.exp(x) - m.exp(y)), _logdiff, group="parity"),
    Formula("erfc", lambda m, x: 1 - m.erf(x), one(lambda r, n: _u(r, n, 0.5, 26)), group="parity"),
    Formula("log-erfc", lambda m, x: m.log(1 - m.erf(x)), one(lambda r, n: _u(r, n, -3, 26)), group="parity"),
    Formula("sqrt-sqr", lambda m, x: m.sqrt(x ** 2),
            one(lambda r, n: np.concatenate([_logu(r, n // 2, 1e155, 1e300, 0),
                                             _logu(r, n - n // 2, 1e-300, 1e-155, 0)])), group="parity",
            sample32=one(lambda r, n: np.concatenate([_logu(r, n // 2, 1e20, 1e38, 0),
                                                      _logu(r, n - n // 2, 1e-37, 1e-23, 0)]))),
    Formula("logit-sigmoid", lambda m, x: m.log(m.sigmoid(x) / (1 - m.sigmoid(x))),
            one(lambda r, n: _u(r, n, -700, 700)), group="parity"),
    Formula("qlog", lambda m, x: m.log(1 - x) / m.log(1 + x), one(lambda r, n: _logu(r, n, 1e-20, 0.5, 0)),
            group="parity"),
    Formula("softmax-by-hand", _softmax, lambda r, n: _wide(r, n, 6), vec=6, group="parity"),
    Formula("log-prod-sigmoid", lambda m, z: m.log(m.prod(m.sigmoid(z), axis=-1)),
            lambda r, n: [r.uniform(-300, 40, (n, 6))], vec=6, group="parity"),
    Formula("softmax-xent", lambda m, z: -m.log(_softmax(m, z))[:, 0], lambda r, n: _dominant(r, n, 6, 1, 30),
            vec=6, group="parity"),
    Formula("softmax-xent-op", lambda m, z: -m.log(m.softmax(z))[:, 0], lambda r, n: _dominant(r, n, 6, 1, 30),
            vec=6, group="parity"),
    Formula("log1m-sigmoid", lambda m, x: m.log(1 - m.sigmoid(x)), one(lambda r, n: _u(r, n, -800, 800)),
            group="parity"),
    Formula("sigmoid-deriv", lambda m, x: m.sigmoid(x) * (1 - m.sigmoid(x)), one(lambda r, n: _u(r, n, -700, 700)),
            group="parity"),
    Formula("log1p-exp", lambda m, x: m.log(1 + m.exp(x)), one(lambda r, n: _u(r, n, -800, 800)), group="parity"),
    # --- log-softmax exact for the dominant entry ---------------------------------------------
    Formula("log-softmax-top", lambda m, z: m.log_softmax(z)[:, 0], lambda r, n: _dominant(r, n, 6),
            vec=6, group="logsoftmax"),
    Formula("log-softmax-by-hand-top", lambda m, z: m.log(_softmax(m, z))[:, 0], lambda r, n: _dominant(r, n, 6),
            vec=6, group="logsoftmax"),
    Formula("logsumexp-near-0", lambda m, z: m.log(m.sum(m.exp(z), axis=-1)), lambda r, n: _near_zero_lse(r, n, 6),
            vec=6, group="logsoftmax"),
    Formula("logsumexp-wide", lambda m, z: m.log(m.sum(m.exp(z), axis=-1)), lambda r, n: _wide(r, n, 6),
            vec=6, group="logsoftmax"),
    # --- Hamming, chapter 3 (FPBench hamming-ch3) ----------------------------------------------
    Formula("2sqrt", lambda m, x: m.sqrt(x + 1) - m.sqrt(x), one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("2isqrt", lambda m, x: 1 / m.sqrt(x) - 1 / m.sqrt(x + 1), one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("2frac", lambda m, x: 1 / (x + 1) - 1 / x, one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("3frac", lambda m, x: 1 / (x + 1) - 2 / x + 1 / (x - 1), one(lambda r, n: _logu(r, n, 2, 1e15))),
    Formula("2log", lambda m, x: m.log(x + 1) - m.log(x), one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("2atan", lambda m, x: m.arctan(x + 1) - m.arctan(x), one(lambda r, n: _logu(r, n, 1, 1e7))),
    Formula("2cos", lambda m, x, e: m.cos(x + e) - m.cos(x), _x_eps(-10, 10)),
    Formula("2sin", lambda m, x, e: m.sin(x + e) - m.sin(x), _x_eps(-10, 10)),
    Formula("2tan", lambda m, x, e: m.tan(x + e) - m.tan(x), _x_eps(-1.5, 1.5)),
    Formula("cos2", lambda m, x: (1 - m.cos(x)) / (x * x), one(lambda r, n: _logu(r, n, 1e-9, 1, 0))),
    Formula("tanhf", lambda m, x: (1 - m.cos(x)) / m.sin(x), one(lambda r, n: _logu(r, n, 1e-9, 1, 0))),
    Formula("expm1", lambda m, x: m.exp(x) - 1, one(lambda r, n: _logu(r, n, 1e-20, 1, 0))),
    Formula("expax", lambda m, a, x: m.exp(a * x) - 1,
            lambda r, n: [_logu(r, n, 1e-3, 1e3, 0), _logu(r, n, 1e-20, 1e-3, 0)]),
    Formula("exp2", lambda m, x: m.exp(x) - 2 + m.exp(-x), one(lambda r, n: _logu(r, n, 1e-9, 1, 0))),
    Formula("expq2", lambda m, x: m.exp(x) / (m.exp(x) - 1), one(lambda r, n: _logu(r, n, 1e-20, 1, 0))),
    Formula("sqrtexp", lambda m, x: m.sqrt((m.exp(2 * x) - 1) / (m.exp(x) - 1)),
            one(lambda r, n: _logu(r, n, 1e-20, 1, 0))),
    Formula("quadp", lambda m, a, b, c: (-b + m.sqrt(b * b - 4 * a * c)) / (2 * a), _quad(1)),
    Formula("quadm", lambda m, a, b, c: (-b - m.sqrt(b * b - 4 * a * c)) / (2 * a), _quad(-1)),
    Formula("quad2p", lambda m, a, b, c: (-b + m.sqrt(b * b - a * c)) / a, _quad(1)),
    Formula("quad2m", lambda m, a, b, c: (-b - m.sqrt(b * b - a * c)) / a, _quad(-1)),
    # --- more cancellations (the same mechanisms, other instances) ------------------------------
    Formula("1-cos", lambda m, x: 1 - m.cos(x), one(lambda r, n: _logu(r, n, 1e-9, 1, 0)), group="more"),
    Formula("cosh-1", lambda m, x: m.cosh(x) - 1, one(lambda r, n: _logu(r, n, 1e-9, 1, 0)), group="more"),
    Formula("sinh-by-exp", lambda m, x: (m.exp(x) - m.exp(-x)) / 2, one(lambda r, n: _logu(r, n, 1e-15, 1, 0)),
            group="more"),
    Formula("tanh-by-exp", lambda m, x: (m.exp(x) - m.exp(-x)) / (m.exp(x) + m.exp(-x)),
            one(lambda r, n: _logu(r, n, 1e-15, 700, 0)), group="more"),
    Formula("tan-sin", lambda m, x: m.tan(x) - m.sin(x), one(lambda r, n: _logu(r, n, 1e-9, 1, 0)), group="more"),
    Formula("2cosh", lambda m, x, e: m.cosh(x + e) - m.cosh(x), _x_eps(-10, 10), group="more"),
    Formula("2sinh", lambda m, x, e: m.sinh(x + e) - m.sinh(x), _x_eps(-10, 10), group="more"),
    Formula("log-ratio", lambda m, x, y: m.log(x) - m.log(y), _two_close, group="more"),
    Formula("hyp-conj", lambda m, x: m.sqrt(x * x + 1) - x, one(lambda r, n: _logu(r, n, 1, 1e7)), group="more"),
    Formula("recip-diff", lambda m, x, y: 1 / x - 1 / y, _two_close, group="more"),
    Formula("sqrt-diff", lambda m, x, y: m.sqrt(x) - m.sqrt(y), _two_close, group="more"),
    Formula("log-expm1-big", lambda m, x: m.log(m.exp(x) - 1), one(lambda r, n: _logu(r, n, 1e-20, 800)),
            group="more"),
    Formula("exp-ratio", lambda m, x, y: m.exp(x) / (m.exp(x) + m.exp(y)),
            lambda r, n: [_u(r, n, -900, 900), _u(r, n, -900, 900)], group="more"),
    Formula("log-prod", lambda m, x, y: m.log(x * y),
            lambda r, n: [_logu(r, n, 1e150, 1e300), _logu(r, n, 1e150, 1e300)], group="more",
            sample32=lambda r, n: [_logu(r, n, 1e20, 1e38), _logu(r, n, 1e20, 1e38)]),
    # --- FPBench hamming-ch3, the rest of the chapter ------------------------------------------
    Formula("2cbrt", lambda m, x: (x + 1) ** (1 / 3) - x ** (1 / 3), one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("2nthrt", lambda m, x, k: (x + 1) ** (1 / k) - x ** (1 / k),
            lambda r, n: [_logu(r, n, 1, 1e15), r.integers(2, 11, n).astype(float)]),
    Formula("logq", lambda m, x: m.log((1 - x) / (1 + x)), one(lambda r, n: _logu(r, n, 1e-20, 0.5, 0))),
    Formula("expq3", lambda m, a, b, e: e * (m.exp((a + b) * e) - 1) / ((m.exp(a * e) - 1) * (m.exp(b * e) - 1)),
            lambda r, n: [_logu(r, n, 1e-2, 1e2), _logu(r, n, 1e-2, 1e2), _logu(r, n, 1e-20, 1e-3, 0)]),
    Formula("logs", lambda m, x: (x + 1) * m.log(x + 1) - x * m.log(x) - 1, one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("sintan", lambda m, x: (x - m.sin(x)) / (x - m.tan(x)), one(lambda r, n: _logu(r, n, 1e-9, 1e-2, 0))),
    Formula("invcot", lambda m, x: 1 / x - 1 / m.tan(x), one(lambda r, n: _logu(r, n, 1e-9, 1e-2, 0))),
    # --- ML and statistics formulas as they are written by hand ---------------------------------
    Formula("log-sigmoid", lambda m, x: m.log(m.sigmoid(x)), one(lambda r, n: _u(r, n, -800, 800)), group="ml"),
    Formula("log-sigmoid-by-hand", lambda m, x: -m.log(1 + m.exp(-x)), one(lambda r, n: _u(r, n, -800, 800)),
            group="ml"),
    Formula("bce-sigmoid", lambda m, t, z: -(t * m.log(m.sigmoid(z)) + (1 - t) * m.log(1 - m.sigmoid(z))),
            lambda r, n: [_u(r, n, 0, 1), _u(r, n, -300, 300)], group="ml"),
    Formula("hypot", lambda m, x, y: m.sqrt(x * x + y * y), _hypot(1e155, 1e300, 1e-300, 1e-155), group="ml",
            sample32=_hypot(1e20, 1e38, 1e-37, 1e-20)),
    Formula("hypot-normalize", lambda m, x, y: x / m.sqrt(x * x + y * y), _hypot(1e155, 1e300, 1e-300, 1e-155),
            group="ml", sample32=_hypot(1e20, 1e38, 1e-37, 1e-20)),
    Formula("log1mexp-neg", lambda m, x: m.log(1 - m.exp(-x)), one(lambda r, n: _logu(r, n, 1e-20, 800)),
            group="ml"),
    Formula("expm1-over-x", lambda m, x: (m.exp(x) - 1) / x, one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="ml"),
    Formula("tanh-by-exp2", lambda m, x: (m.exp(2 * x) - 1) / (m.exp(2 * x) + 1),
            one(lambda r, n: _logu(r, n, 1e-15, 700, 0)), group="ml"),
    Formula("asinh-by-log", lambda m, x: m.log(x + m.sqrt(x * x + 1)), one(lambda r, n: _logu(r, n, 1e-15, 1e300, 0)),
            group="ml", sample32=one(lambda r, n: _logu(r, n, 1e-15, 1e38, 0))),
    Formula("acosh-by-log", lambda m, x: m.log(x + m.sqrt(x * x - 1)),
            one(lambda r, n: np.concatenate([1 + _logu(r, n // 2, 1e-15, 1), _logu(r, n - n // 2, 1, 1e300)])),
            group="ml", sample32=one(lambda r, n: np.concatenate([1 + _logu(r, n // 2, 1e-7, 1),
                                                                  _logu(r, n - n // 2, 1, 1e38)]))),
    Formula("atanh-by-log", lambda m, x: 0.5 * m.log((1 + x) / (1 - x)), one(lambda r, n: _logu(r, n, 1e-20, 0.9, 0)),
            group="ml"),
    Formula("gelu-tanh", lambda m, x: 0.5 * x * (1 + m.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
            one(lambda r, n: _u(r, n, -12, 3)), group="ml"),
    Formula("1-tanh", lambda m, x: 1 - m.tanh(x), one(lambda r, n: _u(r, n, 1, 350)), group="ml",
            sample32=one(lambda r, n: _u(r, n, 1, 40))),
    Formula("log-cosh", lambda m, x: m.log(m.cosh(x)), one(lambda r, n: _logu(r, n, 1e-10, 1e3, 0)), group="ml"),
    Formula("sqrt1p-1", lambda m, x: m.sqrt(1 + x) - 1, one(lambda r, n: _logu(r, n, 1e-20, 0.5, 0)), group="ml"),
    Formula("exp-diff", lambda m, x, y: m.exp(x) - m.exp(y), _two_close, group="ml",
            sample32=lambda r, n: [v / 12 for v in _two_close(r, n)]),      # exp(x) finite in float32
    Formula("log-quotient", lambda m, x, y: m.log(x / y), _two_close, group="ml", sample32=_two_close32),
    Formula("1-exp-neg", lambda m, x: 1 - m.exp(-x), one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="ml"),
    Formula("softplus-minus-x", lambda m, x: m.log(1 + m.exp(x)) - x, one(lambda r, n: _u(r, n, -30, 800)),
            group="ml"),
    Formula("sqrt-x2p1-m1", lambda m, x: m.sqrt(x * x + 1) - 1, one(lambda r, n: _logu(r, n, 1e-12, 1e3, 0)),
            group="ml"),
    Formula("x-over-expm1", lambda m, x: x / (m.exp(x) - 1), one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="ml"),
    Formula("2sqrt-pm", lambda m, x: m.sqrt(x + 1) - m.sqrt(x - 1), one(lambda r, n: _logu(r, n, 1, 1e15))),
    Formula("bce-by-hand", lambda m, t, z: -(t * m.log(1 / (1 + m.exp(-z))) + (1 - t) * m.log(1 - 1 / (1 + m.exp(-z)))),
            lambda r, n: [_u(r, n, 0, 1), _u(r, n, -300, 300)], group="ml"),
    Formula("kl-term", lambda m, p, q: p * m.log(p / q), _two_close, group="ml", sample32=_two_close32),
    Formula("diff-squares", lambda m, x, y: x * x - y * y, _two_close, group="more",
            sample32=_two_close32),
    Formula("complex-sqrt-re", lambda m, re, im: 0.5 * m.sqrt(2 * (m.sqrt(re * re + im * im) + re)),
            lambda r, n: [-_logu(r, n, 1e-3, 1e3), _logu(r, n, 1e-9, 1e-2, 0) * _logu(r, n, 1e-3, 1e3)], group="more"),
    Formula("complex-sqrt-im", lambda m, re, im: 0.5 * m.sqrt(2 * (m.sqrt(re * re + im * im) - re)),
            lambda r, n: [_logu(r, n, 1e-3, 1e3), _logu(r, n, 1e-9, 1e-2, 0) * _logu(r, n, 1e-3, 1e3)], group="more"),
    Formula("2sqr", lambda m, x, e: (x + e) ** 2 - x ** 2, _x_eps(-10, 10), group="more"),
    Formula("sqrt-1-x2", lambda m, x: m.sqrt(1 - x * x), one(lambda r, n: 1 - _logu(r, n, 1e-15, 1e-2)), group="ml",
            sample32=one(lambda r, n: 1 - _logu(r, n, 1e-7, 1e-2))),
    Formula("pow1p-big", lambda m, x, k: (1 + x) ** k, _pow1p_big, group="ml"),
    Formula("pow1p-m1", lambda m, x, k: (1 + x) ** k - 1,
            lambda r, n: [_logu(r, n, 1e-20, 1e-2, 0), _u(r, n, 1, 100)], group="ml"),
    # --- round 2: Herbie's mathematics/numerics/libraries benches and ML/statistics forms -------
    Formula("hyp-secant", lambda m, x: 2 / (m.exp(x) + m.exp(-x)), one(lambda r, n: _u(r, n, -740, 740)), group="r2"),
    Formula("asech-by-log", lambda m, x: m.log(1 / x + m.sqrt(1 - x * x) / x),
            one(lambda r, n: np.concatenate([1 - _logu(r, n // 2, 1e-15, 0.5), _logu(r, n - n // 2, 1e-300, 1)])),
            group="r2", sample32=one(lambda r, n: np.concatenate([1 - _logu(r, n // 2, 1e-7, 0.5),
                                                                  _logu(r, n - n // 2, 1e-37, 1)]))),
    Formula("logistic-garg", lambda m, x: 2 / (1 + m.exp(-2 * x)) - 1, one(lambda r, n: _logu(r, n, 1e-15, 20, 0)),
            group="r2"),
    Formula("logistic-regression-2", lambda m, x, y: m.log(1 + m.exp(x)) - x * y,
            lambda r, n: [_u(r, n, -800, 800), _u(r, n, 0, 1)], group="r2"),
    Formula("radioactive", lambda m, x, y: x ** 4 - y ** 4, _two_close, group="r2", sample32=_two_close32),
    Formula("nmse-6.1-B", lambda m, a, b: (math.pi / 2) * (1 / (b * b - a * a)) * (1 / a - 1 / b), _two_close,
            group="r2", sample32=_two_close32),
    Formula("cancel-like", lambda m, x: (1 + x) - x, one(lambda r, n: _logu(r, n, 1e-3, 1e15, 0)), group="r2"),
    Formula("expand-square", lambda m, x: (x + 1) * (x + 1) - 1, one(lambda r, n: _logu(r, n, 1e-15, 1e-2, 0)),
            group="r2"),
    Formula("complex-cos-im", lambda m, re, im: (0.5 * m.sin(re)) * (m.exp(-im) - m.exp(im)),
            lambda r, n: [_u(r, n, -3, 3), _logu(r, n, 1e-15, 1, 0)], group="r2"),
    Formula("complex-sin-im", lambda m, re, im: (0.5 * m.cos(re)) * (m.exp(0 - im) - m.exp(im)),
            lambda r, n: [_u(r, n, -1, 1), _logu(r, n, 1e-15, 1, 0)], group="r2"),
    Formula("complex-log-re", lambda m, re, im: m.log(m.sqrt(re * re + im * im)), _hypot(1e155, 1e300, 1e-300, 1e-155),
            group="r2", sample32=_hypot(1e20, 1e38, 1e-37, 1e-20)),
    Formula("ian-simplification", lambda m, x: math.pi / 2 - 2 * m.arcsin(m.sqrt((1 - x) / 2)),
            one(lambda r, n: _logu(r, n, 1e-15, 1e-2, 0)), group="r2"),
    Formula("quotient-minus-one", lambda m, x, y: x / y - 1, _two_close, group="r2", sample32=_two_close32),
    Formula("one-minus-quotient", lambda m, x, y: 1 - x / y, _two_close, group="r2", sample32=_two_close32),
    Formula("recip1p-minus-one", lambda m, x: 1 / (1 + x) - 1, one(lambda r, n: _logu(r, n, 1e-20, 1e-2, 0)),
            group="r2"),
    Formula("sqrt1p-sqrt1m", lambda m, x: m.sqrt(1 + x) - m.sqrt(1 - x), one(lambda r, n: _logu(r, n, 1e-20, 0.5, 0)),
            group="r2"),
    Formula("x-minus-sqrt-x2m1", lambda m, x: x - m.sqrt(x * x - 1), one(lambda r, n: _logu(r, n, 2, 1e7)),
            group="r2"),
    Formula("log1p-difference2", lambda m, x, y: m.log(1 + x) - m.log(1 + y), _two_close, group="r2",
            sample32=_two_close32),
    Formula("log-1px-1mx", lambda m, x: m.log(1 + x) - m.log(1 - x), one(lambda r, n: _logu(r, n, 1e-20, 0.5, 0)),
            group="r2"),
    Formula("normal-cdf", lambda m, x: 0.5 * (1 + m.erf(x / math.sqrt(2))), one(lambda r, n: _u(r, n, -37, -1)),
            group="r2"),
    Formula("log-normal-cdf", lambda m, x: m.log(0.5 * (1 + m.erf(x / math.sqrt(2)))),
            one(lambda r, n: _u(r, n, -37, -1)), group="r2"),
    Formula("log-ndtr-erfc", lambda m, x: m.log(0.5 * m.erfc(-x / math.sqrt(2))), one(lambda r, n: _u(r, n, -300, -1)),
            group="r2"),
    Formula("erf-minus-one", lambda m, x: m.erf(x) - 1, one(lambda r, n: _u(r, n, 0.5, 26)), group="r2"),
    Formula("sigmoid-minus-half", lambda m, x: m.sigmoid(x) - 0.5, one(lambda r, n: _logu(r, n, 1e-15, 1, 0)),
            group="r2"),
    Formula("two-sigmoid-minus-one", lambda m, x: 2 * m.sigmoid(x) - 1, one(lambda r, n: _logu(r, n, 1e-15, 1, 0)),
            group="r2"),
    Formula("log-pow", lambda m, x, y: m.log(x ** y),
            lambda r, n: [_logu(r, n, 1e-300, 1e300), _u(r, n, 2, 100)], group="r2",
            sample32=lambda r, n: [_logu(r, n, 1e-37, 1e37), _u(r, n, 2, 100)]),
    Formula("log-expm1-over-x", lambda m, x: m.log((m.exp(x) - 1) / x), one(lambda r, n: _logu(r, n, 1e-15, 1, 0)),
            group="r2"),
    Formula("bose-einstein", lambda m, x: 1 / (m.exp(x) - 1), one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="r2"),
    Formula("log-sum-exp-pm", lambda m, x: m.log(m.exp(x) + m.exp(-x)), one(lambda r, n: _u(r, n, -800, 800)),
            group="r2"),
    Formula("binary-entropy", lambda m, p: -(p * m.log(p) + (1 - p) * m.log(1 - p)),
            one(lambda r, n: _logu(r, n, 1e-300, 1e-3)), group="r2", sample32=one(lambda r, n: _logu(r, n, 1e-37, 1e-3))),
    Formula("1-cos-over-sin2", lambda m, x: (1 - m.cos(x)) / (m.sin(x) * m.sin(x)),
            one(lambda r, n: _logu(r, n, 1e-9, 1, 0)), group="r2"),
    Formula("cos-diff-sym", lambda m, x, e: m.cos(x + e) - m.cos(x - e), _x_eps(-10, 10), group="r2"),
    Formula("sin-diff-sym", lambda m, x, e: m.sin(x + e) - m.sin(x - e), _x_eps(-10, 10), group="r2"),
    Formula("exp-neg-diff", lambda m, x, e: m.exp(-x) - m.exp(-(x + e)), _x_eps(-10, 10), group="r2"),
    Formula("compound-interest", lambda m, r, k: 100 * ((1 + r / k) ** k - 1) / (r / k),
            lambda r, n: [_logu(r, n, 1e-15, 1e-2), _u(r, n, 1, 1000)], group="r2"),
    Formula("tanh-one-minus-sq", lambda m, x: m.sqrt(1 - m.tanh(x) ** 2), one(lambda r, n: _u(r, n, 1, 350)),
            group="r2", sample32=one(lambda r, n: _u(r, n, 1, 40))),
    Formula("softplus-inv", lambda m, x: m.log(m.exp(x) - 1), one(lambda r, n: _logu(r, n, 1e-20, 1e-3)), group="r2"),
    Formula("log1m-exp-neg-sq", lambda m, x: m.log(1 - m.exp(-x * x)), one(lambda r, n: _logu(r, n, 1e-10, 20)),
            group="r2"),
    Formula("excel-ratio", lambda m, x0, x1: x0 / (1 - x1) - x0,
            lambda r, n: [_logu(r, n, 1e-3, 1e3, 0), _logu(r, n, 1e-15, 1e-2, 0)], group="r2"),
    Formula("log-sinh", lambda m, x: m.log(m.sinh(x)), one(lambda r, n: _logu(r, n, 1e-3, 1e4)), group="r2"),
    Formula("logistic-pdf", lambda m, x: m.exp(x) / (1 + m.exp(x)) ** 2, one(lambda r, n: _u(r, n, -700, 700)),
            group="r2"),
    Formula("pow-minus-one", lambda m, x, y: x ** y - 1,
            lambda r, n: [_logu(r, n, 1e-3, 1e3), _logu(r, n, 1e-15, 1e-3, 0)], group="r2"),
    Formula("logit", lambda m, p: m.log(p / (1 - p)), one(lambda r, n: _u(r, n, 0.3, 0.7)), group="r2"),
    Formula("hypot-minus-x", lambda m, x, y: m.sqrt(x * x + y * y) - x,
            lambda r, n: [_logu(r, n, 1e-3, 1e3), _logu(r, n, 1e-12, 1e-5) * _logu(r, n, 1e-3, 1e3)], group="r2"),
    Formula("sech2-by-tanh", lambda m, x: 1 - m.tanh(x) ** 2, one(lambda r, n: _u(r, n, 1, 350)), group="r2",
            sample32=one(lambda r, n: _u(r, n, 1, 40))),
    Formula("log1p-x-over-x", lambda m, x: m.log(1 + x) / x, one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="r2"),
    Formula("exp-neg-sq-expm1", lambda m, x: 1 - m.exp(-x * x), one(lambda r, n: _logu(r, n, 1e-10, 3)), group="r2"),
    Formula("cosh-minus-sinh", lambda m, x: m.cosh(x) - m.sinh(x), one(lambda r, n: _u(r, n, 1, 300)), group="r2"),
    Formula("sqrt-x-plus-1-minus-1-over-x", lambda m, x: (m.sqrt(1 + x) - 1) / x,
            one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="r2"),
    # --- the same formulas in other spellings (the rules must not depend on one) ---------------
    Formula("expm1-neg-literal", lambda m, x: -1 + m.exp(x), one(lambda r, n: _logu(r, n, 1e-20, 1, 0)), group="spelling"),
    Formula("quadp-pow", lambda m, a, b, c: (-b + m.sqrt(b ** 2 - 4 * a * c)) / (2 * a), _quad(1), group="spelling"),
    Formula("exp2-summed", lambda m, x: m.exp(x) + m.exp(-x) - 2, one(lambda r, n: _logu(r, n, 1e-9, 1, 0)),
            group="spelling"),
    Formula("2sqrt-neg", lambda m, x: m.sqrt(x) - m.sqrt(x + 1), one(lambda r, n: _logu(r, n, 1, 1e15)), group="spelling"),
    Formula("2log-quot", lambda m, x: m.log((x + 1) / x), one(lambda r, n: _logu(r, n, 1, 1e15)), group="spelling"),
    # --- special functions: the forms that lose their digits, and the ops that keep them --------
    Formula("mills-ratio", lambda m, x: m.exp(x * x) * m.erfc(x), one(lambda r, n: _u(r, n, 0.5, 1e3)), group="special",
            sample32=one(lambda r, n: _u(r, n, 0.5, 1e3))),
    Formula("normal-quantile-tail", lambda m, p: math.sqrt(2) * m.erfinv(2 * p - 1),
            one(lambda r, n: _logu(r, n, 1e-300, 1e-3)), group="special",
            sample32=one(lambda r, n: _logu(r, n, 1e-37, 1e-3))),
    Formula("erfinv-near-one", lambda m, x: m.erfinv(1 - x), one(lambda r, n: _logu(r, n, 1e-300, 1e-3)),
            group="special", sample32=one(lambda r, n: _logu(r, n, 1e-37, 1e-3))),
    Formula("gauss-kernel-diff", lambda m, x, y: m.exp(-x * x) - m.exp(-y * y), _two_close, group="r2",
            sample32=lambda r, n: [v / 12 for v in _two_close32(r, n)]),
]


# ---- namespaces --------------------------------------------------------------------------------

class _NS:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _scipy_special(name):
    """NumPy has no erfinv: the naive NumPy program calls SciPy's (an optional import, bench only)."""
    def f(x):
        import scipy.special
        return getattr(scipy.special, name)(x)
    return f


def _np_ns():
    def sigmoid(x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def log_softmax(z):
        s = z - z.max(axis=-1, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))

    erf = np.vectorize(math.erf, otypes=[np.float64])
    return _NS(exp=np.exp, log=np.log, sqrt=np.sqrt, sin=np.sin, cos=np.cos, tan=np.tan,
               arctan=np.arctan, sinh=np.sinh, cosh=np.cosh, tanh=np.tanh, erf=lambda x: erf(x).astype(x.dtype),
               sigmoid=sigmoid, softmax=softmax, log_softmax=log_softmax,
               sum=np.sum, prod=np.prod, max=np.max, arcsin=np.arcsin, arccos=np.arccos,
               erfc=lambda x: np.vectorize(math.erfc, otypes=[np.float64])(x).astype(x.dtype),
               erfinv=_scipy_special("erfinv"))


def _mp_ns():
    import mpmath

    def vec(f):
        return np.vectorize(f, otypes=[object])

    exp = vec(mpmath.exp)

    def softmax(z):
        e = exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    def log(x):
        return vec(lambda v: mpmath.log(v) if v > 0 else (-mpmath.inf if v == 0 else mpmath.nan))(x)

    def sqrt(x):
        return vec(lambda v: mpmath.sqrt(v) if v >= 0 else mpmath.nan)(x)

    return _NS(exp=exp, log=log, sqrt=sqrt, sin=vec(mpmath.sin), cos=vec(mpmath.cos),
               tan=vec(mpmath.tan), arctan=vec(mpmath.atan), sinh=vec(mpmath.sinh), cosh=vec(mpmath.cosh),
               tanh=vec(mpmath.tanh), arcsin=vec(lambda v: mpmath.asin(v) if abs(v) <= 1 else mpmath.nan),
               arccos=vec(lambda v: mpmath.acos(v) if abs(v) <= 1 else mpmath.nan), erfc=vec(mpmath.erfc),
               erfinv=vec(lambda v: mpmath.erfinv(v) if abs(v) < 1 else (mpmath.inf * v if abs(v) == 1 else mpmath.nan)),
               erf=vec(mpmath.erf), sigmoid=vec(lambda v: 1 / (1 + mpmath.exp(-v))), softmax=softmax,
               log_softmax=lambda z: log(softmax(z)),
               sum=lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
               prod=lambda x, axis=None: np.prod(x, axis=axis), max=np.max)


def _egopt_ns():
    import egopt.tensor as T
    return _NS(exp=T.exp, log=T.log, sqrt=T.sqrt, sin=T.sin, cos=T.cos, tan=T.tan, arctan=T.arctan,
               sinh=T.sinh, cosh=T.cosh, tanh=T.tanh, erf=T.erf, sigmoid=T.sigmoid, softmax=T.nnet.softmax,
               log_softmax=T.nnet.log_softmax, sum=T.sum, prod=T.prod, max=T.max, arcsin=T.arcsin,
               arccos=T.arccos, erfc=T.erfc, erfinv=T.erfinv)


def _pytensor_ns():
    import pytensor.tensor as pt
    from pytensor.tensor.special import log_softmax, softmax
    return _NS(exp=pt.exp, log=pt.log, sqrt=pt.sqrt, sin=pt.sin, cos=pt.cos, tan=pt.tan, arctan=pt.arctan,
               sinh=pt.sinh, cosh=pt.cosh, tanh=pt.tanh, erf=pt.erf, sigmoid=pt.sigmoid,
               softmax=lambda z: softmax(z, axis=-1), log_softmax=lambda z: log_softmax(z, axis=-1),
               sum=pt.sum, prod=pt.prod, max=pt.max, arcsin=pt.arcsin, arccos=pt.arccos, erfc=pt.erfc,
               erfinv=pt.erfinv)


def _jax_ns():
    import jax
    import jax.numpy as jnp
    return _NS(exp=jnp.exp, log=jnp.log, sqrt=jnp.sqrt, sin=jnp.sin, cos=jnp.cos, tan=jnp.tan,
               arctan=jnp.arctan, sinh=jnp.sinh, cosh=jnp.cosh, tanh=jnp.tanh, erf=jax.scipy.special.erf,
               sigmoid=jax.nn.sigmoid, softmax=jax.nn.softmax, log_softmax=jax.nn.log_softmax,
               sum=jnp.sum, prod=jnp.prod, max=jnp.max, arcsin=jnp.arcsin, arccos=jnp.arccos,
               erfc=jax.scipy.special.erfc, erfinv=jax.scipy.special.erfinv)


# ---- evaluation ----------------------------------------------------------------------------------

def points(f: Formula, dtype: str, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sample = f.sample32 if dtype == "float32" and f.sample32 is not None else f.sample
    with np.errstate(all="ignore"):
        return [np.asarray(a, dtype=np.float64).astype(dtype) for a in sample(rng, n)]


def reference(f: Formula, args: list[np.ndarray]) -> np.ndarray:
    """The exact result at each point, rounded to float64 (NaN where undefined)."""
    import mpmath
    with mpmath.workdps(DPS):
        objs = [np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])(a) for a in args]
        out = np.asarray(f.fn(_mp_ns(), *objs), dtype=object)
        return np.vectorize(lambda v: float(v) if mpmath.isfinite(v) or mpmath.isinf(v) else math.nan,
                            otypes=[np.float64])(out)


def _ordinal(a: np.ndarray) -> np.ndarray:
    """Integers in the order of the floats (-0.0 and 0.0 both 0)."""
    bits = {np.dtype("float64"): np.int64, np.dtype("float32"): np.int32}[a.dtype]
    i = a.view(bits).astype(np.int64)
    lim = np.int64(np.iinfo(bits).min)
    return np.where(i < 0, lim - i, i)


def _distance(oa: np.ndarray, ob: np.ndarray) -> np.ndarray:
    """|oa - ob| as floats, exact where it matters (same sign: no int64 overflow)."""
    same = (oa >= 0) == (ob >= 0)
    with np.errstate(over="ignore"):
        exact = np.abs(np.where(same, oa - ob, 0)).astype(np.float64)
    return np.where(same, exact, np.abs(oa.astype(np.float64) - ob.astype(np.float64)))


def bits_of_error(got: np.ndarray, exact: np.ndarray, dtype: str) -> np.ndarray:
    """log2(1 + floats between got and exact, rounded to dtype); NaN results count as width bits."""
    width = np.dtype(dtype).itemsize * 8
    with np.errstate(all="ignore"):
        ex = exact.astype(dtype)
        got = np.broadcast_to(np.asarray(got, dtype=np.float64), ex.shape).astype(dtype)
    err = np.log2(1.0 + _distance(_ordinal(got), _ordinal(ex)))
    err = np.where(np.isnan(got), width, np.minimum(err, width))
    return err


def _valid(exact: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.isfinite(exact.astype(dtype))


def run_numpy(f, args):
    with np.errstate(all="ignore"):
        return np.asarray(f.fn(_np_ns(), *args))


def _symbolic(T, f, args):
    return [T.tensor(dtype=a.dtype.name, shape=(None,) * a.ndim, name=f"v{i}") for i, a in enumerate(args)]


def run_egopt(f, args):
    import egopt
    import egopt.tensor as T
    vs = _symbolic(T, f, args)
    fn = egopt.function(vs, f.fn(_egopt_ns(), *vs), mode="FAST_RUN")
    with np.errstate(all="ignore"):
        return np.asarray(fn(*args)), fn


def run_pytensor(f, args):
    import pytensor
    import pytensor.tensor as pt
    vs = [pt.tensor(dtype=a.dtype.name, shape=(None,) * a.ndim) for a in args]
    fn = pytensor.function(vs, f.fn(_pytensor_ns(), *vs), mode="FAST_RUN")
    with np.errstate(all="ignore"):
        return np.asarray(fn(*args))


def run_jax(f, args):
    import jax
    jax.config.update("jax_enable_x64", True)
    fn = jax.jit(lambda *a: f.fn(_jax_ns(), *a))
    return np.asarray(fn(*args))


def _available(name: str) -> bool:
    try:
        __import__(name)
        return True
    except Exception:
        return False


@dataclass
class Row:
    name: str
    group: str
    dtype: str
    n: int
    errors: dict                   # library -> mean bits (None: not run)
    rules: str = ""


def measure(f: Formula, dtype: str, n: int = 96, libs=("egopt", "numpy", "pytensor", "jax")) -> Row:
    args = points(f, dtype, n)
    exact = reference(f, args)
    ok = _valid(exact, dtype)
    errs = {}
    rules = ""
    for lib in libs:
        try:
            if lib == "egopt":
                got, fn = run_egopt(f, args)
                outcome = fn.optimization_report().outcome
                if outcome != "optimized":
                    print(f"  {f.name} {dtype}: egopt optimizer: {outcome}", file=sys.stderr)
                rules = ",".join(sorted(k for k in fn.optimization_report().fired
                                        if k in _stable_rule_names()))
            elif lib == "numpy":
                got = run_numpy(f, args)
            elif lib == "pytensor":
                got = run_pytensor(f, args) if _available("pytensor") else None
            else:
                got = run_jax(f, args) if _available("jax") else None
        except Exception as e:          # a library that cannot build the formula: worst error
            print(f"  {f.name} {dtype}: {lib} failed ({type(e).__name__}: {str(e)[:80]})", file=sys.stderr)
            got = np.full(exact.shape, np.nan)
        if got is None:
            errs[lib] = None
            continue
        e = bits_of_error(got, exact, dtype)
        errs[lib] = float(np.mean(e[ok])) if ok.any() else 0.0
    return Row(f.name, f.group, dtype, int(ok.sum()), errs, rules)


_STABLE = None


def _stable_rule_names():
    global _STABLE
    if _STABLE is None:
        from egopt.rules import builtin
        _STABLE = {r.name for r in builtin().by_phase("stabilize")}
    return _STABLE


def repaired(row: Row, lib: str) -> bool:
    e, base = row.errors.get(lib), row.errors.get("numpy")
    return e is not None and base is not None and base > BAD_BITS and e <= REPAIRED_BITS


def format_table(rows: list[Row], libs) -> str:
    head = f"{'formula':<24}{'dtype':<8}{'pts':>4}" + "".join(f"{lib:>10}" for lib in libs)
    out = [head, "-" * len(head)]
    for r in rows:
        cells = "".join(f"{'-' if r.errors.get(lib) is None else format(r.errors[lib], '.1f'):>10}"
                        for lib in libs)
        mark = " repaired" if repaired(r, "egopt") else (" WORSE" if _worse(r) else "")
        out.append(f"{r.name:<24}{r.dtype:<8}{r.n:>4}{cells}{mark}")
    return "\n".join(out)


def _worse(r: Row) -> bool:
    return r.errors["egopt"] > r.errors["numpy"] + 1.0


def summary(rows: list[Row], libs) -> str:
    lines = []
    for dt in sorted({r.dtype for r in rows}, reverse=True):
        rs = [r for r in rows if r.dtype == dt]
        bad = [r for r in rs if r.errors["numpy"] > BAD_BITS]
        libs = [lib for lib in libs if any(lib in r.errors for r in rs)]
        parts = []
        for lib in libs:
            if all(r.errors.get(lib) is None for r in rs):
                parts.append(f"{lib} not installed")
            else:
                parts.append(f"{lib} {sum(repaired(r, lib) for r in rs)}")
        worse = [r.name for r in rs if _worse(r)]
        lines.append(f"{dt}: {len(rs)} formulas, numpy loses > {BAD_BITS:.0f} bits on {len(bad)}; repaired "
                     f"(mean <= {REPAIRED_BITS:.0f} bits): " + ", ".join(parts)
                     + (f"; egopt worse than numpy on: {', '.join(worse)}" if worse else ""))
    return "\n".join(lines)


def run(dtypes=("float64", "float32"), n: int = 96, only: str | None = None, libs=None) -> list[Row]:
    libs = libs or ("egopt", "numpy", "pytensor", "jax")
    rows = []
    for dt in dtypes:
        for f in FORMULAS:
            if only and only not in f.name:
                continue
            rows.append(measure(f, dt, n, libs))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="both", choices=["float64", "float32", "both"])
    ap.add_argument("--points", type=int, default=96)
    ap.add_argument("--only", default=None)
    ap.add_argument("--libs", default="egopt,numpy,pytensor,jax", help="comma-separated libraries to run")
    ap.add_argument("--rules", action="store_true", help="list the stability rules that fired")
    a = ap.parse_args(argv)
    dts = ("float64", "float32") if a.dtype == "both" else (a.dtype,)
    libs = tuple(a.libs.split(","))
    t0 = time.perf_counter()
    rows = run(dts, a.points, a.only, libs)
    print("mean bits of error against mpmath (lower is better; 'repaired': egopt <= "
          f"{REPAIRED_BITS:.0f} bits where numpy > {BAD_BITS:.0f})")
    print(format_table(rows, libs))
    if a.rules:
        for r in rows:
            print(f"  {r.name} {r.dtype}: {r.rules or '-'}")
    print(summary(rows, libs))
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
