"""Cases for the dense linear algebra ops (egopt/lang/linalg.py), on well-conditioned matrices."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from egopt.lang import linalg as L
from tests.cases import Case, array, dtype


def _square(draw, dtypes=("float64",), spd=False):
    n = draw(st.integers(1, 4))
    dt = dtype(draw, dtypes)
    a = array(draw, (n, n), dt, -1.0, 1.0)
    if spd:
        return (a @ a.T + n * np.eye(n)).astype(dt), n
    return (a + 2 * n * np.eye(n)).astype(dt), n     # diagonally dominant: far from singular


def _one(spd=False, dtypes=("float64",)):
    def gen(draw):
        return [_square(draw, dtypes, spd)[0]]
    return gen


def _system(rhs_ndim):
    def gen(draw):
        a, n = _square(draw)
        b = array(draw, (n,) if rhs_ndim == 1 else (n, draw(st.integers(1, 3))), "float64")
        return [a, b]
    return gen


def _np_solve_tri(a, b):
    return np.linalg.solve(np.tril(a), b)


CASES = [
    Case("matrix_inverse", _one(), L.matrix_inverse, np.linalg.inv),
    Case("matrix_inverse", _one(dtypes=("float32",)), L.matrix_inverse, np.linalg.inv, grad=False, rtol=1e-3,
         label="f32"),
    Case("det", _one(), L.det, np.linalg.det),
    Case("solve", _system(1), L.solve, np.linalg.solve, label="vector"),
    Case("solve", _system(2), L.solve, np.linalg.solve, label="matrix"),
    Case("solve", _one(spd=True), lambda a: L.solve(a, a[:, 0], assume_a="sym"),
         lambda a: np.linalg.solve(a, a[:, 0]), label="sym"),
    Case("solve", _system(2), lambda a, b: L.solve_triangular(a, b, lower=True), _np_solve_tri,
         label="triangular", also_covers=("switch",)),
    Case("cholesky", _one(spd=True), L.cholesky, np.linalg.cholesky),
    Case("cholesky", _one(spd=True), lambda a: L.cholesky(a, lower=False), lambda a: np.linalg.cholesky(a).T,
         label="upper"),
    Case("eigvalsh", _one(spd=True), L.eigvalsh, np.linalg.eigvalsh),
    Case("eigh_vectors", _one(spd=True), lambda a: abs(L.eigh(a)[1]), lambda a: abs(np.linalg.eigh(a)[1]),
         grad=False, rtol=1e-6),
    Case("singular_values", _one(), lambda a: L.svd(a, compute_uv=False),
         lambda a: np.linalg.svd(a, compute_uv=False), grad=False),
]
