"""egopt.function (API.md §3): inputs, outputs, updates, givens, defaults, aliasing, input checks.

Values are compared with NumPy; every behaviour runs with and without the e-graph optimizer.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import In
from egopt.lang.errors import EgoptTypeError, MissingInputError, UnusedInputError


@pytest.fixture(params=["FAST_COMPILE", "FAST_RUN"])
def mode(request):
    return request.param


def test_scalars_single_output(mode):
    x, y = T.dscalars("x", "y")
    f = egopt.function([x, y], x + y, mode=mode)
    out = f(2, 8)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == ()
    assert out == 10.0


def test_list_in_list_out(mode):
    a, b = T.dmatrices("a", "b")
    f = egopt.function([a, b], [a - b, abs(a - b), (a - b) ** 2], mode=mode)
    av, bv = np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [-1.0, -2.0]])
    out = f(av, bv)
    assert isinstance(out, list) and len(out) == 3
    for got, want in zip(out, [av - bv, np.abs(av - bv), (av - bv) ** 2]):
        np.testing.assert_array_equal(got, want)
    single_list = egopt.function([a, b], [a + b], mode=mode)(av, bv)
    assert isinstance(single_list, list) and len(single_list) == 1


def test_no_outputs_returns_empty_list(mode):
    s = egopt.shared(np.float64(1.0))
    f = egopt.function([], [], updates=[(s, s * 3)], mode=mode)
    assert f() == []
    assert s.get_value() == 3.0


def test_implicit_shared_input(mode):
    w = egopt.shared(np.array([1.0, 2.0, 3.0]), name="w")
    x = T.dvector("x")
    f = egopt.function([x], (x * w).sum(), mode=mode)
    assert f([1.0, 1.0, 1.0]) == 6.0
    w.set_value(np.array([10.0, 0.0, 0.0]))
    assert f([1.0, 1.0, 1.0]) == 10.0          # the new value is read at the next call


def test_intermediate_variable_as_input_cuts_the_graph(mode):
    x = T.dvector("x")
    h = T.exp(x)
    y = h * 2 + 1
    f = egopt.function([h], y, mode=mode)      # x is not needed any more
    np.testing.assert_allclose(f([1.0, 2.0]), np.array([3.0, 5.0]))
    with pytest.raises(MissingInputError, match="x"):
        egopt.function([], y, mode=mode)


def test_updates_after_all_outputs(mode):
    s = egopt.shared(np.array([1.0, 2.0]), name="s")
    x = T.dvector("x")
    f = egopt.function([x], [s, s * x], updates=[(s, s + x)], mode=mode)
    old, prod = f([10.0, 20.0])
    np.testing.assert_array_equal(old, [1.0, 2.0])          # the value before the update
    np.testing.assert_array_equal(prod, [10.0, 40.0])
    np.testing.assert_array_equal(s.get_value(), [11.0, 22.0])


def test_updates_as_dict(mode):
    a = egopt.shared(np.float64(2.0), name="a")
    f = egopt.function([], a, updates={a: a * a}, mode=mode)
    assert [float(f()) for _ in range(3)] == [2.0, 4.0, 16.0]


def test_swap_updates_read_old_values(mode):
    a = egopt.shared(np.array([1.0, 2.0]), name="a")
    b = egopt.shared(np.array([3.0, 4.0]), name="b")
    f = egopt.function([], [], updates=[(a, b), (b, a)], mode=mode)
    f()
    np.testing.assert_array_equal(a.get_value(), [3.0, 4.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    a.get_value(borrow=True)[0] = 99.0         # the two values are distinct arrays
    assert b.get_value()[0] == 1.0


def test_update_errors():
    s = egopt.shared(np.zeros(2, dtype="float32"))
    x = T.dvector("x")
    with pytest.raises(EgoptTypeError, match="dtype float32"):
        egopt.function([x], [], updates=[(s, s + x)])          # float64 into a float32 state
    with pytest.raises(TypeError, match="not a shared variable"):
        egopt.function([x], [], updates=[(x, x + 1)])
    with pytest.raises(ValueError, match="updated twice"):
        egopt.function([], [], updates=[(s, s + 1), (s, s - 1)])
    with pytest.raises(EgoptTypeError, match="ndim"):
        egopt.function([], [], updates=[(s, s.sum())])


def test_givens_replace_a_variable(mode):
    x, y = T.dscalars("x", "y")
    z = x * 2 + y
    f = egopt.function([y], z, givens={x: y * 10}, mode=mode)
    assert f(3.0) == 63.0
    g = egopt.function([x, y], z, givens=[(y, x + 1)], on_unused_input="ignore", mode=mode)
    assert g(1.0, 100.0) == 4.0


def test_givens_replace_a_shared_variable(mode):
    state = egopt.shared(np.int64(5), name="state")
    inc = T.iscalar("inc")
    foo = T.scalar(dtype=state.dtype)
    f = egopt.function([inc, foo], state * 2 + inc, givens=[(state, foo)], mode=mode)
    assert f(1, 3) == 7
    assert state.get_value() == 5


def test_givens_minibatch_from_shared_dataset(mode):
    data = np.arange(20.0).reshape(10, 2)
    dataset = egopt.shared(data, name="dataset")
    index = T.lscalar("index")
    x = T.dmatrix("x")
    bs = 3
    f = egopt.function([index], x.sum(axis=0), givens={x: dataset[index * bs:(index + 1) * bs]}, mode=mode)
    for i in range(4):
        np.testing.assert_array_equal(f(i), data[i * bs:(i + 1) * bs].sum(axis=0))


def test_givens_type_mismatch():
    x = T.dvector("x")
    m = T.dmatrix("m")
    with pytest.raises(EgoptTypeError, match="ndim"):
        egopt.function([m], x * 2, givens={x: m})


def test_on_unused_input():
    x, y = T.dscalars("x", "y")
    with pytest.raises(UnusedInputError, match="y"):
        egopt.function([x, y], x * 2)
    with pytest.warns(UserWarning, match="not used"):
        f = egopt.function([x, y], x * 2, on_unused_input="warn")
    assert f(2.0, 5.0) == 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert egopt.function([x, y], x * 2, on_unused_input="ignore")(3.0, 0.0) == 6.0
    with pytest.raises(ValueError, match="on_unused_input"):
        egopt.function([x], x, on_unused_input="sometimes")


def test_name_appears_in_errors_and_repr():
    x = T.dvector("x")
    f = egopt.function([x], x + 1, name="step")
    assert f.name == "step" and "step" in repr(f)
    with pytest.raises(TypeError, match="function 'step' input 0 \\(x\\)"):
        f(np.zeros((2, 2)))


def test_defaults_and_keywords(mode):
    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = egopt.function([x, In(y, value=1.0), In(w, value=2.0, name="w_by_name")], z, mode=mode)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0
    assert f(x=1, y=2, w_by_name=3) == 9.0
    with pytest.raises(TypeError, match="no input named 'w'"):
        f(33, w=1)
    with pytest.raises(TypeError, match="given twice"):
        f(33, x=1)
    with pytest.raises(TypeError, match="missing value for input 0"):
        f()
    with pytest.raises(TypeError, match="takes 3 input"):
        f(1, 2, 3, 4)


def test_bad_default_refused_when_compiling():
    x = T.iscalar("x")
    with pytest.raises(TypeError, match="input 0 \\(x\\)"):
        egopt.function([In(x, value=np.array(1.5))], x + 1)


# ---- aliasing: what is returned or stored never shares memory it should not ---------------------------

def test_output_that_is_an_input_is_a_copy(mode):
    x = T.dvector("x")
    a = np.array([1.0, 2.0])
    outs = egopt.function([x], [x, x.dimshuffle("x", 0), x.T], mode=mode)(a)
    for o in outs:
        assert not np.shares_memory(o, a)
    outs[0][0] = 7.0
    assert a[0] == 1.0


def test_output_that_is_a_shared_value_is_a_copy(mode):
    s = egopt.shared(np.array([1.0, 2.0]))
    f = egopt.function([], s, mode=mode)
    out = f()
    out[0] = 99.0
    assert s.get_value()[0] == 1.0
    assert not np.shares_memory(f(), s.get_value(borrow=True))


def test_repeated_outputs_are_distinct(mode):
    x = T.dvector("x")
    y = x * 2
    a, b = egopt.function([x], [y, y], mode=mode)(np.ones(2))
    assert not np.shares_memory(a, b)


def test_constant_output_is_a_writable_copy(mode):
    f = egopt.function([], T.constant(np.array([1.0, 2.0])), mode=mode)
    out = f()
    out[0] = 5.0
    np.testing.assert_array_equal(f(), [1.0, 2.0])


def test_updates_do_not_alias_outputs_inputs_or_each_other(mode):
    s = egopt.shared(np.zeros(2), name="s")
    t = egopt.shared(np.zeros(2), name="t")
    u = egopt.shared(np.zeros(2), name="u")
    x = T.dvector("x")
    y = x * 2
    f = egopt.function([x], y, updates=[(s, y), (t, y), (u, x)], mode=mode)
    a = np.array([1.0, 2.0])
    out = f(a)
    vals = [s.get_value(borrow=True), t.get_value(borrow=True), u.get_value(borrow=True)]
    arrays = [out, a] + vals
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            assert not np.shares_memory(arrays[i], arrays[j]), (i, j)
    np.testing.assert_array_equal(vals[0], [2.0, 4.0])
    np.testing.assert_array_equal(vals[2], [1.0, 2.0])


def test_update_from_another_shared_variable_is_a_copy(mode):
    a = egopt.shared(np.array([1.0, 2.0]))
    b = egopt.shared(np.array([3.0, 4.0]))
    egopt.function([], [], updates=[(a, b)], mode=mode)()
    assert not np.shares_memory(a.get_value(borrow=True), b.get_value(borrow=True))


# ---- input checking ---------------------------------------------------------------------------------------

def test_python_floats_into_float32_input():
    x = T.fvector("x")
    out = egopt.function([x], x * 2)([0.5, 1.5])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([1.0, 3.0], dtype=np.float32))
    s = T.fscalar("s")
    got = egopt.function([s], s + 1)(0.1)
    assert got.dtype == np.float32 and got == np.float32(0.1) + np.float32(1)
    with pytest.raises(TypeError, match=r"input 0 \(s\).*float64"):
        egopt.function([s], s + 1)(np.float64(0.1))     # a NumPy float64 is not silently downcast


def test_float64_array_into_int_input_is_refused():
    i = T.ivector("idx")
    f = egopt.function([i], i + 1)
    with pytest.raises(TypeError, match=r"input 0 \(idx\).*int32.*float64"):
        f(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"input 0 \(idx\)"):
        f([1.5])
    np.testing.assert_array_equal(f([1, 2]), [2, 3])           # Python ints fit int32
    assert f([1, 2]).dtype == np.int32
    with pytest.raises(TypeError, match="do not fit"):
        f([2 ** 40])                                           # would wrap around
    g = egopt.function([i], i + 1, allow_input_downcast=True)
    np.testing.assert_array_equal(g(np.array([1.9, 2.0])), [2, 3])


def test_wrong_ndim_is_refused_naming_the_input():
    m = T.dmatrix("weights")
    f = egopt.function([m], m.sum())
    with pytest.raises(TypeError, match=r"input 0 \(weights\).*ndim=2.*ndim=1"):
        f(np.ones(3))


def test_static_shape_is_checked():
    r = T.drow("r")
    f = egopt.function([r], r * 2)
    with pytest.raises(TypeError, match=r"input 0 \(r\).*axis 0"):
        f(np.ones((2, 3)))


def test_explicit_input_errors():
    x = T.dscalar("x")
    s = egopt.shared(1.0)
    with pytest.raises(TypeError, match="shared variable"):
        egopt.function([s], s * 2)
    with pytest.raises(TypeError, match="constant"):
        egopt.function([T.constant(1.0)], x, on_unused_input="ignore")
    with pytest.raises(ValueError, match="given twice"):
        egopt.function([x, x], x)
    with pytest.raises(TypeError, match="inputs must be a list"):
        egopt.function(x, x)
    with pytest.raises(TypeError, match="symbolic variables"):
        egopt.function([1.0], x)


def test_missing_input_message_names_variable_and_line():
    x, y = T.dscalars("x", "y")
    z = x + y   # the line the message points at
    with pytest.raises(MissingInputError) as e:
        egopt.function([x], z)
    msg = str(e.value)
    assert "y" in msg and "test_function.py" in msg and "z = x + y" in msg


def test_eval():
    x, y = T.dscalars("x", "y")
    assert (x + y).eval({x: 2.0, y: 3.0}) == 5.0
    assert (x * 2).eval({x: 4.0}) == 8.0
    assert (x * 2).eval({x: 5.0}) == 10.0                       # cached function, new value
    w = egopt.shared(np.array([1.0, 2.0]))
    np.testing.assert_array_equal((w * 3).eval(), [3.0, 6.0])
    assert T.constant(2.0).eval() == 2.0
    assert (x * 2).eval({"x": 1.0}) == 2.0                       # PyTensor: an input by its name
    with pytest.raises(TypeError, match="no input of .* is named 'z'"):
        (x * 2).eval({"z": 1.0})
    with pytest.raises(TypeError, match="symbolic variables"):
        (x * 2).eval({1: 1.0})


def test_print_rewrites_prints_the_report(capsys):
    x = T.dscalar("x")
    with egopt.config.change_flags(print_rewrites=True):
        egopt.function([x], x + 1, mode="FAST_RUN")
    assert "optimization" in capsys.readouterr().out


def test_python_number_updates_take_the_shared_dtype(mode):
    s = egopt.shared(np.float32(5.0), name="s")
    n = egopt.shared(np.int8(3), name="n")
    egopt.function([], [], updates=[(s, 0), (n, 7)], mode=mode)()
    assert s.get_value() == 0 and s.get_value().dtype == np.float32
    assert n.get_value() == 7 and n.get_value().dtype == np.int8
