"""scan against explicit NumPy loops: the seed tutorials, taps, until, go_backwards, updates."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.lang.errors import EgoptTypeError
from egopt.scan_module import until

MODES = ["FAST_COMPILE", "FAST_RUN"]


@pytest.mark.parametrize("mode", MODES)
def test_power_by_scan(mode):
    A, k = T.dvector("A"), T.iscalar("k")
    res, updates = egopt.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A,
                              n_steps=k)
    assert isinstance(updates, OrderedDict) and not updates
    f = egopt.function([A, k], [res, res[-1]], mode=mode)
    a = np.array([1.0, 2.0, 3.0])
    hist, last = f(a, 4)
    np.testing.assert_allclose(hist, np.array([a ** i for i in range(1, 5)]))
    np.testing.assert_allclose(last, a ** 4)


@pytest.mark.parametrize("mode", MODES)
def test_polynomial_two_sequences_and_a_nonsequence(mode):
    coef, x = T.dvector("coef"), T.dscalar("x")
    comps, _ = egopt.scan(lambda c, p, x: c * x ** p, sequences=[coef, T.arange(1000)], non_sequences=x)
    f = egopt.function([coef, x], comps.sum(), mode=mode)
    c = np.array([1.0, 0.0, 2.0, -1.5])
    assert f(c, 3.0) == pytest.approx(sum(ci * 3.0 ** i for i, ci in enumerate(c)))


def test_sequence_sum_and_several_outputs():
    x = T.dmatrix("x")
    (s, sq), _ = egopt.scan(lambda r, acc: (acc + r, (r ** 2).sum()), sequences=x,
                            outputs_info=[T.zeros((3,)), None])
    xv = np.random.default_rng(0).normal(size=(6, 3))
    got_s, got_sq = egopt.function([x], [s, sq])(xv)
    np.testing.assert_allclose(got_s, np.cumsum(xv, 0))
    np.testing.assert_allclose(got_sq, (xv ** 2).sum(1))


def test_outputs_info_none_gives_a_map():
    x = T.dvector("x")
    y, _ = egopt.scan(lambda v: v * 2 + 1, sequences=x)
    np.testing.assert_allclose(y.eval({x: [1.0, 2.0]}), [3.0, 5.0])


@pytest.mark.parametrize("mode", MODES)
def test_tanh_rnn(mode):
    X, Wx, Wh, h0 = T.dtensor3("X"), T.dmatrix("Wx"), T.dmatrix("Wh"), T.dmatrix("h0")
    hs, _ = egopt.scan(lambda x_t, h, Wx, Wh: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh)), sequences=X,
                       outputs_info=h0, non_sequences=[Wx, Wh])
    f = egopt.function([X, Wx, Wh, h0], [hs, hs[-1]], mode=mode)
    rng = np.random.default_rng(1)
    x, wx, wh, h = rng.normal(size=(7, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5, 5)) * .4, np.zeros((3, 5))
    want = []
    for t in range(7):
        h = np.tanh(x[t] @ wx + h @ wh)
        want.append(h)
    hist, last = f(x, wx, wh, np.zeros((3, 5)))
    np.testing.assert_allclose(hist, np.array(want), rtol=1e-12)
    np.testing.assert_allclose(last, want[-1], rtol=1e-12)


def test_output_taps_fibonacci():
    a0 = T.dvector("a0")
    fib, _ = egopt.scan(lambda a, b: a + b, outputs_info=dict(initial=a0, taps=[-2, -1]), n_steps=10)
    want, a, b = [], 0.0, 1.0
    for _ in range(10):
        a, b = b, a + b
        want.append(b)
    np.testing.assert_allclose(egopt.function([a0], fib)([0.0, 1.0]), want)


def test_sequence_taps_past_and_future():
    x = T.dvector("x")
    y, _ = egopt.scan(lambda a, b, c: a + 10 * b + 100 * c, sequences=dict(input=x, taps=[-2, -1, 1]))
    xv = np.arange(8.0)
    want = [xv[t - 2] + 10 * xv[t - 1] + 100 * xv[t + 1] for t in range(2, 7)]
    np.testing.assert_allclose(egopt.function([x], y)(xv), want)




def test_slices_come_in_the_order_the_taps_are_listed():
    """Theano passes fn the slices in the order of the taps list, not sorted (found by the
    robustness sweep: ``taps=[1, 0]`` gave fn ``x[t], x[t+1]``)."""
    x = T.dvector("x")
    out, _ = egopt.scan(lambda a, b, c: a + 10 * b + 100 * c, sequences=dict(input=x, taps=[0, -1, 1]))
    xv = np.arange(6.0) ** 2
    np.testing.assert_allclose(egopt.function([x], out)(xv),
                               [xv[t] + 10 * xv[t - 1] + 100 * xv[t + 1] for t in range(1, 5)])
    f0 = T.dvector("f0")
    out, _ = egopt.scan(lambda a, b: a - 2 * b, outputs_info=dict(initial=f0, taps=[-1, -2]), n_steps=4)
    ref = [1.0, 3.0]
    for _ in range(4):
        ref.append(ref[-1] - 2 * ref[-2])
    np.testing.assert_allclose(egopt.function([f0], out)(np.array([1.0, 3.0])), ref[2:])
def test_symbolic_n_steps_from_a_shape():
    x = T.dvector("x")
    y, _ = egopt.scan(lambda acc, x: acc * 2, outputs_info=T.constant(1.0), non_sequences=x, n_steps=x.shape[0])
    np.testing.assert_allclose(egopt.function([x], y)(np.zeros(4)), [2.0, 4.0, 8.0, 16.0])


def test_go_backwards():
    x, h0 = T.dvector("x"), T.dscalar("h0")
    y, _ = egopt.scan(lambda a, h: h * 0.5 + a, sequences=x, outputs_info=h0, go_backwards=True)
    xv = np.array([1.0, 2.0, 3.0, 4.0])
    want, h = [], 0.25
    for a in xv[::-1]:
        h = h * 0.5 + a
        want.append(h)
    np.testing.assert_allclose(egopt.function([x, h0], y)(xv, 0.25), want)


@pytest.mark.parametrize("mode", MODES)
def test_until_stops_at_the_right_step(mode):
    def body(p):
        return p * 2, until(p * 2 > 40)
    v, _ = egopt.scan(body, outputs_info=T.constant(1.0), n_steps=100)
    np.testing.assert_allclose(egopt.function([], v, mode=mode)(), [2, 4, 8, 16, 32, 64])


def test_until_with_a_sequence_of_thresholds():
    x, lim = T.dvector("x"), T.dscalar("lim")
    s, _ = egopt.scan(lambda a, acc, lim: (acc + a, until(acc + a > lim)), sequences=x,
                      outputs_info=T.constant(0.0), non_sequences=lim)
    f = egopt.function([x, lim], s)
    np.testing.assert_allclose(f(np.ones(10), 3.5), [1, 2, 3, 4])
    np.testing.assert_allclose(f(np.ones(3), 100.0), [1, 2, 3])


def test_shared_variable_updates_from_the_body():
    count = egopt.shared(np.float64(0.0), name="count")
    x = T.dvector("x")
    y, updates = egopt.scan(lambda a: (a * 2, {count: count + a}), sequences=x)
    assert list(updates) == [count]
    f = egopt.function([x], y, updates=updates)
    np.testing.assert_allclose(f([1.0, 2.0, 3.0]), [2.0, 4.0, 6.0])
    assert count.get_value() == 6.0
    f([1.0])
    assert count.get_value() == 7.0


def test_shared_variable_read_inside_the_body_is_a_nonsequence():
    w = egopt.shared(np.array([1.0, 2.0]), name="w")
    x = T.dmatrix("x")
    y, _ = egopt.scan(lambda r: (r * w).sum(), sequences=x)
    f = egopt.function([x], y)
    xv = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(f(xv), xv @ [1.0, 2.0])
    w.set_value(np.array([0.0, 1.0]))
    np.testing.assert_allclose(f(xv), xv[:, 1])


def test_scan_of_scan():
    X = T.dtensor3("X")

    def row_sum(m):
        inner, _ = egopt.scan(lambda r, acc: acc + r, sequences=m, outputs_info=T.zeros_like(m[0]))
        return inner[-1]
    out, _ = egopt.scan(row_sum, sequences=X)
    xv = np.random.default_rng(2).normal(size=(3, 4, 2))
    f = egopt.function([X], out)
    np.testing.assert_allclose(f(xv), xv.sum(1))
    assert_optimized(f.optimization_report())


def assert_optimized(rep):
    """Neither the outer graph nor any loop body fell back to the input graph."""
    ok = ("optimized", "nothing to optimize", "kept the input graph (no cheaper form found)")
    assert rep.outcome in ok, rep.outcome
    for body in getattr(rep, "scan_bodies", []):
        assert_optimized(body)
    assert rep.outcome == "optimized" or any(b.outcome == "optimized" for b in getattr(rep, "scan_bodies", []))


def test_state_type_mismatch_names_the_output():
    x = T.dvector("x")
    with pytest.raises(EgoptTypeError, match="output 0 of the step function"):
        egopt.scan(lambda a, h: T.stack([h, a]), sequences=x, outputs_info=T.constant(0.0))


def test_no_sequences_and_no_n_steps_is_an_error():
    with pytest.raises(ValueError, match="n_steps"):
        egopt.scan(lambda h: h + 1, outputs_info=T.constant(0.0))


def test_n_steps_longer_than_a_sequence_is_a_runtime_error():
    x = T.dvector("x")
    y, _ = egopt.scan(lambda a, h: h + a, sequences=x, outputs_info=T.constant(0.0), n_steps=5)
    with pytest.raises(egopt.lang.OpRuntimeError, match="n_steps is 5"):
        egopt.function([x], y)(np.ones(3))


def test_theano_names():
    import egopt.scan_module as sm
    from egopt.lang.scan import scan
    # egopt.scan is a callable module (PyTensor's pytensor.scan package paths) that calls scan
    assert sm.scan is scan and sm.until is until and egopt.scan.until is until and callable(egopt.scan)
    x = T.dvector("x")
    y, _ = egopt.scan(lambda a: a + 1, sequences=x, name="inc")
    assert "scan" in egopt.printing.pp(y) and "inc" in egopt.printing.pp(y)
    egopt.printing.debugprint(y)


def test_map_reduce_foldl_foldr():
    x = T.dvector("x")
    sq, _ = egopt.map(lambda v: v ** 2, x)
    total, _ = egopt.reduce(lambda v, acc: acc + v, x, T.constant(0.0))
    left, _ = egopt.foldl(lambda v, acc: acc * 2 + v, x, T.constant(0.0))
    right, _ = egopt.foldr(lambda v, acc: acc * 2 + v, x, T.constant(0.0))
    f = egopt.function([x], [sq, total, left, right])
    xv = np.array([1.0, 2.0, 3.0])
    got = f(xv)
    np.testing.assert_allclose(got[0], xv ** 2)
    assert got[1] == 6.0
    assert got[2] == ((1 * 2) + 2) * 2 + 3
    assert got[3] == ((3 * 2) + 2) * 2 + 1


def test_return_updates_false_returns_the_outputs_and_keeps_the_updates():
    """PyTensor's ``scan(..., return_updates=False)``: outputs only; the loop's updates (a random
    key here, a counter) become default updates that every function applies."""
    x = T.dvector("x")
    out = egopt.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0.0), return_updates=False)
    np.testing.assert_allclose(egopt.function([x], out)([1.0, 2.0, 3.0]), [1.0, 3.0, 6.0])
    srng = T.random.RandomStream(5)
    draws = egopt.scan(lambda: srng.uniform(size=(2,)), n_steps=3, return_updates=False)
    f = egopt.function([], draws)
    a, b = f(), f()
    assert a.shape == (3, 2) and not np.allclose(a, b)
    count = egopt.shared(0.0, name="count")
    ys = egopt.scan(lambda v: (v * 2, {count: count + 1}), sequences=x, return_updates=False)
    g = egopt.function([x], ys)
    np.testing.assert_allclose(g([1.0, 2.0]), [2.0, 4.0])
    assert count.get_value() == 2.0
