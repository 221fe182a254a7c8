"""Shape ops: dimshuffle, shape, reshape, alloc, arange, eye, specify_shape, and the frontend
functions built from them (flatten, zeros, tile, addbroadcast, ...). ``join`` and ``repeat``,
whose VJPs index, are in subtensor.py (re-exported here).

Sizes given as a mix of constants and symbolic int scalars are stored in a ``shape`` param: a
tuple with an int where the size is a constant and None where it is read from the next extra
input (an int scalar), so static shapes follow from the constants. In ``reshape`` a -1 is the
size NumPy infers; in ``specify_shape`` a -1 is an axis that is not checked.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import config
from . import dtypes
from . import frontend as F
from .elemwise import unbroadcast as sum_back
from .errors import EgoptTypeError, ShapeError
from .graph import Constant, Variable
from .ops import Op, register
from .types import TensorType

_HERE = "egopt/lang/shape.py"


def _shape_op(name: str, infer, perform, vjp, **kw) -> Op:
    return register(Op(name, infer, perform, vjp, kind="shape", defined_in=_HERE, **kw))


def _no_grads(node, g):
    return [None] * len(node.inputs)


# ---- dimshuffle: permute axes, insert broadcastable axes ('x'), drop size-1 axes -----------------

def _ds_infer(params, t):
    pattern = params["pattern"]
    kept = [p for p in pattern if p != "x"]
    if len(set(kept)) != len(kept) or any(not (0 <= p < t.ndim) for p in kept):
        raise ValueError(f"invalid pattern {pattern} for a tensor of ndim {t.ndim}")
    for i, s in enumerate(t.shape):
        if i not in kept and s != 1:
            raise ValueError(f"axis {i} is dropped by pattern {pattern} but is not broadcastable "
                             f"(static size {'?' if s is None else s}); only size-1 axes can be dropped")
    return TensorType(t.dtype, tuple(1 if p == "x" else t.shape[p] for p in pattern))


def _ds_perform(params, x):
    pattern = params["pattern"]
    kept = [p for p in pattern if p != "x"]
    dropped = tuple(i for i in range(x.ndim) if i not in kept)
    if any(x.shape[i] != 1 for i in dropped):
        raise ValueError(f"dimshuffle{pattern}: cannot drop axes {dropped} of shape {x.shape}")
    y = x.reshape([s for i, s in enumerate(x.shape) if i not in dropped]) if dropped else x
    order = sorted(kept)
    y = np.transpose(y, [order.index(p) for p in kept])
    return y.reshape([1 if p == "x" else x.shape[p] for p in pattern])


def _ds_vjp(node, g):
    (x,) = node.inputs
    pattern = node.params["pattern"]
    # positions of x's axes in the output; x's dropped axes come back as 'x'
    back = ["x" if i not in pattern else pattern.index(i) for i in range(x.ndim)]
    # first sum away the inserted axes that broadcast in the output
    inserted = tuple(j for j, p in enumerate(pattern) if p == "x")
    if inserted:
        g = F.sum(g, axis=inserted, keepdims=True)
    return [dimshuffle(g, back)]


dimshuffle_op = _shape_op("dimshuffle", _ds_infer, _ds_perform, _ds_vjp)


def dimshuffle(x, *pattern) -> Variable:
    """Reorder axes and insert broadcastable ones: ``x.dimshuffle(0, 'x', 1)``; ``'x'`` adds an axis.

    The pattern is one sequence or several arguments: ``dimshuffle(x, (1, 0))``, ``dimshuffle(x, 1, 0)``."""
    x = F.as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = pattern[0]
    pattern = tuple(p if p == "x" else int(p) for p in pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return dimshuffle_op(x, pattern=pattern)


def transpose(x, axes=None):
    """Permute axes (reverse them by default); ``x.T``."""
    x = F.as_tensor_variable(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    return dimshuffle(x, axes)


# ---- shape ---------------------------------------------------------------------------------------

shape_op = _shape_op("shape", lambda params, t: TensorType("int64", (t.ndim,)),
                     lambda params, x: np.asarray(x.shape, dtype=np.int64), _no_grads, nin=1)


def shape(x) -> Variable:
    """The run-time shape of ``x`` as an int64 vector (``x.shape``; ``x.shape[0]`` is a scalar)."""
    return shape_op(F.as_tensor_variable(x))


# ---- sizes: constants and symbolic int scalars ---------------------------------------------------

def const_int(v) -> int | None:
    """The Python int of an int (or 0-d integer constant), else None."""
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu":
        return int(v)
    if isinstance(v, Constant) and v.ndim == 0 and dtypes.is_int(v.dtype):
        return int(v.data)
    return None


def sizes(x: Variable) -> list:
    """Each axis's size: the static int where known, else the scalar ``shape(x)[i]``."""
    shp = shape(x) if None in x.type.shape else None
    return [shp[i] if s is None else s for i, s in enumerate(x.type.shape)]


def _entries(shp, ndim: int | None, what: str) -> list:
    if const_int(shp) is not None or (isinstance(shp, Variable) and shp.ndim == 0):
        return [shp]
    if isinstance(shp, (list, tuple)):
        return list(shp)
    v = F.as_tensor_variable(shp)
    if v.ndim != 1 or not dtypes.is_int(v.dtype):
        raise EgoptTypeError(f"{what}: a shape must be a tuple of sizes or an integer vector, "
                             f"got {v!r} ({v.type})")
    if isinstance(v, Constant):
        return [int(s) for s in v.data]
    n = v.type.shape[0]
    if n is None:
        if ndim is None:
            raise ValueError(f"{what}: the length of the symbolic shape {v!r} is not known statically; "
                             f"give ndim=")
        v, n = specify_shape(v, (ndim,)), ndim
    if ndim is not None and ndim != n:
        raise ValueError(f"{what}: ndim={ndim} but the shape vector has length {n}")
    if v.owner is not None and v.owner.op is shape_op:
        return sizes(v.owner.inputs[0])
    return [v[i] for i in range(n)]


def as_dims(shp, ndim: int | None = None, what: str = "shape") -> tuple[tuple, list[Variable]]:
    """A shape argument as (``shape`` param with None where symbolic, the symbolic int scalars).

    >>> import egopt.tensor as T
    >>> n = T.lscalar("n")
    >>> as_dims((2, n, -1))
    ((2, None, -1), [n])
    """
    dims, ins = [], []
    for e in _entries(shp, ndim, what):
        k = const_int(e)
        if k is not None:
            dims.append(k)
            continue
        v = F.as_tensor_variable(e)
        if v.ndim != 0 or not dtypes.is_int(v.dtype):
            raise EgoptTypeError(f"{what}: sizes must be integers or integer scalars, got {v!r} ({v.type})")
        dims.append(None)
        ins.append(v)
    return tuple(dims), ins


def fill_dims(dims: Sequence, values: Sequence) -> tuple[int, ...]:
    """Run-time sizes: the None entries of ``dims`` taken in order from ``values``."""
    it = iter(values)
    return tuple(int(next(it)) if d is None else d for d in dims)


def _check_size_inputs(dims, types, what="size"):
    if len(types) != sum(d is None for d in dims):
        raise ValueError(f"{len(types)} symbolic sizes for shape {dims}")
    for t in types:
        if t.ndim != 0 or not dtypes.is_int(t.dtype):
            raise EgoptTypeError(f"a {what} must be an integer scalar, got {t}")


# ---- reshape -------------------------------------------------------------------------------------

def _resolve(dims: tuple, xshape: tuple) -> tuple:
    """Static output sizes of a reshape (None where unknown); checks what is known."""
    if sum(d == -1 for d in dims) > 1:
        raise ShapeError(f"can only specify one unknown dimension (-1) in {dims}")
    if any(d is not None and d < -1 for d in dims):
        raise ShapeError(f"negative size in shape {dims}")
    out = [None if d is None or d == -1 else d for d in dims]
    if None in xshape or None in dims:
        return tuple(out)
    total, rest = math.prod(xshape), math.prod(d for d in dims if d != -1)
    if -1 in dims:
        if rest == 0 or total % rest:
            raise ShapeError(f"cannot reshape a tensor of static shape {xshape} into {dims}")
        out[dims.index(-1)] = total // rest
    elif rest != total:
        raise ShapeError(f"cannot reshape a tensor of static shape {xshape} (size {total}) into {dims}")
    return tuple(out)


def _reshape_infer(params, t, *size_types):
    _check_size_inputs(params["shape"], size_types)
    return TensorType(t.dtype, _resolve(params["shape"], t.shape))


def _reshape_vjp(node, g):
    return [reshape(g, sizes(node.inputs[0]))] + [None] * (len(node.inputs) - 1)


reshape_op = _shape_op("reshape", _reshape_infer,
                       lambda params, x, *s: np.reshape(x, fill_dims(params["shape"], s)), _reshape_vjp)


def reshape(x, shape, ndim: int | None = None) -> Variable:
    """``x`` with a new shape (sizes: ints, int scalars, an int vector; one -1 is inferred).

    >>> import egopt.tensor as T
    >>> T.reshape(T.tensor("float64", shape=(2, 6)), (3, -1)).type
    matrix[float64](3, 4)
    """
    x = F.as_tensor_variable(x)
    dims, ins = as_dims(shape, ndim, "reshape")
    static = _resolve(dims, x.type.shape)
    dims = tuple(static[i] if d == -1 and static[i] is not None else d for i, d in enumerate(dims))
    if not ins and dims == x.type.shape:
        return x
    return reshape_op(x, *ins, shape=dims)


def flatten(x, ndim: int = 1) -> Variable:
    """Keep the first ``ndim - 1`` axes and collapse the rest into one (Theano's ``flatten``).

    >>> import egopt.tensor as T
    >>> T.flatten(T.tensor("float64", shape=(2, 3, 4)), 2).type
    matrix[float64](2, 12)
    """
    x = F.as_tensor_variable(x)
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim={ndim} must be between 1 and {x.ndim} for {x!r}")
    n = sizes(x)
    last = 1
    for i, s in enumerate(n[ndim - 1:]):    # the collapsed size (-1 is ambiguous for empty tensors)
        last = s if i == 0 else last * s
    return reshape(x, n[:ndim - 1] + [last])


# ---- alloc: broadcast a value to a shape (zeros, ones, alloc, tile) ------------------------------

def _alloc_static(dims, vshape):
    lead = len(dims) - len(vshape)
    if lead < 0:
        raise ShapeError(f"a value of ndim {len(vshape)} cannot be broadcast to {len(dims)} axes")
    out = []
    for i, d in enumerate(dims):
        s = vshape[i - lead] if i >= lead else 1
        if d is not None and s is not None and s not in (1, d):
            raise ShapeError(f"a value of static shape {vshape} does not broadcast to shape {dims} "
                             f"(axis {i})")
        out.append(d if d is not None else (s if s not in (None, 1) else None))
    return tuple(out)


def _alloc_infer(params, v, *size_types):
    _check_size_inputs(params["shape"], size_types)
    if any(d is not None and d < 0 for d in params["shape"]):
        raise ShapeError(f"negative size in shape {params['shape']}")
    return TensorType(v.dtype, _alloc_static(params["shape"], v.shape))


def _alloc_perform(params, v, *s):
    return np.array(np.broadcast_to(v, fill_dims(params["shape"], s)))


def _alloc_vjp(node, g):
    v = node.inputs[0]
    gv = sum_back(g, v.type, node.outputs[0].type) if dtypes.is_differentiable(v.dtype) else None
    return [gv] + [None] * (len(node.inputs) - 1)


alloc_op = _shape_op("alloc", _alloc_infer, _alloc_perform, _alloc_vjp)


def alloc(value, *shape) -> Variable:
    """``value`` broadcast to ``shape`` (ints or int scalars): ``T.alloc(0.0, n, 3)``.

    >>> import egopt.tensor as T
    >>> T.alloc(1.5, 2, 3).eval()
    array([[1.5, 1.5, 1.5],
           [1.5, 1.5, 1.5]])
    """
    v = F.as_tensor_variable(value)
    if len(shape) == 1 and not (const_int(shape[0]) is not None
                                or (isinstance(shape[0], Variable) and shape[0].ndim == 0)):
        shape = shape[0]
    dims, ins = as_dims(shape, None, "alloc")
    return alloc_op(v, *ins, shape=dims)


def _filled(value, shape, dtype) -> Variable:
    return alloc(F.constant(value, dtype=dtype or config.floatX), shape)


def zeros(shape, dtype=None) -> Variable:
    """A tensor of zeros (dtype floatX by default); sizes may be symbolic: ``T.zeros((n, 3))``."""
    return _filled(0, shape, dtype)


def ones(shape, dtype=None) -> Variable:
    """A tensor of ones (dtype floatX by default): ``T.ones(x.shape)``."""
    return _filled(1, shape, dtype)


def zeros_like(x, dtype=None) -> Variable:
    """Zeros of ``x``'s shape (and dtype, unless given); an elementwise ``fill``, so it fuses."""
    x = F.as_tensor_variable(x)
    return F.second(x, F.constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None) -> Variable:
    """Ones of ``x``'s shape (and dtype, unless given)."""
    x = F.as_tensor_variable(x)
    return F.second(x, F.constant(1, dtype=dtype or x.dtype))


def axis_index(axis, ndim: int, what: str) -> int:
    """``axis`` checked against ``ndim`` axes and made non-negative."""
    a = int(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(f"{what}: axis {a} is out of bounds for {ndim} axes")
    return a % ndim


# ---- arange and eye ------------------------------------------------------------------------------

def _arange_infer(params, *ts):
    if len(ts) != 3 or any(t.ndim != 0 or dtypes.is_complex(t.dtype) for t in ts):
        raise EgoptTypeError("start, stop and step must be real scalars")
    return TensorType(params["dtype"], (None,))


def _arange_perform(params, start, stop, step):
    if step == 0:
        raise ValueError("arange: step is 0")
    return np.arange(start, stop, step, dtype=params["dtype"])


def _arange_vjp(node, g):
    # out[i] = start + i * step: d/dstart = sum(g), d/dstep = sum(g * i); stop moves no element
    start, stop, step = node.inputs
    i = F.cast(arange(F.shape(g)[0]), g.dtype)
    dif = dtypes.is_differentiable
    return [F.cast(F.sum(g), start.dtype) if dif(start.dtype) else None,
            zeros_like(stop) if dif(stop.dtype) else None,
            F.cast(F.sum(g * i), step.dtype) if dif(step.dtype) else None]


arange_op = _shape_op("arange", _arange_infer, _arange_perform, _arange_vjp, nin=3)


def _arange_dtype(*dts) -> str:
    dt = dtypes.upcast(*dts)
    if dtypes.is_complex(dt):
        raise EgoptTypeError(f"arange: complex bounds ({dt})")
    return dt if dtypes.is_float(dt) or dt == "uint64" else "int64"


def arange(start, stop=None, step=1, dtype=None) -> Variable:
    """Evenly spaced values in ``[start, stop)``; bounds may be symbolic scalars.

    Integer bounds give int64 (as NumPy); float bounds their common float dtype (Python floats
    on their own are floatX). All-constant bounds give a constant.

    >>> import egopt.tensor as T
    >>> T.arange(1, 7, 2).eval()
    array([1, 3, 5])
    """
    if stop is None:
        start, stop = 0, start
    args = F.as_args([start, stop, step])
    dt = dtypes.canonical(dtype) if dtype is not None else _arange_dtype(*(a.dtype for a in args))
    if all(isinstance(a, Constant) for a in args):
        return F.constant(np.arange(*(a.data for a in args), dtype=dt))
    return arange_op(*args, dtype=dt)


def _eye_infer(params, *size_types):
    _check_size_inputs(params["shape"], size_types)
    return TensorType(params["dtype"], params["shape"])


def _eye_perform(params, *s):
    n, m = fill_dims(params["shape"], s)
    return np.eye(n, m, params["k"], dtype=params["dtype"])


eye_op = _shape_op("eye", _eye_infer, _eye_perform, _no_grads)


def eye(n, m=None, k: int = 0, dtype=None) -> Variable:
    """An ``n x m`` matrix with ones on diagonal ``k``; sizes may be int scalars.

    >>> import egopt.tensor as T
    >>> T.eye(2, 3, k=1, dtype="int8").eval()
    array([[0, 1, 0],
           [0, 0, 1]], dtype=int8)
    """
    dims, ins = as_dims((n, n if m is None else m), None, "eye")
    return eye_op(*ins, shape=dims, k=int(k), dtype=dtypes.canonical(dtype or config.floatX))


# ---- specify_shape: a run-time check that tightens (or loosens) the static type ------------------

def _spec_infer(params, t, *size_types):
    dims = params["shape"]
    _check_size_inputs(dims, size_types)
    if len(dims) != t.ndim:
        raise ShapeError(f"shape {dims} has {len(dims)} axes but the tensor has {t.ndim}")
    for a, (d, s) in enumerate(zip(dims, t.shape)):
        if d is not None and d < -1:
            raise ShapeError(f"negative size in shape {dims}")
        if d is not None and d >= 0 and s is not None and d != s:
            raise ShapeError(f"axis {a} has static size {s}, not {d}")
    return TensorType(t.dtype, tuple(d if d is not None and d >= 0 else None for d in dims))


def _spec_perform(params, x, *s):
    want = fill_dims(params["shape"], s)
    if x.ndim != len(want) or any(w != -1 and w != v for w, v in zip(want, x.shape)):
        text = ", ".join("?" if w == -1 else str(w) for w in want)
        raise ValueError(f"expected shape ({text}), got {x.shape}")
    return x


def _spec_vjp(node, g):
    x = node.inputs[0]
    return [with_static(g, x.type.shape)] + [None] * (len(node.inputs) - 1)


def with_static(g: Variable, static) -> Variable:
    """``g`` typed with the static sizes ``static`` where g's type lacks them."""
    if all(s is None or t is not None for s, t in zip(static, g.type.shape)):
        return g
    return specify_shape(g, tuple(t if t is not None else s for s, t in zip(static, g.type.shape)))


specify_shape_op = _shape_op("specify_shape", _spec_infer, _spec_perform, _spec_vjp)


def specify_shape(x, shape) -> Variable:
    """``x``, checked at run time to have ``shape`` (None: any size); its static type says so.

    >>> import egopt.tensor as T
    >>> T.specify_shape(T.dmatrix(), (None, 3)).type
    matrix[float64](?, 3)
    """
    x = F.as_tensor_variable(x)
    raw = list(shape) if isinstance(shape, (list, tuple)) else _entries(shape, x.ndim, "specify_shape")
    dims, ins = as_dims([-1 if e is None else e for e in raw], None, "specify_shape")
    if len(dims) != x.ndim:
        raise ShapeError(f"specify_shape: shape {dims} has {len(dims)} axes but {x!r} has {x.ndim}")
    dims = tuple(s if d == -1 and s is not None else d for d, s in zip(dims, x.type.shape))
    return _retype(x, dims, ins)


def _retype(x: Variable, dims: tuple, ins: list) -> Variable:
    if not ins and tuple(None if d == -1 else d for d in dims) == x.type.shape:
        return x
    return specify_shape_op(x, *ins, shape=dims)


def _axes(x: Variable, axes) -> set[int]:
    if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
        axes = tuple(axes[0])
    return {axis_index(a, x.ndim, "broadcast pattern") for a in axes}


def addbroadcast(x, *axes) -> Variable:
    """``x`` with ``axes`` typed broadcastable (size 1, checked at run time)."""
    x = F.as_tensor_variable(x)
    ax = _axes(x, axes)
    dims = tuple(1 if a in ax else (-1 if s is None else s) for a, s in enumerate(x.type.shape))
    return _retype(x, dims, [])


def unbroadcast(x, *axes) -> Variable:
    """``x`` with ``axes`` no longer typed broadcastable (their static size becomes unknown)."""
    x = F.as_tensor_variable(x)
    ax = _axes(x, axes)
    return _retype(x, tuple(-1 if a in ax and s == 1 else (-1 if s is None else s)
                            for a, s in enumerate(x.type.shape)), [])


def patternbroadcast(x, broadcastable) -> Variable:
    """``x`` typed with the given broadcastable pattern (a bool per axis)."""
    x = F.as_tensor_variable(x)
    if len(broadcastable) != x.ndim:
        raise ValueError(f"patternbroadcast: {len(broadcastable)} flags for {x!r} of ndim {x.ndim}")
    dims = tuple(1 if b else (-1 if s in (None, 1) else s) for b, s in zip(broadcastable, x.type.shape))
    return _retype(x, dims, [])


# ---- inserting and dropping axes (dimshuffle) ----------------------------------------------------

def expand_dims(x, axis) -> Variable:
    """Insert size-1 axes at ``axis`` (an int or a tuple, positions in the result)."""
    x = F.as_tensor_variable(x)
    axes = (axis,) if const_int(axis) is not None else tuple(axis)
    nd = x.ndim + len(axes)
    new = {axis_index(a, nd, "expand_dims") for a in axes}
    it = iter(range(x.ndim))
    return dimshuffle(x, ["x" if i in new else next(it) for i in range(nd)])


def shape_padleft(x, n: int = 1) -> Variable:
    """``x`` with ``n`` broadcastable axes in front."""
    x = F.as_tensor_variable(x)
    return dimshuffle(x, ["x"] * n + list(range(x.ndim)))


def shape_padright(x, n: int = 1) -> Variable:
    """``x`` with ``n`` broadcastable axes at the end."""
    x = F.as_tensor_variable(x)
    return dimshuffle(x, list(range(x.ndim)) + ["x"] * n)


def shape_padaxis(x, axis: int) -> Variable:
    """``x`` with a broadcastable axis inserted at ``axis`` (as ``expand_dims``)."""
    return expand_dims(x, int(axis))


def squeeze(x, axis=None) -> Variable:
    """Drop the broadcastable axes of ``x`` (or the given ones, checked to be size 1 at run time)."""
    x = F.as_tensor_variable(x)
    if axis is not None:
        axes = (axis,) if const_int(axis) is not None else tuple(axis)
        x = addbroadcast(x, *axes)
        drop = {axis_index(a, x.ndim, "squeeze") for a in axes}
    else:
        drop = {a for a, s in enumerate(x.type.shape) if s == 1}
    return dimshuffle(x, [a for a in range(x.ndim) if a not in drop])


# ---- tile ----------------------------------------------------------------------------------------

def tile(x, reps) -> Variable:
    """``x`` repeated ``reps[i]`` times along each axis (NumPy's ``tile``; reps may be symbolic).

    >>> import egopt.tensor as T
    >>> T.tile(T.constant([1, 2]), (2, 2)).eval()
    array([[1, 2, 1, 2],
           [1, 2, 1, 2]])
    """
    x = F.as_tensor_variable(x)
    reps = list(_entries(reps, None, "tile"))
    if len(reps) > x.ndim:
        x = shape_padleft(x, len(reps) - x.ndim)
    reps = [1] * (x.ndim - len(reps)) + reps
    n = sizes(x)
    pattern, target, final = [], [], []
    for a, (r, s) in enumerate(zip(reps, n)):
        rc = const_int(r)
        r = rc if rc is not None else r
        if rc != 1:
            pattern.append("x")
            target.append(r)
        pattern.append(a)
        target.append(s)
        final.append(s if rc == 1 else r * s)
    if len(pattern) == x.ndim:
        return x
    return reshape(alloc(dimshuffle(x, pattern), target), final)


# join and repeat, whose VJPs slice and scatter, live beside indexing in subtensor.py
from .subtensor import concatenate, join, repeat, stack  # noqa: E402,F401
