"""conv2d and pool_2d against explicit loops, their gradients (and gradients of gradients)
against finite differences, and their passage through the e-graph optimizer."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.grad import verify_grad
from egopt.lang.errors import ShapeError
from tests.reference_loops import conv2d_loops, pool_2d_loops

RNG = np.random.default_rng(0)
BORDERS = ["valid", "full", "half", (1, 2), (0, 1)]


def _conv_fn(**kw):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    return egopt.function([x, w], T.nnet.conv2d(x, w, **kw), mode="FAST_COMPILE")


@pytest.mark.parametrize("border,stride,flip", list(itertools.product(BORDERS, [(1, 1), (2, 1), (2, 3)],
                                                                     [True, False])))
def test_conv2d_against_loops(border, stride, flip):
    x, w = RNG.standard_normal((2, 3, 7, 6)), RNG.standard_normal((4, 3, 3, 2))
    got = _conv_fn(border_mode=border, subsample=stride, filter_flip=flip)(x, w)
    want = conv2d_loops(x, w, border, stride, flip)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_conv2d_even_filter_half_and_static_shape():
    x = T.tensor4("x", dtype="float32", shape=(5, 2, 9, 8))
    w = T.tensor4("w", dtype="float32", shape=(3, 2, 4, 4))
    y = T.nnet.conv2d(x, w, border_mode="half", subsample=(2, 2))
    xv = RNG.standard_normal((5, 2, 9, 8)).astype("float32")
    wv = RNG.standard_normal((3, 2, 4, 4)).astype("float32")
    got = egopt.function([x, w], y)(xv, wv)
    assert y.type.shape == got.shape == (5, 3, 5, 5) and got.dtype == np.float32
    np.testing.assert_allclose(got, conv2d_loops(xv, wv, "half", (2, 2)), rtol=1e-4, atol=1e-4)


def test_conv2d_errors_name_the_shapes():
    x = T.tensor4("x", shape=(None, 3, 8, 8))
    with pytest.raises(ShapeError, match="3 channels.*expect 2"):
        T.nnet.conv2d(x, T.tensor4("w", shape=(4, 2, 3, 3)))
    with pytest.raises(ShapeError, match="smaller than the filter"):
        T.nnet.conv2d(x, T.tensor4("w", shape=(4, 3, 9, 9)))
    with pytest.raises(ValueError, match="border_mode"):
        T.nnet.conv2d(x, T.dtensor4(), border_mode="same")
    with pytest.raises(ShapeError, match="input_shape"):
        T.nnet.conv2d(x, T.dtensor4(), input_shape=(None, 4, 8, 8))
    f = _conv_fn()
    with pytest.raises(egopt.lang.OpRuntimeError, match=r"conv2d.*channels"):
        f(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)))


@pytest.mark.parametrize("border,stride,flip", [("valid", (1, 1), True), ("full", (2, 1), False),
                                                ("half", (1, 2), True), ((1, 0), (2, 2), True)])
def test_conv2d_gradients(border, stride, flip):
    x, w = RNG.standard_normal((2, 2, 5, 4)), RNG.standard_normal((3, 2, 3, 2))
    verify_grad(lambda a, b: T.nnet.conv2d(a, b, border_mode=border, subsample=stride, filter_flip=flip),
                [x, w], mode="FAST_COMPILE")


def test_conv2d_gradient_of_gradient():
    x, w = RNG.standard_normal((2, 2, 5, 5)), RNG.standard_normal((2, 2, 3, 3))

    def second(a, b):
        y = T.nnet.conv2d(a, b, border_mode=(1, 1), subsample=(2, 1))
        gx, gw = T.grad((T.tanh(y) ** 2).sum(), [a, b])
        return (gx ** 2).sum() + (gw * gw).sum()
    verify_grad(second, [x, w], mode="FAST_COMPILE")


POOLS = [((2, 2), True, None, (0, 0)), ((2, 2), False, None, (0, 0)), ((3, 2), False, (2, 1), (0, 0)),
         ((3, 3), True, (2, 2), (1, 1)), ((2, 3), True, (1, 2), (1, 2)), ((3, 2), False, (1, 3), (0, 0))]
MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,ignore,stride,pad", POOLS)
def test_pool_2d_against_loops(ws, ignore, stride, pad, mode):
    x = RNG.standard_normal((2, 3, 7, 8))
    v = T.dtensor4("x")
    got = egopt.function([v], T.signal.pool.pool_2d(v, ws, ignore_border=ignore, stride=stride, pad=pad,
                                                    mode=mode))(x)
    np.testing.assert_allclose(got, pool_2d_loops(x, ws, ignore, stride, pad, mode), rtol=1e-12)


def test_pool_on_matrices_and_the_old_alias():
    x = RNG.standard_normal((5, 7))
    v = T.dmatrix("x")
    got = egopt.function([v], T.signal.downsample.max_pool_2d(v, (2, 2), ignore_border=False))(x)
    np.testing.assert_array_equal(got, pool_2d_loops(x, (2, 2), False, None, (0, 0), "max"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,ignore,stride,pad", POOLS[1:5])
def test_pool_2d_gradients_and_second_order(ws, ignore, stride, pad, mode):
    x = RNG.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) / 7.0    # distinct values: no ties at a max

    def pooled(a):
        return T.signal.pool.pool_2d(a, ws, ignore_border=ignore, stride=stride, pad=pad, mode=mode)
    verify_grad(lambda a: (pooled(a) ** 2).sum(), [x], mode="FAST_COMPILE")

    def second(a, c):   # d/da of <grad of pooling, c>: the grad op's own VJP (and the grad-grad op)
        g = T.grad((pooled(a) * pooled(c)).sum(), a)
        return (g * T.sin(a)).sum() + (g ** 2).sum()
    verify_grad(second, [x, x[:, :, ::-1, :].copy() + 0.01], mode="FAST_COMPILE")


def test_lenet_layer_through_the_optimizer_matches_the_reference():
    x, w = T.ftensor4("x"), T.ftensor4("w")
    b = T.fvector("b")
    h = T.signal.pool.pool_2d(T.tanh(T.nnet.conv2d(x, w) + b.dimshuffle("x", 0, "x", "x")), (2, 2))
    cost = (h ** 2).mean()
    outs = [cost, *T.grad(cost, [w, b])]
    fast = egopt.function([x, w, b], outs, mode="FAST_RUN")
    assert fast.optimization_report().outcome == "optimized"
    ops = {n.op.name for n in fast.maker.fgraph.toposort()}
    assert {"conv2d", "conv2d_grad_filters", "pool_2d", "pool_2d_grad"} <= ops
    ref = egopt.function([x, w, b], outs, mode="FAST_COMPILE")
    args = [RNG.standard_normal((4, 1, 12, 12)).astype("float32"),
            RNG.standard_normal((3, 1, 5, 5)).astype("float32"), RNG.standard_normal(3).astype("float32")]
    for a, r in zip(fast(*args), ref(*args)):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-6)


def test_conv_cost_counts_multiply_adds():
    from egopt.extract.cost import ir_cost
    x, w = T.tensor4("x", shape=(8, 3, 10, 10)), T.tensor4("w", shape=(4, 3, 3, 3))
    y = T.nnet.conv2d(x, w)
    macs = 8 * 4 * 8 * 8 * 3 * 3 * 3
    assert ir_cost([y], [x, w]) >= 2 * macs


def test_conv_sympy_translation_is_the_sum_of_products():
    import sympy
    from egopt.lang import get_op
    xs = np.array(sympy.symbols("x0:9"), dtype=object).reshape(1, 1, 3, 3)
    ws = np.array(sympy.symbols("w0:4"), dtype=object).reshape(1, 1, 2, 2)
    params = {"border_mode": "valid", "subsample": (1, 1), "filter_flip": False}
    out = get_op("conv2d").sympy(params, xs, ws)
    assert sympy.expand(out[0, 0, 1, 0] - (xs[0, 0, 1, 0] * ws[0, 0, 0, 0] + xs[0, 0, 1, 1] * ws[0, 0, 0, 1]
                                           + xs[0, 0, 2, 0] * ws[0, 0, 1, 0] + xs[0, 0, 2, 1] * ws[0, 0, 1, 1])) == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws", [(2, 2), (3, 2)])
def test_pool_gradient_when_windows_tile_the_input(ws, mode):
    """Stride = window, no padding, exact fit: the gradient takes its broadcast fast path."""
    x = RNG.permutation(2 * 3 * 6 * 4).reshape(2, 3, 6, 4) / 5.0
    verify_grad(lambda a: (T.signal.pool.pool_2d(a, ws, mode=mode) ** 2).sum(), [x], mode="FAST_COMPILE")
    v = T.dtensor4("x")
    got = egopt.function([v], T.signal.pool.pool_2d(v, ws, mode=mode))(x)
    np.testing.assert_allclose(got, pool_2d_loops(x, ws, True, None, (0, 0), mode), rtol=1e-12)


def test_relu_is_exact_at_the_extremes_and_keeps_integer_dtypes():
    """relu was Theano's 0.5 * (x + |x|): NaN at -inf, inf at 1e308, float64 for int input
    (found by the robustness sweep against NumPy's maximum(x, 0))."""
    x = T.dvector("x")
    v = np.array([-np.inf, -2.0, 0.0, 3.0, 1e308, np.nan])
    for mode in ("FAST_COMPILE", "FAST_RUN"):
        plain, leaky = egopt.function([x], [T.nnet.relu(x), T.nnet.relu(x, 0.1)], mode=mode)(v)
        np.testing.assert_array_equal(plain, np.maximum(v, 0))
        np.testing.assert_array_equal(leaky, np.where(v > 0, v, 0.1 * v))
    i = T.ivector("i")
    out = egopt.function([i], T.nnet.relu(i))(np.array([-3, 0, 4], dtype="int32"))
    assert out.dtype == np.int32 and out.tolist() == [0, 0, 4]
    g = egopt.function([x], T.grad(T.nnet.relu(x, 0.1).sum(), x))(np.array([-1.0, 2.0]))
    np.testing.assert_allclose(g, [0.1, 1.0])


def test_more_activations_against_numpy():
    x = T.dvector("x")
    v = np.array([-800.0, -3.0, -0.5, 0.0, 0.4, 2.6, 50.0])
    outs = egopt.function([x], [T.nnet.hard_sigmoid(x), T.nnet.ultra_fast_sigmoid(x), T.nnet.softsign(x),
                                T.nnet.elu(x), T.nnet.elu(x, 0.5), T.nnet.selu(x)])(v)
    with np.errstate(over="ignore"):
        want = [np.clip(0.2 * v + 0.5, 0, 1), 1 / (1 + np.exp(-v)), v / (1 + np.abs(v)),
                np.where(v > 0, v, np.expm1(v)), np.where(v > 0, v, 0.5 * np.expm1(v)),
                1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(v))]
    for got, ref in zip(outs, want):
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    verify_grad(lambda a: (T.nnet.elu(a) + T.nnet.softsign(a) + T.nnet.hard_sigmoid(a)).sum(),
                [np.array([-1.3, 0.7, 2.1])], rng=np.random.RandomState(0))
