"""Cases for linear algebra (egopt/lang/blas.py)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T
from tests.cases import Case, array, dtype


def _dims(draw, n):
    return [draw(st.integers(0, 4)) for _ in range(n)]


def _dot_gen(kind):
    def gen(draw):
        m, k, n = _dims(draw, 3)
        dt = dtype(draw)
        sa = {"mm": (m, k), "mv": (m, k), "vm": (k,), "vv": (k,)}[kind]
        sb = {"mm": (k, n), "mv": (k,), "vm": (k, n), "vv": (k,)}[kind]
        return [array(draw, sa, dt), array(draw, sb, dt)]
    return gen


def _nd(shape):
    return lambda vals: [T.tensor(dtype=v.dtype.name, shape=(None,) * v.ndim) for v in vals]


def _td_gen(draw):
    a, b, c, d = _dims(draw, 4)
    dt = dtype(draw)
    return [array(draw, (a, b, c), dt), array(draw, (c, b, d), dt)]


def _mm_gen(draw):
    bt, m, k, n = _dims(draw, 4)
    dt = dtype(draw)
    return [array(draw, (bt, m, k), dt), array(draw, (bt, k, n), dt)]


def _bd_gen(draw):
    bt, n = _dims(draw, 2)
    dt = dtype(draw)
    return [array(draw, (bt, n), dt), array(draw, (bt, n), dt)]


CASES = [Case("dot", _dot_gen(k), T.dot, np.dot, label=k, symbolic=_nd(None), rtol=1e-4 if False else None)
         for k in ("mm", "mv", "vm", "vv")] + [
    Case("tensordot", _td_gen, lambda a, b: T.tensordot(a, b, axes=[[1, 2], [1, 0]]),
         lambda a, b: np.tensordot(a, b, axes=[[1, 2], [1, 0]]), symbolic=_nd(None)),
    Case("matmul", _mm_gen, lambda a, b: a @ b, np.matmul, symbolic=_nd(None)),
    Case("mul", _bd_gen, T.batched_dot, lambda a, b: np.einsum("bi,bi->b", a, b), label="batched-dot",
         symbolic=_nd(None), also_covers=("sum",)),
    Case("dot", lambda d: [array(d, (d(st.integers(0, 4)),), dtype(d)), array(d, (d(st.integers(0, 4)),), dtype(d))],
         T.outer, np.outer, label="outer", symbolic=_nd(None)),
]
