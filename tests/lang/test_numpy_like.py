"""NumPy functions built from existing ops (egopt/lang/numpy_like.py), against NumPy, with
gradients by finite differences."""
from __future__ import annotations

import numpy as np

import egopt
import egopt.tensor as T
from egopt.grad import verify_grad


def test_against_numpy():
    x, v = T.dmatrix("x"), T.dvector("v")
    xv = np.arange(12.0).reshape(3, 4) ** 1.5 - 4
    vv = np.array([0.2, 0.5, 0.9, 0.1])
    cases = [
        (T.full((2, 3), 1.5), np.full((2, 3), 1.5)),
        (T.full_like(x, 7), np.full_like(xv, 7)),
        (T.broadcast_to(v, (3, 4)), np.broadcast_to(vv, (3, 4))),
        (T.swapaxes(x, 0, 1), np.swapaxes(xv, 0, 1)),
        (T.moveaxis(T.stack([x, x * 2]), 0, -1), np.moveaxis(np.stack([xv, xv * 2]), 0, -1)),
        (T.hstack([v, v]), np.hstack([vv, vv])),
        (T.hstack([x, x]), np.hstack([xv, xv])),
        (T.vstack([v, v]), np.vstack([vv, vv])),
        (T.vstack([x, x]), np.vstack([xv, xv])),
        (T.diff(x), np.diff(xv)),
        (T.diff(x, n=2, axis=0), np.diff(xv, n=2, axis=0)),
        (T.diagonal(x), np.diagonal(xv)),
        (T.diagonal(x.T), np.diagonal(xv.T)),
        (T.trace(x), np.trace(xv)),
        (T.linspace(0, 1, 5), np.linspace(0, 1, 5)),
        (T.linspace(-2.0, 3.0, 4, endpoint=False), np.linspace(-2.0, 3.0, 4, endpoint=False)),
        (T.reciprocal(x), np.reciprocal(xv)),
        (T.exp2(v), np.exp2(vv)),
        (T.expit(v), 1 / (1 + np.exp(-vv))),
        (T.logit(v), np.log(vv / (1 - vv))),
        (T.isclose(v, v + 1e-9), np.isclose(vv, vv + 1e-9)),
        (T.isclose(v, v[::-1]), np.isclose(vv, vv[::-1])),
    ]
    for mode in ("FAST_COMPILE", "FAST_RUN"):
        outs = egopt.function([x, v], [c for c, _ in cases], mode=mode, on_unused_input="ignore")(xv, vv)
        for k, (got, (_, want)) in enumerate(zip(outs, cases)):
            assert got.shape == want.shape and got.dtype == want.dtype, (k, got.dtype, want.dtype)
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"case {k}")
    inf = T.dvector("inf")
    close = egopt.function([inf], T.isclose(inf, inf))(np.array([np.inf, -np.inf, np.nan, 1.0]))
    np.testing.assert_array_equal(close, [True, True, False, True])


def test_gradients():
    rng = np.random.RandomState(0)
    m = rng.uniform(0.2, 0.8, (3, 4))
    verify_grad(lambda a: (T.diff(a, axis=0) ** 2).sum() + T.trace(a) * 3, [m], rng=rng)
    verify_grad(lambda a: (T.vstack([a[0], a[1]]) * T.hstack([a, a])[:2, :4]).sum(), [m], rng=rng)
    verify_grad(lambda a: T.logit(a).sum() + T.exp2(a).sum() + T.reciprocal(a).sum(), [m], rng=rng)
    verify_grad(lambda a: (T.broadcast_to(a[0], (2, 4)) * T.moveaxis(a, 0, 1)[:2, :2].sum()).sum(), [m], rng=rng)
