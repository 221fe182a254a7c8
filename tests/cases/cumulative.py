"""Cases for the running sums and products (egopt/lang/cumulative.py)."""
from __future__ import annotations

import numpy as np

import egopt.tensor as T
from tests.cases import Case, array, dtype, shape


def _gen(lo, hi, dtypes=("float64", "float32")):
    def gen(draw):
        return [array(draw, shape(draw, min_side=1), dtype(draw, dtypes), lo, hi)]
    return gen


def _along(fn, axis):
    def build(x):
        return fn(x, axis=None if x.ndim == 0 else axis % x.ndim)

    def ref(x):
        return getattr(np, fn.__name__)(x, axis=None if x.ndim == 0 else axis % x.ndim)
    return build, ref


CASES = [
    Case("cumsum", _gen(-3, 3), T.cumsum, np.cumsum, label="flat"),
    Case("cumsum", _gen(-3, 3), *_along(T.cumsum, 0), label="axis0"),
    Case("cumsum", _gen(-3, 3), *_along(T.cumsum, -1), label="last"),
    Case("cumsum", _gen(-50, 50, ("int32", "int64", "bool")), T.cumsum, np.cumsum, grad=False, label="int"),
    Case("cumprod", _gen(0.5, 1.5), T.cumprod, np.cumprod, label="flat"),
    Case("cumprod", _gen(0.5, 1.5), *_along(T.cumprod, -1), label="last"),
    Case("cumprod", _gen(-3, 3, ("int32", "int64")), T.cumprod, np.cumprod, grad=False, label="int"),
]
