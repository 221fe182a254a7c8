"""Reductions: sum, prod, mean, max, min, all, any, argmax, argmin (``axis`` and ``keepdims``).

``axis`` is stored normalized: a sorted tuple of non-negative axes (None means all).
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .errors import EgoptTypeError
from .ops import Op, register
from .types import TensorType


def normalize_axis(axis, ndim: int, op: str = "reduce") -> tuple[int, ...]:
    """Axis argument (None, int, sequence, negatives allowed) -> sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"{op}: axis {a} is out of bounds for a tensor of ndim {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {tuple(axis)}")
    return tuple(sorted(out))


def reduced_shape(shape, axis, keepdims):
    if keepdims:
        return tuple(1 if i in axis else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axis)


def expand_reduced(g, ndim: int, axis: tuple[int, ...], keepdims: bool):
    """Put back the reduced axes (as broadcastable axes) of a reduction's output gradient."""
    if keepdims or not axis:
        return g
    pattern, j = [], 0
    for i in range(ndim):
        if i in axis:
            pattern.append("x")
        else:
            pattern.append(j)
            j += 1
    return F.dimshuffle(g, pattern)


def _reduction(name, fn, dtype_rule, vjp=None, c_init=None, c_combine=None, sympy=None,
               flops=1.0, fmt=None):
    def infer(params, t):
        dt = dtype_rule(t.dtype)
        return TensorType(dt, reduced_shape(t.shape, params["axis"], params["keepdims"]))

    def perform(params, x):
        return fn(x, axis=params["axis"], keepdims=params["keepdims"])

    return register(Op(name, infer, perform, vjp, kind="reduce", nin=1, sympy=sympy, flops=flops,
                       fmt=fmt, defined_in="egopt/lang/reduce.py",
                       extra={"c_init": c_init, "c_combine": c_combine}))


def _sum_dtype(dt):
    # NumPy: bool and small ints accumulate in the platform int
    if dt == "bool" or (dtypes.is_int(dt) and np.dtype(dt).itemsize < 8):
        return "uint64" if dt.startswith("uint") else "int64"
    return dt


def _same(dt):
    return dt


def _mean_dtype(dt):
    # NumPy: the mean of ints and bools is float64
    return dt if dtypes.is_float(dt) or dtypes.is_complex(dt) else "float64"


def _bool(dt):
    return "bool"


def _int64(dt):
    return "int64"


def _real(dt):
    if dtypes.is_complex(dt):
        raise EgoptTypeError(f"max/min/argmax of complex ({dt}) is not defined")
    return dt


def _sympy_reduce(name):
    """SymPy translation of max/min over axes (their NumPy perform would compare symbols)."""
    def reduce(params, x):
        import sympy
        fn = getattr(sympy, name)
        axis, keep = params["axis"], params["keepdims"]
        rest = [i for i in range(x.ndim) if i not in axis]
        moved = np.transpose(x, rest + list(axis))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        out = np.empty(flat.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = fn(*flat[idx])
        return out.reshape(reduced_shape(x.shape, axis, keep))
    return reduce


def _vjp_sum(node, g):
    x = node.inputs[0]
    g = expand_reduced(g, x.ndim, node.params["axis"], node.params["keepdims"])
    return [F.second(x, g)]


def _vjp_mean(node, g):
    x = node.inputs[0]
    g = expand_reduced(g, x.ndim, node.params["axis"], node.params["keepdims"])
    n = F.cast(reduced_size(x, axis=node.params["axis"]), g.dtype)
    return [F.second(x, g / n)]


def _vjp_prod(node, g):
    # d prod / d x_i = prod of the others; exact with zeros: count them instead of dividing by 0
    x = node.inputs[0]
    axis = node.params["axis"]
    g = expand_reduced(g, x.ndim, axis, node.params["keepdims"])
    is_zero = F.eq(x, 0)
    n_zero = F.sum(is_zero, axis=axis, keepdims=True)
    prod_nz = F.prod(F.switch(is_zero, 1, x), axis=axis, keepdims=True)
    one_zero_here = F.eq(n_zero, 1) & is_zero
    others = F.switch(F.eq(n_zero, 0), prod_nz / F.switch(is_zero, 1, x),
                      F.switch(one_zero_here, prod_nz, 0))
    return [g * others]


def _vjp_chooser(node, g):
    # the gradient is shared equally among tied extrema (deterministic, a valid subgradient)
    x, out = node.inputs[0], node.outputs[0]
    axis, keep = node.params["axis"], node.params["keepdims"]
    g = expand_reduced(g, x.ndim, axis, keep)
    at_extreme = F.eq(x, expand_reduced(out, x.ndim, axis, keep))
    ties = F.sum(at_extreme, axis=axis, keepdims=True)
    return [F.switch(at_extreme, g / F.cast(ties, g.dtype), 0)]


sum = _reduction("sum", np.sum, _sum_dtype, _vjp_sum, c_init="0", c_combine="{acc} + {x}",
                 fmt="sum({0})")         # no sympy field: its perform runs on arrays of symbols
prod = _reduction("prod", np.prod, _sum_dtype, _vjp_prod, c_init="1", c_combine="{acc} * {x}",
                  fmt="prod({0})")
mean = _reduction("mean", np.mean, _mean_dtype, _vjp_mean, flops=1.0, fmt="mean({0})")
max = _reduction("max", np.max, _real, _vjp_chooser, c_init="-INFINITY",
                 c_combine="egopt_max({acc}, {x})", sympy=_sympy_reduce("Max"), fmt="max({0})")
min = _reduction("min", np.min, _real, _vjp_chooser, c_init="INFINITY",
                 c_combine="egopt_min({acc}, {x})", sympy=_sympy_reduce("Min"), fmt="min({0})")
all = _reduction("all", np.all, _bool, None, c_init="1", c_combine="({acc} && {x})", fmt="all({0})")
any = _reduction("any", np.any, _bool, None, c_init="0", c_combine="({acc} || {x})", fmt="any({0})")


def _arg(fn):
    def perform(params, x):
        axis = params["axis"]
        if len(axis) == x.ndim and x.ndim != 1:   # over everything: flat index, as NumPy
            return fn(x.reshape(-1), axis=0, keepdims=False).reshape((1,) * x.ndim if params["keepdims"] else ())
        return fn(x, axis=axis[0], keepdims=params["keepdims"])
    return perform


def _arg_infer(params, t):
    if len(params["axis"]) not in (1, t.ndim):
        raise ValueError("argmax/argmin take one axis or all of them")
    _real(t.dtype)
    return TensorType("int64", reduced_shape(t.shape, params["axis"], params["keepdims"]))


argmax = register(Op("argmax", _arg_infer, _arg(np.argmax), None, kind="reduce", nin=1,
                     defined_in="egopt/lang/reduce.py"))
argmin = register(Op("argmin", _arg_infer, _arg(np.argmin), None, kind="reduce", nin=1,
                     defined_in="egopt/lang/reduce.py"))

reduced_size = register(Op(
    "reduced_size",
    lambda params, t: TensorType("int64", ()),
    lambda params, x: np.int64(np.prod([x.shape[a] for a in params["axis"]], dtype=np.int64)),
    None, kind="shape", nin=1, defined_in="egopt/lang/reduce.py"))
