"""egopt.shared: values, borrow semantics, dtypes, persistence across calls and functions."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T


def test_value_is_copied_unless_borrowed():
    a = np.array([1.0, 2.0])
    s = egopt.shared(a)
    a[0] = 100.0
    assert s.get_value()[0] == 1.0
    b = np.array([1.0, 2.0])
    t = egopt.shared(b, borrow=True)
    assert np.shares_memory(t.get_value(borrow=True), b)


def test_get_value_borrow():
    s = egopt.shared(np.zeros(3), name="s")
    v = s.get_value()
    v[0] = 5.0
    assert s.get_value()[0] == 0.0
    s.get_value(borrow=True)[0] = 5.0          # borrow=True hands out the stored array
    assert s.get_value()[0] == 5.0


def test_set_value_borrow_and_copy():
    s = egopt.shared(np.zeros(2))
    new = np.array([3.0, 4.0])
    s.set_value(new)
    new[0] = -1.0
    np.testing.assert_array_equal(s.get_value(), [3.0, 4.0])
    s.set_value(new, borrow=True)
    assert np.shares_memory(s.get_value(borrow=True), new)


def test_set_value_checks_type_but_allows_new_sizes():
    s = egopt.shared(np.zeros((2, 2)), name="w")
    s.set_value(np.ones((3, 5)))                # sizes may change
    assert s.get_value().shape == (3, 5)
    with pytest.raises(TypeError, match="w"):
        s.set_value(np.ones(3))                 # ndim may not
    f32 = egopt.shared(np.zeros(2, dtype="float32"))
    with pytest.raises(TypeError, match="float64"):
        f32.set_value(np.ones(2))               # a float64 array is not silently downcast
    f32.set_value([0.5, 1.5])                   # Python floats are
    assert f32.get_value().dtype == np.float32


def test_dtypes_of_python_values():
    assert egopt.shared(0).dtype == "int64"
    assert egopt.shared(0.5).dtype == egopt.config.floatX
    with egopt.config.change_flags(floatX="float32"):
        assert egopt.shared(0.5).dtype == "float32"
        assert egopt.shared([1.0, 2.0]).dtype == "float32"
    assert egopt.shared(np.float32(1)).dtype == "float32"
    assert egopt.shared(np.arange(3, dtype="int16")).dtype == "int16"


def test_static_shape_option():
    s = egopt.shared(np.zeros((1, 3)), shape=(1, None))
    assert s.type.shape == (1, None)
    x = T.dmatrix("x")
    f = egopt.function([x], x + s)               # s broadcasts along axis 0
    np.testing.assert_array_equal(f(np.ones((2, 3))), np.ones((2, 3)))


def test_state_persists_across_calls_and_functions():
    state = egopt.shared(0, name="state")
    inc = T.lscalar("inc")
    acc = egopt.function([inc], state, updates=[(state, state + inc)])
    dec = egopt.function([inc], state, updates=[(state, state - inc)])
    acc(5)
    acc(2)
    assert state.get_value() == 7
    dec(3)
    assert state.get_value() == 4


def test_shared_of_a_variable_is_refused():
    with pytest.raises(TypeError, match="value"):
        egopt.shared(T.dscalar("x"))
