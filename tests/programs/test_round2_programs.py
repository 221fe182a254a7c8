"""Whole programs in the style of the Theano docs and tutorials on the round-2 surface: user ops
(the "Extending Theano" exercise), stateful inputs, linear-algebra models trained with updates,
einsum attention, and monitoring; every value against NumPy or finite differences."""
from __future__ import annotations

import unittest

import numpy as np

import egopt as theano
import egopt.tensor as T
from tests.programs import close

rng = np.random.default_rng(7)


# ---- the "Extending Theano" exercise: ProdOp, SumDiffOp, tested with theano.tests.unittest_tools -----------

class ProdOp(theano.Op):
    def __eq__(self, other):
        return type(self) == type(other)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return self.__class__.__name__

    def make_node(self, x, y):
        x = theano.tensor.as_tensor_variable(x)
        y = theano.tensor.as_tensor_variable(y)
        output = theano.tensor.TensorType(dtype=theano.scalar.upcast(x.dtype, y.dtype),
                                          broadcastable=[False] * x.ndim)()
        return theano.Apply(self, inputs=[x, y], outputs=[output])

    def perform(self, node, inputs, output_storage):
        x, y = inputs
        output_storage[0][0] = x * y

    def infer_shape(self, node, i0_shapes):
        return [i0_shapes[0]]

    def grad(self, inputs, output_grads):
        return [output_grads[0] * inputs[1], output_grads[0] * inputs[0]]


class SumDiffOp(theano.Op):
    __props__ = ()

    def make_node(self, x, y):
        x = theano.tensor.as_tensor_variable(x)
        y = theano.tensor.as_tensor_variable(y)
        dt = theano.scalar.upcast(x.dtype, y.dtype)
        outs = [theano.tensor.TensorType(dtype=dt, broadcastable=[False] * x.ndim)() for _ in range(2)]
        return theano.Apply(self, inputs=[x, y], outputs=outs)

    def perform(self, node, inputs, output_storage):
        x, y = inputs
        output_storage[0][0] = x + y
        output_storage[1][0] = x - y

    def grad(self, inputs, output_grads):
        og1, og2 = output_grads
        return [og1 + og2, og1 - og2]


def test_extending_theano_exercise():
    from egopt.compile.ops import as_op
    from egopt.tests import unittest_tools as utt

    class TestProdOp(utt.InferShapeTester):
        def test_all(self):
            x, y = T.matrices("x", "y")
            xv, yv = np.random.rand(5, 4), np.random.rand(5, 4)
            close(theano.function([x, y], ProdOp()(x, y))(xv, yv), xv * yv)
            utt.verify_grad(ProdOp(), [xv, yv], n_tests=1, rng=np.random.RandomState(43))
            self._compile_and_check([x, y], [ProdOp()(x, y)], [xv, yv], ProdOp)

    class TestSumDiffOp(utt.InferShapeTester):
        def test_all(self):
            x, y = T.matrices("x", "y")
            xv, yv = np.random.rand(5, 4), np.random.rand(5, 4)
            s, d = theano.function([x, y], SumDiffOp()(x, y))(xv, yv)
            close(s, xv + yv)
            close(d, xv - yv)
            for k in (0, 1):
                utt.verify_grad(lambda a, b: SumDiffOp()(a, b)[k], [xv, yv], n_tests=1,
                                rng=np.random.RandomState(43))
            # both outputs in one cost: the gradients add up
            gx = theano.function([x, y], T.grad(T.sum(SumDiffOp()(x, y)[0] * 2 + SumDiffOp()(x, y)[1]), x))
            close(gx(xv, yv), np.full((5, 4), 3.0))
            self._compile_and_check([x, y], SumDiffOp()(x, y), [xv, yv], SumDiffOp)

    result = unittest.TextTestRunner(stream=open("/dev/null", "w")).run(
        unittest.TestSuite([TestProdOp("test_all"), TestSumDiffOp("test_all")]))
    assert result.wasSuccessful(), result.failures + result.errors

    @as_op(itypes=[T.fmatrix, T.fmatrix], otypes=[T.fmatrix])
    def numpy_add(a, b):
        return np.add(a, b)

    a, b = T.fmatrices("a", "b")
    av, bv = rng.random((3, 2), dtype=np.float32), rng.random((3, 2), dtype=np.float32)
    out = theano.function([a, b], numpy_add(a, b) * 2)(av, bv)
    assert out.dtype == np.float32
    close(out, (av + bv) * 2)


# ---- Gaussian-process regression: cholesky, solve_triangular, log-det, trained by gradient descent ------

def test_gp_marginal_likelihood_training():
    from egopt.tensor import slinalg
    n = 12
    xs = np.sort(rng.uniform(-3, 3, n))
    ys = np.sin(xs) + 0.1 * rng.standard_normal(n)
    log_ell = theano.shared(np.array(0.5), name="log_ell")
    log_sf = theano.shared(np.array(0.0), name="log_sf")
    X, Y = T.dvector("X"), T.dvector("Y")
    d2 = (X.dimshuffle(0, "x") - X.dimshuffle("x", 0)) ** 2
    K = T.exp(2 * log_sf) * T.exp(-0.5 * d2 / T.exp(2 * log_ell)) + 0.01 * T.eye(X.shape[0])
    L = slinalg.cholesky(K)
    alpha = slinalg.solve_triangular(L, Y, lower=True)
    nll = 0.5 * T.sum(alpha ** 2) + T.sum(T.log(T.diagonal(L))) + 0.5 * n * np.log(2 * np.pi)
    params = [log_ell, log_sf]
    grads = T.grad(nll, params)
    train = theano.function([X, Y], nll, updates=[(p, p - 0.02 * g) for p, g in zip(params, grads)])

    def np_nll(le, ls):
        k = np.exp(2 * ls) * np.exp(-0.5 * (xs[:, None] - xs[None, :]) ** 2 / np.exp(2 * le)) + 0.01 * np.eye(n)
        sign, logdet = np.linalg.slogdet(k)
        return 0.5 * ys @ np.linalg.solve(k, ys) + 0.5 * logdet + 0.5 * n * np.log(2 * np.pi)

    first = train(xs, ys)
    close(first, np_nll(0.5, 0.0), tol=1e-8)
    for _ in range(30):
        before = (float(log_ell.get_value()), float(log_sf.get_value()))
        last = train(xs, ys)
    close(last, np_nll(*before), tol=1e-8)       # each call reports the cost before its update
    assert last < first
    # the gradient itself against central differences of the NumPy reference
    gfun = theano.function([X, Y], grads)
    le, ls = float(log_ell.get_value()), float(log_sf.get_value())
    g = gfun(xs, ys)
    h = 1e-6
    close(g[0], (np_nll(le + h, ls) - np_nll(le - h, ls)) / (2 * h), tol=1e-5)
    close(g[1], (np_nll(le, ls + h) - np_nll(le, ls - h)) / (2 * h), tol=1e-5)


# ---- linear regression by the normal equations (matrix_inverse, solve, det) -------------------------------

def test_normal_equations_and_inverse():
    from egopt.tensor.nlinalg import det, matrix_inverse
    from egopt.tensor.slinalg import solve
    A, y = T.dmatrix("A"), T.dvector("y")
    av, yv = rng.standard_normal((20, 3)), rng.standard_normal(20)
    gram = T.dot(A.T, A)
    w1 = T.dot(matrix_inverse(gram), T.dot(A.T, y))
    w2 = solve(gram, T.dot(A.T, y), assume_a="pos")
    f = theano.function([A, y], [w1, w2, det(gram)])
    r1, r2, d = f(av, yv)
    ref = np.linalg.lstsq(av, yv, rcond=None)[0]
    close(r1, ref, tol=1e-10)
    close(r2, ref, tol=1e-10)
    close(d, np.linalg.det(av.T @ av), tol=1e-8)


# ---- einsum attention with a stateful step counter (In with update) --------------------------------------

def test_einsum_attention_with_a_call_counter():
    from egopt import In
    q, k, v = T.tensor3("q"), T.tensor3("k"), T.tensor3("v")
    calls = T.lscalar("calls")
    scores = T.einsum("bqd,bkd->bqk", q, k) / np.sqrt(4.0)
    att = T.nnet.softmax(scores.reshape((-1, scores.shape[2]))).reshape(scores.shape)
    out = T.einsum("bqk,bkd->bqd", att, v)
    f = theano.function([q, k, v, In(calls, value=np.int64(0), update=calls + 1)], [out, calls])
    qv, kv, vv = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    for i in range(3):
        got, n = f(qv, kv, vv)
        assert int(n) == i
    s = np.einsum("bqd,bkd->bqk", qv, kv) / 2.0
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    close(got, np.einsum("bqk,bkd->bqd", e / e.sum(axis=-1, keepdims=True), vv), tol=1e-10)
    assert int(f[calls]) == 3
