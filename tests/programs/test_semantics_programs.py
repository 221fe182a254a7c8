"""Small programs on the semantics users rely on: indexing and indexing writes, integer and bool
dtypes, broadcasting, outputs and updates, random streams, shared variables, strided and empty
inputs; every value against NumPy."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import egopt as theano
import egopt.tensor as T
from tests.programs import close, same


rng = np.random.default_rng(0)


xv = rng.standard_normal((5, 4))

# advanced indexing
def test_advanced_indexing():
    x = T.dmatrix(); i = T.lvector(); j = T.ivector()
    f = theano.function([x, i, j], [x[i], x[i, j[:i.shape[0]]], x[:, j], x[-1], x[::-2, 1], x[i][:, 0], x[x > 0]], on_unused_input="ignore")
    iv = np.array([0, 4, 2, -1]); jv = np.array([3, 1, 0, 2], "int32")
    out = f(xv, iv, jv)
    ref = [xv[iv], xv[iv, jv], xv[:, jv], xv[-1], xv[::-2, 1], xv[iv][:, 0], xv[xv > 0]]
    for o, r in zip(out, ref): close(o, r)

# set/inc subtensor
def test_set_inc_subtensor():
    x = T.dmatrix(); i = T.lvector(); v = T.dvector()
    outs = [T.set_subtensor(x[1:3], 0.), T.inc_subtensor(x[:, 1], v[:5]), T.inc_subtensor(x[i], 1.),
            T.set_subtensor(x[i, 0], v[:4]), T.inc_subtensor(x[0, 0], 2.)]
    f = theano.function([x, i, v], outs)
    iv = np.array([0, 2, 2, 4]); vv = np.arange(6.)
    res = f(xv, iv, vv)
    r = []
    a = xv.copy(); a[1:3] = 0; r.append(a)
    a = xv.copy(); a[:, 1] += vv[:5]; r.append(a)
    a = xv.copy(); np.add.at(a, iv, 1.); r.append(a)
    a = xv.copy(); a[iv, 0] = vv[:4]; r.append(a)
    a = xv.copy(); a[0, 0] += 2; r.append(a)
    for k, (o, rr) in enumerate(zip(res, r)):
        close(o, rr)
    # grads
    c = (T.inc_subtensor(x[i], v[:4].dimshuffle(0, 'x')) ** 2).sum()
    g = T.grad(c, [x, v])
    gf = theano.function([x, i, v], g)
    gx, gv = gf(xv, iv, vv)
    a = xv.copy(); np.add.at(a, iv, vv[:4, None])
    close(gx, 2 * a)
    close(gv, np.r_[(2 * a[iv]).sum(1), 0, 0])
    # embedding update
    E = theano.shared(np.zeros((5, 3)))
    idx = T.lvector()
    upd = theano.function([idx], [], updates=[(E, T.inc_subtensor(E[idx], 1.))])
    upd(np.array([1, 1, 3]))
    ref = np.zeros((5, 3)); np.add.at(ref, [1, 1, 3], 1.)
    close(E.get_value(), ref)

# argmax/argmin/argsort/sort
def test_argmax_argmin_argsort_sort():
    x = T.dmatrix()
    outs = [T.argmax(x, axis=1), T.argmin(x, axis=0), x.argmax(), T.argmax(x, axis=1, keepdims=True), T.max(x, axis=0, keepdims=True)]
    refs = [xv.argmax(1), xv.argmin(0), xv.argmax(), xv.argmax(1)[:, None], xv.max(0, keepdims=True)]
    res = theano.function([x], outs)(xv)
    for o, r in zip(res, refs): same(np.asarray(o).astype(r.dtype), r); 
    for o, r in zip(res, refs): assert np.asarray(o).dtype.kind == r.dtype.kind, (o.dtype, r.dtype)

# int and bool dtypes
def test_int_and_bool_dtypes():
    a = T.ivector(); b = T.ivector(); c = T.lscalar()
    av = np.array([7, -7, 3, 0, 5], "int32"); bv = np.array([2, 2, -2, 3, 7], "int32")
    outs = [a // b, a % b, a + b, a * c, a / b, -a, abs(a), a ** 2, T.maximum(a, b), a.sum(), a.prod(), a.mean(), (a > b), (a > 0) & (b > 0), (a > 0) | (b > 0), ~(a > 0), T.xor(a > 0, b > 0),
            (a > 0).sum(), T.any(a > 6), T.all(a > -10), a.max(), T.cast(a, "float32") * 1.5, T.eq(a, b), a & b, a | b, T.switch(a > b, a, b), (a > 0).astype("int64") + 1]
    refs = [av // bv, av % bv, av + bv, av * np.int64(3), av / bv, -av, abs(av), av ** 2, np.maximum(av, bv), av.sum(), av.prod(), av.mean(), av > bv, (av > 0) & (bv > 0), (av > 0) | (bv > 0), ~(av > 0), (av > 0) ^ (bv > 0),
            (av > 0).sum(), np.any(av > 6), np.all(av > -10), av.max(), av.astype("float32") * 1.5, av == bv, av & bv, av | bv, np.where(av > bv, av, bv), (av > 0).astype("int64") + 1]
    res = theano.function([a, b, c], outs)(av, bv, 3)
    bad = []
    for k, (o, r) in enumerate(zip(res, refs)):
        o = np.asarray(o); r = np.asarray(r)
        if o.shape != r.shape or not np.allclose(o.astype(float), r.astype(float)) or (o.dtype != r.dtype):
            bad.append((k, o, o.dtype, r, r.dtype))
    assert not bad, bad

# uint8 and int8 overflow / float32 promote
def test_uint8_and_int8_overflow_float32_promote():
    a = T.tensor(dtype="uint8", shape=(None,)); b = T.tensor(dtype="int8", shape=(None,))
    av = np.array([200, 100, 255], "uint8"); bv = np.array([100, -100, 1], "int8")
    outs = [a + a, a + b, b * b, a.sum(), b.sum(), a * 2, a + 1.5, b.astype("float32") + np.float32(1)]
    refs = [av + av, av + bv, bv * bv, av.sum(), bv.sum(), av * 2, av + 1.5, bv.astype("float32") + np.float32(1)]
    res = theano.function([a, b], outs)(av, bv)
    bad = []
    for k, (o, r) in enumerate(zip(res, refs)):
        o = np.asarray(o); r = np.asarray(r)
        if o.shape != r.shape or not np.allclose(o.astype(float), r.astype(float)) or o.dtype != r.dtype:
            bad.append((k, o, o.dtype, r, r.dtype))
    assert not bad, bad

# broadcasting row/col
def test_broadcasting_row_col():
    r = T.row(); c = T.col(); m = T.matrix(); v = T.vector()
    rv = rng.standard_normal((1, 4)); cv = rng.standard_normal((5, 1)); mv = rng.standard_normal((5, 4)); vv = rng.standard_normal(4)
    outs = [r + c, m * r, m - c, v + c, (r + c).sum(axis=0), T.dot(c, r), m / (v + 10), r]
    refs = [rv + cv, mv * rv, mv - cv, vv + cv, (rv + cv).sum(0), cv @ rv, mv / (vv + 10), rv]
    res = theano.function([r, c, m, v], outs)(rv, cv, mv, vv)
    for o, rr in zip(res, refs): close(o, rr)
    assert r.broadcastable == (True, False), r.broadcastable
    g = T.grad((r * m).sum() + (c * m).sum(), [r, c])
    gr, gc = theano.function([r, c, m], g)(rv, cv, mv)
    close(gr, mv.sum(0, keepdims=True)); close(gc, mv.sum(1, keepdims=True))
    # passing wrong shape for row
    with pytest.raises(TypeError, match="size 2 on axis 0"):
        theano.function([r], r * 2)(np.ones((2, 4)))

# multiple outputs, outputs that are inputs
def test_multiple_outputs_outputs_that_are_inputs():
    x = T.dvector(); y = T.dvector()
    f = theano.function([x, y], [x, x + y, y, x])
    a, b_, c, d = f(np.ones(3), np.arange(3.))
    close(a, np.ones(3)); close(b_, 1 + np.arange(3.)); close(c, np.arange(3.)); close(d, np.ones(3))
    g = theano.function([x], x)
    xa = np.arange(3.); r = g(xa); close(r, xa)
    r[0] = 99; assert xa[0] == 0, "output aliases input"
    s = theano.shared(np.arange(3.))
    h = theano.function([], s)
    v = h(); v[0] = 5.
    assert s.get_value()[0] == 0, "output aliases shared value"
    h2 = theano.function([], [s, s * 2], updates=[(s, s + 1)])
    o1, o2 = h2(); close(o1, np.arange(3.)); close(o2, 2 * np.arange(3.)); close(s.get_value(), np.arange(3.) + 1)

# function with single-list output and no outputs
def test_function_with_single_list_output_and_no_outputs():
    x = T.dvector()
    f = theano.function([x], [x.sum()])
    r = f(np.ones(3)); assert isinstance(r, list) and len(r) == 1
    s = theano.shared(0.)
    g = theano.function([x], updates={s: s + x.sum()})
    assert g(np.ones(3)) == []
    g(np.ones(3))
    assert s.get_value() == 6.0

# default values and In
def test_default_values_and_in():
    x, y = T.dscalars("x", "y")
    f = theano.function([x, theano.In(y, value=1.)], x + y)
    close(f(2.), 3.)
    close(f(2., 5.), 7.)
    f = theano.function([x, y], x * y)
    close(f(x=2., y=3.), 6.)

# updates ordering: all updates after outputs
def test_updates_ordering_all_updates_after_outputs():
    a = theano.shared(1.); b = theano.shared(2.)
    f = theano.function([], [a, b], updates=[(a, b), (b, a)])
    r = f(); close(r[0], 1.); close(r[1], 2.)
    assert a.get_value() == 2. and b.get_value() == 1.

# no_default_updates & RandomStream
def test_no_default_updates_randomstream():
    from egopt.tensor.random import RandomStream
    srng = RandomStream(42)
    u = srng.uniform(size=(3,))
    n = srng.normal(0, 1, size=(2, 2))
    f = theano.function([], u)
    a, b = f(), f()
    assert not np.allclose(a, b), "draws equal"
    assert a.shape == (3,) and (a >= 0).all() and (a < 1).all()
    g = theano.function([], u, no_default_updates=True)
    assert np.allclose(g(), g())
    bi = srng.binomial(size=(1000,), n=1, p=0.3)
    fb = theano.function([], bi)()
    assert 0.2 < fb.mean() < 0.4, fb.mean()
    ch = srng.choice(size=(5,), a=3)
    c = theano.function([], ch)(); assert set(np.unique(c)) <= {0, 1, 2}
    # dropout
    x = T.dmatrix()
    mask = srng.binomial(size=x.shape, p=0.5, n=1)
    d = theano.function([x], x * mask)(np.ones((4, 4)))
    assert set(np.unique(d)) <= {0., 1.}
    # seed
    s2 = RandomStream(42); u2 = s2.uniform(size=(3,))
    close(theano.function([], u2)(), a)

# shared_randomstreams / MRG
def test_shared_randomstreams_mrg():
    from egopt.tensor.shared_randomstreams import RandomStreams
    s = RandomStreams(seed=3)
    u = s.uniform((2, 3), low=-1, high=1)
    v = theano.function([], u)()
    assert v.shape == (2, 3) and (abs(v) <= 1).all()
    from egopt.sandbox.rng_mrg import MRG_RandomStreams
    m = MRG_RandomStreams(seed=3).normal((500,), avg=2.0, std=0.5)
    draws = theano.function([], m)()
    assert abs(draws.mean() - 2.0) < 0.1 and abs(draws.std() - 0.5) < 0.1


# nested scan + grad
def test_nested_scan_grad():
    M = T.dmatrix()
    def outer(row):
        inner, _ = theano.scan(lambda v, acc: acc * v + 1, sequences=row, outputs_info=T.constant(0.))
        return inner[-1]
    out, _ = theano.scan(outer, sequences=M)
    Mv = rng.standard_normal((3, 4))
    def ref(Mv):
        r = []
        for row in Mv:
            a = 0.
            for v in row: a = a * v + 1
            r.append(a)
        return np.array(r)
    close(theano.function([M], out)(Mv), ref(Mv))
    g = T.grad(out.sum(), M)
    gv = theano.function([M], g)(Mv)
    fd = np.zeros_like(Mv)
    for k in np.ndindex(*Mv.shape):
        a = Mv.copy(); a[k] += 1e-6; b = Mv.copy(); b[k] -= 1e-6
        fd[k] = (ref(a).sum() - ref(b).sum()) / 2e-6
    close(gv, fd, 1e-5)

# scan over matrix outputs with two states and a nit-sot; scan grad wrt initial & seq
def test_scan_over_matrix_outputs_with_two_states_and_a_nit_sot_scan_():
    X = T.dtensor3(); h0 = T.dmatrix(); W = T.dmatrix()
    def step(x, h, W):
        hn = T.tanh(T.dot(x, W) + h)
        return hn, hn.sum(axis=1)
    (hs, ss), _ = theano.scan(step, sequences=X, outputs_info=[h0, None], non_sequences=W)
    cost = ss.sum() + (hs[-1] ** 2).sum()
    gX, gh0, gW = T.grad(cost, [X, h0, W])
    f = theano.function([X, h0, W], [cost, gX, gh0, gW])
    Xv = rng.standard_normal((3, 2, 4)); h0v = rng.standard_normal((2, 4)); Wv = rng.standard_normal((4, 4)) * 0.3
    def ref(Xv, h0v, Wv):
        h = h0v; c = 0
        for t in range(3):
            h = np.tanh(Xv[t] @ Wv + h); c += h.sum()
        return c + (h ** 2).sum()
    res = f(Xv, h0v, Wv)
    close(res[0], ref(Xv, h0v, Wv))
    for arg, gi in [(0, 1), (1, 2), (2, 3)]:
        vals = [Xv, h0v, Wv]
        fd = np.zeros_like(vals[arg])
        for k in np.ndindex(*vals[arg].shape):
            a = [v.copy() for v in vals]; a[arg][k] += 1e-6
            b = [v.copy() for v in vals]; b[arg][k] -= 1e-6
            fd[k] = (ref(*a) - ref(*b)) / 2e-6
        close(res[gi], fd, 1e-5)

# hessian through scan-free MLP, jacobian of vector fn, Rop of softmax
def test_hessian_through_scan_free_mlp_jacobian_of_vector_fn_rop_of_s():
    from egopt import gradient
    w = T.dvector(); x = T.dmatrix()
    c = T.nnet.softplus(T.dot(x, w)).sum() + (w ** 2).sum()
    H = gradient.hessian(c, w)
    xv = rng.standard_normal((5, 3)); wv = rng.standard_normal(3)
    Hv = theano.function([w, x], H)(wv, xv)
    s = 1 / (1 + np.exp(-(xv @ wv)))
    close(Hv, (xv.T * (s * (1 - s))) @ xv + 2 * np.eye(3))
    v = T.dvector()
    sm = T.nnet.softmax(w.dimshuffle('x', 0))[0]
    R = gradient.Rop(sm, w, v)
    vv = rng.standard_normal(3)
    p = np.exp(wv) / np.exp(wv).sum()
    close(theano.function([w, v], R)(wv, vv), p * vv - p * (p @ vv))

# integer shared counters and int updates; bool shared
def test_integer_shared_counters_and_int_updates_bool_shared():
    c = theano.shared(np.int64(0)); flag = theano.shared(np.array([True, False]))
    f = theano.function([], [c, flag], updates=[(c, c + 1), (flag, ~flag)])
    f(); f(); a, b = f()
    assert a == 2 and c.get_value() == 3 and list(flag.get_value()) == [False, True], (a, c.get_value(), flag.get_value())
    i32 = theano.shared(np.int32(5))
    g = theano.function([], [], updates=[(i32, i32 * 2)])
    g(); assert i32.get_value() == 10 and i32.get_value().dtype == np.int32, i32.get_value()

# shared borrow / set_value / get_value copies
def test_shared_borrow_set_value_get_value_copies():
    a = np.zeros(3)
    s = theano.shared(a)
    a[0] = 5
    assert s.get_value()[0] == 0, "shared should copy by default"
    v = s.get_value(); v[1] = 3
    assert s.get_value()[1] == 0
    b = np.ones(3)
    s2 = theano.shared(b, borrow=True)
    f = theano.function([], s2 * 2)
    close(f(), [2, 2, 2])
    s.set_value(np.arange(3.))
    close(theano.function([], s.sum())(), 3.)
    # set_value changes shape
    s.set_value(np.arange(5.))
    close(theano.function([], s.sum())(), 10.)
    # python scalars and lists
    s3 = theano.shared(1.5); close(theano.function([], s3 * 2)(), 3.)
    s4 = theano.shared([1., 2.]); close(theano.function([], s4 * 2)(), [2., 4.])

# function outputs: same variable twice, constant output, shared output with update
def test_function_outputs_same_variable_twice_constant_output_shared_():
    x = T.dvector()
    f = theano.function([x], [x.sum(), x.sum(), T.constant(3.)])
    a, b, c = f(np.ones(2)); close(a, 2); close(b, 2); close(c, 3)
    g = theano.function([], T.constant(np.arange(3)))
    close(g(), np.arange(3))
    h = theano.function([x], x * 0 + 1)
    close(h(np.ones(4)), np.ones(4))

# T.grad wrt int input raises or gives zeros; grad of int cost
def test_t_grad_wrt_int_input_raises_or_gives_zeros_grad_of_int_cost():
    i = T.iscalar(); x = T.dscalar()
    g = T.grad(x * i, i)           # no gradient flows into integers: zeros, as in Theano
    assert theano.function([x, i], g, on_unused_input="ignore")(2., 3) == 0
    g = T.grad((x * i).sum(), x)
    close(theano.function([x, i], g)(2., 3), 3.)
    g = T.grad(T.cast(x * 2, "float32"), x)
    close(theano.function([x], g, on_unused_input="ignore")(2.), 2.)

# eval on shared-only expr and on a dict with names
def test_eval_on_shared_only_expr_and_on_a_dict_with_names():
    s = theano.shared(np.arange(3.))
    close((s * 2).eval(), [0, 2, 4])
    x = T.dvector("x")
    close((x + s).eval({x: np.ones(3)}), [1, 2, 3])

# in-place-looking reuse: same input twice in graph, output mutation doesn't corrupt
def test_in_place_looking_reuse_same_input_twice_in_graph_output_muta():
    x = T.dvector()
    f = theano.function([x], [x * 2, x * 2 + 1])
    a, b = f(np.ones(3)); a[:] = 100
    a2, b2 = f(np.ones(3)); close(a2, 2 * np.ones(3)); close(b2, 3 * np.ones(3))
    s = theano.shared(np.ones(3))
    g = theano.function([], s * 1)
    r = g(); r[:] = 7; close(s.get_value(), np.ones(3)); close(g(), np.ones(3))


A = rng.standard_normal((6, 8))

# non-contiguous / fortran / negative-stride / readonly inputs
def test_non_contiguous_fortran_negative_stride_readonly_inputs():
    x = T.dmatrix(); y = T.dmatrix(); v = T.dvector()
    f = theano.function([x, y, v], [T.exp(x) + y * 2, (x * y).sum(axis=0), T.dot(x, y.T), x.max(axis=1) + v[:x.shape[0]], T.nnet.softmax(x)])
    cases = [A[::2, ::3], np.asfortranarray(A), A[::-1, ::-2], A.T.copy().T, A[:, 1:5]]
    for a in cases:
        b = a[::-1].copy(order="F") if a.shape[0] > 0 else a
        vv = rng.standard_normal(20)[::2]
        r = a.copy(); r.setflags(write=False)
        for inp in (a, r):
            out = f(inp, b, vv)
            e = np.exp(inp - inp.max(1, keepdims=True)); sm = e / e.sum(1, keepdims=True)
            ref = [np.exp(inp) + b * 2, (inp * b).sum(0), inp @ b.T, inp.max(1) + vv[:inp.shape[0]], sm]
            for o, rr in zip(out, ref):
                if rr is not None: close(o, rr)

# zero-size arrays
def test_zero_size_arrays():
    x = T.dmatrix()
    f = theano.function([x], [x.sum(axis=0), x.sum(), T.exp(x), x * 2 + 1, x.mean(axis=1), T.dot(x, x.T), x.T, x.prod()])
    for shp in [(0, 3), (3, 0), (0, 0)]:
        a = np.zeros(shp)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # NumPy's "mean of empty slice"
            out = f(a)
            ref = [a.sum(0), a.sum(), np.exp(a), a * 2 + 1, a.mean(1), a @ a.T, a.T, a.prod()]
        for o, r in zip(out, ref): close(o, r)
    g = theano.function([x], x.max())
    with pytest.raises(Exception, match="zero-size array"):
        g(np.zeros((0, 3)))

# large arrays (openmp paths)
def test_large_arrays_openmp_paths():
    x = T.dmatrix(); y = T.dvector()
    big = rng.standard_normal((1000, 300)); yv = rng.standard_normal(300)
    f = theano.function([x, y], [T.tanh(x * y + 1).sum(axis=0), (x ** 2).sum(axis=1), T.exp(x - x.max(axis=1, keepdims=True)).sum(), T.nnet.softmax(x)[:, 0], x.argmax(axis=0), (x > 0).mean()])
    out = f(big, yv)
    e = np.exp(big - big.max(1, keepdims=True)); sm = e / e.sum(1, keepdims=True)
    ref = [np.tanh(big * yv + 1).sum(0), (big ** 2).sum(1), e.sum(), sm[:, 0], big.argmax(0), (big > 0).mean()]
    for o, r in zip(out, ref): close(o, r, 1e-9)
    x32 = T.fmatrix()
    b32 = big.astype("float32")
    f2 = theano.function([x32], [x32.sum(), T.exp(x32).mean(axis=0), x32.var(axis=1)])
    o = f2(b32)
    close(o[0], b32.astype("float64").sum(), 1e-3); close(o[1], np.exp(b32).mean(0), 1e-5); close(o[2], b32.var(1), 1e-4)
    assert o[0].dtype == np.float32

# broadcast against 0-d and 1-element; keepdims combos; scalars as python numbers
def test_broadcast_against_0_d_and_1_element_keepdims_combos_scalars_():
    x = T.dtensor3(); s = T.dscalar()
    a = rng.standard_normal((2, 3, 4))
    f = theano.function([x, s], [x - x.mean(axis=(0, 2), keepdims=True), x / x.sum(axis=-1, keepdims=True), x * s, s - x.max(axis=1), x.sum(axis=(0, 1, 2), keepdims=True)])
    out = f(a, 2.5)
    ref = [a - a.mean((0, 2), keepdims=True), a / a.sum(-1, keepdims=True), a * 2.5, 2.5 - a.max(1), a.sum(keepdims=True)]
    for o, r in zip(out, ref): close(o, r)

# float32 graph with float64 constant and python float; int*float32
def test_float32_graph_with_float64_constant_and_python_float_int_flo():
    x = T.fvector(); i = T.ivector()
    f = theano.function([x, i], [x * 0.1, x + np.float64(2.0), x * i, x / 3, x ** 2, T.exp(x) * 1e-3, x + i.astype("float32"), T.mean(x), i * 0.5, i / 2])
    xv = np.arange(4, dtype="float32"); iv = np.arange(4, dtype="int32")
    out = f(xv, iv)
    refs = [xv * 0.1, xv + np.float64(2.0), xv * iv, xv / 3, xv ** 2, np.exp(xv) * 1e-3, xv + iv.astype("float32"), np.mean(xv), iv * 0.5, iv / 2]
    bad = [(k, o.dtype, np.asarray(r).dtype) for k, (o, r) in enumerate(zip(out, refs)) if o.dtype != np.asarray(r).dtype or not np.allclose(o, r, rtol=1e-6)]
    assert not bad, bad
