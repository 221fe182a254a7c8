"""Rules are real-number identities; extraction keeps NumPy types (egopt/rules/typed.py).

Each case used to make the optimizer fall back (a rewrite merged terms of different dtypes, or
built ``add`` on booleans); now the optimizer must succeed and every node keep its dtype.
"""
from __future__ import annotations

import numpy as np

import egopt
import egopt.tensor as T
from egopt.lang.graph import toposort


def _compile(inputs, outputs):
    f = egopt.function(inputs, outputs, mode="FAST_RUN")
    rep = f.optimization_report()
    assert rep.outcome == "optimized", rep.outcome
    return f


def _node_dtypes(f):
    return {n.outputs[0].dtype for n in toposort(f.graph_outputs(), stop=f.input_vars)}


def test_div_mul_cancel_keeps_the_float64_promotion():
    x, y = T.fvector("x"), T.dvector("y")
    f = _compile([x, y], T.exp(x / y * y) + 1)
    assert f.outputs[0].dtype == "float64"
    xv = np.array([0.1, 1e-3, 3.0], dtype=np.float32)
    yv = np.array([3.0, 7.0, 1e-5])
    want = np.exp(xv.astype(np.float64) / yv * yv) + 1
    np.testing.assert_allclose(f(xv, yv), want, rtol=1e-14)


def test_div_mul_cancel_still_fires_when_types_agree():
    x, y = T.dvectors("x", "y")
    f = _compile([x, y], T.exp(x / y * y))
    assert f.optimization_report().fired.get("div-mul-cancel-1")
    assert "true_div" not in {n.op.name for n in toposort(f.graph_outputs(), stop=f.input_vars)}


def test_factoring_over_boolean_masks_never_adds_booleans():
    x = T.dvector("x")
    m1, m2 = T.tensor(dtype="bool", shape=(None,)), T.tensor(dtype="bool", shape=(None,))
    f = _compile([x, m1, m2], x * m1 + x * m2)
    xv = np.array([1.0, 2.0, 3.0, -4.0])
    a, b = xv > 1, xv > 2
    np.testing.assert_array_equal(f(xv, a, b), xv * a + xv * b)    # 2x where both masks hold


def test_gradient_of_nested_maximum_is_optimized():
    x, y, z = T.dvectors("x", "y", "z")
    c = T.maximum(T.maximum(x, y), z)
    grads = T.grad(T.sum(c * c * x), [x, y, z])
    f = _compile([x, y, z], grads)
    ref = egopt.function([x, y, z], grads, mode="FAST_COMPILE")
    rng = np.random.default_rng(0)
    vals = rng.normal(size=(3, 6))
    for got, want in zip(f(*vals), ref(*vals)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert _node_dtypes(f) <= {"float64", "bool"}
