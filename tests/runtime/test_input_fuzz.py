"""Hostile call inputs: any dtype, shape, strides, size 0, NaN/inf. A call either returns what
NumPy computes on the converted inputs or raises a TypeError/ValueError/OpRuntimeError that
names the function's input or op; shared state is never touched by a failed call."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

import egopt
import egopt.tensor as T
from egopt.lang.errors import OpRuntimeError

DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64", "complex128"]
SPECIAL = [0.0, -0.0, 1.0, -1.5, np.nan, np.inf, -np.inf, 1e308, 5e-324]

x = T.dmatrix("x")
y = T.dvector("y")
acc = egopt.shared(np.zeros(()), name="acc")
F = egopt.function([x, y], T.exp(x) * y + x.sum(), updates=[(acc, acc + 1)])


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    n = int(np.prod(shape)) if shape else 1
    vals = draw(st.lists(st.sampled_from(SPECIAL) | st.floats(-50, 50), min_size=n, max_size=n))
    with np.errstate(all="ignore"):
        a = np.array(vals, dtype=np.float64).reshape(shape).astype(dtype)
    how = draw(st.sampled_from(["plain", "transposed", "strided", "list", "scalar"]))
    if how == "transposed":
        a = a.T
    elif how == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    elif how == "list":
        return a.tolist()
    elif how == "scalar" and a.ndim == 0:
        return a.item()
    return a


@settings(max_examples=60)
@given(arrays(), arrays())
def test_hostile_inputs_give_numpy_results_or_clear_errors(a, b):
    before = float(acc.get_value())
    try:
        got = F(a, b)
    except (TypeError, ValueError, OpRuntimeError) as e:
        msg = str(e)
        assert "input" in msg or "add(" in msg or "mul(" in msg, msg
        assert float(acc.get_value()) == before         # a failed call changes nothing
        return
    xa, ya = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert xa.ndim == 2 and ya.ndim == 1
    with np.errstate(all="ignore"):
        want = np.exp(xa) * ya + xa.sum()
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert float(acc.get_value()) == before + 1
