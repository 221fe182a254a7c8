"""Theano's ``T.nlinalg`` (NumPy-based linear algebra): ``matrix_inverse``, ``det``, ``eigh``,
``pinv``, ``trace``, ``diag``, ``matrix_dot``, ``svd`` (values only), ``norm``."""
from ..lang.linalg import (det, diag, eigh, matrix_dot, matrix_inverse, norm, pinv, slogdet,  # noqa: F401
                           svd)
from ..lang.numpy_like import trace  # noqa: F401

inv = matrix_inverse
extract_diag = alloc_diag = diag
