"""Dense linear algebra on matrices (Theano's ``nlinalg``/``slinalg``, PyTensor's ``pt.linalg``):
``matrix_inverse``, ``det``, ``solve``, ``cholesky``, ``eigh``, ``eigvalsh``, ``svd`` values.

The ops run NumPy's LAPACK routines (no C kernel: the C linker calls their NumPy perform). Their
VJPs are the textbook ones, written with existing ops so that second derivatives exist too:

- ``inv``: ``-A^-T G A^-T``;   ``det``: ``g det(A) A^-T``;
- ``solve(A, b)``: ``x = A^-1 b``, ``b_bar = A^-T g``, ``A_bar = -b_bar x^T``;
- ``cholesky`` (lower, ``A = L L^T``): ``S = L^-T Phi(L^T L_bar) L^-1`` (Murray 2016,
  "Differentiation of the Cholesky decomposition"), given to the triangle the factorization reads
  (``tril(S + S^T) - diag(S)``, as Theano's ``CholeskyGrad``);
- ``eigvalsh`` (symmetric ``A``): ``V diag(g) V^T``, given to the triangle it reads.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .errors import EgoptTypeError
from .ops import Op, register
from .types import TensorType

_HERE = "egopt/lang/linalg.py"


def _float(t: TensorType) -> str:
    return t.dtype if dtypes.is_float(t.dtype) else "float64"


def _square(name: str, t: TensorType) -> None:
    if t.ndim != 2:
        raise EgoptTypeError(f"{name} needs a matrix, got {t}")
    a, b = t.shape
    if a is not None and b is not None and a != b:
        raise EgoptTypeError(f"{name} needs a square matrix, got static shape {t.shape}")


def _inv_infer(params, t: TensorType) -> TensorType:
    _square("matrix_inverse", t)
    n = t.shape[0] if t.shape[0] is not None else t.shape[1]
    return TensorType(_float(t), (n, n))


def _inv_vjp(node, g):
    ainv_t = node.outputs[0].T
    return [-F.dot(F.dot(ainv_t, g), ainv_t)]


def _det_infer(params, t: TensorType) -> TensorType:
    _square("det", t)
    return TensorType(_float(t), ())


def _det_vjp(node, g):
    a = node.inputs[0]
    return [g * node.outputs[0] * matrix_inverse(a).T]


def _solve_infer(params, a: TensorType, b: TensorType) -> TensorType:
    _square("solve", a)
    if b.ndim not in (1, 2):
        raise EgoptTypeError(f"solve: b must be a vector or a matrix, got {b}")
    n = a.shape[0] if a.shape[0] is not None else a.shape[1]
    if n is not None and b.shape[0] is not None and b.shape[0] != n:
        raise EgoptTypeError(f"solve: A is {n}x{n} but b has {b.shape[0]} rows")
    return TensorType(dtypes.upcast(_float(a), _float(b)), (n,) + b.shape[1:])


def _solve_perform(params, a, b):
    if params["assume_a"] == "sym":
        a = (a + a.T) / 2
    return np.linalg.solve(a, b)


def _solve_vjp(node, g):
    a, b = node.inputs
    x = node.outputs[0]
    sym = node.params["assume_a"] == "sym"
    b_bar = solve(a.T, g, assume_a="sym" if sym else "gen")
    a_bar = -(F.outer(b_bar, x) if x.ndim == 1 else F.dot(b_bar, x.T))
    return [(a_bar + a_bar.T) / 2 if sym else a_bar, b_bar]


def _cholesky_infer(params, t: TensorType) -> TensorType:
    _square("cholesky", t)
    n = t.shape[0] if t.shape[0] is not None else t.shape[1]
    return TensorType(_float(t), (n, n))


def _cholesky_perform(params, a):
    try:
        low = np.linalg.cholesky(a if params["lower"] else a.T)   # reads a's lower (upper) triangle
    except np.linalg.LinAlgError:
        if params["on_error"] == "nan":
            return np.full_like(a, np.nan, dtype=np.result_type(a.dtype, np.float32))
        raise
    return low if params["lower"] else low.T.conj()


def _phi(m):
    """The lower triangle of ``m`` with its diagonal halved."""
    n = F.shape(m)[0]
    i = F.arange(n)
    lower = F.ge(i.dimshuffle(0, "x"), i.dimshuffle("x", 0))
    half = F.switch(F.eq(i.dimshuffle(0, "x"), i.dimshuffle("x", 0)), 0.5, 1.0)
    return F.switch(lower, m * half, F.zeros_like(m))


def _cholesky_vjp(node, g):
    low = node.outputs[0] if node.params["lower"] else node.outputs[0].T
    g = g if node.params["lower"] else g.T
    linv = matrix_inverse(low)
    s = F.dot(F.dot(linv.T, _phi(F.dot(low.T, g))), linv)
    return [_read_triangle(s, node.params["lower"])]   # only the triangle it reads


def _eigvalsh_infer(params, t: TensorType) -> TensorType:
    _square("eigvalsh", t)
    return TensorType(_float(t), (t.shape[0],))


def _eigvalsh_vjp(node, g):
    v = eigh(node.inputs[0], params_lower=node.params["lower"])[1]
    return [_read_triangle(F.dot(v * g.dimshuffle("x", 0), v.T), node.params["lower"])]


def _read_triangle(s, lower: bool):
    """The gradient ``s`` (of a symmetric input) given to the triangle an op reads, as Theano does."""
    ga = tril(s + s.T) - s * F.eye(F.shape(s)[0], dtype=s.dtype)
    return ga if lower else ga.T


def _eigvecs_infer(params, t: TensorType) -> TensorType:
    _square("eigh", t)
    return TensorType(_float(t), t.shape)


def _no_grad(name):
    def vjp(node, g):
        from .errors import EgoptError
        raise EgoptError(f"{name}: no gradient (use eigvalsh for differentiable eigenvalues)"
                         + (f"\n  built at {node.loc}" if node.loc else ""))
    return vjp


def _svals_infer(params, t: TensorType) -> TensorType:
    if t.ndim != 2:
        raise EgoptTypeError(f"svd needs a matrix, got {t}")
    a, b = t.shape
    k = None if a is None or b is None else min(a, b)
    return TensorType(_float(t), (k,))


inv_op = register(Op("matrix_inverse", _inv_infer, lambda params, a: np.linalg.inv(a), _inv_vjp, kind="linalg",
                     nin=1, flops=10.0, defined_in=_HERE))
det_op = register(Op("det", _det_infer, lambda params, a: np.linalg.det(a), _det_vjp, kind="linalg", nin=1,
                     flops=10.0, defined_in=_HERE))
solve_op = register(Op("solve", _solve_infer, _solve_perform, _solve_vjp, kind="linalg", nin=2, flops=10.0,
                       defined_in=_HERE))
cholesky_op = register(Op("cholesky", _cholesky_infer, _cholesky_perform, _cholesky_vjp, kind="linalg", nin=1,
                          flops=5.0, defined_in=_HERE))
eigvalsh_op = register(Op("eigvalsh", _eigvalsh_infer,
                          lambda params, a: np.linalg.eigvalsh(a, UPLO="L" if params["lower"] else "U"),
                          _eigvalsh_vjp, kind="linalg", nin=1, flops=20.0, defined_in=_HERE))
eigvecs_op = register(Op("eigh_vectors", _eigvecs_infer,
                         lambda params, a: np.linalg.eigh(a, UPLO="L" if params["lower"] else "U")[1],
                         _no_grad("eigh (eigenvectors)"), kind="linalg", nin=1, flops=20.0, defined_in=_HERE))
svals_op = register(Op("singular_values", _svals_infer, lambda params, a: np.linalg.svd(a, compute_uv=False),
                       _no_grad("svd"), kind="linalg", nin=1, flops=20.0, defined_in=_HERE))


def _matrix(x, name: str):
    x = F.as_tensor_variable(x)
    if x.ndim != 2:
        raise EgoptTypeError(f"{name} needs a matrix, got {x!r} ({x.type})")
    return x


def matrix_inverse(a):
    """The inverse of a square matrix (``np.linalg.inv``; Theano's ``nlinalg.matrix_inverse``)."""
    return inv_op(_matrix(a, "matrix_inverse"))


def det(a):
    """The determinant of a square matrix (``np.linalg.det``)."""
    return det_op(_matrix(a, "det"))


def solve(a, b, assume_a: str = "gen", lower: bool = False, check_finite: bool = True, **_kwargs):
    """``x`` with ``a @ x = b`` (``b`` a vector or a matrix of right-hand sides). ``assume_a='sym'``
    (or ``'pos'``) solves with the symmetric part of ``a``, as the gradient then assumes too."""
    a, b = _matrix(a, "solve"), F.as_tensor_variable(b)
    return solve_op(a, b, assume_a="sym" if assume_a in ("sym", "pos", "her") else "gen")


def cholesky(a, lower: bool = True, on_error: str = "raise", **_kwargs):
    """The Cholesky factor of a symmetric positive-definite matrix: ``L`` with ``a = L L^T``
    (``lower=False``: ``U = L^T``). A matrix that is not positive definite raises, or gives NaNs
    with ``on_error='nan'`` (PyTensor's option)."""
    if on_error not in ("raise", "nan"):
        raise ValueError(f"cholesky: on_error must be 'raise' or 'nan', not {on_error!r}")
    return cholesky_op(_matrix(a, "cholesky"), lower=bool(lower), on_error=on_error)


def eigvalsh(a, b=None, lower: bool = True):
    """The eigenvalues of a symmetric matrix, ascending (``np.linalg.eigvalsh``); differentiable."""
    if b is not None:
        raise NotImplementedError("eigvalsh: the generalized problem (b=...) is not supported by egopt")
    return eigvalsh_op(_matrix(a, "eigvalsh"), lower=bool(lower))


def eigh(a, UPLO: str = "L", params_lower: bool | None = None):
    """``(w, v)``: eigenvalues (ascending) and eigenvectors of a symmetric matrix (``np.linalg.eigh``).
    The eigenvalues have a gradient; the eigenvectors do not."""
    lower = (UPLO.upper() == "L") if params_lower is None else params_lower
    a = _matrix(a, "eigh")
    return eigvalsh_op(a, lower=lower), eigvecs_op(a, lower=lower)


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """The singular values of a matrix (``compute_uv=False``); ``U, s, V`` are not supported."""
    if compute_uv:
        raise NotImplementedError("svd: egopt computes singular values only: call svd(a, compute_uv=False)")
    return svals_op(_matrix(a, "svd"))


def pinv(a):
    """The Moore-Penrose pseudo-inverse of a full-column-rank matrix, ``(A^T A)^-1 A^T``."""
    a = _matrix(a, "pinv")
    return F.dot(matrix_inverse(F.dot(a.T, a)), a.T)


def slogdet(a):
    """``(sign, log|det a|)`` (from ``det``: finite while the determinant does not overflow)."""
    d = det(a)
    return F.sgn(d), F.log(abs(d))


def norm(x, ord=None, axis=None):
    """``np.linalg.norm`` for vectors (``ord`` None/2, 1, inf) and matrices (``'fro'``, None)."""
    from .theano_like import norm as _lnorm
    x = F.as_tensor_variable(x)
    if ord in (None, "fro", 2) and (x.ndim == 1 or ord != 2):
        return F.sqrt(F.sum(F.sqr(x), axis))
    if x.ndim == 1 or axis is not None:
        return _lnorm(x, ord, axis)
    raise NotImplementedError(f"norm: ord={ord!r} on a matrix is not supported by egopt")


def tril(a, k: int = 0):
    """The lower triangle of a matrix (below diagonal ``k``), zeros elsewhere (``np.tril``)."""
    a = _matrix(a, "tril")
    i, j = F.arange(F.shape(a)[0]), F.arange(F.shape(a)[1])
    return F.switch(F.ge(i.dimshuffle(0, "x") + k, j.dimshuffle("x", 0)), a, F.zeros_like(a))


def triu(a, k: int = 0):
    """The upper triangle of a matrix (above diagonal ``k``), zeros elsewhere (``np.triu``)."""
    a = _matrix(a, "triu")
    i, j = F.arange(F.shape(a)[0]), F.arange(F.shape(a)[1])
    return F.switch(F.le(i.dimshuffle(0, "x") + k, j.dimshuffle("x", 0)), a, F.zeros_like(a))


def solve_triangular(a, b, trans=0, lower: bool = False, unit_diagonal: bool = False, **_kwargs):
    """``x`` with ``a @ x = b``, reading only ``a``'s lower (or upper) triangle (``scipy.linalg``'s)."""
    a = _matrix(a, "solve_triangular")
    if trans in (1, "T"):
        a, lower = a.T, not lower
    t = tril(a) if lower else triu(a)
    if unit_diagonal:
        n = F.shape(a)[0]
        t = t - t * F.eye(n, dtype=a.dtype) + F.eye(n, dtype=a.dtype)
    return solve(t, b)


def diag(x):
    """A vector's diagonal matrix, or a matrix's diagonal (``np.diag``)."""
    from .numpy_like import diagonal
    x = F.as_tensor_variable(x)
    if x.ndim == 1:
        return F.eye(F.shape(x)[0], dtype=x.dtype) * x.dimshuffle("x", 0)
    if x.ndim == 2:
        return diagonal(x)
    raise EgoptTypeError(f"diag needs a vector or a matrix, got {x.type}")


def matrix_dot(*args):
    """``args[0] @ args[1] @ ...`` (Theano's ``nlinalg.matrix_dot``)."""
    out = F.as_tensor_variable(args[0])
    for a in args[1:]:
        out = F.dot(out, a)
    return out
