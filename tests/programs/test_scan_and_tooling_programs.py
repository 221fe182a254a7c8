"""Programs on scan, convolution and pooling, modes, profiling, pickling and printing."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import egopt as theano
import egopt.tensor as T
from tests.programs import close, same


rng = np.random.default_rng(0)


# scan cumsum / power / non_sequences / n_steps
def test_scan_cumsum_power_non_sequences_n_steps():
    x = T.dvector()
    out, upd = theano.scan(lambda xi, acc: acc + xi, sequences=x, outputs_info=T.constant(0.))
    f = theano.function([x], out, updates=upd)
    xv = rng.standard_normal(6)
    close(f(xv), np.cumsum(xv))
    A = T.dvector(); k = T.iscalar()
    res, upd = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    f = theano.function([A, k], res[-1], updates=upd)
    close(f(np.arange(4.), 3), np.arange(4.) ** 3)
    # polynomial with two sequences
    coef = T.dvector(); xx = T.dscalar()
    comps, _ = theano.scan(lambda c, p, x: c * x ** p, sequences=[coef, T.arange(1000)], non_sequences=xx)
    f = theano.function([coef, xx], comps.sum())
    close(f(np.array([1., 0, 2]), 3.), 1 + 2 * 9)
    # grad of scan
    g = T.grad(out.sum(), x)
    close(theano.function([x], g)(xv), np.arange(6, 0, -1.))

# scan RNN with grad and truncate_gradient
def test_scan_rnn_with_grad_and_truncate_gradient():
    n_in, n_h, Tn = 3, 4, 5
    X = T.dmatrix("X"); h0 = T.dvector("h0")
    W = theano.shared(rng.standard_normal((n_in, n_h)) * 0.5, name="W")
    U = theano.shared(rng.standard_normal((n_h, n_h)) * 0.5, name="U")
    def step(x_t, h_prev, W, U):
        return T.tanh(T.dot(x_t, W) + T.dot(h_prev, U))
    hs, _ = theano.scan(step, sequences=X, outputs_info=h0, non_sequences=[W, U])
    cost = (hs ** 2).sum()
    gW, gU, gh0 = T.grad(cost, [W, U, h0])
    f = theano.function([X, h0], [hs, cost, gW, gU, gh0])
    Xv = rng.standard_normal((Tn, n_in)); h0v = rng.standard_normal(n_h)
    Wv, Uv = W.get_value(), U.get_value()
    def ref(Wv, Uv, h0v):
        h = h0v; H = []
        for t in range(Tn):
            h = np.tanh(Xv[t] @ Wv + h @ Uv); H.append(h)
        return np.array(H), (np.array(H) ** 2).sum()
    H, C = ref(Wv, Uv, h0v)
    hsv, cv, gWv, gUv, gh0v = f(Xv, h0v)
    close(hsv, H); close(cv, C)
    eps = 1e-6
    fd = np.zeros_like(Wv)
    for k in np.ndindex(*Wv.shape):
        a = Wv.copy(); a[k] += eps; b = Wv.copy(); b[k] -= eps
        fd[k] = (ref(a, Uv, h0v)[1] - ref(b, Uv, h0v)[1]) / (2 * eps)
    close(gWv, fd, 1e-5)
    fd = np.zeros_like(h0v)
    for k in range(n_h):
        a = h0v.copy(); a[k] += eps; b = h0v.copy(); b[k] -= eps
        fd[k] = (ref(Wv, Uv, a)[1] - ref(Wv, Uv, b)[1]) / (2 * eps)
    close(gh0v, fd, 1e-5)
    # truncate_gradient=k: the backward loop covers the last k steps (Theano's semantics)
    k = 2
    hs2, _ = theano.scan(step, sequences=X, outputs_info=h0, non_sequences=[W, U], truncate_gradient=k)
    gW2, gX2 = T.grad((hs2 ** 2).sum(), [W, X])
    gW2v, gX2v = theano.function([X, h0], [gW2, gX2])(Xv, h0v)
    Hs = [h0v] + list(H)
    gref, gx, d = np.zeros_like(Wv), np.zeros_like(Xv), np.zeros(n_h)
    for t in range(Tn - 1, Tn - 1 - k, -1):
        d = d + 2 * Hs[t + 1]
        dz = d * (1 - Hs[t + 1] ** 2)
        gref += np.outer(Xv[t], dz)
        gx[t] = dz @ Wv.T
        d = dz @ Uv.T
    close(gW2v, gref)
    close(gX2v, gx)


# scan taps fibonacci, go_backwards, until, None outputs
def test_scan_taps_fibonacci_go_backwards_until_none_outputs():
    f0 = T.dvector()
    out, _ = theano.scan(lambda a, b: a + b, outputs_info=dict(initial=f0, taps=[-2, -1]), n_steps=8)
    close(theano.function([f0], out)(np.array([0., 1.])), [1, 2, 3, 5, 8, 13, 21, 34])
    x = T.dvector()
    out, _ = theano.scan(lambda xi: xi * 2, sequences=x, go_backwards=True)
    close(theano.function([x], out)(np.arange(4.)), [6, 4, 2, 0])
    from egopt.scan_module import until
    out, _ = theano.scan(lambda p: (p * 2, until(p * 2 > 50)), outputs_info=T.constant(1.), n_steps=100)
    close(theano.function([], out)(), [2, 4, 8, 16, 32, 64])
    out, _ = theano.scan(lambda xi, acc: [xi ** 2, acc + xi], sequences=x, outputs_info=[None, T.constant(0.)])
    a, b = theano.function([x], out)(np.arange(4.))
    close(a, np.arange(4.) ** 2); close(b, np.cumsum(np.arange(4.)))
    # sequence taps
    out, _ = theano.scan(lambda a, b: a - b, sequences=dict(input=x, taps=[1, 0]))
    close(theano.function([x], out)(np.array([1., 4, 9, 16])), [3, 5, 7])
    # matrix sequences, scan over rows producing vectors; reduce
    M = T.dmatrix()
    out, _ = theano.scan(lambda row: row.max(), sequences=M)
    Mv = rng.standard_normal((4, 3))
    close(theano.function([M], out)(Mv), Mv.max(1))
    o, _ = theano.map(lambda r: r.sum(), sequences=M)
    close(theano.function([M], o)(Mv), Mv.sum(1))
    o, _ = theano.reduce(lambda r, a: a + r, sequences=M, outputs_info=T.zeros(3))
    close(theano.function([M], o)(Mv), Mv.sum(0))
    o, _ = theano.foldl(lambda r, a: a + r, sequences=M, outputs_info=T.zeros(3))
    close(theano.function([M], o)(Mv), Mv.sum(0))

# scan with shared variable updates and random
def test_scan_with_shared_variable_updates_and_random():
    from egopt.tensor.random import RandomStream
    counter = theano.shared(0.)
    def step(x):
        return x * 2, {counter: counter + 1}
    x = T.dvector()
    out, upd = theano.scan(step, sequences=x)
    f = theano.function([x], out, updates=upd)
    f(np.arange(3.))
    close(counter.get_value(), 3.)
    srng = RandomStream(5)
    out, upd = theano.scan(lambda: srng.uniform(size=(2,)), n_steps=3)
    f = theano.function([], out, updates=upd)
    a = f(); b = f()
    assert a.shape == (3, 2) and not np.allclose(a, b) and not np.allclose(a[0], a[1])

# conv2d and pool
def test_conv2d_and_pool():
    x = T.tensor4(); w = T.tensor4()
    xv = rng.standard_normal((2, 3, 6, 6)); wv = rng.standard_normal((4, 3, 3, 3))
    y = T.nnet.conv2d(x, w)
    yv = theano.function([x, w], y)(xv, wv)
    ref = np.zeros((2, 4, 4, 4))
    for n in range(2):
        for o in range(4):
            for i in range(4):
                for j in range(4):
                    ref[n, o, i, j] = (xv[n, :, i:i + 3, j:j + 3] * wv[o, :, ::-1, ::-1]).sum()
    close(yv, ref)
    y2 = T.nnet.conv2d(x, w, border_mode="half", subsample=(2, 2), filter_flip=False)
    y2v = theano.function([x, w], y2)(xv, wv)
    pad = np.pad(xv, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref2 = np.zeros((2, 4, 3, 3))
    for n in range(2):
        for o in range(4):
            for i in range(3):
                for j in range(3):
                    ref2[n, o, i, j] = (pad[n, :, 2*i:2*i + 3, 2*j:2*j + 3] * wv[o]).sum()
    close(y2v, ref2)
    from egopt.tensor.signal import pool
    p = pool.pool_2d(x, ws=(2, 2), ignore_border=True)
    pv = theano.function([x], p)(xv)
    close(pv, xv.reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)))
    pa = pool.pool_2d(x, ws=(2, 2), ignore_border=True, mode="average_exc_pad")
    close(theano.function([x], pa)(xv), xv.reshape(2, 3, 3, 2, 3, 2).mean(axis=(3, 5)))
    from egopt.tensor.signal import downsample
    p2 = downsample.max_pool_2d(x, (2, 2), ignore_border=True)
    close(theano.function([x], p2)(xv), xv.reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)))
    # odd size without ignore_border
    x5 = rng.standard_normal((1, 1, 5, 5))
    p3 = pool.pool_2d(x, ws=(2, 2), ignore_border=False)
    r = theano.function([x], p3)(x5)
    assert r.shape == (1, 1, 3, 3), r.shape
    close(r[0, 0, 2, 2], x5[0, 0, 4, 4])
    # grads
    from egopt.grad import verify_grad
    verify_grad(lambda a, b: T.nnet.conv2d(a, b, border_mode="full").sum(), [xv[:1, :, :4, :4], wv[:2]], rng=np.random.RandomState(0))
    verify_grad(lambda a: (pool.pool_2d(a, ws=(2, 2), ignore_border=True) ** 2).sum(), [xv[:1]], rng=np.random.RandomState(0))

# modes
def test_modes():
    x = T.dvector()
    y = T.exp(x).sum() + T.log1p(x ** 2).mean()
    xv = rng.standard_normal(5)
    ref = np.exp(xv).sum() + np.log1p(xv ** 2).mean()
    for m in ["FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE", "NanGuardMode", theano.Mode(linker="py"), theano.Mode(optimizer="fast_compile", linker="c")]:
        close(theano.function([x], y, mode=m)(xv), ref)
    from egopt import NanGuardMode
    f = theano.function([x], T.log(x), mode=NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=True))
    with pytest.raises(theano.NanGuardError, match="log"):
        f(np.array([-1.]))

# profile=True
def test_profile_true():
    x = T.dmatrix()
    f = theano.function([x], T.dot(x, x).sum(), profile=True)
    f(np.ones((3, 3))); f(np.ones((3, 3)))
    table = f.profile_table()
    assert "2 call(s)" in table and "dot" in table, table

# pickle compiled function
def test_pickle_compiled_function():
    x = T.dvector()
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x], (x * s).sum() + 1, updates=[(s, s + x)])
    f(np.ones(3))
    g = pickle.loads(pickle.dumps(f))
    close(g(np.ones(3)), 4.)
    close(f(np.ones(3)), 4.)
    # shared in unpickled is its own
    fr = theano.function([x], T.nnet.softmax(x.dimshuffle('x', 0)))
    g = pickle.loads(pickle.dumps(fr, protocol=pickle.HIGHEST_PROTOCOL))
    close(g(np.arange(3.)), fr(np.arange(3.)))
    # scan function
    out, upd = theano.scan(lambda xi, a: a + xi, sequences=x, outputs_info=T.constant(0.))
    fs = theano.function([x], out)
    close(pickle.loads(pickle.dumps(fs))(np.arange(3.)), [0, 1, 3])

# printing
def test_printing():
    from egopt import printing
    x = T.dscalar("x"); y = T.dscalar("y")
    z = x + y * 2
    assert printing.pp(z) == "(x + (y * 2))"
    d = printing.debugprint(z, file="str")
    assert d.splitlines()[0].startswith("add [id A]") and " |x [id B]" in d
    f = theano.function([x, y], z)
    assert "x [id" in printing.debugprint(f, file="str")
    assert "x [id" in theano.printing.debugprint(T.grad(z ** 2, x), file="str")
    p = printing.Print("hello")(x) * 2
    close(theano.function([x], p)(3.), 6.)
    assert theano.pp(z) == printing.pp(z)
