"""Whole training programs as Theano-tutorial users write them (logistic regression, MLP, the
LSTM, LeNet, denoising-autoencoder and RBM tutorials, adadelta), checked against NumPy
re-implementations and finite differences."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

import egopt as theano
import egopt.tensor as T
from tests.programs import close, same


rng = np.random.default_rng(0)


# logreg training
def test_logreg_training():
    N, feats = 40, 5
    D = (rng.standard_normal((N, feats)), rng.integers(0, 2, N).astype("float64"))
    x = T.dmatrix("x"); y = T.dvector("y")
    w = theano.shared(rng.standard_normal(feats), name="w"); b = theano.shared(0., name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function([x, y], [prediction, xent], updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = theano.function([x], prediction)
    W = w.get_value(); B = 0.
    for i in range(10):
        pred, xe = train(D[0], D[1])
        p = 1 / (1 + np.exp(-D[0] @ W - B))
        close(xe, -D[1] * np.log(p) - (1 - D[1]) * np.log(1 - p))
        same(pred, p > 0.5)
        gW = D[0].T @ (p - D[1]) / N + 0.02 * W
        gB = (p - D[1]).mean()
        W = W - 0.1 * gW; B = B - 0.1 * gB
        close(w.get_value(), W); close(b.get_value(), B)
    same(predict(D[0]), (1 / (1 + np.exp(-D[0] @ W - B))) > 0.5)

# mlp float32 training
def test_mlp_float32_training():
    with theano.config.change_flags(floatX="float32"):
        X = T.matrix("X"); y = T.ivector("y")
        W1 = theano.shared(rng.standard_normal((4, 8)).astype("float32") * 0.1)
        b1 = theano.shared(np.zeros(8, "float32"))
        W2 = theano.shared(rng.standard_normal((8, 3)).astype("float32") * 0.1)
        b2 = theano.shared(np.zeros(3, "float32"))
        h = T.tanh(T.dot(X, W1) + b1)
        p = T.nnet.softmax(T.dot(h, W2) + b2)
        loss = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
        params = [W1, b1, W2, b2]
        grads = T.grad(loss, params)
        lr = np.float32(0.5)
        f = theano.function([X, y], loss, updates=[(p_, p_ - lr * g) for p_, g in zip(params, grads)])
        assert loss.dtype == "float32", loss.dtype
        Xv = rng.standard_normal((20, 4)).astype("float32"); yv = rng.integers(0, 3, 20).astype("int32")
        l0 = f(Xv, yv)
        for i in range(30): l = f(Xv, yv)
        assert np.asarray(l).dtype == np.float32
        assert l < l0, (l, l0)
        assert W1.get_value().dtype == np.float32

# categorical crossentropy
def test_categorical_crossentropy():
    x = T.dmatrix(); y = T.ivector()
    p = T.nnet.softmax(x)
    c = T.nnet.categorical_crossentropy(p, y)
    g = T.grad(c.sum(), x)
    f = theano.function([x, y], [c, g])
    xv = rng.standard_normal((5, 4)); yv = rng.integers(0, 4, 5).astype("int32")
    cv, gv = f(xv, yv)
    e = np.exp(xv - xv.max(1, keepdims=True)); P = e / e.sum(1, keepdims=True)
    close(cv, -np.log(P[np.arange(5), yv]))
    oh = np.eye(4)[yv]
    close(gv, P - oh)
    # one-hot target version
    t = T.dmatrix()
    c2 = T.nnet.categorical_crossentropy(p, t)
    close(theano.function([x, t], c2)(xv, oh), -np.log(P[np.arange(5), yv]))

# binary crossentropy
def test_binary_crossentropy():
    x = T.dvector(); t = T.dvector()
    c = T.nnet.binary_crossentropy(T.nnet.sigmoid(x), t).mean()
    g = T.grad(c, x)
    f = theano.function([x, t], [c, g])
    xv = rng.standard_normal(6); tv = rng.integers(0, 2, 6).astype(float)
    s = 1 / (1 + np.exp(-xv))
    cv, gv = f(xv, tv)
    close(cv, np.mean(-tv * np.log(s) - (1 - tv) * np.log(1 - s)))
    close(gv, (s - tv) / 6)

# givens minibatch
def test_givens_minibatch():
    data = theano.shared(np.arange(20.).reshape(10, 2))
    idx = T.lscalar("idx")
    x = T.dmatrix("x")
    out = (x ** 2).sum()
    f = theano.function([idx], out, givens={x: data[idx * 2:(idx + 1) * 2]})
    for i in range(5):
        close(f(i), (np.arange(20.).reshape(10, 2)[i*2:(i+1)*2] ** 2).sum())

# grad through reductions/indexing/dimshuffle/reshape/concat/stack/where/clip/max
def test_grad_through_reductions_indexing_dimshuffle_reshape_concat_s():
    x = T.dmatrix("x")
    y = T.dvector("y")
    parts = [
        x.max(axis=1).sum(), x[1:, ::2].sum() * 3, (x.T * y.dimshuffle(0, "x")).sum(),
        T.sqr(x.reshape((2, 6))).sum(), T.concatenate([x, 2 * x], axis=0).prod(),
        T.stack([x[0], x[1]]).std(), T.where(x > 0, x, 0.1 * x).sum(), T.clip(x, -0.5, 0.5).sum(),
        T.maximum(x, 0.2).sum(), T.minimum(x, y[:4]).sum(), x.var(axis=0).sum(), T.sqrt((x ** 2).sum()),
        T.nnet.relu(x).sum(), T.nnet.softplus(x).sum(), x.min(), abs(x).mean(), T.log(T.nnet.softmax(x))[0, 1],
        (x.flatten() ** 3).sum(), T.prod(x, axis=0).sum(), T.cumsum(x, axis=0).sum(),
    ]
    xv = rng.standard_normal((3, 4)); yv = rng.standard_normal(4)
    for i, c in enumerate(parts):
        try:
            g = T.grad(c, x, disconnected_inputs="ignore")
            f = theano.function([x, y], [c, g], on_unused_input="ignore")
            cv, gv = f(xv, yv)
            fd = np.zeros_like(xv); eps = 1e-6
            for k in np.ndindex(*xv.shape):
                a = xv.copy(); a[k] += eps; b_ = xv.copy(); b_[k] -= eps
                fd[k] = (f(a, yv)[0] - f(b_, yv)[0]) / (2 * eps)
            close(gv, fd, 1e-4)
        except Exception as e:
            raise AssertionError(f"part {i}: {type(e).__name__}: {e}") from e


floatX = theano.config.floatX
def numpy_floatX(d): return np.asarray(d, dtype=floatX)

# LSTM-tutorial-style train step
def test_lstm_tutorial_style_train_step():
    from egopt.tensor.shared_randomstreams import RandomStreams
    n_words, dim, ydim = 10, 4, 3
    tparams = OrderedDict()
    tparams["Wemb"] = theano.shared((0.1 * rng.standard_normal((n_words, dim))).astype(floatX), name="Wemb")
    tparams["W"] = theano.shared((0.1 * rng.standard_normal((dim, 4 * dim))).astype(floatX), name="W")
    tparams["U"] = theano.shared((0.1 * rng.standard_normal((dim, 4 * dim))).astype(floatX), name="U")
    tparams["b"] = theano.shared(np.zeros(4 * dim).astype(floatX), name="b")
    tparams["Uo"] = theano.shared((0.1 * rng.standard_normal((dim, ydim))).astype(floatX), name="Uo")
    tparams["bo"] = theano.shared(np.zeros(ydim).astype(floatX), name="bo")
    trng = RandomStreams(1234)
    use_noise = theano.shared(numpy_floatX(0.))
    x = T.matrix("x", dtype="int64"); mask = T.matrix("mask", dtype=floatX); y = T.vector("y", dtype="int64")
    n_timesteps = x.shape[0]; n_samples = x.shape[1]
    emb = tparams["Wemb"][x.flatten()].reshape([n_timesteps, n_samples, dim])
    def _slice(_x, n, dim): return _x[:, n * dim:(n + 1) * dim]
    def _step(m_, x_, h_, c_):
        preact = T.dot(h_, tparams["U"]) + x_
        i = T.nnet.sigmoid(_slice(preact, 0, dim)); f = T.nnet.sigmoid(_slice(preact, 1, dim))
        o = T.nnet.sigmoid(_slice(preact, 2, dim)); c = T.tanh(_slice(preact, 3, dim))
        c = f * c_ + i * c
        c = m_[:, None] * c + (1. - m_)[:, None] * c_
        h = o * T.tanh(c)
        h = m_[:, None] * h + (1. - m_)[:, None] * h_
        return h, c
    state_below = T.dot(emb, tparams["W"]) + tparams["b"]
    rval, updates = theano.scan(_step, sequences=[mask, state_below],
                                outputs_info=[T.alloc(numpy_floatX(0.), n_samples, dim), T.alloc(numpy_floatX(0.), n_samples, dim)],
                                name="lstm_layers", n_steps=n_timesteps)
    proj = rval[0]
    proj = (proj * mask[:, :, None]).sum(axis=0)
    proj = proj / mask.sum(axis=0)[:, None]
    proj = T.switch(use_noise, proj * trng.binomial(proj.shape, p=0.5, n=1, dtype=proj.dtype), proj * 0.5)
    pred = T.nnet.softmax(T.dot(proj, tparams["Uo"]) + tparams["bo"])
    f_pred = theano.function([x, mask], pred.argmax(axis=1), name="f_pred")
    off = 1e-8
    cost = -T.log(pred[T.arange(n_samples), y] + off).mean()
    grads = T.grad(cost, wrt=list(tparams.values()))
    lr = T.scalar(name="lr")
    zipped_grads = [theano.shared(p.get_value() * numpy_floatX(0.), name="%s_grad" % k) for k, p in tparams.items()]
    gsup = [(gs, g) for gs, g in zip(zipped_grads, grads)]
    f_grad_shared = theano.function([x, mask, y], cost, updates=gsup, name="sgd_f_grad_shared")
    pup = [(p, p - lr * g) for p, g in zip(tparams.values(), zipped_grads)]
    f_update = theano.function([lr], [], updates=pup, name="sgd_f_update")
    xv = rng.integers(0, n_words, (5, 6)); mv = np.ones((5, 6), floatX); mv[3:, :2] = 0; yv = rng.integers(0, ydim, 6)
    # reference in numpy
    P = {k: p.get_value().copy() for k, p in tparams.items()}
    def sig(z): return 1 / (1 + np.exp(-z))
    def fwd(P):
        e = P["Wemb"][xv.flatten()].reshape(5, 6, dim)
        sb = e @ P["W"] + P["b"]
        h = np.zeros((6, dim)); c = np.zeros((6, dim)); H = []
        for t in range(5):
            pre = h @ P["U"] + sb[t]
            i_, f_, o_, cc = sig(pre[:, :dim]), sig(pre[:, dim:2*dim]), sig(pre[:, 2*dim:3*dim]), np.tanh(pre[:, 3*dim:])
            cn = f_ * c + i_ * cc; cn = mv[t][:, None] * cn + (1 - mv[t])[:, None] * c
            hn = o_ * np.tanh(cn); hn = mv[t][:, None] * hn + (1 - mv[t])[:, None] * h
            h, c = hn, cn; H.append(h)
        pr = (np.array(H) * mv[:, :, None]).sum(0) / mv.sum(0)[:, None] * 0.5
        z = pr @ P["Uo"] + P["bo"]; e = np.exp(z - z.max(1, keepdims=True)); pd = e / e.sum(1, keepdims=True)
        return pd, -np.log(pd[np.arange(6), yv] + off).mean()
    pd, c0 = fwd(P)
    same(f_pred(xv, mv), pd.argmax(1))
    cv = f_grad_shared(xv, mv, yv)
    close(cv, c0)
    # finite-difference check on U
    eps = 1e-6; k = (1, 5)
    P2 = {a: b.copy() for a, b in P.items()}; P2["U"][k] += eps
    P3 = {a: b.copy() for a, b in P.items()}; P3["U"][k] -= eps
    close(zipped_grads[2].get_value()[k], (fwd(P2)[1] - fwd(P3)[1]) / (2 * eps), 1e-5)
    f_update(0.5)
    close(tparams["U"].get_value(), P["U"] - 0.5 * zipped_grads[2].get_value())
    use_noise.set_value(1.)
    f_pred(xv, mv)

# LeNet-style conv/pool/flatten(2) with givens & T.cast labels
def test_lenet_style_conv_pool_flatten_2_with_givens_t_cast_labels():
    from egopt.tensor.signal import pool
    from egopt.tensor.nnet import conv2d
    data_x = rng.standard_normal((20, 1 * 8 * 8)).astype(floatX); data_y = rng.integers(0, 3, 20).astype(floatX)
    shared_x = theano.shared(np.asarray(data_x, dtype=floatX), borrow=True)
    shared_y = theano.shared(np.asarray(data_y, dtype=floatX), borrow=True)
    train_set_y = T.cast(shared_y, "int32")
    n_batches = shared_x.get_value(borrow=True).shape[0] // 5
    index = T.lscalar(); x = T.matrix("x"); y = T.ivector("y")
    layer0_input = x.reshape((5, 1, 8, 8))
    W0 = theano.shared(np.asarray(rng.uniform(-0.3, 0.3, (2, 1, 3, 3)), dtype=floatX), borrow=True)
    b0 = theano.shared(np.zeros((2,), dtype=floatX), borrow=True)
    conv_out = conv2d(input=layer0_input, filters=W0, filter_shape=(2, 1, 3, 3), input_shape=(5, 1, 8, 8))
    pooled_out = pool.pool_2d(input=conv_out, ws=(2, 2), ignore_border=True)
    out0 = T.tanh(pooled_out + b0.dimshuffle("x", 0, "x", "x"))
    l1 = out0.flatten(2)
    W1 = theano.shared(np.asarray(rng.uniform(-0.3, 0.3, (2 * 3 * 3, 3)), dtype=floatX), borrow=True)
    b1 = theano.shared(np.zeros((3,), dtype=floatX), borrow=True)
    p_y_given_x = T.nnet.softmax(T.dot(l1, W1) + b1)
    y_pred = T.argmax(p_y_given_x, axis=1)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    errors = T.mean(T.neq(y_pred, y))
    params = [W1, b1, W0, b0]
    grads = T.grad(nll, params)
    updates = [(p, p - 0.1 * g) for p, g in zip(params, grads)]
    train_model = theano.function([index], nll, updates=updates,
        givens={x: shared_x[index * 5:(index + 1) * 5], y: train_set_y[index * 5:(index + 1) * 5]})
    test_model = theano.function([index], errors, givens={x: shared_x[index * 5:(index + 1) * 5], y: train_set_y[index * 5:(index + 1) * 5]})
    costs = [float(train_model(i % n_batches)) for i in range(40)]
    assert costs[-1] < costs[0], costs
    e = test_model(0); assert 0 <= e <= 1

# denoising autoencoder
def test_denoising_autoencoder():
    from egopt.tensor.shared_randomstreams import RandomStreams
    theano_rng = RandomStreams(rng.integers(2 ** 30))
    x = T.matrix("x")
    W = theano.shared(np.asarray(rng.uniform(-0.5, 0.5, (6, 3)), dtype=floatX), name="W", borrow=True)
    bvis = theano.shared(np.zeros(6, dtype=floatX), borrow=True); bhid = theano.shared(np.zeros(3, dtype=floatX), name="b", borrow=True)
    tilde_x = theano_rng.binomial(size=x.shape, n=1, p=1 - 0.3, dtype=floatX) * x
    y = T.nnet.sigmoid(T.dot(tilde_x, W) + bhid)
    z = T.nnet.sigmoid(T.dot(y, W.T) + bvis)
    L = -T.sum(x * T.log(z) + (1 - x) * T.log(1 - z), axis=1)
    cost = T.mean(L)
    gparams = T.grad(cost, [W, bhid, bvis])
    updates = [(p, p - 0.1 * g) for p, g in zip([W, bhid, bvis], gparams)]
    train = theano.function([x], cost, updates=updates)
    xv = (rng.random((10, 6)) > 0.5).astype(floatX)
    cs = [float(train(xv)) for _ in range(50)]
    assert cs[-1] < cs[0] and np.isfinite(cs).all()
    f = theano.function([x], cost, no_default_updates=True)
    # without corruption update, cost is deterministic across calls
    assert f(xv) == f(xv)

# RBM-style gibbs chain via scan with random + consider_constant
def test_rbm_style_gibbs_chain_via_scan_with_random_consider_constant():
    from egopt.tensor.shared_randomstreams import RandomStreams
    theano_rng = RandomStreams(99)
    nv, nh = 6, 4
    W = theano.shared(rng.standard_normal((nv, nh)) * 0.1, name="W"); hb = theano.shared(np.zeros(nh)); vb = theano.shared(np.zeros(nv))
    inp = T.matrix("input")
    def free_energy(v):
        return -T.dot(v, vb) - T.sum(T.log(1 + T.exp(T.dot(v, W) + hb)), axis=1)
    def sample_h(v):
        m = T.nnet.sigmoid(T.dot(v, W) + hb); return m, theano_rng.binomial(size=m.shape, n=1, p=m, dtype=floatX)
    def sample_v(h):
        m = T.nnet.sigmoid(T.dot(h, W.T) + vb); return m, theano_rng.binomial(size=m.shape, n=1, p=m, dtype=floatX)
    def gibbs_hvh(h0):
        v1m, v1 = sample_v(h0); h1m, h1 = sample_h(v1); return [v1m, v1, h1m, h1]
    ph_mean, ph_sample = sample_h(inp)
    (nv_means, nv_samples, nh_means, nh_samples), updates = theano.scan(gibbs_hvh, outputs_info=[None, None, None, ph_sample], n_steps=3)
    chain_end = nv_samples[-1]
    cost = T.mean(free_energy(inp)) - T.mean(free_energy(chain_end))
    gparams = T.grad(cost, [W, hb, vb], consider_constant=[chain_end])
    for p, g in zip([W, hb, vb], gparams):
        updates[p] = p - 0.1 * T.cast(g, dtype=floatX)
    train = theano.function([inp], cost, updates=updates)
    xv = (rng.random((8, nv)) > 0.5).astype(floatX)
    c1 = train(xv); c2 = train(xv)
    assert np.isfinite(c1) and np.isfinite(c2)

# adadelta-style with many shared and dict updates
def test_adadelta_style_with_many_shared_and_dict_updates():
    x = T.dvector(); w = theano.shared(np.ones(3)); 
    cost = ((w - x) ** 2).sum()
    g = T.grad(cost, w)
    Eg = theano.shared(np.zeros(3)); Ed = theano.shared(np.zeros(3))
    Eg_new = 0.95 * Eg + 0.05 * g ** 2
    d = -T.sqrt(Ed + 1e-6) / T.sqrt(Eg_new + 1e-6) * g
    upd = OrderedDict([(Eg, Eg_new), (Ed, 0.95 * Ed + 0.05 * d ** 2), (w, w + d)])
    f = theano.function([x], cost, updates=upd)
    W, EG, ED = np.ones(3), np.zeros(3), np.zeros(3); xv = np.array([1., 2., 3.])
    for _ in range(5):
        c = f(xv)
        gg = 2 * (W - xv); EGn = 0.95 * EG + 0.05 * gg ** 2; dd = -np.sqrt(ED + 1e-6) / np.sqrt(EGn + 1e-6) * gg
        close(c, ((W - xv) ** 2).sum()); W, EG, ED = W + dd, EGn, 0.95 * ED + 0.05 * dd ** 2
    close(w.get_value(), W)
