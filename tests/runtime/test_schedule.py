"""The C linker's schedule: regions, fused nodes, in-place updates, fresh outputs."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.compile import find_compiler
from egopt.runtime.schedule import KernelStep

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")
C = egopt.Mode(None, "c")


def test_optimizer_fused_nodes_run_as_one_kernel():
    x, y, z = T.dvectors("x", "y", "z")
    out = T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2)
    with egopt.config.change_flags(linker="auto"):      # FAST_RUN's default, whatever --linker says
        f = egopt.function([x, y, z], out, mode="FAST_RUN")
    assert f.linker == "c"
    assert [type(s).__name__ for s in f.program.steps] == ["KernelStep"]
    (label, ops), = f.program.kernels()
    assert ops[0] == "fused_elemwise" and {"exp", "sin", "log1p"} <= set(ops)
    a, b, c = np.random.default_rng(0).standard_normal((3, 1000))
    np.testing.assert_allclose(f(a, b, c), np.exp(-a ** 2 / 2) * np.sin(b) + np.log1p(abs(a * b)) / (1 + c ** 2),
                               rtol=1e-13, atol=1e-15)


def test_regions_never_wait_on_their_own_reductions():
    # exp(x - max(x)) / sum(...): the subtraction cannot join the region max reads from
    x = T.dmatrix("x")
    e = T.exp(x - T.max(x, axis=1, keepdims=True))
    out = e / T.sum(e, axis=1, keepdims=True)
    f = egopt.function([x], out, mode=C)
    a = np.random.default_rng(1).standard_normal((4, 7)) * 30
    want = np.exp(a - a.max(1, keepdims=True))
    np.testing.assert_allclose(f(a), want / want.sum(1, keepdims=True), rtol=1e-14)
    assert all(isinstance(s, KernelStep) for s in f.program.steps)
    assert f.program.kernel_count == 4      # max, exp(x - m), sum, divide


def test_independent_leaf_regions_merge_into_one_kernel():
    x, y, z = T.fvectors("x", "y", "z")
    out = T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2)
    f = egopt.function([x, y, z], out, mode=C)
    assert f.program.kernel_count == 1


def test_update_in_place_when_nothing_reads_the_old_value():
    W = egopt.shared(np.ones((3, 4)), name="W")
    g = T.dmatrix("g")
    f = egopt.function([g], T.sum(W), updates=[(W, W - 0.1 * g)], mode=C)
    held = W.get_value(borrow=True)
    G = np.random.default_rng(2).random((3, 4))
    assert f(G) == 12.0                                 # the output saw the old value
    assert W.get_value(borrow=True) is held             # written in place
    np.testing.assert_allclose(W.get_value(), 1 - 0.1 * G)


def test_no_update_in_place_when_a_view_of_the_old_value_is_read_later():
    W = egopt.shared(np.ones((3, 4)), name="W")
    b = egopt.shared(np.zeros(4), name="b")
    g = T.dmatrix("g")
    f = egopt.function([g], [W.T, W[0] * 2], updates=[(W, W - g), (b, b + W[0])], mode=C)
    held = W.get_value(borrow=True)
    wt, w0 = f(np.full((3, 4), 0.5))
    np.testing.assert_array_equal(wt, np.ones((4, 3)))      # old values, not the update's
    np.testing.assert_array_equal(w0, 2 * np.ones(4))
    np.testing.assert_array_equal(b.get_value(), np.ones(4))
    np.testing.assert_array_equal(W.get_value(), np.full((3, 4), 0.5))
    assert W.get_value(borrow=True) is not held


def test_results_are_fresh_and_never_alias():
    x = T.dvector("x")
    y = T.exp(x)
    f = egopt.function([x], [y, y, x], mode=C)
    a = np.zeros(3)
    r = f(a)
    assert not np.shares_memory(r[0], r[1]) and not np.shares_memory(r[2], a)
    r2 = f(a)
    assert not np.shares_memory(r[0], r2[0])


def test_same_results_as_the_numpy_linker_on_a_training_step():
    rng = np.random.default_rng(3)
    X, yv = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    results = {}
    for linker in ("c", "py"):
        W = egopt.shared(np.zeros((5, 3)), name="W")
        bb = egopt.shared(np.zeros(3), name="b")
        x, y = T.dmatrix("x"), T.lvector("y")
        p = T.nnet.softmax(T.dot(x, W) + bb)
        cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
        gW, gb = T.grad(cost, [W, bb])
        step = egopt.function([x, y], cost, updates=[(W, W - 0.5 * gW), (bb, bb - 0.5 * gb)],
                              mode=egopt.Mode("egraph", linker))
        assert step.linker == linker
        costs = [float(step(X, yv)) for _ in range(5)]
        results[linker] = (costs, W.get_value())
    np.testing.assert_allclose(results["c"][0], results["py"][0], rtol=1e-12)
    np.testing.assert_allclose(results["c"][1], results["py"][1], rtol=1e-12, atol=1e-14)
