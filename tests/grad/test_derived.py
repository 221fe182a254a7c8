"""Rop (forward mode), jacobian and hessian, against closed forms and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.grad import GradientError, Rop, hessian, jacobian, verify_grad
from egopt.lang.errors import DisconnectedInputError

MODE = "FAST_COMPILE"


def run(inputs, outputs, *values):
    return egopt.function(inputs, outputs, mode=MODE, on_unused_input="ignore")(*values)


def vec(n, name=None, dtype="float64"):
    return T.tensor(dtype, shape=(n,), name=name)


def test_rop_is_a_jacobian_vector_product():
    x, v = T.dvector("x"), T.dvector("v")
    y = T.sin(x) * x.sum()
    xv, vv = np.array([0.1, 0.4, -0.3]), np.array([1.0, -2.0, 0.5])
    J = np.diag(np.cos(xv) * xv.sum()) + np.sin(xv)[:, None]
    np.testing.assert_allclose(run([x, v], Rop(y, x, v), xv, vv), J @ vv, rtol=1e-12)


def test_rop_over_several_inputs_and_outputs():
    x, y = T.dvectors("x", "y")
    vx, vy = T.dvectors("vx", "vy")
    f1, f2 = x * y, T.exp(x).sum()
    r1, r2 = Rop([f1, f2], [x, y], [vx, vy])
    xv, yv, a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 1.0]), np.array([2.0, 0.0])
    got = run([x, y, vx, vy], [r1, r2], xv, yv, a, b)
    np.testing.assert_allclose(got[0], yv * a + xv * b)
    np.testing.assert_allclose(got[1], np.exp(xv) @ a)
    assert isinstance(Rop((f1,), x, vx), tuple)


def test_rop_result_does_not_mention_the_placeholder():
    x, v = T.dvector("x"), T.dvector("v")
    r = Rop(T.tanh(x) / x, x, v)
    f = egopt.function([x, v], r, mode=MODE)     # would raise MissingInputError on a stray u
    xv = np.array([0.5, 2.0])
    want = ((1 - np.tanh(xv) ** 2) * xv - np.tanh(xv)) / xv ** 2
    np.testing.assert_allclose(f(xv, np.ones(2)), want)


def test_rop_disconnected_output():
    x, y, v = T.dvector("x"), T.dvector("y"), T.dvector("v")
    with pytest.raises(DisconnectedInputError):
        Rop(T.exp(y), x, v)
    r = Rop(T.exp(y), x, v, disconnected_outputs="ignore")
    np.testing.assert_array_equal(run([y], r, np.ones(2)), [0.0, 0.0])


def test_rop_of_an_identity():
    x, v = T.dvector("x"), T.dvector("v")
    assert run([x, v], Rop(x, x, v), np.ones(2), np.array([3.0, 4.0])).tolist() == [3.0, 4.0]


def test_hessian_of_a_quadratic_form():
    x = vec(3, "x")
    A = T.dmatrix("A")
    cost = T.sum(x * T.sum(A * x, axis=1))       # x^T A x
    H = hessian(cost, x)
    assert H.type.shape == (3, 3)
    Av = np.random.default_rng(0).standard_normal((3, 3))
    np.testing.assert_allclose(run([x, A], H, np.array([1.0, -2.0, 0.5]), Av), Av + Av.T, rtol=1e-12)


def test_hessian_of_a_nonlinear_cost_against_finite_differences():
    x = vec(4, "x")
    cost = T.sum(T.exp(x) * T.sin(x)) + T.prod(x) + T.sum(x) ** 3
    H = egopt.function([x], hessian(cost, x), mode=MODE)
    g = egopt.function([x], egopt.grad(cost, x), mode=MODE)
    xv, eps = np.array([0.3, -0.2, 0.9, 1.1]), 1e-6
    fd = np.stack([(g(xv + eps * e) - g(xv - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H(xv), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H(xv), H(xv).T, rtol=1e-12)


def test_hessian_list_of_wrt():
    x, y = vec(2, "x"), T.dscalar("y")
    Hx, Hy = hessian((x ** 2).sum() * y ** 3, [x, y])
    got = run([x, y], [Hx, Hy], np.array([1.0, 2.0]), 2.0)
    np.testing.assert_allclose(got[0], 2 * 8 * np.eye(2))
    np.testing.assert_allclose(got[1], 5 * 6 * 2)


def test_jacobian_of_an_elementwise_op_is_diagonal():
    x = vec(4, "x")
    J = jacobian(T.tanh(x), x)
    xv = np.array([0.1, -0.5, 1.0, 2.0])
    np.testing.assert_allclose(run([x], J, xv), np.diag(1 - np.tanh(xv) ** 2), rtol=1e-12)


def test_jacobian_forward_mode_when_only_wrt_is_static():
    x = vec(3, "x")
    A = T.dmatrix("A")
    y = T.sum(A * x, axis=1)                    # y = A x, of unknown length
    J = jacobian(y, x)
    Av = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(run([x, A], J, np.ones(3), Av), Av)
    s = T.dscalar("s")
    np.testing.assert_allclose(run([s, A], jacobian(A * s ** 2, s), 3.0, Av), 6 * Av)


def test_jacobian_shapes_for_matrices():
    X = T.tensor("float64", shape=(2, 3), name="X")
    w = T.dvector("w")
    J = jacobian(X * w, [X, w])
    assert J[0].ndim == 4 and J[1].ndim == 3
    Xv, wv = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    got = run([X, w], J, Xv, wv)
    want_X = np.einsum("ik,jl->ijkl", np.eye(2), np.diag(wv))
    want_w = np.einsum("ij,jk->ijk", Xv, np.eye(3))
    np.testing.assert_allclose(got[0], want_X)
    np.testing.assert_allclose(got[1], want_w)


def test_jacobian_of_a_run_time_length_loops_with_scan():
    x = T.dvector("x")
    J = jacobian(T.exp(x) * x.sum(), x)
    assert any(n.op.name == "scan" for n in egopt.function([x], J).maker.fgraph.toposort())
    for xv in (np.array([0.5, -1.0, 2.0]), np.linspace(-1, 1, 7)):
        want = np.diag(np.exp(xv)) * xv.sum() + np.exp(xv)[:, None]
        np.testing.assert_allclose(run([x], J, xv), want, rtol=1e-12)


def test_hessian_of_a_200_element_function():
    x = T.tensor("float64", shape=(200,), name="x")
    H = hessian((T.sin(x) * x.sum()).sum(), x)      # f = S * sum(sin x), S = sum(x)
    xv = np.random.default_rng(3).normal(size=200)
    got = run([x], H, xv)
    c = np.cos(xv)
    want = -np.diag(np.sin(xv)) * xv.sum() + c[:, None] + c[None, :]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_jacobian_of_a_scalar_is_the_gradient():
    x = T.dvector("x")
    np.testing.assert_allclose(run([x], jacobian((x ** 2).sum(), x), np.array([1.0, 2.0])), [2.0, 4.0])


def test_jacobian_disconnected():
    x, y = vec(2, "x"), vec(2, "y")
    with pytest.raises(DisconnectedInputError):
        jacobian(T.exp(x), y)
    J = jacobian(T.exp(x), y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(run([x, y], J, np.ones(2), np.ones(2)), np.zeros((2, 2)))


def test_verify_grad_rejects_integer_points_and_lists():
    with pytest.raises(TypeError, match="float"):
        verify_grad(lambda x: x * 2, [np.array([1, 2])])
    with pytest.raises(TypeError, match="single"):
        verify_grad(lambda x: [x, x], [np.array([1.0])], mode=MODE)


def test_verify_grad_directional_check_for_large_inputs():
    x = np.random.default_rng(0).standard_normal((20, 10))
    verify_grad(lambda a: T.tanh(a).sum(axis=0) * 2, [x], mode=MODE)
    bad = egopt.lang.Op("bad_tanh", egopt.lang.get_op("tanh").infer, egopt.lang.get_op("tanh").perform,
                        lambda node, g: [g * 0.9 * (1 - node.outputs[0] ** 2)])
    with pytest.raises(GradientError, match="random direction"):
        verify_grad(lambda a: bad(a), [x], mode=MODE)


def test_verify_grad_in_the_default_mode():
    verify_grad(lambda a, b: (T.exp(a) * b).sum() / (1 + b ** 2).sum(),
                [np.array([0.1, 0.2]), np.array([1.0, -2.0])])
