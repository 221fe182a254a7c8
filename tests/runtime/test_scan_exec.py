"""Compiling scan: hoisting out of the loop, last-row-only outputs, the generated step loop."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.scan_module import until
from tests.lang.test_scan import assert_optimized
from tests.reference_loops import rnn_loop


def _scan_nodes(f):
    return [n for n in f.maker.fgraph.toposort() if n.op.name == "scan"]


def _rnn():
    X, Wx, Wh, h0 = T.dtensor3("X"), T.dmatrix("Wx"), T.dmatrix("Wh"), T.dmatrix("h0")
    hs, _ = egopt.scan(lambda x_t, h, Wx, Wh: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh)), sequences=X,
                       outputs_info=h0, non_sequences=[Wx, Wh])
    return [X, Wx, Wh, h0], hs


def _values(T_=6, B=3, I=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(T_, B, I)), rng.normal(size=(I, H)), rng.normal(size=(H, H)) * .4,
            rng.normal(size=(B, H))]


def test_input_projection_is_one_product_before_the_loop():
    ins, hs = _rnn()
    f = egopt.function(ins, hs[-1])
    (node,) = _scan_nodes(f)
    spec = node.params["spec"]
    # a matrix product in the loop: dot/tensordot, or gemm (x_t.Wx + h.Wh fused as one product
    # plus a scaled add, after the projection is hoisted)
    body_dots = [n for n in egopt.lang.toposort(list(spec.inner_outputs), stop=list(spec.inner_inputs))
                 if n.op.name in ("dot", "tensordot", "gemm")]
    assert len(body_dots) == 1                                   # only h . Wh stays in the loop
    inner_ins = {id(v) for v in spec.inner_inputs}
    assert all(id(v) in inner_ins for v in body_dots[0].inputs[:2])   # its factors: h and Wh
    outer = egopt.lang.toposort(node.inputs)
    assert any(n.op.name == "tensordot" for n in outer)          # X . Wx, all steps at once
    vals = _values()
    np.testing.assert_allclose(f(*vals), rnn_loop(*vals)[-1], rtol=1e-12)
    assert_optimized(f.optimization_report())


def test_loop_invariant_values_are_computed_once():
    x, W = T.dvector("x"), T.dmatrix("W")
    y, _ = egopt.scan(lambda a, h, W: T.dot(T.exp(W), h) + a, sequences=x,
                      outputs_info=T.ones((2,)), non_sequences=W)
    f = egopt.function([x, W], y)
    (node,) = _scan_nodes(f)
    spec = node.params["spec"]
    inner = egopt.lang.toposort(list(spec.inner_outputs), stop=list(spec.inner_inputs))
    assert not any(n.op.name == "exp" for n in inner)
    xv, Wv = np.array([1.0, -1.0, 0.5]), np.array([[0.1, 0.2], [-0.3, 0.0]])
    h, want = np.ones(2), []
    for a in xv:
        h = np.exp(Wv) @ h + a
        want.append(h)
    np.testing.assert_allclose(f(xv, Wv), want, rtol=1e-12)


def test_output_read_only_at_its_last_row_keeps_one_row():
    ins, hs = _rnn()
    vals = _values(T_=9)
    f_last = egopt.function(ins, hs[-1])
    f_all = egopt.function(ins, [hs, hs[-1]])
    assert _scan_nodes(f_last)[0].params["spec"].keep == ("last",)
    assert _scan_nodes(f_all)[0].params["spec"].keep == ("all",)
    hist, last = f_all(*vals)
    np.testing.assert_allclose(f_last(*vals), last)
    np.testing.assert_allclose(hist, rnn_loop(*vals), rtol=1e-12)


def test_output_taps_with_a_rolling_buffer_and_until():
    a0 = T.dvector("a0")
    fib, _ = egopt.scan(lambda a, b: (a + b, until(a + b > 50)), outputs_info=dict(initial=a0, taps=[-2, -1]),
                        n_steps=100)
    f = egopt.function([a0], fib[-1])
    assert _scan_nodes(f)[0].params["spec"].keep == ("last",)
    assert f([0.0, 1.0]) == 55.0


def test_zero_steps_give_empty_histories():
    x = T.dmatrix("x")
    y, _ = egopt.scan(lambda r, acc: acc + r, sequences=x, outputs_info=T.zeros((3,)))
    out = egopt.function([x], y)(np.zeros((0, 3)))
    assert out.shape == (0, 3)


def test_body_with_ops_that_have_no_out_form():
    x = T.dmatrix("x")
    y, _ = egopt.scan(lambda r, acc: acc + r[::-1][:2].sum() * r[T.argmax(r)] + r.max(), sequences=x,
                      outputs_info=T.constant(0.0))
    xv = np.random.default_rng(4).normal(size=(5, 4))
    acc, want = 0.0, []
    for r in xv:
        acc = acc + r[::-1][:2].sum() * r[np.argmax(r)] + r.max()
        want.append(acc)
    np.testing.assert_allclose(egopt.function([x], y)(xv), want, rtol=1e-12)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "FAST_RUN"])
def test_long_trivial_loop(mode):
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    y, _ = egopt.scan(lambda a, h: h + a, sequences=x, outputs_info=h0)
    f = egopt.function([x, h0], [y[-1]], mode=mode)
    xv = np.random.default_rng(5).random((10_000, 10))
    np.testing.assert_allclose(f(xv, np.zeros(10))[0], xv.sum(0), rtol=1e-10)


def test_step_failure_names_the_scan():
    x, W = T.dmatrix("x"), T.dmatrix("W")
    y, _ = egopt.scan(lambda r, W: T.dot(W, r), sequences=x, non_sequences=W, name="proj")
    f = egopt.function([x, W], y, mode="FAST_COMPILE")
    with pytest.raises(egopt.lang.OpRuntimeError, match="dot"):
        f(np.ones((3, 2)), np.ones((4, 5)))


@pytest.mark.parametrize("taps", [[-1], [-3, -1]])
def test_gradient_reads_the_history_with_its_initial_rows_without_a_copy(taps):
    x, a0 = T.dmatrix("x"), T.dmatrix("a0")
    o, _ = egopt.scan(lambda x_t, *prev: T.tanh(x_t + sum(p * (0.5 + 0.1 * i) for i, p in enumerate(prev))),
                      sequences=x, outputs_info=dict(initial=a0 if len(taps) > 1 else a0[0], taps=taps))
    cost = (o ** 2).sum()
    f = egopt.function([x, a0], [o, *T.grad(cost, [x, a0])])
    (fwd, _) = _scan_nodes(f)
    assert fwd.params["spec"].keep == ("init",)
    assert not any(n.op.name == "join" and any(i.owner is fwd for i in n.inputs) for n in f.maker.fgraph.toposort())
    ref = egopt.function([x, a0], [o, *T.grad(cost, [x, a0])], mode="FAST_COMPILE")
    xv, av = np.random.default_rng(2).normal(size=(5, 2)), np.random.default_rng(3).normal(size=(3, 2))
    for got, want in zip(f(xv, av), ref(xv, av)):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_sequence_gradient_is_written_in_forward_order():
    ins, hs = _rnn()
    cost = (hs ** 2).sum()
    f = egopt.function(ins, T.grad(cost, ins))
    fwd, bwd = _scan_nodes(f)
    assert "reversed" in bwd.params["spec"].keep
    # what reads the gradient history reads the scan's own output, not a reversed view of it
    g_out = bwd.outputs[bwd.params["spec"].keep.index("reversed")]
    readers = [n for n in f.maker.fgraph.toposort() if any(i is g_out for i in n.inputs)]
    assert readers and not any(n.op.name == "subtensor" and n.params.get("idx") == ((None, None, -1),)
                               for n in readers)
    ref = egopt.function(ins, T.grad(cost, ins), mode="FAST_COMPILE")
    vals = _values(T_=7)
    for got, want in zip(f(*vals), ref(*vals)):
        np.testing.assert_allclose(got, want, rtol=1e-10)
