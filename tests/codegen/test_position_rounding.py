"""A kernel's result for an element does not depend on where the element sits: libmvec's
vector functions and the scalar ones can round differently, so every element goes through the
same vector code (whole blocks, then the remainder through the block loop on a padded copy),
whether the kernel reads it from a contiguous array, a contiguous row or a strided row."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.compile import find_compiler

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")
C = egopt.Mode(None, "c")


def _exprs(x):
    return {"exp": T.exp(x), "sin": T.sin(x), "tanh": T.tanh(x), "log1p": T.log1p(abs(x)),
            "chain": T.exp(-x ** 2 / 2) * T.sin(x) + T.log1p(abs(x * x)) / (1 + x ** 2)}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_flat_kernels_round_the_same_at_every_offset(dtype):
    x = T.vector("x", dtype=dtype)
    a = (np.random.default_rng(0).standard_normal(1003) * 3).astype(dtype)
    for name, expr in _exprs(x).items():
        f = egopt.function([x], expr, mode=C)
        full = f(a)
        for k in range(1, 70, 3):
            np.testing.assert_array_equal(f(a[k:]), full[k:], err_msg=f"{name}, offset {k}")
            np.testing.assert_array_equal(f(a[:len(a) - k]), full[:len(a) - k], err_msg=f"{name}, length -{k}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_row_kernels_round_the_same_at_every_offset(dtype):
    # a broadcast row makes the kernel loop row by row (contiguous innermost loops)
    x, r = T.matrix("x", dtype=dtype), T.row("r", dtype=dtype)
    f = egopt.function([x, r], T.exp(x) * T.sin(x + r), mode=C)
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((5, 203)) * 3).astype(dtype)
    b = (rng.standard_normal((1, 203))).astype(dtype)
    full = f(a, b)
    for k in range(1, 40, 5):
        np.testing.assert_array_equal(f(a[:, k:], b[:, k:]), full[:, k:], err_msg=f"offset {k}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_strided_rows_round_as_contiguous_ones(dtype):
    # a transposed input makes every row strided: its tiles go through the same vector code
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    rng = np.random.default_rng(2)
    for name, expr in {**_exprs(x), "two": T.exp(x) * T.sin(x + y), "arith": x * y - x / (1 + y * y)}.items():
        f = egopt.function([x, y], expr, mode=C, on_unused_input="ignore")
        a = (rng.standard_normal((203, 7)) * 3).astype(dtype)     # rows of 203 > one tile
        b = (rng.standard_normal((203, 7))).astype(dtype)
        got = f(a.T, b.T)
        np.testing.assert_array_equal(got, f(np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)), err_msg=name)
        np.testing.assert_allclose(got, egopt.function([x, y], expr, mode=egopt.Mode(None, "py"), on_unused_input="ignore")(a.T, b.T),
                                   rtol=1e-5 if dtype == "float32" else 1e-10,
                                   atol=1e-6 if dtype == "float32" else 1e-14, err_msg=name)
