"""Scan bodies on the C linker: kernels in the loop, histories reused across calls, gradients.

These tests pin the C linker (whatever ``--linker`` says) so that the compiled step loop is the
one checked; tests/grad/test_scan_grad.py runs the same kinds of scans on the default linker.
"""
from __future__ import annotations

import weakref

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.grad import verify_grad
from egopt.runtime.scan_exec import executor
from egopt.runtime.schedule import c_available
from tests.reference_loops import rnn_loop

pytestmark = pytest.mark.skipif(not c_available(), reason="needs a C compiler")
C = egopt.Mode("egraph", "c", name="C")
PY = egopt.Mode("egraph", "py", name="PY")
RNG = np.random.default_rng(11)


def _scans(f):
    return [n for n in f.maker.fgraph.toposort() if n.op.name == "scan"]


def _rnn(X, Wx, Wh, h0):
    hs, _ = egopt.scan(lambda x_t, h, Wx, Wh: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh)), sequences=X,
                       outputs_info=h0, non_sequences=[Wx, Wh])
    return hs


def _values(T_=6, B=3, I=4, H=5):
    return [RNG.normal(size=(T_, B, I)), RNG.normal(size=(I, H)), RNG.normal(size=(H, H)) * .4,
            RNG.normal(size=(B, H))]


def test_forward_and_backward_bodies_run_kernels():
    ins = [T.dtensor3("X"), T.dmatrix("Wx"), T.dmatrix("Wh"), T.dmatrix("h0")]
    hs = _rnn(*ins)
    cost = (hs[-1] ** 2).sum()
    f = egopt.function(ins, [hs, *T.grad(cost, ins[1:3])], mode=C)
    scans = _scans(f)
    assert len(scans) == 2
    plans = [executor(node.params["spec"]).plan for node in scans]
    # the forward body is gemm + tanh (tanh as NumPy's ufunc, see NUMPY_FASTER); the backward
    # body's g * (1 - h * h) is one kernel
    assert all(p is not None for p in plans) and plans[1].kernel_count >= 1
    g = egopt.function(ins, [hs, *T.grad(cost, ins[1:3])], mode=PY)
    assert all(executor(n.params["spec"]).plan is None for n in _scans(g))
    vals = _values()
    got, want = f(*vals), g(*vals)
    np.testing.assert_allclose(got[0], rnn_loop(*vals), rtol=1e-12)
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_returned_history_is_not_overwritten_by_the_next_call():
    ins = [T.dtensor3("X"), T.dmatrix("Wx"), T.dmatrix("Wh"), T.dmatrix("h0")]
    f = egopt.function(ins, _rnn(*ins), mode=C)
    v1, v2 = _values(), _values()
    a = f(*v1)
    last = a[-1]                        # a view of the history keeps it too
    del a
    b = f(*v2)
    np.testing.assert_allclose(last, rnn_loop(*v1)[-1], rtol=1e-12)
    np.testing.assert_allclose(b, rnn_loop(*v2), rtol=1e-12)


def test_history_read_only_inside_the_function_is_reused():
    ins = [T.dtensor3("X"), T.dmatrix("Wx"), T.dmatrix("Wh"), T.dmatrix("h0")]
    hs = _rnn(*ins)
    f = egopt.function(ins, (hs ** 2).sum(), mode=C)
    (node,) = _scans(f)
    ex = executor(node.params["spec"])
    vals = _values()
    want = (rnn_loop(*vals) ** 2).sum()
    assert f(*vals) == pytest.approx(want, rel=1e-12)
    first = weakref.ref(ex._hists[0])       # (a reference would keep it from being reused)
    assert f(*vals) == pytest.approx(want, rel=1e-12)
    assert ex._hists[0] is first()


def test_a_kernel_that_meets_bad_shapes_names_the_op():
    # the slice's length comes from the data: step 0 is fine, step 1 adds 2 rows to 3
    x, k, y = T.dmatrix("x"), T.lvector("k"), T.dvector("y")
    o, _ = egopt.scan(lambda x_t, k_t, acc, y: acc + T.exp(x_t[:k_t] + y).sum(), sequences=[x, k],
                      outputs_info=T.constant(0.0), non_sequences=y)
    f = egopt.function([x, k, y], o, mode=C)
    assert f(np.ones((2, 4)), np.array([3, 3]), np.zeros(3)) == pytest.approx([3 * np.e, 6 * np.e])
    with pytest.raises(egopt.lang.OpRuntimeError, match="add"):
        f(np.ones((2, 4)), np.array([3, 2]), np.zeros(3))


# gradients through compiled bodies, against finite differences


def test_grad_rnn():
    verify_grad(lambda *a: (_rnn(*a) ** 2).sum() + _rnn(*a)[-1].sum(),
                [RNG.normal(size=(5, 3, 4)), RNG.normal(size=(4, 6)), RNG.normal(size=(6, 6)) * .3,
                 RNG.normal(size=(3, 6))], rng=RNG, mode=C)


def test_grad_output_and_sequence_taps():
    def f(a0, x):
        o, _ = egopt.scan(lambda x0, x1, a, b: T.tanh(x1 * a * 0.7 - b * 0.3 + x0),
                          sequences=dict(input=x, taps=[-1, 0]), outputs_info=dict(initial=a0, taps=[-3, -1]))
        return (o ** 2).sum()
    verify_grad(f, [RNG.normal(size=(3, 2)), RNG.normal(size=(6, 2))], rng=RNG, mode=C)


def test_grad_masked_minibatch():
    mask = np.array([[1, 1], [1, 1], [1, 0], [0, 0]], dtype=float)

    def f(x, W):
        def step(x_t, m_t, h, W):
            new = T.tanh(T.dot(x_t, W) + h)
            return m_t[:, None] * new + (1 - m_t[:, None]) * h
        o, _ = egopt.scan(step, sequences=[x, T.constant(mask)], outputs_info=T.zeros((2, 3)), non_sequences=W)
        return (o[-1] ** 2).sum()
    verify_grad(f, [RNG.normal(size=(4, 2, 3)), RNG.normal(size=(3, 3))], rng=RNG, mode=C)


def test_grad_go_backwards():
    def f(x, h0):
        o, _ = egopt.scan(lambda a, h: T.tanh(a + h * 0.5), sequences=x, outputs_info=h0, go_backwards=True)
        return (o * T.arange(5)[:, None]).sum()
    verify_grad(f, [RNG.normal(size=(5, 2)), RNG.normal(size=2)], rng=RNG, mode=C)


def test_grad_truncated():
    def f(x, h0, w):
        o, _ = egopt.scan(lambda a, h, w: T.tanh(a * w + h * 0.5), sequences=x, outputs_info=h0,
                          non_sequences=w, truncate_gradient=3)
        return o[-1].sum()
    # truncation drops the dependence on early steps: compare with the scan of the last 3 steps
    x = T.dmatrix("x")
    h0, w = T.dvector("h0"), T.dvector("w")
    g = egopt.function([x, h0, w], T.grad(f(x, h0, w), [x, w]), mode=C)
    xv, hv, wv = RNG.normal(size=(6, 2)), RNG.normal(size=2), RNG.normal(size=2)
    gx, gw = g(xv, hv, wv)
    np.testing.assert_array_equal(gx[:3], 0.0)
    # with the early states held fixed, the last 3 steps are an ordinary scan from h_2
    hs = egopt.function([x, h0, w], egopt.scan(lambda a, h, w: T.tanh(a * w + h * 0.5), sequences=x,
                                               outputs_info=h0, non_sequences=w)[0], mode=C)(xv, hv, wv)
    verify_grad(lambda x3, w: egopt.scan(lambda a, h, w: T.tanh(a * w + h * 0.5), sequences=x3,
                                         outputs_info=T.constant(hs[2]), non_sequences=w)[0][-1].sum(),
                [xv[3:], wv], rng=RNG, mode=C)
    ref = egopt.function([x, w], T.grad(egopt.scan(lambda a, h, w: T.tanh(a * w + h * 0.5), sequences=x,
                                                   outputs_info=T.constant(hs[2]), non_sequences=w)[0][-1].sum(),
                                        [x, w]), mode=PY)(xv[3:], wv)
    np.testing.assert_allclose(gx[3:], ref[0], rtol=1e-10)
    np.testing.assert_allclose(gw, ref[1], rtol=1e-10)


@pytest.mark.parametrize("mode", [C, PY], ids=["c", "py"])
def test_sum_of_products_is_updated_in_place(mode):
    """acc + x_t.T @ y_t (the gradient's sums over the steps) is one gemm per step updating one
    row in place (BLAS's C := A B + C on the C linker); a state whose previous value is also read
    elsewhere keeps its ring of two rows. Values against NumPy, over repeated calls and lengths."""
    X, Y, A0 = T.dtensor3("X"), T.dtensor3("Y"), T.dmatrix("A0")
    acc, _ = egopt.scan(lambda x, y, a: a + T.dot(x.T, y), sequences=[X, Y], outputs_info=A0)
    both, _ = egopt.scan(lambda x, y, a, b: [a + T.dot(x.T, y), b + a.sum()], sequences=[X, Y],
                         outputs_info=[A0, T.constant(0.0)])
    f = egopt.function([X, Y, A0], [egopt.scan_module.scan_last(acc, A0), both[0][-1], both[1][-1]], mode=mode)
    ex = {len(n.params["spec"].taps): executor(n.params["spec"]) for n in _scans(f)}
    assert ex[1].in_place == {0} and ex[1].ring[0] == 1
    assert ex[2].in_place == set()
    for n in (5, 1, 7):
        x, y, a0 = RNG.normal(size=(n, 3, 4)), RNG.normal(size=(n, 3, 2)), RNG.normal(size=(4, 2))
        want, s = a0.copy(), 0.0
        for t in range(n):
            s += want.sum()
            want = want + x[t].T @ y[t]
        got = f(x, y, a0)
        np.testing.assert_allclose(got[0], want, rtol=1e-12)
        np.testing.assert_allclose(got[1], want, rtol=1e-12)
        np.testing.assert_allclose(got[2], s, rtol=1e-12)
    g = egopt.function([X, Y, A0], egopt.scan_module.scan_last(acc, A0), mode=mode)
    np.testing.assert_array_equal(g(np.zeros((0, 3, 4)), np.zeros((0, 3, 2)), a0), a0)


@pytest.mark.parametrize("mode", [C, PY], ids=["c", "py"])
@pytest.mark.parametrize("alpha", [2.0, -1.0])
def test_scaled_sum_of_products_in_place(mode, alpha):
    """acc + alpha * x_t.T @ y_t: a gemm with alpha updating its accumulator in place."""
    X, Y, A0 = T.dtensor3("X"), T.dtensor3("Y"), T.dmatrix("A0")
    acc, _ = egopt.scan(lambda x, y, a: a + alpha * T.dot(x.T, y), sequences=[X, Y], outputs_info=A0)
    f = egopt.function([X, Y, A0], acc[-1], mode=mode)
    assert executor(_scans(f)[0].params["spec"]).in_place == {0}
    x, y, a0 = RNG.normal(size=(6, 3, 4)), RNG.normal(size=(6, 3, 2)), RNG.normal(size=(4, 2))
    want = a0 + alpha * np.einsum("tbi,tbj->ij", x, y)
    for _ in range(2):
        np.testing.assert_allclose(f(x, y, a0), want, rtol=1e-12)
