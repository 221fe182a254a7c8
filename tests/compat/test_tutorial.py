"""The Theano tutorial's staples, run unchanged after ``import egopt as theano``.

Each test is a tutorial program (Theano documentation, "Tutorial": baby steps, more examples,
the deep-learning tutorials' logistic regression), checked against NumPy.
"""
from __future__ import annotations

import numpy as np
import pytest

import egopt as theano
import egopt.tensor as T
from egopt import In, function, shared


@pytest.fixture(autouse=True, params=["FAST_COMPILE", "FAST_RUN"])
def mode(request):
    with theano.config.change_flags(mode=request.param):
        yield request.param


def test_adding_two_scalars():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    f = theano.function([x, y], z)
    assert f(2, 8) == 10
    assert f(2, 3) == 5
    assert np.allclose(f(16.3, 12.1), 28.4)
    assert type(x) is T.TensorVariable and x.type == T.dscalar().type
    assert theano.printing.pp(z) == "(x + y)"
    assert np.allclose(z.eval({x: 16.3, y: 12.1}), 28.4)


def test_adding_two_matrices():
    x, y = T.dmatrices("x", "y")
    f = theano.function([x, y], x + y)
    out = f([[1, 2], [3, 4]], [[10, 20], [30, 40]])
    np.testing.assert_array_equal(out, np.array([[11.0, 22.0], [33.0, 44.0]]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(f(np.array([[1, 2], [3, 4]]), np.array([[10, 20], [30, 40]])),
                                  [[11.0, 22.0], [33.0, 44.0]])


def test_logistic_function():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    logistic = theano.function([x], s)
    data = np.array([[0.0, 1.0], [-1.0, -2.0]])
    want = 1 / (1 + np.exp(-data))
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]), want, rtol=1e-12)
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]),
                               [[0.5, 0.73105858], [0.26894142, 0.11920292]], rtol=1e-7)
    s2 = (1 + T.tanh(x / 2)) / 2
    logistic2 = theano.function([x], s2)
    np.testing.assert_allclose(logistic2([[0, 1], [-1, -2]]), want, rtol=1e-12)


def test_several_outputs_at_once():
    a, b = T.dmatrices("a", "b")
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff ** 2
    f = theano.function([a, b], [diff, abs_diff, diff_squared])
    got = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    d = np.array([[1.0, 0.0], [-1.0, -2.0]])
    for g, w in zip(got, [d, np.abs(d), d ** 2]):
        np.testing.assert_array_equal(g, w)


def test_default_values():
    x, y = T.dscalars("x", "y")
    z = x + y
    f = function([x, In(y, value=1)], z)
    assert f(33) == 34.0
    assert f(33, 2) == 35.0

    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0


def test_accumulator_with_shared_state():
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)])
    assert state.get_value() == 0
    assert accumulator(1) == 0                    # returns the value before the update
    assert state.get_value() == 1
    assert accumulator(300) == 1
    assert state.get_value() == 301

    state.set_value(-1)
    assert accumulator(3) == -1
    assert state.get_value() == 2

    decrementor = function([inc], state, updates=[(state, state - inc)])
    assert decrementor(2) == 2
    assert state.get_value() == 0
    assert state.get_value().dtype == np.int64

    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)             # the type of foo must match the shared variable
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0                 # the old state is untouched


def test_function_of_an_intermediate_variable():
    x = T.dscalar("x")
    y = x ** 2
    z = T.exp(y) + y
    f = function([y], z)                          # y is fed directly; x is not needed
    assert np.isclose(f(2.0), np.exp(2.0) + 2.0)
    g = function([x], z)
    assert np.isclose(g(2.0), np.exp(4.0) + 4.0)


def test_dimshuffle_broadcasting():
    m = T.dmatrix("m")
    t = T.dtensor3("t")
    col = m.dimshuffle(0, "x", 1)
    assert col.broadcastable == (False, True, False)
    f = function([m, t], [col, col + t, m.dimshuffle(1, 0), m.dimshuffle("x", 0, 1) * 2])
    mv = np.arange(6.0).reshape(2, 3)
    tv = np.arange(24.0).reshape(2, 4, 3)
    got = f(mv, tv)
    want = [mv[:, None, :], mv[:, None, :] + tv, mv.T, mv[None] * 2]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_minibatches_through_givens():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(10, 3)).astype(theano.config.floatX)
    train_set_x = shared(data, borrow=True)
    batch_size = 4
    index = T.lscalar("index")
    x = T.matrix("x")
    W = shared(np.ones((3, 2), dtype=theano.config.floatX), name="W")
    cost = (x ** 2).sum() + W.sum()
    f = function([index], cost, givens={x: train_set_x[index * batch_size:(index + 1) * batch_size]})
    for i in range(3):
        assert np.isclose(f(i), (data[i * batch_size:(i + 1) * batch_size] ** 2).sum() + 6.0)


def test_softmax_regression_forward():
    rng = np.random.default_rng(1)
    n_in, n_out, n = 4, 3, 5
    Wv = rng.normal(size=(n_in, n_out))
    bv = rng.normal(size=n_out)
    xv = rng.normal(size=(n, n_in))
    yv = np.array([0, 2, 1, 2, 0])
    W = shared(Wv, name="W")
    b = shared(bv, name="b")
    x = T.dmatrix("x")
    y = T.lvector("y")
    p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    y_pred = T.argmax(p_y_given_x, axis=1)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    errors = T.mean(T.neq(y_pred, y))
    f = function([x, y], [p_y_given_x, y_pred, nll, errors])
    logits = xv @ Wv + bv
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    got_p, got_pred, got_nll, got_err = f(xv, yv)
    np.testing.assert_allclose(got_p, p, rtol=1e-12)
    np.testing.assert_array_equal(got_pred, p.argmax(axis=1))
    np.testing.assert_allclose(got_nll, -np.mean(np.log(p)[np.arange(n), yv]), rtol=1e-12)
    np.testing.assert_allclose(got_err, np.mean(p.argmax(axis=1) != yv))


def test_copying_functions():
    """The tutorial's 'Copying functions': swap a shared variable, or drop the updates."""
    state = theano.shared(0)
    inc = T.iscalar("inc")
    accumulator = theano.function([inc], state, updates=[(state, state + inc)])
    accumulator(10)
    assert state.get_value() == 10
    new_state = theano.shared(0)
    new_accumulator = accumulator.copy(swap={state: new_state})
    assert new_accumulator(100) == 0
    assert new_state.get_value() == 100 and state.get_value() == 10
    null_accumulator = accumulator.copy(delete_updates=True)
    assert null_accumulator(9000) == 10 and state.get_value() == 10
    assert accumulator(1) == 10 and state.get_value() == 11
    with pytest.raises(TypeError, match="swap"):
        accumulator.copy(swap={state: theano.shared(np.zeros(2))})


def test_using_random_numbers_seeding_and_sharing_streams():
    """The tutorial's 'Using Random Numbers': ``rv.rng`` seeded, its state saved and restored."""
    from egopt.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    f = function([], rv_u)
    nearly_zeros = function([], rv_u + rv_u - 2 * rv_u)
    np.testing.assert_allclose(nearly_zeros(), np.zeros((2, 2)), atol=1e-15)

    def seeded(seed):
        rng_val = rv_u.rng.get_value(borrow=True)
        rng_val.seed(seed)
        rv_u.rng.set_value(rng_val, borrow=True)
        return f()
    np.testing.assert_array_equal(seeded(89234), seeded(89234))
    assert not np.array_equal(seeded(89234), seeded(1))
    state_after_v0 = rv_u.rng.get_value().get_state()
    nearly_zeros()                       # advances rv_u's key
    v1 = f()
    rng = rv_u.rng.get_value(borrow=True)
    rng.set_state(state_after_v0)
    rv_u.rng.set_value(rng, borrow=True)
    v2, v3 = f(), f()
    assert not np.array_equal(v1, v2)
    np.testing.assert_array_equal(v1, v3)
    with pytest.raises(AttributeError, match="not a random draw"):
        T.dvector("x").rng


def test_gibbs_sampling_in_scan_with_theano_dot():
    """The tutorial's loop example: a Gibbs chain of an RBM whose random draws live in the scan
    body (their state updates come back from scan), written with ``theano.dot``."""
    from egopt.tensor.shared_randomstreams import RandomStreams
    rng = np.random.RandomState(0)
    W = theano.shared(rng.randn(6, 4), name="W")
    bvis = theano.shared(np.zeros(6), name="bvis")
    bhid = theano.shared(np.zeros(4), name="bhid")
    trng = RandomStreams(1234)

    def one_step(vsample):
        hmean = T.nnet.sigmoid(theano.dot(vsample, W) + bhid)
        hsample = trng.binomial(size=hmean.shape, n=1, p=hmean)
        vmean = T.nnet.sigmoid(theano.dot(hsample, W.T) + bvis)
        return trng.binomial(size=vsample.shape, n=1, p=vmean, dtype=theano.config.floatX)

    sample = T.vector()
    values, updates = theano.scan(one_step, outputs_info=sample, n_steps=10)
    gibbs10 = theano.function([sample], values[-1], updates=updates)
    draws = np.array([gibbs10(np.ones(6)) for _ in range(20)])
    assert set(np.unique(draws)) <= {0.0, 1.0}
    assert len({d.tobytes() for d in draws}) > 1            # the streams advance between calls
    bvis.set_value(np.full(6, 50.0))                        # sigmoid(>= 50 - |W h|) rounds to 1
    W.set_value(np.clip(W.get_value(), -1, 1))
    np.testing.assert_array_equal(gibbs10(np.zeros(6)), np.ones(6))
    bvis.set_value(np.full(6, -50.0))
    np.testing.assert_array_equal(gibbs10(np.ones(6)), np.zeros(6))
