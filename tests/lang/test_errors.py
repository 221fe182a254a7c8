"""Errors point at the user's code: op, shapes, dtypes and the source line (DESIGN.md decision 10)."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import config
from egopt.lang.errors import EgoptError, OpRuntimeError, ShapeError


@pytest.fixture(params=["FAST_COMPILE", "FAST_RUN"])
def mode(request):
    return request.param


# ---- test values (compute_test_value) ------------------------------------------------------------------

def test_test_values_flow_through_construction():
    with config.change_flags(compute_test_value="raise"):
        x = T.dmatrix("x")
        x.tag.test_value = np.ones((3, 4))
        w = egopt.shared(np.full((3, 4), 2.0))
        h = T.exp(x) * w + 1
        s = h.sum(axis=0)
    np.testing.assert_allclose(h.tag.test_value, np.exp(1.0) * 2 + 1)
    assert s.tag.test_value.shape == (4,)


def test_test_value_shape_error_names_op_shapes_and_line():
    with config.change_flags(compute_test_value="raise"):
        x = T.dmatrix("x")
        x.tag.test_value = np.ones((3, 4))
        y = T.dmatrix("y")
        y.tag.test_value = np.ones((5, 4))
        with pytest.raises(ShapeError) as e:
            z = x + y   # noqa: F841  (the line the error must point at)
    msg = str(e.value)
    assert msg.startswith("test value: add(matrix[float64](?, ?), matrix[float64](?, ?))")
    assert "(3, 4) float64" in msg and "(5, 4) float64" in msg
    assert "test_errors.py:" in msg and "z = x + y" in msg


def test_test_value_of_size_1_on_an_unbroadcastable_axis_raises_as_a_call_would():
    """x[1:][1:] of a length-3 x has length 1 but is not typed broadcastable: x + it fails at
    run time on both linkers, so its test value must fail too (NumPy alone would broadcast)."""
    with config.change_flags(compute_test_value="raise"):
        x = T.dvector("x")
        x.tag.test_value = np.zeros(3)
        tail = x[1:][1:]
        with pytest.raises(ShapeError, match="input 1 has size 1 on axis 0"):
            x + tail
        r = T.row("r")
        r.tag.test_value = np.zeros((1, 3))
        assert (x + r).tag.test_value.shape == (1, 3)      # a broadcastable axis broadcasts
    f = egopt.function([x], x + tail)
    with pytest.raises(egopt.lang.errors.OpRuntimeError, match="does not mark that axis broadcastable"):
        f(np.zeros(3))


def test_missing_test_value_raise_warn_off():
    x = T.dvector("x")                       # no test value
    with config.change_flags(compute_test_value="raise"):
        with pytest.raises(EgoptError, match="x has no test value"):
            T.exp(x)
    with config.change_flags(compute_test_value="warn"):
        with pytest.warns(UserWarning, match="x has no test value"):
            y = T.exp(x)
    assert not hasattr(y.tag, "test_value")
    x.tag.test_value = np.zeros(2)
    assert not hasattr(T.exp(x).tag, "test_value")          # 'off' computes nothing


# ---- build-time type errors ----------------------------------------------------------------------------------

def test_static_shape_error_at_build_time():
    a = T.tensor("float64", shape=(3,), name="a")
    b = T.tensor("float64", shape=(4,), name="b")
    with pytest.raises(ShapeError) as e:
        a * b   # static sizes conflict
    msg = str(e.value)
    assert msg.startswith("mul(vector[float64](3), vector[float64](4))")
    assert "do not broadcast" in msg and "a * b   # static sizes conflict" in msg


# ---- run-time errors -------------------------------------------------------------------------------------------

def test_runtime_shape_error_names_op_shapes_dtypes_and_line(mode):
    x = T.dvector("x")
    y = T.dvector("y")
    z = x + y   # built here
    f = egopt.function([x, y], z * 2, mode=mode)
    with pytest.raises(OpRuntimeError) as e:
        f(np.ones(3), np.ones(4))
    msg = str(e.value)
    assert msg.startswith("add(vector[float64](?), vector[float64](?))")
    assert "(3,) float64" in msg and "(4,) float64" in msg
    assert "test_errors.py:" in msg and "z = x + y   # built here" in msg


def test_runtime_broadcast_of_unknown_axis_is_refused(mode):
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    d = x - y   # y is typed (?, ?): its axis 0 may not broadcast
    f = egopt.function([x, y], d, mode=mode)
    with pytest.raises(OpRuntimeError, match="broadcastable") as e:
        f(np.ones((2, 3)), np.ones((1, 3)))
    assert "d = x - y   # y is typed" in str(e.value)
    row = T.drow("row")
    g = egopt.function([x, row], x - row, mode=mode)     # a static size 1 broadcasts
    np.testing.assert_array_equal(g(np.ones((2, 3)), np.ones((1, 3))), np.zeros((2, 3)))


def test_runtime_dot_mismatch_names_op_and_line():
    a = T.dmatrix("a")
    b = T.dmatrix("b")
    c = T.dot(a, b)   # the dot
    f = egopt.function([a, b], c, mode="FAST_COMPILE")
    with pytest.raises(OpRuntimeError) as e:
        f(np.ones((2, 3)), np.ones((4, 5)))
    msg = str(e.value)
    assert "dot" in msg and "(2, 3) float64" in msg and "(4, 5) float64" in msg
    assert "c = T.dot(a, b)   # the dot" in msg


def test_call_refuses_wrong_ndim_and_dtype_naming_the_input():
    x = T.dmatrix("data")
    i = T.lvector("labels")
    f = egopt.function([x, i], x.sum() + i.sum(), name="loss")
    with pytest.raises(TypeError, match=r"function 'loss' input 0 \(data\): expected matrix\[float64\]"):
        f(np.ones(3), np.ones(2, dtype="int64"))
    with pytest.raises(TypeError, match=r"function 'loss' input 1 \(labels\).*float64"):
        f(np.ones((2, 2)), np.ones(2))
