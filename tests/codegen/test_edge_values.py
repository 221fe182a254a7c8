"""Every elementwise op in the registry, in every dtype, on special values (NaN, +-inf, -0.0,
subnormals, the float maximum, overflow and rounding boundaries): the C kernels give what the
NumPy reference linker gives, bit for bit where IEEE fixes it (signed zeros, NaN, inf) and to
a few ulp where libm and NumPy may round apart.

Found by this sweep: NumPy computes float ops of bool/int8/uint8 in float16 (the op's type,
and the kernels, say float32), and cannot negate a bool (sigmoid of a bool raised); the
kernels' maximum/minimum kept the first of two equal operands (NumPy keeps the second:
maximum(0.0, -0.0) is -0.0) and sign(-0.0) was -0.0 (NumPy: 0.0).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import testing
from egopt.lang import REGISTRY
from egopt.lang.errors import EgoptTypeError, OpRuntimeError

NO_OPT_C = egopt.Mode(None, "c")
NO_OPT_PY = egopt.Mode(None, "py")
DTYPES = ["float64", "float32", "int8", "uint8", "int16", "int32", "int64", "bool"]
# ops with their own tests (cast takes a dtype parameter)
UNARY = sorted(n for n, op in REGISTRY.items() if op.kind == "elemwise" and op.nin == 1 and n != "cast")
BINARY = sorted(n for n, op in REGISTRY.items() if op.kind == "elemwise" and op.nin == 2)
PAIRS = [("float64", "float64"), ("float32", "float32"), ("float32", "float64"), ("int8", "uint8"),
         ("int32", "int64"), ("uint8", "bool"), ("bool", "bool"), ("int8", "float32"), ("int64", "float64"),
         ("int16", "int8"), ("bool", "float64"), ("uint8", "float32")]


def _outputs(names, args):
    """The ops that accept these operands (NumPy's rules: no bitwise ops of floats, ...) and run
    on the NumPy linker (integers to negative integer powers raise there, as in NumPy)."""
    outs, kept = [], []
    for name in names:
        try:
            out = REGISTRY[name](*args)
        except (TypeError, ValueError, EgoptTypeError):
            continue
        outs.append(out)
        kept.append(name)
    return outs, kept


def _compare(names, ref, got, inputs):
    for name, r, g in zip(names, ref, got):
        r, g = np.asarray(r), np.asarray(g)
        assert (g.dtype, g.shape) == (r.dtype, r.shape), name
        if r.dtype.kind == "f":
            rtol = 1e-5 if r.dtype == np.float32 else 1e-12
            same = (r == g) | (np.isnan(r) & np.isnan(g)) | np.isclose(g, r, rtol=rtol, atol=0)
            same &= (r != 0) | (np.signbit(r) == np.signbit(g))
        else:
            same = r == g
        if not same.all():
            k = int(np.argmin(same))
            raise AssertionError(f"{name}{tuple(a[k] for a in inputs)}: C kernel {g[k]!r}, NumPy linker {r[k]!r}")


def _check(xs, arrays, names):
    outs, names = _outputs(names, xs)
    ran = []
    for out, name in zip(outs, names):     # NumPy raises: integers to negative integer powers
        try:
            with np.errstate(all="ignore"):
                egopt.function(xs, out, mode=NO_OPT_PY)(*arrays)
            ran.append((out, name))
        except OpRuntimeError:
            assert name == "pow", name
    outs, names = [o for o, _ in ran], [n for _, n in ran]
    assert outs
    with np.errstate(all="ignore"):
        ref = egopt.function(xs, outs, mode=NO_OPT_PY)(*arrays)
        got = egopt.function(xs, outs, mode=NO_OPT_C)(*arrays)
    _compare(names, ref, got, arrays)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_ops_on_special_values(dtype):
    x = T.vector("x", dtype=dtype)
    _check([x], [testing.special_values(dtype)], UNARY)


@pytest.mark.parametrize("dtypes", PAIRS, ids="-".join)
def test_binary_ops_on_pairs_of_special_values(dtypes):
    xa, xb = (T.vector(n, dtype=d) for n, d in zip("xy", dtypes))
    va, vb = (testing.special_values(d) for d in dtypes)
    a, b = np.repeat(va, len(vb)), np.tile(vb, len(va))      # every pair
    _check([xa, xb], [a, b], BINARY)


def test_signed_zeros_follow_numpy():
    x, y = T.dvector("x"), T.dvector("y")
    f = egopt.function([x, y], [T.maximum(x, y), T.minimum(x, y), T.sgn(x)], mode=NO_OPT_C)
    a, b = np.array([0.0, -0.0, -0.0]), np.array([-0.0, 0.0, -0.0])
    for got, want in zip(f(a, b), [np.maximum(a, b), np.minimum(a, b), np.sign(a)]):
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8"])
def test_float_ops_of_small_ints_compute_in_float32(dtype):
    """The type says float32 (Theano's choice, dtypes.float_of); NumPy alone would give float16."""
    x = T.vector("x", dtype=dtype)
    a = np.array([0, 1, 1, 0], dtype=dtype)
    outs = [T.exp(x), T.nnet.sigmoid(x), T.hypot(x, x), T.log1p(x)]
    assert all(o.dtype == "float32" for o in outs)
    for mode in (NO_OPT_PY, NO_OPT_C):
        got = egopt.function([x], outs, mode=mode)(a)
        wide = a.astype(np.float64)
        for g, w in zip(got, [np.exp(wide), 1 / (1 + np.exp(-wide)), np.hypot(wide, wide), np.log1p(wide)]):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, w, rtol=1e-6)
