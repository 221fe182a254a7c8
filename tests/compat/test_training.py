"""Training end to end with ``T.grad`` and shared-variable updates, as in the Theano tutorials.

Each model trains on a synthetic data set made with a fixed NumPy seed, in FAST_COMPILE and in
the default mode (the e-graph optimizer), and must learn: accuracy above 90%, or a loss that
falls. The gradients the updates use are also checked against finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest

import egopt as theano
import egopt.tensor as T
from egopt.gradient import verify_grad


@pytest.fixture(autouse=True, params=["FAST_COMPILE", "FAST_RUN"])
def mode(request):
    with theano.config.change_flags(mode=request.param):
        yield request.param


def separable(n=400, feats=50, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, feats)
    w_true = rng.randn(feats)
    return X, (X @ w_true > 0).astype(np.float64), rng


def test_logistic_regression_tutorial():
    X, Y, rng = separable()
    feats = X.shape[1]
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = theano.shared(rng.randn(feats) * 0.01, name="w")
    b = theano.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=[prediction, xent],
                            updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = theano.function(inputs=[x], outputs=prediction)
    loss = theano.function([x, y], cost)

    before = np.mean(predict(X) == Y)
    first = float(loss(X, Y))
    for _ in range(100):
        pred, err = train(X, Y)
    assert err.shape == (400,) and pred.dtype == bool
    after = np.mean(predict(X) == Y)
    assert after > 0.9, (before, after)
    assert float(loss(X, Y)) < 0.5 * first


def test_logistic_regression_gradients_match_finite_differences():
    X, Y, rng = separable(n=30, feats=5)

    def cost(w, b):
        p_1 = 1 / (1 + T.exp(-T.dot(T.constant(X), w) - b))
        xent = -Y * T.log(p_1) - (1 - Y) * T.log(1 - p_1)
        return xent.mean() + 0.01 * (w ** 2).sum()
    verify_grad(cost, [rng.randn(5), np.array(0.3)], rng=rng)


def blobs(n_per=100, k=3, feats=4, seed=1):
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, feats) * 1.5
    X = np.concatenate([c + rng.randn(n_per, feats) for c in centers])
    Y = np.repeat(np.arange(k), n_per)
    perm = rng.permutation(len(Y))
    return X[perm], Y[perm]


def test_softmax_regression():
    X, Y = blobs()
    feats, k = X.shape[1], 3
    x, y = T.dmatrix("x"), T.lvector("y")
    W = theano.shared(np.zeros((feats, k)), name="W")
    b = theano.shared(np.zeros(k), name="b")
    p = T.nnet.softmax(T.dot(x, W) + b)
    n = y.shape[0]
    cost = -T.mean(T.log(p)[T.arange(n), y])
    gW, gb = T.grad(cost, [W, b])
    train = theano.function([x, y], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)])
    predict = theano.function([x], T.argmax(p, axis=1))
    first = float(train(X, Y))
    for _ in range(60):
        last = float(train(X, Y))
    assert last < 0.3 * first
    assert np.mean(predict(X) == Y) > 0.9


def test_softmax_regression_gradient_matches_finite_differences():
    X, Y = blobs(n_per=5)
    rng = np.random.RandomState(0)

    def cost(W, b):
        p = T.nnet.softmax(T.dot(T.constant(X), W) + b)
        return -T.mean(T.log(p)[T.arange(len(Y)), T.constant(Y)])
    verify_grad(cost, [rng.randn(4, 3), rng.randn(3)], rng=rng)


def test_mlp_loss_falls():
    rng = np.random.RandomState(2)
    X = rng.uniform(-2, 2, (200, 2))
    Y = (np.sum(X ** 2, axis=1) < 1.5).astype(np.float64)      # a disc: not linearly separable
    x, y = T.dmatrix("x"), T.dvector("y")
    W1 = theano.shared(rng.randn(2, 16) * 0.5, name="W1")
    b1 = theano.shared(np.zeros(16), name="b1")
    w2 = theano.shared(rng.randn(16) * 0.5, name="w2")
    b2 = theano.shared(0.0, name="b2")
    h = T.tanh(T.dot(x, W1) + b1)
    p = T.nnet.sigmoid(T.dot(h, w2) + b2)
    cost = T.nnet.binary_crossentropy(p, y).mean()
    params = [W1, b1, w2, b2]
    grads = T.grad(cost, params)
    train = theano.function([x, y], cost, updates=[(q, q - 0.5 * g) for q, g in zip(params, grads)])
    predict = theano.function([x], p > 0.5)
    first = float(train(X, Y))
    for _ in range(400):
        last = float(train(X, Y))
    assert last < 0.5 * first, (first, last)
    assert np.mean(predict(X) == Y) > 0.9
