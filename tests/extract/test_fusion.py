"""Fusion survives decode: elementwise regions become one fused node, reductions take their
elementwise body, dot plus a scaled add becomes gemm; every result equals the unoptimized
NumPy run (FAST_COMPILE), in float64 and float32."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.extract.fusion import recompute_or_store
from egopt.lang import OpRuntimeError
from egopt.lang.fused import FusedBody
from egopt.lang.graph import toposort
from egopt.printing import pp

RNG = np.random.default_rng(0)


def nodes(f):
    return toposort(f.graph_outputs(), stop=f.input_vars + f.shared_vars)


def computed_ops(f):
    """Every op the compiled graph computes, those inside fused nodes included."""
    out = []
    for n in nodes(f):
        if "body" in n.params:
            out += n.params["body"].op_names() + ([n.params["reduce"]] if "reduce" in n.params else [])
        else:
            out.append(n.op.name)
    return out


def compile_both(inputs, outputs):
    f = egopt.function(inputs, outputs, mode="FAST_RUN")
    ref = egopt.function(inputs, outputs, mode="FAST_COMPILE")
    assert f.optimization_report().outcome == "optimized", f.optimization_report()
    return f, ref


def assert_same(f, ref, values, dtype):
    got, want = f(*values), ref(*values)
    got, want = (got, want) if isinstance(got, list) else ([got], [want])
    eps = np.finfo(dtype).eps
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=8 * eps, atol=8 * eps)


def data(shape, dtype, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_w1_chain_is_one_fused_node(dtype):
    x, y, z = (T.tensor(dtype=dtype, shape=(None,), name=n) for n in "xyz")
    out = T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2)
    f, ref = compile_both([x, y, z], out)
    assert [n.op.name for n in nodes(f)] == ["fused_elemwise"]
    ops = computed_ops(f)
    assert {"exp", "sin", "log1p", "abs"} <= set(ops)
    assert_same(f, ref, [data(50, dtype) for _ in range(3)], dtype)
    rep = f.optimization_report()
    assert rep.nodes_out == 1 and rep.cost_after < rep.cost_before


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_node_broadcasts(dtype):
    m = T.tensor(dtype=dtype, shape=(None, None), name="m")
    row = T.tensor(dtype=dtype, shape=(1, None), name="row")
    s = T.tensor(dtype=dtype, shape=(), name="s")
    out = T.tanh(m * row + s) * T.exp(row) - s
    f, ref = compile_both([m, row, s], out)
    assert [n.op.name for n in nodes(f)] == ["fused_elemwise"]
    assert_same(f, ref, [data((4, 3), dtype), data((1, 3), dtype), data((), dtype)], dtype)


def test_mixed_dtypes_keep_numpy_casting():
    i = T.tensor(dtype="int32", shape=(None,), name="i")
    x = T.tensor(dtype="float32", shape=(None,), name="x")
    out = T.exp(i * 2 + x) / 3          # int32 + float32 -> float64, as NumPy
    f, ref = compile_both([i, x], out)
    assert f.graph_outputs()[0].dtype == "float64"
    assert [n.op.name for n in nodes(f)] == ["fused_elemwise"]
    assert_same(f, ref, [np.arange(-3, 3, dtype="int32"), data(6, "float32")], "float64")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduce", ["sum", "prod", "max", "min", "mean"])
@pytest.mark.parametrize("axis,keepdims", [(1, False), (0, True), (None, False), ((0, 1), True)])
def test_reduction_of_a_body_is_one_fused_reduce(reduce, axis, keepdims, dtype):
    x = T.tensor(dtype=dtype, shape=(None, None), name="x")
    y = T.tensor(dtype=dtype, shape=(None,), name="y")
    out = getattr(T, reduce)(T.exp(x) * y, axis=axis, keepdims=keepdims)
    f, ref = compile_both([x, y], out)
    (node,) = nodes(f)
    assert node.op.name == "fused_reduce" and node.params["reduce"] == reduce
    assert_same(f, ref, [data((5, 4), dtype, -1, 1), data(4, dtype, 0.5, 1.5)], dtype)


def test_sum_of_exp_times_y_axis1():
    x, y = T.dmatrix("x"), T.dvector("y")
    f, ref = compile_both([x, y], T.sum(T.exp(x) * y, axis=1))
    assert [n.op.name for n in nodes(f)] == ["fused_reduce"]
    assert pp(f.graph_outputs()[0]) == "fused_reduce{sum((exp(x) * y), axis=1)}"
    assert_same(f, ref, [data((6, 3), "float64"), data(3, "float64")], "float64")


def test_integer_mean_is_float64():
    i = T.tensor(dtype="int32", shape=(None, None), name="i")
    f, ref = compile_both([i], T.mean(i * 3 + 1, axis=0))
    assert [n.op.name for n in nodes(f)] == ["fused_reduce"]
    assert f.graph_outputs()[0].dtype == "float64"
    assert_same(f, ref, [np.arange(12, dtype="int32").reshape(3, 4)], "float64")


def test_expensive_shared_subterm_is_computed_once():
    x, y, z = T.dvectors("x", "y", "z")
    e = T.exp(T.sin(x))
    f, ref = compile_both([x, y, z], [e * y, T.log1p(e + z)])
    ops = computed_ops(f)
    assert ops.count("exp") == 1 and ops.count("sin") == 1
    assert_same(f, ref, [data(7, "float64") for _ in range(3)], "float64")


def test_cheap_shared_subterm_is_recomputed():
    x, y, m = T.dvector("x"), T.dvector("y"), T.dmatrix("m")
    a = abs(x)                    # read by regions of two shapes: no multi-output node
    f, ref = compile_both([x, y, m], [T.exp(a * y), T.sin(a + m)])
    assert [n.op.name for n in nodes(f)] == ["fused_elemwise", "fused_elemwise"]
    assert computed_ops(f).count("abs") == 2
    assert_same(f, ref, [data(7, "float64"), data(7, "float64"), data((2, 7), "float64")], "float64")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_outputs_of_one_shape_share_one_multi_output_node(dtype):
    W, m, v, g = (T.tensor(dtype=dtype, shape=(None,), name=n) for n in ("W", "m", "v", "g"))
    m2 = 0.9 * m + 0.1 * g                      # an Adam-like step: three results, one pass
    v2 = 0.999 * v + 0.001 * g * g
    W2 = W - 0.01 * m2 / (T.sqrt(v2) + 1e-8)
    f, ref = compile_both([W, m, v, g], [W2, m2, v2])
    (node,) = nodes(f)
    assert node.op.name == "fused_elemwise" and len(node.outputs) == 3
    assert computed_ops(f).count("sqrt") == 1
    assert_same(f, ref, [data(9, dtype, 0.1, 1) for _ in range(4)], dtype)


def test_a_shared_result_only_the_group_reads_is_not_stored():
    x, y, z = T.dvectors("x", "y", "z")
    e = T.exp(T.sin(x))
    f, ref = compile_both([x, y, z], [e * y, T.log1p(e + z)])
    (node,) = nodes(f)
    assert len(node.outputs) == 2               # e is computed inside, not written out
    assert computed_ops(f).count("exp") == 1
    assert_same(f, ref, [data(7, "float64") for _ in range(3)], "float64")


def test_no_multi_output_node_when_it_would_make_a_cycle():
    x, y = T.dvectors("x", "y")
    a = T.exp(x) * 2                            # a feeds a dot, whose result feeds b
    b = T.sin(x) + T.dot(a, y)
    f, ref = compile_both([x, y], [a, b])
    assert all(len(n.outputs) == 1 for n in nodes(f))
    assert_same(f, ref, [data(5, "float64"), data(5, "float64")], "float64")


def test_recompute_or_store_prices_traffic():
    # one flop read by two regions: recompute; a transcendental chain read by three: store
    assert not recompute_or_store(cone_cost=1 + 8, consumers=2, itemsize=8)
    assert recompute_or_store(cone_cost=40 + 8, consumers=3, itemsize=8)


def test_reduction_whose_input_is_also_an_output_is_not_fused():
    x = T.dvector("x")
    e = T.exp(x) * 2
    f, ref = compile_both([x], [e, T.sum(e)])
    assert computed_ops(f).count("exp") == 1
    assert "fused_reduce" not in [n.op.name for n in nodes(f)]
    assert_same(f, ref, [data(5, "float64")], "float64")


def test_single_op_stays_plain():
    A, x = T.dmatrix("A"), T.dvector("x")
    f = egopt.function([A, x], T.exp(T.dot(A, x)))
    assert [n.op.name for n in nodes(f)] == ["dot", "exp"]


def test_run_time_error_names_the_users_line():
    x, y = T.dvectors("x", "y")
    out = T.exp(x) * y + 1                       # the line the error must name
    f = egopt.function([x, y], out)
    assert [n.op.name for n in nodes(f)] == ["fused_elemwise"]
    with pytest.raises(OpRuntimeError) as e:
        f(np.ones(3), np.ones(4))
    assert "test_fusion.py" in str(e.value) and "out = T.exp(x) * y + 1" in str(e.value)
    with pytest.raises(OpRuntimeError, match="broadcastable"):
        f(np.ones(3), np.ones(1))                # size 1 where the type does not say so


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_training_step_update_is_gemm_with_a_transpose_flag(dtype):
    x, g, W = (T.tensor(dtype=dtype, shape=(None, None), name=n) for n in ("x", "g", "W"))
    f, ref = compile_both([x, g, W], W - 0.1 * T.dot(x.T, g))
    (node,) = nodes(f)
    assert node.op.name == "gemm"
    alpha = -float(np.asarray(0.1, dtype))     # the literal as the graph rounds it
    assert node.params == {"alpha": alpha, "beta": 1.0, "trans_a": True, "trans_b": False}
    assert node.inputs[0] is x                  # the stored operand, no transpose node
    assert_same(f, ref, [data((5, 3), dtype), data((5, 4), dtype), data((3, 4), dtype)], dtype)


def test_gemv_and_vector_times_matrix():
    A, v, u, c = T.dmatrix("A"), T.dvector("v"), T.dvector("u"), T.dvector("c")
    f, ref = compile_both([A, v, u, c], [c + 2.0 * T.dot(A, v), c - T.dot(u, A)])
    gemms = [n for n in nodes(f) if n.op.name == "gemm"]
    assert len(gemms) == 2
    assert {n.params["trans_a"] for n in gemms} == {False, True}   # u @ A = A.T @ u
    assert_same(f, ref, [data((4, 4), "float64"), data(4, "float64"), data(4, "float64"),
                         data(4, "float64")], "float64")


def test_integer_dot_plus_add_keeps_ordinary_ops():
    A, B, C = (T.tensor(dtype="int64", shape=(None, None), name=n) for n in "ABC")
    f, ref = compile_both([A, B, C], C + T.dot(A, B))
    assert "gemm" not in [n.op.name for n in nodes(f)]
    vals = [np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4), np.ones((2, 4), "int64")]
    np.testing.assert_array_equal(f(*vals), ref(*vals))


def test_fused_bodies_compare_by_structure_and_pickle():
    x, y = T.dvectors("x", "y")
    b1 = FusedBody.of([x, y], [T.exp(x) * y])
    b2 = FusedBody.of([x, y], [T.exp(x) * y])
    b3 = FusedBody.of([x, y], [T.exp(y) * x])
    assert b1 == b2 and hash(b1) == hash(b2) and b1 != b3
    assert pickle.loads(pickle.dumps(b1)) == b1
    f = egopt.function([x, y], T.exp(x) * y + 1)
    g = pickle.loads(pickle.dumps(f))
    v = [data(3, "float64"), data(3, "float64")]
    np.testing.assert_array_equal(f(*v), g(*v))


def test_debugprint_and_pp_show_the_body():
    x, y = T.dvectors("x", "y")
    f = egopt.function([x, y], T.exp(x) * y + 1)
    assert pp(f.graph_outputs()[0]) == "fused_elemwise{((exp(x) * y) + 1)}"
    text = egopt.printing.debugprint(f, file="str")
    assert text.startswith("fused_elemwise{body=FusedBody((x, y) -> ((exp(x) * y) + 1))}")
