"""Gradients through scan (a backwards scan) against finite differences and explicit loops."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.grad import verify_grad
from egopt.scan_module import until

RNG = np.random.default_rng(7)


def _rnn(X, Wx, Wh, h0):
    hs, _ = egopt.scan(lambda x_t, h, Wx, Wh: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh)), sequences=X,
                       outputs_info=h0, non_sequences=[Wx, Wh])
    return (hs ** 2).sum() + hs[-1].sum()


def test_rnn_wrt_sequence_initial_state_and_weights():
    verify_grad(_rnn, [RNG.normal(size=(5, 3, 4)), RNG.normal(size=(4, 6)), RNG.normal(size=(6, 6)) * .3,
                       RNG.normal(size=(3, 6))], rng=RNG)


def test_output_taps_and_a_nonsequence():
    def f(a0, c):
        o, _ = egopt.scan(lambda a, b, c: a * c + T.sin(b), outputs_info=dict(initial=a0, taps=[-2, -1]),
                          non_sequences=c, n_steps=6)
        return o.sum()
    verify_grad(f, [RNG.normal(size=(2, 3)), RNG.normal(size=3)], rng=RNG)


def test_deep_output_taps_with_a_gap():
    def f(a0, x):
        o, _ = egopt.scan(lambda x_t, a, b: T.tanh(x_t + a * 0.7 - b * 0.3), sequences=x,
                          outputs_info=dict(initial=a0, taps=[-3, -1]))
        return (o ** 2).sum()
    verify_grad(f, [RNG.normal(size=(3, 2)), RNG.normal(size=(5, 2))], rng=RNG)


def test_sequence_taps():
    def f(x):
        o, _ = egopt.scan(lambda a, b, c: a * b + c, sequences=dict(input=x, taps=[-2, 0, 1]))
        return (o ** 2).sum()
    verify_grad(f, [RNG.normal(size=(7, 2))], rng=RNG)


def test_go_backwards():
    def f(x, h0):
        o, _ = egopt.scan(lambda a, h: T.tanh(a + h * 0.5), sequences=x, outputs_info=h0, go_backwards=True)
        return (o * T.arange(5)[:, None]).sum()
    verify_grad(f, [RNG.normal(size=(5, 2)), RNG.normal(size=2)], rng=RNG)


def test_masked_minibatch():
    def f(x, m, W):
        def step(x_t, m_t, h, W):
            new = T.tanh(T.dot(x_t, W) + h)
            return m_t[:, None] * new + (1 - m_t[:, None]) * h
        o, _ = egopt.scan(step, sequences=[x, m], outputs_info=T.zeros((2, 3)), non_sequences=W)
        return (o[-1] ** 2).sum()
    mask = np.array([[1, 1], [1, 1], [1, 0], [0, 0]], dtype=float)
    verify_grad(lambda x, W: f(x, T.constant(mask), W), [RNG.normal(size=(4, 2, 3)), RNG.normal(size=(3, 3))],
                rng=RNG)


def test_scan_of_scan():
    def f(x, w):
        def outer_step(row, acc, w):
            inner, _ = egopt.scan(lambda v, a, w: T.tanh(a * w + v), sequences=row, outputs_info=acc,
                                  non_sequences=w)
            return inner[-1]
        o, _ = egopt.scan(outer_step, sequences=x, outputs_info=T.zeros_like(w), non_sequences=w)
        return (o ** 2).sum()
    verify_grad(f, [RNG.normal(size=(3, 4, 2)), RNG.normal(size=2)], rng=RNG)


def test_shared_weight_is_an_implicit_nonsequence():
    W = egopt.shared(RNG.normal(size=(2, 2)), name="W")
    x = T.dmatrix("x")
    o, _ = egopt.scan(lambda a, h: T.tanh(T.dot(h, W) + a), sequences=x, outputs_info=T.zeros((2,)))
    cost = (o ** 2).sum()
    g = egopt.function([x], T.grad(cost, W))
    fc = egopt.function([x], cost)
    xv, W0, eps = RNG.normal(size=(4, 2)), W.get_value(), 1e-6
    num = np.zeros_like(W0)
    for i in range(2):
        for j in range(2):
            for sgn in (1, -1):
                W1 = W0.copy()
                W1[i, j] += sgn * eps
                W.set_value(W1)
                num[i, j] += sgn * fc(xv) / (2 * eps)
    W.set_value(W0)
    np.testing.assert_allclose(g(xv), num, rtol=1e-6, atol=1e-8)


def test_truncate_gradient_keeps_the_last_steps():
    x, h0 = T.dvector("x"), T.dscalar("h0")
    for k, want_x, want_h in [(2, [0, 0, 0, .5, 1], 0.0), (10, [.0625, .125, .25, .5, 1], 0.03125)]:
        o, _ = egopt.scan(lambda a, h: h * 0.5 + a, sequences=x, outputs_info=h0, truncate_gradient=k)
        gx, gh = egopt.function([x, h0], T.grad(o[-1], [x, h0]))(np.ones(5), 1.0)
        np.testing.assert_allclose(gx, want_x)
        assert gh == pytest.approx(want_h)


def test_n_steps_shorter_than_the_sequence():
    def f(x):
        o, _ = egopt.scan(lambda a, h: h * a + 1, sequences=x, outputs_info=T.constant(0.5), n_steps=3)
        return o.sum()
    verify_grad(f, [RNG.normal(size=5)], rng=RNG)


def test_second_derivative_through_scan():
    x = T.dvector("x")
    o, _ = egopt.scan(lambda a, h: h * a, sequences=x, outputs_info=T.constant(1.0))
    H = egopt.function([x], T.hessian(o[-1], x))(np.array([1.0, 2.0, 3.0]))
    # prod(x): d2/dxi dxj = prod / (xi xj) off the diagonal, 0 on it
    want = np.array([[0, 3, 2], [3, 0, 1], [2, 1, 0]], dtype=float)
    np.testing.assert_allclose(H, want, rtol=1e-10)


def _until_scan(x, w, h0):
    # stops after the step where h passes 3: with these values, after step 3 of 6 (h ~ 1.0, 2.2, 3.6),
    # far enough from the threshold that finite differences take the same number of steps
    o, _ = egopt.scan(lambda a, h, w: (h + a * w, until(h + a * w > 3)), sequences=x, outputs_info=h0,
                      non_sequences=w)
    return o


def test_gradient_through_until_runs_over_the_steps_taken():
    x, w, h0 = T.dvector("x"), T.dscalar("w"), T.dscalar("h0")
    o = _until_scan(x, w, h0)
    cost = (o ** 2).sum()
    f = egopt.function([x, w, h0], [o, *T.grad(cost, [x, w, h0])])
    xv, wv, hv = np.array([1.0, 1.2, 1.4, 1.0, 1.0, 1.0]), 1.0, 0.0
    hs, gx, gw, gh = f(xv, wv, hv)
    np.testing.assert_allclose(hs, [1.0, 2.2, 3.6])
    # d cost / d h_t = 2 * (sum of the later states) for the states actually computed
    d = np.array([2 * (1.0 + 2.2 + 3.6), 2 * (2.2 + 3.6), 2 * 3.6])
    np.testing.assert_allclose(gx, np.concatenate([d * wv, np.zeros(3)]))
    np.testing.assert_allclose(gw, (d * xv[:3]).sum())
    assert gh == pytest.approx(d[0])
    verify_grad(lambda x, w, h0: (_until_scan(x, w, h0) ** 2).sum(), [xv, np.array(wv), np.array(hv)], rng=RNG)
    verify_grad(lambda x, w, h0: _until_scan(x, w, h0)[-1] * 2, [xv, np.array(wv), np.array(hv)], rng=RNG)


def test_gradient_of_the_last_row_only_seeds_the_carry():
    def f(X, Wx, Wh, h0):
        hs, _ = egopt.scan(lambda x_t, h, Wx, Wh: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh)), sequences=X,
                           outputs_info=h0, non_sequences=[Wx, Wh])
        return (hs[-1] ** 2).sum()
    verify_grad(f, [RNG.normal(size=(5, 3, 4)), RNG.normal(size=(4, 6)), RNG.normal(size=(6, 6)) * .3,
                    RNG.normal(size=(3, 6))], rng=RNG)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_zero_steps_give_the_seed_to_the_initial_state_and_zeros_elsewhere(mode):
    """A loop of zero steps: the state is its initial value, so the gradient reaching the last
    value goes to h0, and W and the sequence get zeros (of their shapes)."""
    X, W, h0, c = T.dmatrix("X"), T.dmatrix("W"), T.dvector("h0"), T.dvector("c")
    hs, _ = egopt.scan(lambda x_t, h, W: T.tanh(x_t + T.dot(h, W)), sequences=X, outputs_info=h0,
                       non_sequences=W)
    last = egopt.scan_module.scan_last(hs, h0)
    cost = (last * c).sum() + hs.sum()
    f = egopt.function([X, W, h0, c], T.grad(cost, [W, h0, X]), mode=mode)
    cv, Wv, hv = RNG.normal(size=3), RNG.normal(size=(3, 3)), RNG.normal(size=3)
    gW, gh0, gX = f(np.zeros((0, 3)), Wv, hv, cv)
    np.testing.assert_array_equal(gW, np.zeros((3, 3)))
    np.testing.assert_allclose(gh0, cv)
    assert gX.shape == (0, 3)
    # one step still differentiates through the loop (against an explicit NumPy VJP)
    x1 = RNG.normal(size=(1, 3))
    gW, gh0, gX = f(x1, Wv, hv, cv)
    d = (cv + 1.0) * (1 - np.tanh(x1[0] + hv @ Wv) ** 2)
    np.testing.assert_allclose(gW, np.outer(hv, d))
    np.testing.assert_allclose(gh0, Wv @ d)
    np.testing.assert_allclose(gX, d[None])


@pytest.mark.parametrize("n", [0, 1, 3])
def test_gradient_of_a_loop_of_n_steps_with_taps(n):
    """n_steps given (0 included), an output with taps [-2, -1]: finite differences."""
    def f(a0, c, x):
        o, _ = egopt.scan(lambda x_t, a, b, c: a * c + T.sin(b) + x_t,
                          sequences=x, outputs_info=dict(initial=a0, taps=[-2, -1]), non_sequences=c,
                          n_steps=n)
        return o.sum() + egopt.scan_module.scan_last(o, a0[-1]).sum() * 2.0
    verify_grad(f, [RNG.normal(size=(2, 3)), RNG.normal(size=3), RNG.normal(size=(4, 3))], rng=RNG)


def test_the_last_value_keeps_one_row():
    """scan_last(hs, h0) reads only the last row: the optimizer stores only that row, and the
    gradient's sums over the steps (read with scan_last) too."""
    X, W, h0 = T.dmatrix("X"), T.dmatrix("W"), T.dvector("h0")
    hs, _ = egopt.scan(lambda x_t, h, W: T.tanh(x_t + T.dot(h, W)), sequences=X, outputs_info=h0,
                       non_sequences=W)
    last = egopt.scan_module.scan_last(hs, h0)
    f = egopt.function([X, W, h0], [last] + T.grad(hs.sum(), [W, h0]), mode="FAST_RUN")
    fwd, bwd = sorted((n for n in f.maker.fgraph.toposort() if n.op.name == "scan"),
                      key=lambda n: "grad" in (n.params["spec"].name or ""))
    assert "last" not in fwd.params["spec"].keep         # hs.sum() reads the whole history
    assert bwd.params["spec"].keep.count("last") == 2    # the carry of h and the sum for W
    got = f(np.zeros((0, 2)), np.eye(2), [1.0, 2.0])
    np.testing.assert_allclose(got[0], [1.0, 2.0])
    np.testing.assert_array_equal(got[1], np.zeros((2, 2)))
    np.testing.assert_array_equal(got[2], np.zeros(2))
    f1 = egopt.function([X, W, h0], last, mode="FAST_RUN")
    (node,) = [n for n in f1.maker.fgraph.toposort() if n.op.name == "scan"]
    assert node.params["spec"].keep == ("last",)
    np.testing.assert_allclose(f1(np.ones((2, 2)), np.eye(2), [1.0, 2.0]), np.tanh(1 + np.tanh([2.0, 3.0])))
