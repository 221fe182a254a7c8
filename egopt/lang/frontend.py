"""The NumPy-like frontend (``egopt.tensor``): constructors, constants and op wrappers.

It only builds graphs. Python scalars are "weak" (NEP 50): ``x * 0.5`` keeps x's float32.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from .. import config
from . import dtypes
from .graph import Constant, Variable
from .types import TensorType

# ---- variables --------------------------------------------------------------------------------------

_PREFIX = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
           "d": "float64", "c": "complex64", "z": "complex128"}


def tensor(*args, dtype=None, shape=None, name=None, broadcastable=None) -> Variable:
    """A symbolic input: ``T.tensor('float32', shape=(None, 1))`` or ``T.tensor(name='x', shape=(2, None))``.

    A static size of 1 marks a broadcastable axis; None is unknown until run time.

    >>> T = __import__("egopt.tensor").tensor
    >>> T.tensor("float32", shape=(None, 1)).type
    matrix[float32](?, 1)
    """
    for a in args:   # Theano's positional (dtype, broadcastable) and PyTensor's (name,) both work
        if isinstance(a, str) and dtype is None and _is_dtype(a):
            dtype = a
        elif isinstance(a, str) and name is None:
            name = a
        elif isinstance(a, (tuple, list)) and shape is None and broadcastable is None:
            broadcastable = a if builtins.all(isinstance(b, bool) for b in a) else None
            shape = None if broadcastable is not None else a
        else:
            raise TypeError(f"tensor(): unexpected argument {a!r}")
    if broadcastable is not None:
        shape = tuple(1 if b else None for b in broadcastable)
    if shape is None:
        raise TypeError("tensor(): give shape=(...) (None for unknown sizes, 1 for broadcastable)")
    return Variable(TensorType(dtype or config.floatX, tuple(shape)), name=name)


def _is_dtype(s: str) -> bool:
    try:
        return np.dtype(s).name in dtypes.C_TYPES
    except TypeError:
        return False


def _maker(ndim: int, prefix: str | None = None, static: tuple | None = None):
    def make(name: str | None = None, dtype: str | None = None, shape=None) -> Variable:
        dt = dtype or (_PREFIX[prefix] if prefix else config.floatX)
        shp = tuple(shape) if shape is not None else (static or (None,) * ndim)
        if len(shp) != ndim:
            raise ValueError(f"shape {shp} has {len(shp)} axes; this constructor makes ndim={ndim}")
        return Variable(TensorType(dt, shp), name=name)
    return make


def _plural(make):
    """``scalars('x', 'y')``, ``scalars('x, y')``, ``scalars(3)``, and Theano's ``scalars('xyz')``
    (a single word of several letters is one variable per letter, as Theano's ``_multi``)."""
    def many(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = (None,) * names[0]
        elif len(names) == 1 and isinstance(names[0], str) and (" " in names[0] or "," in names[0]):
            names = tuple(n for n in names[0].replace(",", " ").split() if n)
        elif len(names) == 1 and isinstance(names[0], str) and len(names[0]) > 1:
            names = tuple(names[0])
        elif len(names) == 1 and isinstance(names[0], (list, tuple)):
            names = tuple(names[0])
        out = [make(n, dtype) for n in names]
        return out[0] if len(out) == 1 else out
    return many


scalar, vector, matrix = _maker(0), _maker(1), _maker(2)
tensor3, tensor4, tensor5, tensor6, tensor7 = _maker(3), _maker(4), _maker(5), _maker(6), _maker(7)
row, col = _maker(2, static=(1, None)), _maker(2, static=(None, 1))
scalars, vectors, matrices = _plural(scalar), _plural(vector), _plural(matrix)
tensor3s, tensor4s, rows, cols = _plural(tensor3), _plural(tensor4), _plural(row), _plural(col)
tensor5s, tensor6s, tensor7s = _plural(tensor5), _plural(tensor6), _plural(tensor7)

# the prefixed constructors (dscalar, fmatrix, ivector, ...) and their plurals (dmatrices, ...)
for _p in _PREFIX:
    for _kind, _nd, _static in (("scalar", 0, None), ("vector", 1, None), ("matrix", 2, None),
                                ("tensor3", 3, None), ("tensor4", 4, None), ("tensor5", 5, None),
                                ("tensor6", 6, None), ("tensor7", 7, None), ("row", 2, (1, None)),
                                ("col", 2, (None, 1))):
        _m = _maker(_nd, _p, _static)
        globals()[_p + _kind] = _m
        globals()[_p + ("matrices" if _kind == "matrix" else _kind + "s")] = _plural(_m)
del _p, _kind, _nd, _static, _m


# ---- constants and conversion ----------------------------------------------------------------------

def constant(value, name: str | None = None, dtype: str | None = None) -> Constant:
    """A constant tensor. Python floats become floatX, ints int64, unless ``dtype`` is given."""
    if isinstance(value, Variable):
        raise TypeError(f"constant() of a symbolic variable {value!r}")
    if dtype is None and isinstance(value, (bool, int, float, complex)):
        dtype = dtypes.default_scalar_dtype(value, config.floatX)
    elif dtype is None and isinstance(value, (list, tuple)):
        arr = np.asarray(value)
        dtype = config.floatX if arr.dtype.kind == "f" else arr.dtype.name
    return Constant(np.asarray(value, dtype=dtype), name=name)


def as_tensor_variable(x, name: str | None = None, ndim: int | None = None, dtype=None) -> Variable:
    """A Variable for ``x``: variables pass through; numbers, lists and arrays become constants."""
    if isinstance(x, Variable):
        v = x
    elif isinstance(x, (list, tuple)) and builtins.any(isinstance(e, Variable) for e in _flat(x)):
        v = stack([as_tensor_variable(e) for e in x])
    else:
        try:
            v = constant(x, name=name, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"cannot convert {type(x).__name__} {x!r} to a tensor: {e}") from None
    if ndim is not None and v.ndim != ndim:
        raise TypeError(f"expected a tensor with ndim={ndim}, got {v!r} (ndim={v.ndim})")
    return v


as_tensor = as_tensor_variable


def _flat(xs):
    for e in xs:
        if isinstance(e, (list, tuple)):
            yield from _flat(e)
        else:
            yield e


def _is_python_scalar(x) -> bool:
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def as_args(args: Sequence[Any]) -> list[Variable]:
    """Convert op arguments; Python scalars take the dtype of the tensors they meet (NEP 50)."""
    tensors = [a for a in args if isinstance(a, Variable)]
    nonweak = [as_tensor_variable(a) if not isinstance(a, Variable) and not _is_python_scalar(a) else a
               for a in args]
    ctx = [a.dtype for a in nonweak if isinstance(a, Variable)]
    if not tensors and not ctx:
        return [as_tensor_variable(a) for a in args]
    ctx_dtype = dtypes.upcast(*ctx) if ctx else None
    out = []
    for a in nonweak:
        if isinstance(a, Variable):
            out.append(a)
        else:
            out.append(constant(a, dtype=dtypes.weak_scalar_dtype(a, ctx_dtype)))
    return out


# ---- elementwise -----------------------------------------------------------------------------------------

def _ew(op_name: str, doc: str = ""):
    from .ops import get_op
    op = get_op(op_name)

    def f(*args):
        return op(*as_args(args))
    f.__name__ = f.__qualname__ = op_name
    f.__doc__ = doc or f"Elementwise ``{op_name}`` with NumPy broadcasting."
    return f


from . import elemwise as _E  # noqa: E402  (op definitions need the helpers above)

add, sub, mul, true_div, int_div, mod = (_ew(n) for n in ("add", "sub", "mul", "true_div", "int_div", "mod"))
pow, neg, abs, sgn, sqr = (_ew(n) for n in ("pow", "neg", "abs", "sgn", "sqr"))
maximum, minimum, clip = _ew("maximum"), _ew("minimum"), _ew("clip")
exp, log, log1p, expm1, log2, log10, sqrt = (_ew(n) for n in ("exp", "log", "log1p", "expm1", "log2", "log10", "sqrt"))
sin, cos, tan, arcsin, arccos, arctan = (_ew(n) for n in ("sin", "cos", "tan", "arcsin", "arccos", "arctan"))
sinh, cosh, tanh, erf = (_ew(n) for n in ("sinh", "cosh", "tanh", "erf"))
arcsinh, arccosh, arctanh = _ew("arcsinh"), _ew("arccosh"), _ew("arctanh")
hypot = _ew("hypot", "``sqrt(x**2 + y**2)`` without overflow or underflow of the squares.")
erfc, log_erfc = _ew("erfc"), _ew("log_erfc", "``log(erfc(x))``, finite far into the tail (x > 26).")
sigmoid, softplus, log1mexp = _ew("sigmoid"), _ew("softplus"), _ew("log1mexp")
gammaln = _ew("gammaln", "``log|Gamma(x)|`` (C99 ``lgamma``).")
psi = _ew("psi", "The digamma function ``d/dx log Gamma(x)``.")
tri_gamma = _ew("tri_gamma", "The trigamma function ``d^2/dx^2 log Gamma(x)`` (no gradient).")
erfinv, erfcinv = _ew("erfinv", "The inverse of ``erf``."), _ew("erfcinv", "The inverse of ``erfc``.")
erfcx = _ew("erfcx", "The scaled complementary error function ``exp(x**2) * erfc(x)``.")
digamma = psi
floor, ceil, round = _ew("floor"), _ew("ceil"), _ew("round")
def _int_bounds(args) -> tuple[int, int] | None:
    """The range of the integer dtype Python scalars in ``args`` would take, or None."""
    ctx = [a.dtype for a in args if isinstance(a, Variable)]
    dt = dtypes.upcast(*ctx) if ctx else None
    if dt is None or not dtypes.is_int(dt):
        return None
    info = np.iinfo(dt)
    return int(info.min), int(info.max)


def _cmp(op_name: str):
    """A comparison: a Python int beyond the other operand's integer range compares by value, as
    in NumPy 2 (``uint8_x < -1`` is all False), in int64, instead of raising OverflowError."""
    f = _ew(op_name)

    def g(*args):
        bounds = _int_bounds(args)
        if bounds is not None:
            args = [constant(a, dtype="int64" if a < 2 ** 63 else "uint64")
                    if _is_python_scalar(a) and isinstance(a, int) and not isinstance(a, bool)
                    and not bounds[0] <= a <= bounds[1] else a for a in args]
        return f(*args)
    g.__name__ = g.__qualname__ = op_name
    g.__doc__ = f.__doc__
    return g


def _clip():
    """clip: Python int bounds beyond an integer tensor's range are clamped to it, as NumPy 2's
    clip does (``clip(uint8_x, -1, 2)`` is uint8), instead of raising OverflowError."""
    f = _ew("clip")

    def clip(x, lo, hi):
        bounds = _int_bounds([x])
        if bounds is not None:
            lo, hi = (builtins.min(builtins.max(b, bounds[0]), bounds[1])
                      if _is_python_scalar(b) and isinstance(b, int) and not isinstance(b, bool) else b
                      for b in (lo, hi))
        return f(x, lo, hi)
    clip.__doc__ = f.__doc__
    return clip


clip = _clip()
eq, neq, lt, le, gt, ge = (_cmp(n) for n in ("eq", "neq", "lt", "le", "gt", "ge"))
and_, or_, xor, invert = _ew("and_"), _ew("or_"), _ew("xor"), _ew("invert")
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
isnan, isinf, second, identity = _ew("isnan"), _ew("isinf"), _ew("second"), _ew("identity")
switch = _ew("switch", "``switch(cond, a, b)``: a where cond is true, else b (NumPy's ``where``).")
where = switch
fill = second
true_divide, floor_divide, power, negative = true_div, int_div, pow, neg
sign, square = sgn, sqr


def cast(x, dtype) -> Variable:
    """``x`` converted to ``dtype`` (a no-op when it already has it)."""
    x = as_tensor_variable(x)
    dtype = dtypes.canonical(dtype)
    return x if x.dtype == dtype else _E.cast(x, dtype=dtype)


# ---- reductions -----------------------------------------------------------------------------------------

from . import reduce as _R  # noqa: E402


def _red(op, x, axis, keepdims, **kw):
    x = as_tensor_variable(x)
    return op(x, axis=_R.normalize_axis(axis, x.ndim, op.name), keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False, dtype=None, acc_dtype=None) -> Variable:
    """Sum over ``axis`` (None: all). Small ints and bools sum in int64, as NumPy."""
    out = _red(_R.sum, x, axis, keepdims)
    return cast(out, dtype) if dtype else out


def prod(x, axis=None, keepdims=False, dtype=None, acc_dtype=None) -> Variable:
    """Product over ``axis``; its gradient is exact when the input holds zeros."""
    out = _red(_R.prod, x, axis, keepdims)
    return cast(out, dtype) if dtype else out


def mean(x, axis=None, keepdims=False, dtype=None) -> Variable:
    out = _red(_R.mean, x, axis, keepdims)
    return cast(out, dtype) if dtype else out


def max(x, axis=None, keepdims=False) -> Variable:
    return _red(_R.max, x, axis, keepdims)


def min(x, axis=None, keepdims=False) -> Variable:
    return _red(_R.min, x, axis, keepdims)


def all(x, axis=None, keepdims=False) -> Variable:
    return _red(_R.all, x, axis, keepdims)


def any(x, axis=None, keepdims=False) -> Variable:
    return _red(_R.any, x, axis, keepdims)


def argmax(x, axis=None, keepdims=False) -> Variable:
    return _red(_R.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False) -> Variable:
    return _red(_R.argmin, x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0, corrected=False) -> Variable:
    """Variance (``ddof=1`` or ``corrected=True`` for the unbiased estimate)."""
    x = as_tensor_variable(x)
    ax = _R.normalize_axis(axis, x.ndim, "var")
    centered = x - mean(x, ax, keepdims=True)
    ddof = 1 if corrected else ddof
    if not ddof:
        return mean(sqr(centered), ax, keepdims)
    n = cast(_R.reduced_size(x, axis=ax), centered.dtype)
    return sum(sqr(centered), ax, keepdims) / (n - ddof)


def std(x, axis=None, keepdims=False, ddof=0, corrected=False) -> Variable:
    return sqrt(var(x, axis, keepdims, ddof, corrected))


# ---- shape, indexing, linear algebra (defined with their ops) ----------------------------------------------

from .shape import (  # noqa: E402
    alloc, arange, concatenate, dimshuffle, expand_dims, flatten, ones, ones_like, reshape, shape,
    shape_padleft, shape_padright, squeeze, stack, transpose, zeros, zeros_like, addbroadcast,
    unbroadcast, patternbroadcast, specify_shape, join, eye, tile, repeat, shape_padaxis,
)
from .subtensor import getitem, inc_subtensor, set_subtensor, take  # noqa: E402
from .blas import batched_dot, dot, matmul, outer, tensordot  # noqa: E402
from .cumulative import cumprod, cumsum  # noqa: E402
from .sorting import argsort, sort  # noqa: E402
