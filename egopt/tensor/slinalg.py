"""Theano's ``T.slinalg`` (SciPy-based linear algebra in Theano; NumPy here): ``solve``,
``cholesky``, ``solve_triangular``, ``eigvalsh``."""
from ..lang.linalg import cholesky, eigvalsh, solve, solve_triangular  # noqa: F401
