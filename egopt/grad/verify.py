"""``verify_grad``: symbolic gradients against central finite differences.

The output is projected on a random direction (``cost = sum(r * out)``, with random signs and
magnitudes in [0.5, 1.5]), so every output element is checked. For inputs of up to
``max_elements`` elements the whole gradient is compared element by element (a failure
reports the worst element); larger inputs are checked along a random input direction.
Differences are taken between the perturbed values as actually stored in the input dtype,
and the cost is summed in float64, so float32 checks are not swamped by rounding.

This is the one module of ``egopt.grad`` that runs graphs: it imports ``egopt.runtime``
lazily, inside the call (``compile=`` takes another compiler).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..lang import dtypes
from ..lang import frontend as F
from ..lang.errors import EgoptError
from ..lang.graph import Variable
from .reverse import grad

# central differences: truncation ~ eps**2, rounding ~ ulp/eps (Theano's tolerances)
EPS = {"float64": 1e-6, "float32": 1e-3, "float16": 5e-2}
TOL = {"float64": 1e-4, "float32": 1e-2, "float16": 5e-2}


class GradientError(EgoptError, AssertionError):
    """The symbolic gradient differs from finite differences (Theano's ``GradientError``)."""

    def __init__(self, arg: int, err_pos: Any, shape: tuple, val1: float, val2: float,
                 abs_err: float, rel_err: float, abs_tol: float, rel_tol: float, what: str = ""):
        self.arg, self.err_pos, self.shape, self.val1, self.val2 = arg, err_pos, shape, val1, val2
        self.abs_err, self.rel_err, self.abs_tol, self.rel_tol = abs_err, rel_err, abs_tol, rel_tol
        where = f"element {err_pos}" if what == "element" else "a random direction"
        super().__init__(
            f"verify_grad: the gradient of input {arg} (shape {shape}) disagrees with finite "
            f"differences at {where}: analytic {val1!r}, numeric {val2!r} (abs error "
            f"{abs_err:.3g} > {abs_tol:.3g} and rel error {rel_err:.3g} > {rel_tol:.3g})")


def verify_grad(fun: Callable[..., Variable], pt: Sequence[Any], n_tests: int = 2, rng: Any = None,
                eps: float | None = None, out_type: Any = None, abs_tol: float | None = None,
                rel_tol: float | None = None, mode: Any = None, cast_to_output_type: bool = False,
                no_debug_ref: bool = True, compile: Callable | None = None,
                max_elements: int = 64) -> None:
    """Check ``grad`` of ``fun`` (symbolic variables -> one symbolic output) at the point ``pt``.

    ``pt``: a list of float arrays, one per argument of ``fun`` (axes of size 1 are typed
    broadcastable). Raises ``GradientError`` naming the worst element, analytic vs numeric.
    ``eps``, ``abs_tol``, ``rel_tol`` default per dtype (float32 looser); ``rng`` a NumPy
    Generator/RandomState or a seed (default: seed 0). ``out_type``, ``cast_to_output_type`` and
    ``no_debug_ref`` are accepted for Theano compatibility and ignored.

    >>> import numpy as np, egopt.tensor as T
    >>> verify_grad(lambda x: T.tanh(x).sum(), [np.array([0.5, -1.0])], mode="FAST_COMPILE")
    """
    pt = [np.array(p) for p in (pt if isinstance(pt, (list, tuple)) else [pt])]
    for i, p in enumerate(pt):
        if p.dtype.name not in dtypes.FLOATS:
            raise TypeError(f"verify_grad: point {i} has dtype {p.dtype.name}; gradients are checked "
                            f"at float points (cast it, or close over integer inputs in fun)")
    inputs = [F.tensor(dtype=p.dtype.name, shape=tuple(1 if s == 1 else None for s in p.shape),
                       name=f"input{i}") for i, p in enumerate(pt)]
    out = fun(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fun must return a single variable")
    check_grads(inputs, F.as_tensor_variable(out), pt, n_tests=n_tests, rng=rng, eps=eps,
                abs_tol=abs_tol, rel_tol=rel_tol, mode=mode, compile=compile, max_elements=max_elements)


def check_grads(inputs: Sequence[Variable], output: Variable, values: Sequence[Any],
                wrt: Sequence[int] | None = None, n_tests: int = 2, rng: Any = None,
                eps: float | None = None, abs_tol: float | None = None, rel_tol: float | None = None,
                mode: Any = None, compile: Callable | None = None, max_elements: int = 64) -> None:
    """``verify_grad`` over a built graph: ``output`` of ``inputs`` at ``values``, checking the
    inputs numbered in ``wrt`` (default: the float ones).

    >>> import numpy as np, egopt.tensor as T
    >>> x, n = T.dvector("x"), T.lscalar("n")
    >>> check_grads([x, n], (x ** n).sum(), [np.array([1.5, 2.0]), np.array(3)], mode="FAST_COMPILE")
    """
    function = compile or _runtime_function()
    values = [np.asarray(v) for v in values]
    wrt = [i for i, v in enumerate(inputs) if v.dtype in dtypes.FLOATS] if wrt is None else list(wrt)
    if not dtypes.is_float(output.dtype):
        raise TypeError(f"verify_grad: the output has dtype {output.dtype}; it must be float")
    rng = rng if hasattr(rng, "uniform") else np.random.default_rng(rng or 0)
    low = _lowest([values[i].dtype.name for i in wrt] + [output.dtype])
    eps = eps or EPS[low]
    abs_tol, rel_tol = abs_tol or TOL[low], rel_tol or TOL[low]

    proj = Variable(output.type, name="projection")
    cost = F.sum(proj * output)
    grads = grad(cost, [inputs[i] for i in wrt], disconnected_inputs="ignore")
    f_out = function(list(inputs), output, mode=mode, on_unused_input="ignore")
    f_grad = function(list(inputs) + [proj], grads, mode=mode, on_unused_input="ignore")
    shape = np.shape(f_out(*values))
    for _ in range(n_tests):
        r = rng.uniform(0.5, 1.5, shape) * np.where(rng.uniform(0, 1, shape) < 0.5, -1, 1)
        analytic = f_grad(*values, r.astype(output.dtype))

        def c(vals):
            return float(np.sum(r * np.asarray(f_out(*vals), dtype=np.float64)))

        for k, i in enumerate(wrt):
            check = _elementwise if values[i].size <= max_elements else _directional
            check(c, values, i, np.asarray(analytic[k], np.float64), eps, abs_tol, rel_tol, rng)


def _elementwise(c, values, i, analytic, eps, abs_tol, rel_tol, rng) -> None:
    x = values[i]
    numeric = np.zeros(x.shape)
    for pos in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[pos] += eps
        xm[pos] -= eps
        step = float(xp[pos]) - float(xm[pos])
        numeric[pos] = (c(_with(values, i, xp)) - c(_with(values, i, xm))) / step
    _compare(analytic, numeric, i, x.shape, abs_tol, rel_tol, "element")


def _directional(c, values, i, analytic, eps, abs_tol, rel_tol, rng) -> None:
    x = values[i]
    d = rng.standard_normal(x.shape)
    d /= np.linalg.norm(d)
    xp, xm = (x + eps * d).astype(x.dtype), (x - eps * d).astype(x.dtype)
    step = xp.astype(np.float64) - xm.astype(np.float64)
    numeric = (c(_with(values, i, xp)) - c(_with(values, i, xm))) / (2 * eps)
    along = float(np.sum(analytic * step)) / (2 * eps)
    _compare(np.array(along), np.array(numeric), i, x.shape, abs_tol, rel_tol, "direction")


def _compare(analytic, numeric, arg, shape, abs_tol, rel_tol, what) -> None:
    with np.errstate(all="ignore"):
        abs_err = np.abs(analytic - numeric)
        rel_err = abs_err / (np.abs(analytic) + np.abs(numeric))
        score = np.minimum(abs_err / abs_tol, np.where(np.isfinite(rel_err), rel_err, 0) / rel_tol)
    score = np.where(np.isnan(analytic) | np.isnan(numeric), np.inf, score)
    if score.size == 0 or score.max() <= 1:
        return
    pos = np.unravel_index(int(np.argmax(score)), score.shape)
    raise GradientError(arg, tuple(int(p) for p in pos), tuple(shape), float(analytic[pos]),
                        float(numeric[pos]), float(abs_err[pos]), float(rel_err[pos]), abs_tol,
                        rel_tol, what)


def _with(values: list, i: int, x: np.ndarray) -> list:
    return values[:i] + [x] + values[i + 1:]


def _lowest(dts: list[str]) -> str:
    for dt in ("float16", "float32"):
        if dt in dts:
            return dt
    return "float64"


def _runtime_function() -> Callable:
    # the one upward import of egopt.grad (allowed for this module in tests/test_layering.py)
    from ..runtime.function import function
    return function
