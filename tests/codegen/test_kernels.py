"""C kernels against NumPy: transcendental accuracy (ulps) and IEEE specials, reductions,
strided views, broadcasting, casting, libmvec vectorization and run-time errors."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.compile import find_compiler
from egopt.lang.errors import OpRuntimeError

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")
C = egopt.Mode(None, "c")          # no optimizer: the kernels see the graph as written

SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 1.0, -1.0,
            700.0, -700.0, 89.0, -89.0, 1e-7, 3.0, -3.0]
UNARY = ["exp", "log", "log1p", "expm1", "log2", "log10", "sin", "cos", "tan", "arcsin", "arccos",
         "arctan", "sinh", "cosh", "tanh", "sqrt", "sigmoid", "softplus"]


def _ulps(got, want, dtype):
    """Distance in units in the last place of ``dtype`` (the reference is rounded to it)."""
    with np.errstate(over="ignore"):
        want = want.astype(dtype)
    finite = np.isfinite(want) & np.isfinite(got)
    spacing = np.spacing(np.abs(want[finite]).astype(dtype)).astype(np.float64)
    spacing = np.maximum(spacing, np.finfo(dtype).smallest_subnormal)
    return np.abs(got[finite].astype(np.float64) - want[finite].astype(np.float64)) / spacing


def _ref(name, x64):
    import math
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            return np.where(x64 >= 0, 1 / (1 + np.exp(-np.abs(x64))), np.exp(-np.abs(x64)) / (1 + np.exp(-np.abs(x64))))
        if name == "softplus":
            return np.maximum(x64, 0) + np.log1p(np.exp(-np.abs(x64)))
        return getattr(np, name)(x64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transcendental_within_4_ulp_and_ieee(dtype):
    rng = np.random.default_rng(0)
    with np.errstate(over="ignore"):
        x = np.concatenate([np.array(SPECIALS), rng.standard_normal(3000) * 3,
                            rng.uniform(-1, 1, 1000), np.exp(rng.uniform(-30, 30, 1000))]).astype(dtype)
    v = T.vector("x", dtype=dtype)
    f = egopt.function([v], [getattr(T, name)(v) for name in UNARY], mode=C)   # one library
    assert f.linker == "c" and f.program.kernel_count == len(UNARY)
    for name, got in zip(UNARY, f(x)):
        with np.errstate(all="ignore"):
            want_same = _ref(name, x).astype(dtype)                    # NumPy in the same dtype
            want = _ref(name, x.astype(np.float64))                    # float64 (nearer the true value)
        # IEEE specials: NaN exactly where NumPy has NaN, infinities of the same sign
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want_same), err_msg=name)
        inf = np.isinf(want_same)
        np.testing.assert_array_equal(got[inf], want_same[inf], err_msg=name)
        if dtype == "float32":
            err = _ulps(got, want, dtype)
        else:                 # float64: NumPy's own results are within 1 ulp; allow their error too
            err = _ulps(got, want_same, dtype)
        assert err.max() <= 4, f"{name} {dtype}: {err.max():.1f} ulp at x={x[np.isfinite(got)][np.argmax(err)]!r}"


def test_float64_exp_log_sin_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-20, 20, 200), rng.uniform(0.001, 50, 200)])
    v = T.dvector("x")
    for name, fn in [("exp", mpmath.exp), ("sin", mpmath.sin), ("log1p", lambda a: mpmath.log(1 + a))]:
        xs = np.abs(x) if name == "log1p" else x
        got = egopt.function([v], getattr(T, name)(v), mode=C)(xs)
        with mpmath.workdps(40):
            want = np.array([float(fn(mpmath.mpf(float(a)))) for a in xs])
        assert _ulps(got, want, "float64").max() <= 4, name


def test_w1_chain_is_one_kernel_calling_libmvec():
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    x, y, z = T.fvectors("x", "y", "z")
    out = T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2)
    f = egopt.function([x, y, z], out, mode=C)
    assert f.program.kernel_count == 1
    text = subprocess.run([objdump, "-d", f.program._lib._name], capture_output=True, text=True).stdout
    for fn in ("expf", "sinf", "log1pf"):
        assert f"_ZGV" in text and any(f"v_{fn}@plt" in line for line in text.splitlines()), fn
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(10_000).astype("float32") for _ in range(3))
    want = np.exp(-a.astype(float) ** 2 / 2) * np.sin(b) + np.log1p(abs(a * b.astype(float))) / (1 + c.astype(float) ** 2)
    np.testing.assert_allclose(f(a, b, c), want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "mean", "all", "any"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool", "uint8"])
def test_reductions_over_any_axes(kind, dtype):
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((3, 4, 5)) * 3)
    a = (a > 0) if dtype == "bool" else a.astype(dtype) if dtype.startswith("float") else np.abs(a).astype(dtype) + 1
    if kind == "prod" and dtype.startswith("float"):
        a = (1 + rng.uniform(-0.5, 0.5, a.shape)).astype(dtype)
    if kind in ("max", "min") and dtype == "bool":
        return
    v = T.tensor(dtype=dtype, shape=(None, None, None), name="a")
    variants = [(axis, keepdims) for axis in [None, 0, 1, 2, (0, 2), (1, 2), (0, 1)] for keepdims in (False, True)]
    outs = [getattr(T, kind)(v, axis=axis, keepdims=keepdims) for axis, keepdims in variants]
    f = egopt.function([v], outs, mode=C)          # one library for all the variants
    assert f.program.kernel_count == len(variants)
    for (axis, keepdims), out, got in zip(variants, outs, f(a)):
            want = getattr(np, kind)(a, axis=axis, keepdims=keepdims)
            assert got.shape == want.shape and got.dtype.name == out.dtype, (axis, keepdims)
            if got.dtype.kind == "f":
                np.testing.assert_allclose(got, want, rtol=1e-5 if "32" in got.dtype.name else 1e-12)
            else:
                np.testing.assert_array_equal(got, want)


def test_max_of_empty_is_an_error_naming_the_op():
    v = T.dmatrix("v")
    f = egopt.function([v], T.max(v, axis=1), mode=C)
    assert f(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(OpRuntimeError, match="max.*no identity"):
        f(np.zeros((2, 0)))
    assert np.isnan(egopt.function([v], T.mean(v), mode=C)(np.zeros((0, 3))))
    assert egopt.function([v], T.sum(v), mode=C)(np.zeros((0, 3))) == 0


def test_strided_views_and_broadcasting():
    rng = np.random.default_rng(3)
    m = rng.standard_normal((6, 8))
    x, r = T.dmatrix("x"), T.drow("r")
    f = egopt.function([x, r], T.exp(x) * r + 1, mode=C)
    for a in [m, m.T, m[::2, 1::3], np.asfortranarray(m)]:
        b = rng.standard_normal((1, a.shape[1]))
        np.testing.assert_allclose(f(a, b), np.exp(a) * b + 1, rtol=1e-14)
    # a transpose in the graph is a view the kernel reads through strides
    g = egopt.function([x], T.tanh(x.T) + x.T, mode=C)
    np.testing.assert_allclose(g(m), np.tanh(m.T) + m.T, rtol=1e-14)
    # 0-d inputs, 0-d results, empty arrays
    s = T.dscalar("s")
    h = egopt.function([x, s], x * s, mode=C)
    np.testing.assert_array_equal(h(m, 2.0), m * 2)
    assert h(np.zeros((0, 4)), 2.0).shape == (0, 4)
    assert float(egopt.function([s], T.exp(s), mode=C)(1.0)) == np.exp(1.0)


def test_runtime_broadcast_error_names_op_and_line():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    out = x + y                                      # the line the error must point at
    f = egopt.function([x, y], out, mode=C)
    with pytest.raises(OpRuntimeError, match=r"(?s)add.*broadcastable.*test_kernels.py") as e:
        f(np.ones((3, 4)), np.ones((1, 4)))
    assert "out = x + y" in str(e.value)
    with pytest.raises(OpRuntimeError, match=r"add.*do not broadcast"):
        f(np.ones((3, 4)), np.ones((3, 5)))


@pytest.mark.parametrize("a_dt,b_dt", [("int8", "int8"), ("int64", "int64"), ("uint8", "uint16"),
                                       ("int32", "float32"), ("float32", "float64"), ("bool", "int8")])
def test_numpy_casting_and_integer_semantics(a_dt, b_dt):
    rng = np.random.default_rng(4)
    a = rng.integers(-120, 120, 50).astype(a_dt)
    b = rng.integers(-9, 9, 50).astype(b_dt)
    if b_dt == "bool" or a_dt == "bool":
        a = a.astype(a_dt)
    x, y = T.vector("x", dtype=a_dt), T.vector("y", dtype=b_dt)
    ops = [lambda p, q: p * q, lambda p, q: p // q, lambda p, q: p % q, lambda p, q: p / q,
           lambda p, q: T.maximum(p, q), lambda p, q: p < q, lambda p, q: T.switch(p > 0, p, q)]
    refs = [np.multiply, np.floor_divide, np.mod, np.true_divide, np.maximum, np.less,
            lambda p, q: np.where(p > 0, p, q)]
    for op, ref in zip(ops, refs):
        if a_dt == "bool" and op is ops[1] or (a_dt == "bool" and op is ops[2]):
            continue
        out = op(x, y)
        got = egopt.function([x, y], out, mode=C)(a, b)
        with np.errstate(all="ignore"):
            want = ref(a, b)
        assert got.dtype.name == out.dtype      # egopt: int8 / int8 is float32 (docs/theano-differences.md)
        want = want.astype(got.dtype)
        if got.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
        else:
            np.testing.assert_array_equal(got, want)


def test_float_floordiv_mod_and_specials_match_numpy():
    a = np.array([7.5, -7.5, 7.5, -7.5, 0.0, -0.0, np.inf, np.nan, 3.0, 1e308])
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0, -3.0, 2.0, 1.0, 0.0, 1e-308])
    x, y = T.dvectors("x", "y")
    for op, ref in [(lambda p, q: p // q, np.floor_divide), (lambda p, q: p % q, np.mod),
                    (T.maximum, np.maximum), (T.minimum, np.minimum), (lambda p, q: p ** q, np.power)]:
        got = egopt.function([x, y], op(x, y), mode=C)(a, b)
        with np.errstate(all="ignore"):
            want = ref(a, b)
        np.testing.assert_array_equal(got, want)          # bitwise equal, NaN in the same places
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_no_compiler_warns_once_and_runs_numpy(monkeypatch):
    from egopt.codegen import compile as comp
    from egopt.runtime import schedule
    monkeypatch.setattr(comp, "find_compiler", lambda: None)
    monkeypatch.setattr(schedule, "_WARNED", False)
    x = T.dvector("x")
    with pytest.warns(UserWarning, match="no C compiler"), egopt.config.change_flags(linker="auto"):
        f = egopt.function([x], x + 1, mode="FAST_RUN")      # FAST_RUN's default, whatever --linker says
    assert f.linker == "py"
    np.testing.assert_array_equal(f(np.ones(3)), 2 * np.ones(3))


def test_profile_lists_kernels_and_their_ops():
    x, y = T.dvectors("x", "y")
    f = egopt.function([x, y], [T.exp(x) * y + 1, T.sum(x)], mode=C, profile=True)
    f(np.ones(5), np.ones(5))
    table = f.profile_table()
    assert "kernel exp+mul+add" in table and "kernel sum[0]" in table


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64", "uint64", "bool"])
def test_integer_and_bool_unary_ops(dtype):
    a = np.array([0, 1, 2, 5, 127], dtype=dtype)
    x = T.vector("x", dtype=dtype)
    ops = [(lambda v: ~v, np.invert)]
    if dtype != "bool":
        ops += [(T.abs, np.abs), (T.sgn, np.sign), (T.neg, np.negative), (lambda v: v ** 2, np.square),
                (T.isnan, np.isnan), (T.floor, np.floor)]
    f = egopt.function([x], [op(x) for op, _ in ops], mode=C)
    for got, (_, ref) in zip(f(a), ops):
        want = ref(a)
        np.testing.assert_array_equal(got, want.astype(got.dtype))
