"""Cases for sort and argsort (egopt/lang/sorting.py)."""
from __future__ import annotations

import numpy as np

import egopt.tensor as T
from tests.cases import Case, array, dtype, shape


def _gen(dtypes=("float64", "float32"), lo=-3, hi=3):
    def gen(draw):
        return [array(draw, shape(draw, min_side=1, max_dims=3), dtype(draw, dtypes), lo, hi)]
    return gen


def _along(fn, np_fn, axis):
    def build(x):
        return fn(x, axis=None if x.ndim == 0 else axis)

    def ref(x):
        return np_fn(x, axis=None if x.ndim == 0 else axis)
    return build, ref


def _np_argsort(x, axis):
    return np.argsort(x, axis=axis, kind="stable").astype(np.int64)


CASES = [
    Case("sort", _gen(), *_along(T.sort, np.sort, -1), label="last"),
    Case("sort", _gen(), *_along(T.sort, np.sort, 0), label="first"),
    Case("sort", _gen(), lambda x: T.sort(x, axis=None), lambda x: np.sort(x, axis=None), label="flat"),
    Case("sort", _gen(("int32", "int64", "bool"), -9, 9), lambda x: T.sort(x, axis=None),
         lambda x: np.sort(x, axis=None), grad=False, label="int"),
    Case("argsort", _gen(("float64", "int32")), *_along(T.argsort, _np_argsort, -1), grad=False),
    Case("argsort", _gen(("float64", "int64"), -2, 2), lambda x: T.argsort(x, axis=None),
         lambda x: _np_argsort(x, None), grad=False, label="flat-ties"),
]


def _np_unique_part(part):
    def ref(x):
        v, i, inv, c = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
        return {"values": v, "index": i, "inverse": inv.ravel(), "counts": c}[part].astype(
            x.dtype if part == "values" else np.int64)
    return ref


CASES += [
    Case("unique", _gen(("float64", "int32"), -2, 2), lambda x: T.unique(x), _np_unique_part("values"),
         grad=False),
    Case("unique", _gen(("int64",), -2, 2), lambda x: T.unique(x, return_index=True, return_inverse=True,
                                                                return_counts=True)[1],
         _np_unique_part("index"), grad=False, label="index"),
    Case("unique", _gen(("int64",), -2, 2), lambda x: T.unique(x, return_inverse=True)[1],
         _np_unique_part("inverse"), grad=False, label="inverse"),
    Case("unique", _gen(("int64",), -2, 2), lambda x: T.unique(x, return_counts=True)[1],
         _np_unique_part("counts"), grad=False, label="counts"),
]
