"""Python scalars meeting integer tensors (NEP 50, as NumPy 2): out-of-range ints."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint32"])
def test_python_ints_beyond_an_int_range_in_comparisons_and_clip_as_numpy(dtype):
    """NumPy 2 compares an int array with an out-of-range Python int by value and clamps clip's
    bounds (uint8_x < -1 is all False, clip(uint8_x, -1, 2) is uint8); + still raises as NumPy."""
    info = np.iinfo(dtype)
    a = np.array([info.min, 0, 5, info.max], dtype=dtype)
    x = T.vector("x", dtype=dtype)
    lo, hi = int(info.min) - 1, int(info.max) + 1
    cases = [(x < lo, a < lo), (x <= lo, a <= lo), (x > hi, a > hi), (x >= lo, a >= lo), (T.eq(x, hi), a == hi),
             (T.neq(x, lo), a != lo), (lo < x, lo < a), (T.clip(x, lo, 2), np.clip(a, lo, 2)),
             (T.clip(x, 3, hi), np.clip(a, 3, hi)), (x.clip(lo, hi), np.clip(a, lo, hi))]
    f = egopt.function([x], [c for c, _ in cases])
    for got, (_, want) in zip(f(a), cases):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(OverflowError):
        x + hi
