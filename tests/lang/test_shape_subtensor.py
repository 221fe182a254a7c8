"""Shape and indexing ops: static shapes, params, errors, Theano idioms, and VJPs against NumPy."""
from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import egopt
import egopt.tensor as T
from egopt import config
from egopt.lang.errors import EgoptTypeError, OpRuntimeError, ShapeError
from egopt.lang.graph import Constant, toposort
from tests.cases import all_cases, symbolic_like


def run(inputs, out, *values, mode="FAST_COMPILE"):
    return egopt.function(inputs, out, mode=mode, on_unused_input="ignore")(*values)


# ---- basic indexing: static shapes and params ----------------------------------------------------

def test_static_shapes_of_basic_indexing():
    v = T.tensor("float64", shape=(5,))
    m = T.tensor("float64", shape=(5, 4))
    assert v[1:3].type.shape == (2,)
    assert v[::-2].type.shape == (3,)
    assert v[-1].type.shape == ()
    assert v[None].type.shape == (1, 5)
    assert m[1:3, None, -1].type.shape == (2, 1)
    assert m[..., 0].type.shape == (5,)
    assert T.dmatrix()[1:3].type.shape == (None, None)
    assert T.dmatrix()[0, None].type.shape == (1, None)


def test_equal_indexings_have_equal_params():
    v = T.tensor("float64", shape=(5,))
    assert v[-1].owner.params == v[4].owner.params
    m = T.dmatrix()
    assert m[1:3].owner.params == m[1:3, :].owner.params == m[1:3, ...].owner.params
    assert m[0:3:1].owner.params == m[:3].owner.params


def test_negative_indices_and_steps_match_numpy():
    x = T.dmatrix("x")
    xv = np.arange(20.0).reshape(4, 5)
    outs = [x[-1], x[-3:-1, ::-2], x[::-1, -2], x[-1, -1], x[1:-1:2, None, 3:]]
    for o, want in zip(run([x], outs, xv), [xv[-1], xv[-3:-1, ::-2], xv[::-1, -2], xv[-1, -1],
                                            xv[1:-1:2, None, 3:]]):
        np.testing.assert_array_equal(o, want)


def test_symbolic_slice_bounds_and_int_index():
    x = T.dvector("x")
    i, j, s = T.lscalars("i", "j", "s")
    f = egopt.function([x, i, j, s], [x[i:j:s], x[i], x[:j]], mode="FAST_COMPILE")
    xv = np.arange(7.0)
    for a, b, c in [(1, 5, 2), (-2, None, -1), (6, 0, -2)]:
        got = f(xv, a, -8 if b is None else b, c)
        np.testing.assert_array_equal(got[0], xv[a:(-8 if b is None else b):c])
        np.testing.assert_array_equal(got[1], xv[a])


def test_shape_indexing():
    x = T.dmatrix("x")
    xv = np.zeros((3, 7))
    assert x.shape[0].ndim == 0 and x.shape[0].dtype == "int64"
    assert run([x], [x.shape[0], x.shape[-1]], xv) == [3, 7]
    s = T.tensor("float64", shape=(None, 4))
    assert isinstance(s.shape[1], Constant) and int(s.shape[1].data) == 4   # static size: a constant


# ---- errors --------------------------------------------------------------------------------------

def test_static_index_out_of_bounds_fails_at_build_time():
    v = T.tensor("float64", shape=(3,))
    with pytest.raises(IndexError, match="out of bounds") as e:
        v[3]  # the bad index
    assert "subtensor" in str(e.value) and "v[3]  # the bad index" in str(e.value)
    with pytest.raises(IndexError, match="too many indices"):
        T.dvector()[0, 1]


def test_runtime_index_error_names_op_shapes_and_line():
    x = T.dvector("x")
    i = T.lscalar("i")
    y = x[i]  # index here
    f = egopt.function([x, i], y, mode="FAST_COMPILE")
    with pytest.raises(OpRuntimeError) as e:
        f(np.ones(3), 5)
    msg = str(e.value)
    assert "subtensor" in msg and "(3,) float64" in msg and "out of bounds" in msg
    assert "y = x[i]  # index here" in msg


def test_bad_index_types():
    x = T.dmatrix()
    with pytest.raises(TypeError, match="valid indices"):
        x[T.dscalar()]
    with pytest.raises(TypeError, match="slice bounds"):
        x[:T.dscalar()]
    with pytest.raises(TypeError, match="indexing expression"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(EgoptTypeError, match="cast"):
        T.set_subtensor(T.lvector()[0], 2.5)
    with pytest.raises(ShapeError, match="broadcast"):
        T.set_subtensor(T.tensor("float64", shape=(5,))[1:3], T.tensor("float64", shape=(3,)))


# ---- set / inc -----------------------------------------------------------------------------------

def test_set_versus_inc_basic():
    x = T.dmatrix("x")
    y = T.dvector("y")
    xv, yv = np.ones((3, 4)), np.arange(4.0)
    s, i = run([x, y], [T.set_subtensor(x[1], y), T.inc_subtensor(x[1:], y)], xv, yv)
    ws, wi = xv.copy(), xv.copy()
    ws[1] = yv
    wi[1:] += yv
    np.testing.assert_array_equal(s, ws)
    np.testing.assert_array_equal(i, wi)
    np.testing.assert_array_equal(xv, np.ones((3, 4)))          # inputs untouched


def test_advanced_inc_accumulates_duplicate_indices():
    x = T.dvector("x")
    idx = T.lvector("idx")
    out = run([x, idx], [T.inc_subtensor(x[idx], 1.0), T.set_subtensor(x[idx], 7.0)],
              np.zeros(4), np.array([0, 0, 3, 0, -1]))
    np.testing.assert_array_equal(out[0], [3.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(out[1], [7.0, 0.0, 0.0, 7.0])


def test_inc_subtensor_casts_weak_values_and_broadcasts():
    x = T.fmatrix("x")
    out = T.inc_subtensor(x[:, 1:], 1)
    assert out.dtype == "float32"
    np.testing.assert_array_equal(run([x], out, np.zeros((2, 3), "float32")), [[0, 1, 1], [0, 1, 1]])


# ---- advanced indexing ---------------------------------------------------------------------------

def test_rows_by_label_nll():
    p = T.dmatrix("p")
    y = T.lvector("y")
    picked = p[T.arange(y.shape[0]), y]
    nll = -T.mean(T.log(picked))
    pv = np.random.default_rng(0).uniform(0.1, 1, size=(5, 3))
    yv = np.array([0, 2, 1, 2, 0])
    for mode in ("FAST_COMPILE", "FAST_RUN"):
        got = run([p, y], [picked, nll], pv, yv, mode=mode)
        np.testing.assert_allclose(got[0], pv[np.arange(5), yv])
        np.testing.assert_allclose(got[1], -np.mean(np.log(pv[np.arange(5), yv])))


@pytest.mark.parametrize("index", [
    lambda i: (i,), lambda i: (slice(None), i), lambda i: (0, slice(None), i), lambda i: (i, None, i),
    lambda i: (slice(None), i, i), lambda i: (Ellipsis, i), lambda i: (i, 1, slice(1, None)),
])
def test_advanced_index_placement_matches_numpy(index):
    x = T.tensor3("x")
    i = T.lmatrix("i")
    xv = np.arange(60.0).reshape(3, 4, 5)
    iv = np.array([[0, 1, 2]])
    out = x[index(i)]
    want = xv[index(iv)]
    got = run([x, i], out, xv, iv)
    assert got.shape == want.shape and out.ndim == want.ndim
    np.testing.assert_array_equal(got, want)


def test_constant_index_lists_and_take():
    x = T.dmatrix("x")
    xv = np.arange(12.0).reshape(3, 4)
    outs = [x[[2, 0]], x[:, [1, 1, 3]], T.take(x, [[0, 5], [11, -1]]), T.take(x, np.array([1, 0]), axis=-1)]
    wants = [xv[[2, 0]], xv[:, [1, 1, 3]], np.take(xv, [[0, 5], [11, -1]]), np.take(xv, [1, 0], axis=-1)]
    assert outs[0].type.shape == (2, None)
    for g, w in zip(run([x], outs, xv), wants):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(IndexError, match="out of bounds"):
        T.tensor("float64", shape=(3,))[[0, 3]]


def test_boolean_masks():
    x = T.dmatrix("x")
    xv = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    outs = run([x], [x[x > 0], T.set_subtensor(x[x < 0], 0.0), x[xv[:, 0] > 0]], xv)
    np.testing.assert_array_equal(outs[0], xv[xv > 0])
    np.testing.assert_array_equal(outs[1], np.maximum(xv, 0))
    np.testing.assert_array_equal(outs[2], xv[:1])
    mv = T.vector("mv", dtype="bool")
    with pytest.raises(OpRuntimeError, match="expected shape"):
        run([x, mv], x[mv], xv, np.array([True, False, True]))   # NumPy refuses a mask of another size


# ---- reshape, flatten, dimshuffle ----------------------------------------------------------------

def test_reshape_static_and_symbolic():
    x = T.tensor("float64", shape=(2, 6))
    assert T.reshape(x, (3, -1)).type.shape == (3, 4)
    assert T.reshape(x, (3, -1)).owner.params == T.reshape(x, (3, 4)).owner.params
    assert x.reshape(12).type.shape == (12,)
    with pytest.raises(ShapeError, match="cannot reshape"):
        x.reshape((5, -1))
    m = T.dmatrix("m")
    n = T.lscalar("n")
    shp = T.lvector("shp")
    xv = np.arange(24.0).reshape(4, 6)
    outs = [m.reshape((n, -1)), m.reshape((m.shape[0], -1, 2)), m.reshape(m.shape[::-1], ndim=2)]
    assert outs[0].type.shape == (None, None) and outs[1].ndim == 3
    for g, w in zip(run([m, n], outs, xv, 3), [xv.reshape(3, -1), xv.reshape(4, -1, 2), xv.reshape(6, 4)]):
        np.testing.assert_array_equal(g, w)
    by_vector = T.reshape(m, shp, ndim=3)     # a vector of unknown length: checked to have 3 entries
    assert by_vector.ndim == 3
    np.testing.assert_array_equal(run([m, shp], by_vector, xv, np.array([2, 3, 4])), xv.reshape(2, 3, 4))
    with pytest.raises(OpRuntimeError, match="expected shape"):
        run([m, shp], by_vector, xv, np.array([4, 6]))
    with pytest.raises(ValueError, match="ndim"):
        T.reshape(m, shp)


def test_flatten_theano_semantics():
    x = T.tensor("float64", shape=(None, 3, 4))
    xv = np.arange(24.0).reshape(2, 3, 4)
    assert T.flatten(x).type.shape == (None,)
    assert x.flatten(2).type.shape == (None, 12)
    assert x.flatten(3).type.shape == (None, 3, 4)
    for nd in (1, 2, 3):
        np.testing.assert_array_equal(x.flatten(nd).eval({x: xv}), xv.reshape(xv.shape[:nd - 1] + (-1,)))
    with pytest.raises(ValueError, match="ndim"):
        x.flatten(4)
    e = T.tensor3("e")
    assert T.flatten(e, 2).eval({e: np.zeros((0, 2, 3))}).shape == (0, 6)


def test_theano_dimshuffle_x0_broadcasts():
    b = T.dvector("b")
    m = T.dmatrix("m")
    row = b.dimshuffle("x", 0)
    assert row.type.shape == (1, None)
    bv, mv = np.arange(3.0), np.ones((2, 3))
    np.testing.assert_array_equal(run([b, m], m + row, bv, mv), mv + bv[None, :])
    np.testing.assert_array_equal(run([b], b.dimshuffle(0, "x"), bv), bv[:, None])


def test_pad_expand_squeeze():
    x = T.dmatrix("x")
    assert T.shape_padleft(x).type.shape == (1, None, None)
    assert T.shape_padright(x, 2).type.shape == (None, None, 1, 1)
    assert T.shape_padaxis(x, 1).type.shape == (None, 1, None)
    assert T.expand_dims(x, (0, -1)).type.shape == (1, None, None, 1)
    assert T.squeeze(T.tensor("float64", shape=(1, None, 1))).type.shape == (None,)
    xv = np.ones((3, 1))
    np.testing.assert_array_equal(T.squeeze(x, 1).eval({x: xv}), xv[:, 0])
    with pytest.raises(OpRuntimeError, match="expected shape"):
        T.squeeze(x, 0).eval({x: xv})


# ---- join, stack ---------------------------------------------------------------------------------

def test_join_and_stack_argument_orders():
    a, b = T.dmatrices("a", "b")
    av, bv = np.ones((2, 3)), np.zeros((1, 3))
    outs = [T.join(0, a, b), T.concatenate([a, b]), T.stack(a, a), T.stack([a, a], axis=2),
            T.stack([a, a], 1), T.join(-1, a, a)]
    wants = [np.concatenate([av, bv]), np.concatenate([av, bv]), np.stack([av, av]),
             np.stack([av, av], axis=2), np.stack([av, av], 1), np.concatenate([av, av], -1)]
    for g, w in zip(run([a, b], outs, av, bv), wants):
        np.testing.assert_array_equal(g, w)
    s = T.stack([T.dscalar(), 2.0, 3])
    assert s.type.shape == (3,) and s.dtype == "float64"
    assert T.concatenate([T.tensor("float64", shape=(2, 3)), T.tensor("float32", shape=(4, None))]).type \
        == T.TensorType("float64", (6, 3))
    with pytest.raises(ShapeError, match="sizes differ"):
        T.concatenate([T.tensor("float64", shape=(2, 3)), T.tensor("float64", shape=(2, 4))])


def test_as_tensor_of_a_list_with_symbols_stacks():
    n = T.lscalar("n")
    v = T.as_tensor_variable([n, 3])
    assert v.type.shape == (2,) and v.dtype == "int64"
    np.testing.assert_array_equal(v.eval({n: 5}), [5, 3])


# ---- constructors --------------------------------------------------------------------------------

def test_zeros_ones_alloc_dtypes_and_symbolic_shapes():
    n = T.lscalar("n")
    x = T.dmatrix("x")
    with config.change_flags(floatX="float32"):
        z = T.zeros((n, 3))
        assert z.dtype == "float32" and z.type.shape == (None, 3)
    o = T.ones(x.shape, dtype="int8")
    assert o.dtype == "int8" and T.zeros(4).type.shape == (4,)
    got = run([n, x], [z, o, T.alloc(2.0, n, 2), T.zeros_like(x), T.ones_like(x, dtype="int32")],
              2, np.ones((2, 5)))
    np.testing.assert_array_equal(got[0], np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(got[1], np.ones((2, 5), "int8"))
    np.testing.assert_array_equal(got[2], np.full((2, 2), 2.0))
    assert got[3].dtype == np.float64 and got[4].dtype == np.int32
    with pytest.raises(ShapeError, match="does not broadcast"):
        T.alloc(T.tensor("float64", shape=(3,)), 2, 4)


def test_arange_dtypes_and_symbolic_bounds():
    assert isinstance(T.arange(5), Constant) and T.arange(5).dtype == "int64"
    i = T.iscalar("i")
    f32 = T.fscalar("f")
    assert T.arange(i).dtype == "int64"                      # NumPy: int bounds give int64
    assert T.arange(f32, 3).dtype == "float32"              # weak Python bounds keep float32
    assert T.arange(0, i, dtype="float64").dtype == "float64"
    np.testing.assert_array_equal(run([i], T.arange(1, i, 2), 8), np.arange(1, 8, 2))
    np.testing.assert_allclose(run([f32], T.arange(f32, 2, 0.5), -1), np.arange(-1, 2, 0.5))


def test_eye_tile_repeat():
    n = T.lscalar("n")
    np.testing.assert_array_equal(run([n], T.eye(n, k=-1), 3), np.eye(3, k=-1))
    assert T.eye(3, 4).type.shape == (3, 4) and T.eye(n).type.shape == (None, None)
    x = T.dmatrix("x")
    xv = np.arange(6.0).reshape(2, 3)
    r = T.lvector("r")
    outs = [T.tile(x, (2, 1)), T.tile(x, (2, 1, 3)), T.tile(x, n), T.repeat(x, 2), T.repeat(x, n, axis=1),
            T.repeat(x, r, axis=0)]
    assert T.tile(T.tensor("float64", shape=(2, 3)), (2, 2)).type.shape == (4, 6)
    assert T.repeat(T.tensor("float64", shape=(2, 3)), 3, axis=1).type.shape == (2, 9)
    wants = [np.tile(xv, (2, 1)), np.tile(xv, (2, 1, 3)), np.tile(xv, 2), np.repeat(xv, 2),
             np.repeat(xv, 2, axis=1), np.repeat(xv, [0, 3], axis=0)]
    for g, w in zip(run([x, n, r], outs, xv, 2, np.array([0, 3])), wants):
        np.testing.assert_array_equal(g, w)


def test_specify_shape_and_broadcast_patterns():
    x = T.dmatrix("x")
    s = T.specify_shape(x, (None, 3))
    assert s.type.shape == (None, 3)
    with pytest.raises(OpRuntimeError, match=r"expected shape \(\?, 3\), got \(2, 4\)"):
        s.eval({x: np.ones((2, 4))})
    assert T.addbroadcast(x, 0).type.shape == (1, None)
    r = T.row("r")
    assert T.unbroadcast(r, 0).type.shape == (None, None)
    assert T.patternbroadcast(r, (False, True)).type.shape == (None, 1)
    assert T.addbroadcast(r, 0) is r and T.unbroadcast(x, 0) is x
    with pytest.raises(ShapeError):
        T.specify_shape(T.tensor("float64", shape=(2,)), (3,))
    n = T.lscalar("n")
    checked = T.specify_shape(x, (n, 1))
    np.testing.assert_array_equal(checked.eval({x: np.ones((2, 1)), n: 2}), np.ones((2, 1)))


def test_params_are_literal_data():
    """Params survive repr -> literal_eval (the e-graph stores them as text)."""
    x = T.dtensor3("x")
    i = T.lscalar("i")
    outs = [x[i, 1:i:2, None], x[[0, 1], :, i], T.reshape(x, (i, -1)), T.zeros((i, 2)), T.tile(x, (2, 1, 1)),
            T.concatenate([x, x], 1), T.repeat(x, 2, 1), T.eye(i), T.specify_shape(x, (2, None, i)),
            T.inc_subtensor(x[x > 0], 1.0)]
    for node in toposort(outs):
        assert ast.literal_eval(repr(node.params)) == node.params, node


def test_pp_shows_index_and_axis_params():
    from egopt.printing import pp
    a, b = T.dmatrices("a", "b")
    i = T.lscalar("i")
    assert pp(T.concatenate([a, b], axis=1)) == "join(a, b, axis=1)"
    assert pp(a[1:i, None]) == "subtensor(a, i, idx=((1, '?', None), 'x'))"


# ---- gradients: each op's VJP against finite differences -----------------------------------------

def _reverse(out, wrt, g_out):
    """A tiny reverse-mode walker over ``op.vjp`` (the grad package is written elsewhere)."""
    from egopt.lang.elemwise import unbroadcast
    acc = {id(out): g_out}
    for node in reversed(toposort([out])):
        g = acc.get(id(node.outputs[0]))
        if g is None:
            continue
        for v, gi in zip(node.inputs, node.op.require("vjp")(node, g)):
            if gi is not None:
                gi = unbroadcast(gi, v.type, gi.type) if gi.ndim > v.ndim else gi
                acc[id(v)] = gi if id(v) not in acc else acc[id(v)] + gi
    return [acc.get(id(w)) for w in wrt]


MY_OPS = {"dimshuffle", "reshape", "alloc", "join", "arange", "eye", "specify_shape", "repeat",
          "subtensor", "inc_subtensor", "advanced_subtensor", "advanced_inc_subtensor", "nonzero"}
GRAD_CASES = [c for c in all_cases() if c.op in MY_OPS and c.grad]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_vjp_matches_finite_differences(case):
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.data())
    def check(data):
        values = [np.asarray(v) for v in case.gen(data.draw)]
        values = [v.astype("float64") if v.dtype.kind == "f" else v for v in values]
        syms = case.symbolic(values) if case.symbolic else [symbolic_like(v) for v in values]
        out = case.build(*syms)
        wrt = [k for k, v in enumerate(values) if v.dtype.kind == "f"]
        if not wrt:
            return
        rng = np.random.default_rng(0)
        f = egopt.function(syms, out, mode="FAST_COMPILE", on_unused_input="ignore")
        r = rng.normal(size=np.shape(f(*values)))
        r_sym = T.constant(r)
        grads = _reverse(out, [syms[k] for k in wrt], r_sym)
        grads = [T.zeros_like(syms[k]) if g is None else g for k, g in zip(wrt, grads)]
        got = egopt.function(syms, grads, mode="FAST_COMPILE", on_unused_input="ignore")(*values)
        dirs = [rng.normal(size=values[k].shape) for k in wrt]

        def cost(eps):
            vals = list(values)
            for k, d in zip(wrt, dirs):
                vals[k] = values[k] + eps * d
            return float(np.sum(f(*vals) * r))
        numeric = (cost(1e-3) - cost(-1e-3)) / 2e-3       # exact for these linear ops, up to rounding
        analytic = sum(float(np.sum(g * d)) for g, d in zip(got, dirs))
        for g, k in zip(got, wrt):
            assert g.shape == values[k].shape
        assert np.isclose(analytic, numeric, rtol=1e-6, atol=1e-6), (analytic, numeric)
    check()


def test_arange_vjp_float():
    a, b = T.dscalars("a", "b")
    out = T.arange(a, 3.0, b)
    r = np.array([1.0, 2.0, 3.0])
    ga, gb = _reverse(out, [a, b], T.constant(r))
    got = run([a, b], [ga, gb], 0.5, 1.0)   # out = [0.5, 1.5, 2.5]
    np.testing.assert_allclose(got, [r.sum(), (r * np.arange(3)).sum()])


def test_set_and_inc_methods_and_item_assignment_error():
    """PyTensor's ``x[idx].set(y)`` / ``.inc(y)``; ``x[0] = 1`` says what to write instead."""
    x = T.dmatrix("x")
    xv = np.arange(6.0).reshape(2, 3)
    a, b, c = egopt.function([x], [x[0].set(7.0), x[:, 1].inc(1.0), x[[0, 0]].inc(1.0)])(xv)
    want_a, want_b, want_c = xv.copy(), xv.copy(), xv.copy()
    want_a[0] = 7
    want_b[:, 1] += 1
    np.add.at(want_c, [0, 0], 1.0)
    np.testing.assert_array_equal(a, want_a)
    np.testing.assert_array_equal(b, want_b)
    np.testing.assert_array_equal(c, want_c)
    with pytest.raises(TypeError, match="set_subtensor"):
        x[0] = 1.0
