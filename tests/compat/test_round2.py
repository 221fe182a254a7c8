"""Theano/PyTensor names from the tutorials and library docs (round 2), against NumPy and finite
differences. Every graph runs on the linker the suite runs with (``--linker=py`` or C)."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import egopt as theano
import egopt.tensor as T
from egopt.grad import verify_grad
from egopt.lang.errors import EgoptError

RNG = np.random.RandomState(42)


# ---- In(update=..., value=...): state kept by the function ------------------------------------------

def test_in_with_update_is_state_kept_between_calls():
    from egopt.compile.io import In
    u, x, s = T.scalars("u", "x", "s")
    inc = theano.function([u, In(x, value=3), In(s, update=(s + x * u), value=10.0)], [])
    inc(5)                      # s: 10 + 3 * 5
    assert inc[s] == 25.0
    inc(3, 4)                   # x overridden for this call only
    assert inc[s] == 37.0 and inc[x] == 3.0
    inc(3, 4, 7)                # s given: 7 + 3 * 4
    assert inc[s] == 19.0
    inc[s] = 10
    assert inc[s] == 10.0 and inc["s"] == 10.0
    inc.value[s] = 99.0
    assert inc.value[s] == inc.container[s].value == 99.0
    inc.container[s].value = 1.0
    inc(1)
    assert inc[s] == 4.0


def test_in_with_update_reads_the_state_in_outputs():
    from egopt import In
    x, s = T.dscalars("x", "s")
    acc = theano.function([x, In(s, update=s + x, value=0.0)], s * 2)
    assert [float(acc(v)) for v in (1.0, 2.0, 3.0)] == [0.0, 2.0, 6.0]
    assert float(acc(1.0, s=100.0)) == 200.0 and acc[s] == 101.0


def test_in_with_update_needs_a_value():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="initial value"):
        theano.In(x, update=x + 1)


# ---- user ops: theano.Op subclasses and as_op -------------------------------------------------------

class DoubleOp(theano.Op):
    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


class SumAndMax(theano.Op):
    """Two outputs of different ranks; the gradient flows through the sum only."""
    itypes = [T.dmatrix]
    otypes = [T.dvector, T.dscalar]

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0].sum(axis=1)
        output_storage[1][0] = inputs[0].max()

    def grad(self, inputs, output_grads):
        g_sum, g_max = output_grads
        return [T.ones_like(inputs[0]) * g_sum.dimshuffle(0, "x")]


def test_theano_op_subclass_runs_and_differentiates():
    x = T.dmatrix("x")
    a = RNG.randn(3, 4)
    f = theano.function([x], DoubleOp()(x) + 1)
    np.testing.assert_allclose(f(a), a * 2 + 1)
    verify_grad(lambda v: DoubleOp()(v) ** 2, [a], rng=RNG)


def test_theano_op_with_two_outputs():
    x = T.dmatrix("x")
    a = RNG.randn(3, 4)
    s, m = SumAndMax()(x)
    f = theano.function([x], [s, m])
    got_s, got_m = f(a)
    np.testing.assert_allclose(got_s, a.sum(axis=1))
    assert float(got_m) == a.max()
    verify_grad(lambda v: SumAndMax()(v)[0] ** 2, [a], rng=RNG)


def test_as_op_wraps_a_numpy_function_without_a_gradient():
    from egopt.compile.ops import as_op

    @as_op(itypes=[T.dmatrix], otypes=[T.dmatrix])
    def numpy_dot(a):
        return np.dot(a, a)

    x = T.dmatrix("x")
    a = RNG.randn(3, 3)
    f = theano.function([x], numpy_dot(x) * 3)
    np.testing.assert_allclose(f(a), a @ a * 3)
    with pytest.raises(EgoptError, match="numpy_dot.*no gradient"):
        T.grad(numpy_dot(x).sum(), x)
    with pytest.raises(TypeError, match="input 0 must be"):
        numpy_dot(T.dvector("v"))


def test_op_from_graph_is_inlined():
    from egopt.compile.builders import OpFromGraph
    x, y = T.dvectors("x", "y")
    op = OpFromGraph([x, y], [x * y + T.exp(x)])
    a, b = T.dvectors("a", "b")
    f = theano.function([a, b], op(a, b) * 2)
    va, vb = RNG.randn(3), RNG.randn(3)
    np.testing.assert_allclose(f(va, vb), (va * vb + np.exp(va)) * 2)


# ---- linear algebra through the Theano/PyTensor module paths ----------------------------------------

def _spd(n):
    a = RNG.randn(n, n)
    return a @ a.T + n * np.eye(n)


def test_nlinalg_and_slinalg_paths_against_numpy():
    from egopt.tensor.nlinalg import det, matrix_inverse
    from egopt.tensor.slinalg import cholesky, solve
    import egopt.tensor as pt
    x, y = T.dmatrices("x", "y")
    a, b = _spd(4), RNG.randn(4, 2)
    f = theano.function([x, y], [matrix_inverse(x), det(x), solve(x, y), cholesky(x), pt.linalg.inv(x)])
    inv, d, sol, chol, inv2 = f(a, b)
    np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(d, np.linalg.det(a), rtol=1e-10)
    np.testing.assert_allclose(sol, np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(chol, np.linalg.cholesky(a), rtol=1e-10)
    np.testing.assert_allclose(inv2, inv)


def test_linear_algebra_gradients_against_finite_differences():
    from egopt.tensor import nlinalg, slinalg
    a, b, s = RNG.randn(3, 3) + 4 * np.eye(3), RNG.randn(3, 2), _spd(3)
    verify_grad(nlinalg.matrix_inverse, [a], rng=RNG)
    verify_grad(nlinalg.det, [a], rng=RNG)
    verify_grad(slinalg.solve, [a, b], rng=RNG)
    verify_grad(lambda m: slinalg.cholesky(m).sum() + nlinalg.det(m), [s], rng=RNG)
    verify_grad(lambda m: slinalg.eigvalsh(m), [s], rng=RNG)
    # a log-likelihood as a tutorial writes it: log det and a quadratic form through cholesky
    def gauss_nll(m, v):
        low = slinalg.cholesky(m)
        z = slinalg.solve_triangular(low, v, lower=True)
        return 0.5 * T.sum(z ** 2) + T.sum(T.log(T.diagonal(low)))
    verify_grad(gauss_nll, [s, RNG.randn(3)], rng=RNG)


def test_cholesky_of_a_non_positive_matrix_names_the_op():
    from egopt.tensor.slinalg import cholesky
    x = T.dmatrix("x")
    f = theano.function([x], cholesky(x))
    with pytest.raises(Exception, match="cholesky"):
        f(-np.eye(2))


# ---- split, nonzero, einsum and the other compositions ----------------------------------------------

def test_split_with_constant_and_symbolic_sizes():
    x = T.dvector("x")
    sizes = T.lvector("sizes")
    v = np.arange(6.0)
    f = theano.function([x], T.split(x, [1, 2, 3], 3))
    assert [list(p) for p in f(v)] == [[0.0], [1.0, 2.0], [3.0, 4.0, 5.0]]
    g = theano.function([x, sizes], T.split(x, sizes, 2))
    a, b = g(v, [4, 2])
    assert list(a) == [0, 1, 2, 3] and list(b) == [4, 5]
    m = T.dmatrix("m")
    parts = theano.function([m], T.split(m, [2, 1], 2, axis=1))(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(parts[1], [[2.0], [5.0]])
    verify_grad(lambda w: T.split(w, [2, 4], 2)[1] ** 2, [v], rng=RNG)


def test_nonzero_family_against_numpy():
    m = T.dmatrix("m")
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]])
    f = theano.function([m], list(T.nonzero(m)) + [T.flatnonzero(m), T.nonzero_values(m),
                                                    T.nonzero(m, return_matrix=True), m.nonzero()[1]])
    r0, r1, flat, vals, mat, meth = f(a)
    np.testing.assert_array_equal(r0, np.nonzero(a)[0])
    np.testing.assert_array_equal(r1, np.nonzero(a)[1])
    np.testing.assert_array_equal(flat, np.flatnonzero(a))
    np.testing.assert_array_equal(vals, a[a != 0])
    np.testing.assert_array_equal(mat, np.array(np.nonzero(a)))
    np.testing.assert_array_equal(meth, np.nonzero(a)[1])


@pytest.mark.parametrize("subscripts, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,i->", [(4,), (4,)]), ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("ijk,jl,lm->im", [(2, 3, 4), (3, 5), (5, 2)]),
    ("abc,cd,bd->a", [(2, 3, 4), (4, 5), (3, 5)]), ("ij,kl->ijkl", [(2, 2), (3, 2)]), ("ijk->kij", [(2, 3, 4)]),
])
def test_einsum_against_numpy(subscripts, shapes):
    vals = [RNG.randn(*s) for s in shapes]
    syms = [T.tensor("float64", shape=(None,) * len(s)) for s in shapes]
    got = theano.function(syms, T.einsum(subscripts, *syms))(*vals)
    np.testing.assert_allclose(got, np.einsum(subscripts, *vals), rtol=1e-10, atol=1e-12)


def test_einsum_gradient_and_errors():
    verify_grad(lambda a, b: T.einsum("bij,bjk->bik", a, b), [RNG.randn(2, 3, 4), RNG.randn(2, 4, 5)], rng=RNG)
    verify_grad(lambda a: T.einsum("ii->i", a), [RNG.randn(3, 3)], rng=RNG)
    with pytest.raises(TypeError, match="names 2 axes"):
        T.einsum("ij->i", T.dvector())
    with pytest.raises(TypeError, match="in no operand"):
        T.einsum("ij->k", T.dmatrix())


def test_roll_stacklists_grids_and_friends():
    v, m = T.dvector("v"), T.dmatrix("m")
    a, b, c, d = T.dscalars("abcd")          # Theano: one variable per letter
    assert [x.name for x in (a, b, c, d)] == ["a", "b", "c", "d"]
    e, f_ = T.dscalars(2)
    assert e.ndim == f_.ndim == 0
    va, ma = np.arange(5.0), np.arange(6.0).reshape(2, 3)
    f = theano.function([v, m, a, b, c, d], [
        T.roll(v, 2), T.roll(m, -1, axis=1), T.roll(m, 1), T.stacklists([[a, b], [c, d]]),
        T.max_and_argmax(m, axis=1)[1], m.norm(2), m.norm(1, axis=0), T.fill_diagonal(m, 7.0),
        T.extra_ops.to_one_hot(T.cast(v, "int64"), 5), T.extra_ops.bincount(T.cast(v, "int64") % 2),
        T.xlogx.xlogy0(v, v + 1), T.trunc(v - 2.5), T.identity_like(m),
    ], on_unused_input="ignore")
    r = f(va, ma, 1, 2, 3, 4)
    np.testing.assert_array_equal(r[0], np.roll(va, 2))
    np.testing.assert_array_equal(r[1], np.roll(ma, -1, axis=1))
    np.testing.assert_array_equal(r[2], np.roll(ma, 1))
    np.testing.assert_array_equal(r[3], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(r[4], ma.argmax(axis=1))
    np.testing.assert_allclose(r[5], np.sqrt((ma ** 2).sum()))
    np.testing.assert_allclose(r[6], np.abs(ma).sum(axis=0))
    want = ma.copy()
    np.fill_diagonal(want, 7.0)
    np.testing.assert_array_equal(r[7], want)
    np.testing.assert_array_equal(r[8], np.eye(5))
    np.testing.assert_array_equal(r[9], np.bincount(va.astype(int) % 2))
    np.testing.assert_allclose(r[10], np.where(va == 0, 0, va * np.log(va + 1)))
    np.testing.assert_array_equal(r[11], np.trunc(va - 2.5))
    np.testing.assert_array_equal(r[12], np.eye(2, 3))
    g0, g1 = T.mgrid[0:3, 0:2]
    o0, o1 = T.ogrid[0:3, 0:2]
    np.testing.assert_array_equal(g0.eval(), np.mgrid[0:3, 0:2][0])
    np.testing.assert_array_equal(g1.eval(), np.mgrid[0:3, 0:2][1])
    assert o0.eval().shape == (3, 1) and o1.eval().shape == (1, 2)


def test_nnet_extras():
    x, t = T.dvectors("x", "t")
    vx, vt = np.array([-40.0, -1.0, 0.5, 40.0]), np.array([1.0, 0.0, 1.0, 0.0])
    got = theano.function([x, t], T.nnet.sigmoid_binary_crossentropy(x, t))(vx, vt)
    # -(t log p + (1 - t) log(1 - p)) with p = sigmoid(x), in logaddexp form (finite at |x| = 40)
    np.testing.assert_allclose(got, vt * np.logaddexp(0, -vx) + (1 - vt) * np.logaddexp(0, vx), rtol=1e-12)
    m, y = T.dmatrix("m"), T.lvector("y")
    nll, sm = theano.function([m, y], T.nnet.crossentropy_softmax_1hot(m, y))(np.eye(3), [0, 2, 1])
    e = np.exp(np.eye(3))
    np.testing.assert_allclose(sm, e / e.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(nll, -np.log(sm[[0, 1, 2], [0, 2, 1]]))
    from egopt.tensor.nnet import bn
    out = bn.batch_normalization(m, 2.0, 1.0, m.mean(axis=0), m.std(axis=0) + 1).eval({m: np.eye(3)})
    ref = (np.eye(3) - np.eye(3).mean(axis=0)) * (2.0 / (np.eye(3).std(axis=0) + 1)) + 1.0
    np.testing.assert_allclose(out, ref)


# ---- types, config, graphs, modes, gradients ---------------------------------------------------------

def test_tensortype_with_broadcastable_and_called_to_make_variables():
    dtensor5 = T.TensorType("float64", (False,) * 5)
    x = dtensor5("x")
    assert x.ndim == 5 and x.name == "x"
    r = T.TensorType(dtype="int32", broadcastable=(True, False))()
    assert r.type.shape == (1, None) and r.dtype == "int32"
    assert T.TensorType("float32", shape=(2, None)).value_zeros((2, 3)).dtype == np.float32
    assert T.dtensor5().ndim == 5 and T.ftensor6().dtype == "float32"


def test_theano_flags_without_an_effect_are_accepted():
    theano.config.warn.subtensor_merge_bug = False
    assert theano.config.warn.subtensor_merge_bug is False
    with theano.config.change_flags(optimizer_verbose=True):
        assert theano.config.optimizer_verbose is True
    assert theano.config.optimizer_verbose is False
    assert isinstance(theano.config.blas.ldflags, str)
    with pytest.raises(AttributeError, match="no setting 'not_a_flag'"):
        theano.config.not_a_flag = 1


def test_top_level_names_and_module_paths():
    x, y = T.dmatrices("x", "y")
    a = RNG.randn(2, 2)
    np.testing.assert_allclose(theano.function([x], theano.dot(x, x))(a), a @ a)
    z = theano.clone(x * 2 + 1, replace={x: y})
    np.testing.assert_allclose(theano.function([y], z)(a), a * 2 + 1)
    assert theano.clone_replace([x * 2], {x: y})[0].owner.inputs[0] is y
    assert theano.scalar.upcast("float32", "int64") == "float64"
    f = theano.function([x], T.exp(x) + x.T)
    assert any(isinstance(n.op, T.Elemwise) for n in f.maker.fgraph.toposort()) \
        or f.maker.fgraph.toposort() == []
    assert not isinstance(T.sum(x).owner.op, T.Elemwise) and isinstance(T.sum(x).owner.op, T.CAReduce)
    assert isinstance(x.T.owner.op, T.DimShuffle)
    for mod in ("egopt.tensor.basic", "egopt.tensor.type", "egopt.tensor.var", "egopt.tensor.elemwise",
                "egopt.tensor.nlinalg", "egopt.tensor.slinalg", "egopt.tensor.linalg", "egopt.compile.mode",
                "egopt.compile.function", "egopt.compile.sharedvalue", "egopt.compile.debugmode",
                "egopt.compile.ops", "egopt.compile.builders", "egopt.graph.basic", "egopt.gof.graph",
                "egopt.tensor.nnet.conv", "egopt.tensor.nnet.bn", "egopt.compile.debug", "egopt.tensor.shape",
                "egopt.tensor.sort", "egopt.tensor.subtensor", "egopt.tensor.random.basic", "egopt.tensor.math"):
        importlib.import_module(mod)
    # modules named like a function of their package stay callable as that function
    v = T.dvector("v")
    assert T.shape(v).eval({v: [1.0, 2.0]}).tolist() == [2]
    assert T.sort(v).eval({v: [2.0, 1.0]}).tolist() == [1.0, 2.0]
    assert float(T.var(v).eval({v: [1.0, 3.0]})) == 1.0
    from egopt.gof.graph import inputs
    assert set(map(id, inputs([x * y]))) == {id(x), id(y)}
    from egopt.tensor.type import TensorType, dmatrix
    assert dmatrix().type == TensorType("float64", (None, None))
    with pytest.raises(ImportError, match="no sparse tensors"):
        importlib.import_module("egopt.sparse")


def test_modes_from_theano_code():
    m = theano.compile.mode.get_default_mode().including("fast_run").excluding("fusion", "inplace")
    x = T.dvector("x")
    f = theano.function([x], x * 2, mode=m)
    np.testing.assert_array_equal(f([1.0, 2.0]), [2.0, 4.0])
    g = theano.function([x], x * 2, mode=theano.compile.debugmode.DebugMode(check_c_code=False))
    np.testing.assert_array_equal(g([1.0]), [2.0])
    assert theano.Mode(optimizer="default").optimizer == "egraph"


def test_pytensor_gradient_names():
    from egopt.gradient import hessian_vector_product, pullback, pushforward
    W, V = T.dmatrices("W", "V")
    x, v = T.dvectors("x", "v")
    y = T.dot(x, W)
    w, vv, xv = RNG.randn(2, 2), RNG.randn(2, 2), RNG.randn(2)
    jv = theano.function([W, V, x], pushforward(y, W, V))(w, vv, xv)
    np.testing.assert_allclose(jv, xv @ vv)
    vj = theano.function([W, v, x], pullback(y, W, v), on_unused_input="ignore")(w, xv, xv)
    np.testing.assert_allclose(vj, np.outer(xv, xv))
    cost = T.sum(x ** 3)
    hv = theano.function([x, v], hessian_vector_product(cost, x, v))(xv, xv)
    np.testing.assert_allclose(hv, 6 * xv * xv)


def test_input_shorthands_and_monitor_mode():
    u, x, s = T.dscalars("u", "x", "s")
    fn = theano.function([u, x, ((s, s + u * x), 10.0)], [])
    fn(1, 2)
    fn(3, 1)
    assert fn[s] == 15.0
    g = theano.function([x, (u, 4.0)], x * u)
    assert float(g(2.0)) == 8.0
    seen = []

    def post(i, node, fn):
        seen.append((i, node.op.name, [float(c[0]) for c in fn.inputs], [float(c[0]) for c in fn.outputs]))

    mode = theano.compile.MonitorMode(post_func=post).excluding("local_elemwise_fusion", "inplace")
    f = theano.function([x], 5 * x, mode=mode)
    f(3.0)
    assert seen == [(0, "mul", [5.0, 3.0], [15.0])]


def test_random_names_from_theano_and_pytensor():
    import egopt.tensor as pt
    from egopt.tensor.random.utils import RandomStream
    srng = RandomStream(seed=7)
    n = 20000
    pv = np.tile([[0.2, 0.5, 0.3]], (n, 1))
    hot, ints, incl, bern = theano.function([], [srng.multinomial(pvals=pv), srng.integers(0, 3, size=(n,)),
                                                 srng.random_integers((n,), 2, 4), srng.bernoulli(0.3, size=(n,))])()
    assert (hot.sum(axis=1) == 1).all()
    np.testing.assert_allclose(hot.mean(axis=0), [0.2, 0.5, 0.3], atol=0.02)
    assert set(np.unique(ints)) == {0, 1, 2} and set(np.unique(incl)) == {2, 3, 4}
    assert abs(bern.mean() - 0.3) < 0.02
    pt.random.seed(3)
    draws = pt.random.normal(0.0, 1.0, size=(n,)).eval()
    assert draws.shape == (n,) and abs(draws.mean()) < 0.05 and abs(draws.std() - 1) < 0.05
    with pytest.raises(NotImplementedError, match="rng="):
        pt.random.normal(0, 1, rng=object())


@pytest.mark.parametrize("border_mode, subsample", [("valid", (1, 1)), ("full", (2, 2)), ("half", (1, 1)),
                                                     ((1, 2), (2, 1))])
def test_abstract_conv_gradients_are_the_gradients_of_conv2d(border_mode, subsample):
    """``conv2d_grad_wrt_inputs/weights`` and ``conv2d_transpose`` equal ``T.grad`` through ``conv2d``
    (whose VJPs tests/grad checks against finite differences)."""
    from egopt.tensor.nnet import abstract_conv
    x, w, g = T.tensor4("x"), T.tensor4("w"), T.tensor4("g")
    xv, wv = RNG.randn(2, 3, 7, 8), RNG.randn(4, 3, 3, 2)
    out = T.nnet.conv2d(x, w, border_mode=border_mode, subsample=subsample)
    gv = RNG.randn(*theano.function([x, w], out)(xv, wv).shape)
    gx, gw = theano.function([x, w, g], T.grad(T.sum(out * g), [x, w]))(xv, wv, gv)
    kw = dict(border_mode=border_mode, subsample=subsample)
    got_x = theano.function([w, g], abstract_conv.conv2d_grad_wrt_inputs(g, w, xv.shape, **kw))(wv, gv)
    got_w = theano.function([x, g], abstract_conv.conv2d_grad_wrt_weights(x, g, wv.shape, **kw))(xv, gv)
    got_t = theano.function([w, g], T.nnet.conv2d_transpose(g, w, xv.shape, border_mode=border_mode,
                                                            input_dilation=subsample))(wv, gv)
    np.testing.assert_allclose(got_x, gx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_w, gw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_t, gx, rtol=1e-10, atol=1e-12)


def test_more_numpy_names_against_numpy():
    a, b = RNG.randn(3, 4), RNG.randn(3, 4)
    y, x = RNG.randn(7), RNG.randn(7)
    x[0], y[1], x[2], y[2], x[3] = 0.0, 0.0, -1.0, 0.0, 0.0
    A, B = T.dmatrices("A", "B")
    Y, X = T.dvectors("Y", "X")
    pairs = [
        (T.allclose(A, A + 1e-12), np.allclose(a, a)), (T.broadcast_arrays(A, B[0])[1], np.broadcast_arrays(a, b[0])[1]),
        (T.take_along_axis(A, T.argsort(A, axis=1), 1), np.take_along_axis(a, np.argsort(a, axis=1), 1)),
        (T.dstack([A, B]), np.dstack([a, b])), (T.argwhere(T.gt(A, 0)), np.argwhere(a > 0)),
        (T.logspace(0, 2, 3), np.logspace(0, 2, 3)), (T.geomspace(1, 100, 3), np.geomspace(1, 100, 3)),
        (T.ptp(A, axis=0), np.ptp(a, axis=0)), (T.inner(A, B), np.inner(a, b)), (T.kron(A, B), np.kron(a, b)),
        (T.tri(3, 4, 1), np.tri(3, 4, 1)), (T.logaddexp(A, B * 300), np.logaddexp(a, b * 300)),
        (T.logical_xor(A, B), np.logical_xor(a, b)), (T.heaviside(X, 0.5), np.heaviside(x, 0.5)),
        (T.arctan2(Y, X), np.arctan2(y, x)), (T.median(A, axis=1), np.median(a, axis=1)), (T.median(A), np.median(a)),
        (T.diag(Y), np.diag(y)), (T.rad2deg(X), np.rad2deg(x)), (T.ravel(A), a.ravel()),
    ]
    got = theano.function([A, B, Y, X], [p for p, _ in pairs], on_unused_input="ignore")(a, b, y, x)
    for g, (_, want) in zip(got, pairs):
        assert np.shape(g) == np.shape(want)
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
    with np.errstate(all="ignore"):
        v = np.array([0.0, -1.0, 1.0, np.nan])
        np.testing.assert_array_equal(T.nan_to_num(T.log(X)).eval({X: v}), np.nan_to_num(np.log(v)))
    verify_grad(lambda u, w: T.arctan2(u, w), [np.array([0.5, -0.3, 2.0]), np.array([1.0, -2.0, -0.5])], rng=RNG)


def test_pytensor_paths_monitor_callbacks_and_scan_utils():
    from egopt.compile.debug.debugmode import DebugMode  # noqa: F401
    from egopt.compile.debug.nanguardmode import NanGuardMode  # noqa: F401
    seen = []
    x = T.dscalar("x")
    mode = theano.compile.MonitorMode(post_func=lambda fgraph, i, node, fn: seen.append(
        (type(fgraph).__name__, i, float(fn.outputs[0][0]))))
    theano.function([x], 5 * x, mode=mode)(3.0)
    assert seen == [("FunctionGraph", 0, 15.0)]
    assert theano.scan.utils.until is theano.scan_module.until
    from egopt.scan import until
    from egopt.scan.basic import scan
    v = T.dvector("v")
    out, _ = scan(lambda a: (a * 2, until(a > 1)), sequences=v)
    np.testing.assert_array_equal(theano.function([v], out)([0.5, 2.0, 3.0]), [1.0, 4.0])
    out2, _ = theano.scan(lambda a: a + 1, sequences=v)       # the module is still the function
    np.testing.assert_array_equal(theano.function([v], out2)([1.0]), [2.0])
    assert until is theano.scan_module.until


def test_theano_softmax_of_a_vector_is_a_row():
    """Theano's ``Softmax`` op padded a vector to a one-row matrix (the RNN-SLU tutorial reads
    ``s[:, 0, :]`` after a scan over ``softmax(vector)``); PyTensor's softmax keeps the ndim."""
    v = T.dvector("v")
    vv = np.array([1.0, 2.0, 0.5])
    e = np.exp(vv - vv.max())
    row, lrow, flat = theano.function([v], [T.nnet.softmax(v), T.nnet.logsoftmax(v), T.special.softmax(v)])(vv)
    assert row.shape == (1, 3) and lrow.shape == (1, 3) and flat.shape == (3,)
    np.testing.assert_allclose(row[0], e / e.sum())
    np.testing.assert_allclose(lrow[0], np.log(e / e.sum()))
    np.testing.assert_allclose(flat, e / e.sum())
    assert T.nnet.softmax(v, axis=0).ndim == 1 and T.softmax(v).ndim == 1


def test_if_not_w_idiom_and_conditions():
    """``if not W: W = shared(...)`` (the dA / SdA tutorials) works: a variable is truthy, as in
    Theano; a comparison's truth is unknown while building and raises."""
    W = theano.shared(np.zeros((2, 2)), name="W")
    assert bool(W) and bool(T.dmatrix() * 2)
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="truth value of a symbolic condition"):
        if x > 0:
            pass
    with pytest.raises(TypeError, match="truth value"):
        bool(0 < x < 1)


def _np_neibs(v, h, w, sh, sw):
    return np.array([v[b, c, i:i + h, j:j + w].ravel() for b in range(v.shape[0]) for c in range(v.shape[1])
                     for i in range(0, v.shape[2] - h + 1, sh) for j in range(0, v.shape[3] - w + 1, sw)])


@pytest.mark.parametrize("h, w, sh, sw", [(2, 2, 2, 2), (3, 2, 1, 2), (2, 4, 2, 1)])
def test_images2neibs_against_loops(h, w, sh, sw):
    from egopt.tensor.nnet.neighbours import images2neibs, neibs2images
    x = T.tensor4("x")
    v = RNG.randn(2, 3, 6, 8)
    np.testing.assert_array_equal(theano.function([x], images2neibs(x, (h, w), (sh, sw)))(v),
                                  _np_neibs(v, h, w, sh, sw))
    back = theano.function([x], neibs2images(images2neibs(x, (2, 2)), (2, 2), x.shape))(v)
    np.testing.assert_array_equal(back, v)
    verify_grad(lambda t: images2neibs(t, (h, w), (sh, sw)) ** 2, [RNG.randn(1, 2, 6, 8)], rng=RNG)


def test_batch_normalization_train_and_test():
    from egopt.tensor.nnet import bn
    x = T.tensor4("x")
    v = RNG.randn(5, 3, 4, 2)
    g, b = RNG.rand(1, 3, 1, 1) + 0.5, RNG.randn(1, 3, 1, 1)
    rm, rv = T.dtensor4("rm"), T.dtensor4("rv")
    out, mean, invstd, new_m, new_v = bn.batch_normalization_train(x, g, b, "spatial", 1e-4, 0.1, rm, rv)
    f = theano.function([x, rm, rv], [out, mean, invstd, new_m, new_v])
    zeros, ones = np.zeros((1, 3, 1, 1)), np.ones((1, 3, 1, 1))
    o, m, s, nm, nv = f(v, zeros, ones)
    mu, var = v.mean(axis=(0, 2, 3), keepdims=True), v.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(o, (v - mu) / np.sqrt(var + 1e-4) * g + b, rtol=1e-10)
    np.testing.assert_allclose(m, mu)
    np.testing.assert_allclose(s, 1 / np.sqrt(var + 1e-4))
    np.testing.assert_allclose(nm, 0.1 * mu)
    np.testing.assert_allclose(nv, 0.9 + 0.1 * v.var(axis=(0, 2, 3), ddof=1, keepdims=True))
    t = theano.function([x], bn.batch_normalization_test(x, g, b, mu, var, "spatial"))(v)
    np.testing.assert_allclose(t, (v - mu) / np.sqrt(var + 1e-4) * g + b, rtol=1e-10)


def test_dict_of_outputs_gives_a_dict():
    import pickle
    x = T.dscalar("x")
    s = theano.shared(0.0)
    f = theano.function([x], {"double": x * 2, "triple": x * 3}, updates=[(s, s + x)])
    assert {k: float(v) for k, v in f(1.0).items()} == {"double": 2.0, "triple": 3.0}
    assert float(f(x=2.0)["triple"]) == 6.0 and s.get_value() == 3.0
    g = pickle.loads(pickle.dumps(f))
    assert float(g(5.0)["double"]) == 10.0


def test_pytensor_dprint_rewrite_graph_and_constants(capsys):
    import egopt.tensor as pt
    from egopt.graph import rewrite_graph
    x = pt.dvector("x")
    y = pt.log(1 + x)
    y.dprint(print_type=True)
    assert "log" in capsys.readouterr().out
    stable = rewrite_graph(y, include=("stabilize",))
    assert stable.owner.op.name == "log1p"
    np.testing.assert_allclose(stable.eval({x: [1e-20, 1.0]}), np.log1p([1e-20, 1.0]), rtol=1e-15)
    theano.function([x], y).dprint(print_destroy_map=True)
    assert "log1p" in capsys.readouterr().out
    assert pt.pi == np.pi and pt.e == np.e


def test_rewrite_graph_result_can_be_differentiated_and_eval_by_name():
    import egopt.tensor as pt
    from egopt.gradient import pullback
    from egopt.graph.rewriting.utils import rewrite_graph
    X, y, w = pt.dmatrix("X"), pt.dvector("y"), pt.dvector("w")
    p = pt.sigmoid(X @ w)
    loss = -pt.mean(y * pt.log(p) + (1 - y) * pt.log(1 - p))
    stable = rewrite_graph(loss, include=("canonicalize", "stabilize"))
    assert all(n.op.name not in ("fused_elemwise", "fused_reduce", "gemm")
               for n in theano.lang.toposort([stable]))
    xv, yv, wv = RNG.randn(6, 3), (RNG.rand(6) > 0.5).astype(float), RNG.randn(3)
    g_stable, g_plain = theano.function([X, y, w], [T.grad(stable, w), T.grad(loss, w)])(xv, yv, wv)
    np.testing.assert_allclose(g_stable, g_plain, rtol=1e-10)
    np.testing.assert_allclose(stable.eval({"X": xv, "y": yv, "w": wv}), loss.eval({X: xv, y: yv, w: wv}))
    with pytest.raises(TypeError, match="no input of .* is named 'z'"):
        loss.eval({"z": 1.0})
    v = pt.dvector("v")
    vjp = pullback(pt.log(w), wrt=w, cotangents=v)
    np.testing.assert_allclose(vjp.eval({"w": [1.0, 2.0], "v": [4.0, 5.0]}), [4.0, 2.5])
    J = T.jacobian(pt.cumsum(w), w, vectorize=True)
    np.testing.assert_array_equal(J.eval({w: [1.0, 2.0, 3.0]}), np.tril(np.ones((3, 3))))


def test_round_modes():
    x = T.dvector("x")
    v = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.3, -0.7])
    even, away, meth = theano.function([x], [T.round(x), T.round(x, mode="half_away_from_zero"),
                                             x.round(mode="half_away_from_zero")])(v)
    np.testing.assert_array_equal(even, np.round(v))
    np.testing.assert_array_equal(away, np.sign(v) * np.floor(np.abs(v) + 0.5))
    np.testing.assert_array_equal(meth, away)
    with pytest.raises(ValueError, match="mode"):
        T.round(x, mode="up")


def test_shared_numpy_generator_says_to_use_a_random_stream():
    with pytest.raises(TypeError, match="RandomStream"):
        theano.shared(np.random.default_rng(1))


def test_pool_2d_default_ignore_border_is_theanos():
    """Theano's pool_2d without ignore_border pooled the partial window at the edge (and warned)."""
    x = T.tensor4("x")
    v = np.arange(50.0).reshape(1, 2, 5, 5)
    with pytest.warns(UserWarning, match="ignore_border not given"):
        out = T.signal.pool.pool_2d(x, (2, 2))
    got = theano.function([x], out)(v)
    assert got.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(got[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


def test_pytensor_op_with_l_op():
    from egopt.graph.basic import Apply
    from egopt.graph.op import Op

    class Exp(Op):
        __props__ = ()

        def make_node(self, x):
            x = T.as_tensor_variable(x)
            return Apply(self, [x], [x.type()])

        def perform(self, node, inputs, output_storage):
            output_storage[0][0] = np.exp(inputs[0])

        def L_op(self, inputs, outputs, output_grads):
            return [output_grads[0] * outputs[0]]      # d exp = exp: reuses the output

    v = RNG.randn(4)
    x = T.dvector("x")
    np.testing.assert_allclose(theano.function([x], Exp()(x))(v), np.exp(v))
    verify_grad(lambda a: Exp()(a) * a, [v], rng=RNG)


def test_function_with_in_update_refuses_to_pickle():
    import pickle
    x, s = T.dscalars("x", "s")
    f = theano.function([x, theano.In(s, update=s + x, value=0.0)], s)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(f)


def test_where_with_the_condition_alone_is_nonzero():
    x = T.dvector("x")
    v = np.array([1.0, 2.0, 3.0, 0.5])
    (idx,) = theano.function([x], list(T.where(x > 1)))(v)
    np.testing.assert_array_equal(idx, np.where(v > 1)[0])
    np.testing.assert_array_equal(T.where(x > 1, x, 0.0).eval({x: v}), np.where(v > 1, v, 0.0))
    from egopt.tensor.nnet.nnet import softmax  # noqa: F401
    assert theano.tensor.nnet.nnet.sigmoid is T.nnet.sigmoid


def test_detect_nan_monitor_and_debugprint_of_a_node(capsys):
    from egopt.compile.monitormode import detect_nan
    x = T.dscalar("x")
    f = theano.function([x], [T.log(x) * x], mode=theano.compile.MonitorMode(post_func=detect_nan))
    f(1.0)
    assert "NaN" not in capsys.readouterr().out
    f(0.0)
    out = capsys.readouterr().out
    assert "*** NaN detected ***" in out and "Outputs: [array(nan)]" in out
    theano.printing.debugprint((x * 2).owner)
    assert "mul" in capsys.readouterr().out
    assert x.transfer("cpu") is x


def test_copy_random_state_from_the_tutorial():
    from egopt.sandbox.rng_mrg import MRG_RandomStreams
    from egopt.tensor.shared_randomstreams import RandomStreams

    class Graph:
        def __init__(self, seed=123):
            self.rng = RandomStreams(seed)
            self.y = self.rng.uniform(size=(1,))

    g1, g2 = Graph(seed=123), Graph(seed=987)
    f1, f2 = theano.function([], g1.y), theano.function([], g2.y)
    assert f1()[0] != f2()[0]

    def copy_random_state(g1, g2):
        if isinstance(g1.rng, MRG_RandomStreams):
            g2.rng.rstate = g1.rng.rstate
        for (su1, su2) in zip(g1.rng.state_updates, g2.rng.state_updates):
            su2[0].set_value(su1[0].get_value())

    copy_random_state(g1, g2)
    assert f1()[0] == f2()[0]
    assert g1.rng.uniform(size=(1,)).eval()[0] == g2.rng.uniform(size=(1,)).eval()[0]   # new draws too


@pytest.mark.parametrize("n", [6, 7])
@pytest.mark.parametrize("norm", [None, "ortho", "no_norm"])
def test_fft_rfft_irfft_against_numpy(n, norm):
    """Theano's library example: ``fft.rfft(x, norm='ortho')`` then ``fft.irfft``; half spectra as
    (..., k, 2); gradients by finite differences."""
    from egopt.tensor import fft
    x = T.matrix("x", dtype="float64")
    v = RNG.randn(3, n)
    spec, back = theano.function([x], [fft.rfft(x, norm=norm),
                                       fft.irfft(fft.rfft(x, norm=norm), norm=norm, is_odd=n % 2 == 1)])(v)
    ref = np.fft.rfft(v, axis=1, norm="ortho" if norm == "ortho" else None)
    np.testing.assert_allclose(spec, np.stack([ref.real, ref.imag], axis=-1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(back, v * n if norm == "no_norm" else v, rtol=1e-10, atol=1e-12)
    verify_grad(lambda a: fft.rfft(a, norm=norm) ** 2, [v], rng=RNG)
    verify_grad(lambda z: fft.irfft(z, norm=norm, is_odd=n % 2 == 1), [RNG.randn(3, n // 2 + 1, 2)], rng=RNG)


def _np_conv_valid(img, f):
    fr = f[::-1, ::-1]
    h, w = f.shape
    return np.array([[(img[i:i + h, j:j + w] * fr).sum() for j in range(img.shape[1] - w + 1)]
                     for i in range(img.shape[0] - h + 1)])


def test_signal_conv2d_of_images_without_channels():
    from egopt.tensor.signal import conv
    x2, x3, f2, f3 = T.dmatrix(), T.tensor3(), T.dmatrix(), T.tensor3()
    a2, a3, b2, b3 = RNG.randn(5, 6), RNG.randn(2, 5, 6), RNG.randn(2, 3), RNG.randn(4, 2, 3)
    r = theano.function([x2, x3, f2, f3], [conv.conv2d(x2, f2), conv.conv2d(x3, f2), conv.conv2d(x2, f3),
                                            conv.conv2d(x3, f3)])(a2, a3, b2, b3)
    assert [o.shape for o in r] == [(4, 4), (2, 4, 4), (4, 4, 4), (2, 4, 4, 4)]
    np.testing.assert_allclose(r[0], _np_conv_valid(a2, b2))
    np.testing.assert_allclose(r[1][1], _np_conv_valid(a3[1], b2))
    np.testing.assert_allclose(r[2][3], _np_conv_valid(a2, b3[3]))
    np.testing.assert_allclose(r[3][1, 2], _np_conv_valid(a3[1], b3[2]))


def test_unique_and_theano_unique_op():
    from egopt.tensor.extra_ops import Unique
    x = T.lvector("x")
    v = np.array([3, 1, 3, 2, 1, 1])
    vals, idx, inv, cnt = theano.function([x], list(T.unique(x, True, True, True)))(v)
    ref = np.unique(v, return_index=True, return_inverse=True, return_counts=True)
    for got, want in zip((vals, idx, inv, cnt), ref):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(Unique()(x).eval({x: v}), [1, 2, 3])


def test_compute_test_value_raise_through_scan_and_compile():
    """Theano's debugging flow: with compute_test_value='raise', scan bodies get the test values of
    their first step (a shape error inside the body is reported where it is built), gradients and
    compiling work (the optimizer builds its own graphs without test values)."""
    W = theano.shared(np.ones((2, 4)))
    with theano.config.change_flags(compute_test_value="raise"):
        x = T.dmatrix("x")
        x.tag.test_value = np.ones((3, 2))
        h = T.tanh(T.dot(x, W))
        r, _ = theano.scan(lambda row, acc: acc + T.dot(row, W.T), sequences=h, outputs_info=T.zeros_like(x[0]))
        r2, _ = theano.scan(lambda a, b, prev: prev + a - b, sequences=dict(input=h, taps=[-1, 0]),
                            outputs_info=dict(initial=T.zeros((2, 4)), taps=[-2]))
        assert r.tag.test_value.shape == (3, 2) and r2.tag.test_value.shape == (2, 4)
        f = theano.function([x], [r, r2, T.grad(r.sum() + r2.sum(), x)])
        xv = RNG.randn(3, 2)
        out, out2, g = f(xv)
        hv = np.tanh(xv @ W.get_value())
        np.testing.assert_allclose(out, np.cumsum(hv @ W.get_value().T, axis=0))
        assert out2.shape == (2, 4) and g.shape == (3, 2)
        with pytest.raises(theano.lang.ShapeError, match="test value"):
            theano.scan(lambda row: T.dot(row, W), sequences=h)
