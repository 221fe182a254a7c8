"""Random draws inside a scan body: every step draws fresh numbers (the key is an implicit
recurrent state advanced by its default update), scan returns the key's update, the stream
stays reproducible from its seed, and gradients through such a scan hold the draws fixed."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.lang.random import generator, next_key
from egopt.lang.scan import SCAN
from egopt.tensor.random import RandomStream


def _keys(k0, n):
    ks, k = [], np.asarray(k0, dtype=np.uint64)
    for _ in range(n):
        ks.append(k)
        k = next_key(k)
    return ks, k


def _noisy_scan(rs, n=4):
    h0 = T.dvector("h0")
    out, upd = egopt.scan(lambda h: h + rs.normal(size=(3,)), outputs_info=h0, n_steps=n)
    return h0, out, upd


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_each_step_draws_fresh_numbers_and_updates_advance_the_key(mode):
    rs = RandomStream(42)
    h0, out, upd = _noisy_scan(rs)
    (key, _), = rs.updates()
    assert list(upd) == [key]                       # the key's update, and nothing visible else
    assert out.ndim == 2
    f = egopt.function([h0], out, updates=upd, mode=mode)
    k0 = key.get_value().copy()
    r1 = f(np.zeros(3))
    ks, k4 = _keys(k0, 4)
    # step t draws with the key advanced t times: what the same draw outside scan would give
    # at the t-th call
    expect = np.cumsum([generator(k).standard_normal(3) for k in ks], axis=0)
    np.testing.assert_allclose(r1, expect, rtol=1e-12, atol=1e-12)
    steps = np.diff(np.vstack([np.zeros(3), r1]), axis=0)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.allclose(steps[i], steps[j])
    # the update moves the key past every step's key: the next call continues the stream
    np.testing.assert_array_equal(key.get_value(), k4)
    r2 = f(np.zeros(3))
    assert not np.allclose(r1, r2)
    ks2, _ = _keys(k4, 4)
    np.testing.assert_allclose(r2, np.cumsum([generator(k).standard_normal(3) for k in ks2], axis=0),
                               rtol=1e-12, atol=1e-12)
    # re-seeding reproduces the numbers
    rs.seed(42)
    np.testing.assert_array_equal(key.get_value(), k0)
    np.testing.assert_allclose(f(np.zeros(3)), r1, rtol=1e-12, atol=1e-12)


def test_draw_stays_in_the_loop_and_key_is_a_state():
    rs = RandomStream(1)
    h0, out, upd = _noisy_scan(rs)
    node = out.owner
    assert node.op is SCAN
    spec = node.params["spec"]
    assert spec.n_updates == 1 and spec.n_outputs == 2
    (key, _), = rs.updates()
    _, inits, nonseqs = spec.split_outer(node.inputs)[1:]
    assert all(v is not key for v in nonseqs)       # not read as an invariant
    # the draw is computed in the body (not hoisted before the loop)
    from egopt.lang.graph import toposort
    inner = toposort(list(spec.inner_outputs), stop=list(spec.inner_inputs))
    assert any(n.op.kind == "random" and n.op.name != "random_next_key" for n in inner)


@pytest.mark.parametrize("pass_updates", [True, False])
def test_two_calls_differ_and_the_same_seed_reproduces(pass_updates):
    def run(seed):
        rs = RandomStream(seed)
        h0, out, upd = _noisy_scan(rs, n=3)
        # without scan's updates the key's default update still advances it once per call
        f = egopt.function([h0], out, updates=upd if pass_updates else None)
        return f(np.zeros(3)), f(np.zeros(3))
    a1, a2 = run(5)
    b1, b2 = run(5)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.allclose(a1, a2)
    steps = np.diff(np.vstack([np.zeros(3), a1]), axis=0)
    assert not np.allclose(steps[0], steps[1]) and not np.allclose(steps[1], steps[2])


def test_gradient_through_scan_with_draws_holds_the_draws_fixed():
    rs = RandomStream(11)
    x = T.dmatrix("x")
    W = T.dmatrix("W")
    h0 = T.dvector("h0")

    def step(x_t, h, W):
        return T.tanh(T.dot(h, W) + x_t + 0.5 * rs.normal(size=(3,)))

    hs, upd = egopt.scan(step, sequences=x, outputs_info=h0, non_sequences=W)
    cost = (hs ** 2).sum()
    gW, gh0 = egopt.grad(cost, [W, h0])
    (key, _), = rs.updates()
    f = egopt.function([x, h0, W], [hs, cost, gW, gh0], updates=upd)
    rng = np.random.default_rng(0)
    xv, h0v, Wv = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(3, 3)) * .5
    k0 = key.get_value().copy()
    hv, cv, gWv, gh0v = f(xv, h0v, Wv)
    ks, _ = _keys(k0, 5)
    noise = [0.5 * generator(k).standard_normal(3) for k in ks]

    def np_cost(W_, h_):
        tot, hist = 0.0, []
        for t in range(5):
            h_ = np.tanh(h_ @ W_ + xv[t] + noise[t])
            hist.append(h_)
            tot += (h_ ** 2).sum()
        return tot, np.array(hist)

    c_np, h_np = np_cost(Wv, h0v)
    np.testing.assert_allclose(hv, h_np, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cv, c_np, rtol=1e-10)
    eps = 1e-6
    num_W = np.zeros_like(Wv)
    for i in range(3):
        for j in range(3):
            d = np.zeros_like(Wv)
            d[i, j] = eps
            num_W[i, j] = (np_cost(Wv + d, h0v)[0] - np_cost(Wv - d, h0v)[0]) / (2 * eps)
    num_h = np.zeros(3)
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        num_h[i] = (np_cost(Wv, h0v + d)[0] - np_cost(Wv, h0v - d)[0]) / (2 * eps)
    np.testing.assert_allclose(gWv, num_W, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gh0v, num_h, rtol=1e-5, atol=1e-7)


def test_nested_scan_draws_continue_the_stream_across_outer_steps():
    # the outer body drops the inner scan's updates: the key still moves past every inner draw
    rs = RandomStream(3)

    def outer(h):
        inner, _ = egopt.scan(lambda a: a + rs.normal(size=(2,)), outputs_info=h, n_steps=3)
        return inner[-1] - h                 # this step's three draws, summed
    out, upd = egopt.scan(outer, outputs_info=T.zeros((2,)), n_steps=4)
    (key, _), = rs.updates()
    assert list(upd) == [key]
    f = egopt.function([], out, updates=upd)
    ks, k12 = _keys(key.get_value().copy(), 12)
    draws = [generator(k).standard_normal(2) for k in ks]
    np.testing.assert_allclose(f(), [sum(draws[3 * s:3 * s + 3]) for s in range(4)], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(key.get_value(), k12)
