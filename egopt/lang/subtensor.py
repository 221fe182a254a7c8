"""Indexing: basic and integer-array subtensors, set_subtensor / inc_subtensor, take, masks;
and the ops whose VJPs index: join (concatenate, stack) and repeat.

The index is the ``idx`` param, one entry per index item (NumPy's semantics throughout):

- ``k`` (an int): a constant integer index;
- ``"?"``: a symbolic integer index, read from the next extra input (an int scalar);
- ``(start, stop, step)``: a slice, each part an int, None (absent) or ``"?"`` (symbolic);
- ``"x"``: a new broadcastable axis (``None`` / ``np.newaxis``);
- ``"a"``: an integer array, read from the next extra input (advanced ops only).

Ellipsis is expanded, trailing full slices are dropped and constant negative indices made
positive where the size is static, so equal indexings have equal params. A boolean mask
becomes one ``"a"`` entry per mask axis (its ``nonzero`` coordinates), as in NumPy.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .elemwise import unbroadcast as _sum_back
from .errors import EgoptTypeError, ShapeError
from .graph import Constant, SourceLoc, Variable
from .ops import Op, register
from .shape import (arange, axis_index, const_int, expand_dims, flatten, reshape, shape, shape_op, sizes,
                    specify_shape, with_static, zeros_like)
from .types import TensorType, broadcast_shapes

_HERE = "egopt/lang/subtensor.py"


class IndexingError(ShapeError, IndexError):
    """An index that does not fit the tensor (too many indices, out of bounds)."""


# ---- static shapes -------------------------------------------------------------------------------

def _slots(idx) -> list[str]:
    """The kind ("?" or "a") of each extra input, in order."""
    out = []
    for e in idx:
        if isinstance(e, tuple):
            out.extend(p for p in e if p == "?")
        elif e == "?" or e == "a":
            out.append(e)
    return out


def _slice_len(e: tuple, n: int | None) -> int | None:
    if n is None or "?" in e:
        return None
    return len(range(*slice(*e).indices(n)))


def _check_int(k: int, n: int | None, axis: int) -> None:
    if n is not None and not -n <= k < n:
        raise IndexingError(f"index {k} is out of bounds for axis {axis} with size {n}")


def index_shape(idx: tuple, xshape: tuple, arrays: tuple = ()) -> tuple:
    """Static shape of ``x[idx]`` (None where unknown); ``arrays``: static shapes of the "a" inputs.

    >>> index_shape(((1, 3, None), "x", 0), (5, 4))
    (2, 1)
    >>> index_shape(((None, None, None), "a", "a"), (3, 4, 5), ((2,), (2,)))
    (3, 2)
    """
    advanced = "a" in idx
    arrs = iter(arrays)
    out: list = []
    ax, block_at, adv_pos, adv_shapes = 0, None, [], []
    for j, e in enumerate(idx):
        if e == "x":
            out.append(1)
            continue
        if ax >= len(xshape):
            raise IndexingError(f"too many indices for a tensor of ndim {len(xshape)}")
        n, ax = xshape[ax], ax + 1
        if isinstance(e, tuple):
            if e[2] == 0:
                raise ValueError("slice step cannot be zero")
            out.append(_slice_len(e, n))
            continue
        if isinstance(e, int):
            _check_int(e, n, ax - 1)
        if advanced:   # with an array present, integers are advanced indices too (NumPy)
            adv_shapes.append(next(arrs) if e == "a" else ())
            adv_pos.append(j)
            block_at = len(out) if block_at is None else block_at
    out.extend(xshape[ax:])
    if advanced:
        block = broadcast_shapes(*adv_shapes, op="advanced index")
        adjacent = adv_pos == list(range(adv_pos[0], adv_pos[-1] + 1))
        at = block_at if adjacent else 0      # separated advanced indices go first (NumPy)
        out[at:at] = block
    return tuple(out)


def _check_inputs(idx, types, advanced: bool) -> tuple:
    kinds = _slots(idx)
    if len(kinds) != len(types):
        raise ValueError(f"index {idx} needs {len(kinds)} extra inputs, got {len(types)}")
    arrays = []
    for k, t in zip(kinds, types):
        if not dtypes.is_int(t.dtype) or (k == "?" and t.ndim != 0):
            raise EgoptTypeError(f"indices must be integer scalars or integer arrays, got {t}")
        if k == "a":
            arrays.append(t.shape)
    if arrays and not advanced:
        raise ValueError("integer-array indices need advanced_subtensor")
    return tuple(arrays)


def _np_index(idx, values, xp=np) -> tuple:
    """The NumPy index for ``idx`` with the run-time values of its extra inputs (index arrays
    made by ``xp.asarray``: ``xp`` is CuPy for the CUDA linker)."""
    it = iter(values)

    def part(p):
        return int(next(it)) if p == "?" else p

    out: list = []
    for e in idx:
        if isinstance(e, tuple):
            out.append(slice(*[part(p) for p in e]))
        elif e == "x":
            out.append(None)
        elif e == "?":
            out.append(int(next(it)))
        elif e == "a":
            out.append(xp.asarray(next(it)))
        else:
            out.append(e)
    return tuple(out)


# ---- the ops -------------------------------------------------------------------------------------

def _sub_infer(advanced):
    def infer(params, x, *ins):
        arrays = _check_inputs(params["idx"], ins, advanced)
        return TensorType(x.dtype, index_shape(params["idx"], x.shape, arrays))
    return infer


def _sub_perform(params, x, *ins):
    return x[_np_index(params["idx"], ins)]


def _sub_vjp(node, g):
    x, ins = node.inputs[0], node.inputs[1:]
    if not dtypes.is_differentiable(x.dtype):
        return [None] * len(node.inputs)
    inc = _INC[node.op.name]
    gx = inc(zeros_like(x), F.cast(g, x.dtype), *ins, idx=node.params["idx"], set=False)
    return [gx] + [None] * len(ins)


def _inc_infer(advanced):
    def infer(params, x, y, *ins):
        arrays = _check_inputs(params["idx"], ins, advanced)
        sub = index_shape(params["idx"], x.shape, arrays)
        if y.dtype != x.dtype:
            raise EgoptTypeError(f"the value has dtype {y.dtype}, the tensor {x.dtype}")
        if y.ndim > len(sub):
            raise ShapeError(f"a value of ndim {y.ndim} cannot be put in a region of ndim {len(sub)}")
        for a, (s, t) in enumerate(zip(sub[len(sub) - y.ndim:], y.shape)):
            if t is not None and t != 1 and s is not None and s != t:
                raise ShapeError(f"a value of static shape {y.shape} does not broadcast to the "
                                 f"indexed region's shape {sub}")
        return x
    return infer


def _inc_perform(advanced):
    def perform(params, x, y, *ins):
        out = np.array(x, copy=True)
        index = _np_index(params["idx"], ins)
        if params["set"]:
            out[index] = y
        elif advanced:
            np.add.at(out, index, y)      # repeated indices accumulate
        else:
            out[index] += y
        return out
    return perform


def _inc_vjp(node, g):
    x, y, ins = node.inputs[0], node.inputs[1], node.inputs[2:]
    idx, is_set = node.params["idx"], node.params["set"]
    gx = gy = None
    if dtypes.is_differentiable(x.dtype):
        g = F.cast(g, x.dtype)
        gx = node.op(g, F.constant(0, dtype=g.dtype), *ins, idx=idx, set=True) if is_set else g
        region = _SUB[node.op.name](g, *ins, idx=idx)
        gy = _sum_back(region, y.type, region.type)
    return [gx, gy] + [None] * len(ins)


def _register(name, infer, perform, vjp):
    return register(Op(name, infer, perform, vjp, kind="index", defined_in=_HERE))


subtensor = _register("subtensor", _sub_infer(False), _sub_perform, _sub_vjp)
advanced_subtensor = _register("advanced_subtensor", _sub_infer(True), _sub_perform, _sub_vjp)
inc_subtensor_op = _register("inc_subtensor", _inc_infer(False), _inc_perform(False), _inc_vjp)
advanced_inc_subtensor = _register("advanced_inc_subtensor", _inc_infer(True), _inc_perform(True), _inc_vjp)

_INC = {"subtensor": inc_subtensor_op, "advanced_subtensor": advanced_inc_subtensor}
_SUB = {"inc_subtensor": subtensor, "advanced_inc_subtensor": advanced_subtensor}


def _nonzero_infer(params, m):
    if not 0 <= params["axis"] < m.ndim:
        raise ShapeError(f"axis {params['axis']} is out of range for a mask of ndim {m.ndim}")
    return TensorType("int64", (None,))


nonzero_op = register(Op("nonzero", _nonzero_infer, lambda params, m: np.nonzero(m)[params["axis"]],
                         lambda node, g: [None], kind="index", nin=1, defined_in=_HERE))


# ---- the frontend: parsing an index --------------------------------------------------------------

def _fail(msg: str):
    loc = SourceLoc.capture()
    raise IndexingError(msg + (f"\n  built at {loc}" if loc else ""))


def _int_scalar(p) -> Variable:
    v = F.as_tensor_variable(p)
    if v.ndim != 0 or not dtypes.is_int(v.dtype):
        raise TypeError(f"slice bounds must be integers or integer scalars, got {v!r} ({v.type})")
    return v


def _item(e):
    """One index item as (entry, inputs), ("mask", variable), or Ellipsis."""
    if e is Ellipsis:
        return e
    if e is None:
        return "x", []
    if isinstance(e, slice):
        parts, ins = [], []
        for p in (e.start, e.stop, e.step):
            k = const_int(p)
            if p is None or k is not None:
                parts.append(k)
            else:
                parts.append("?")
                ins.append(_int_scalar(p))
        return tuple(parts), ins
    if isinstance(e, (bool, np.bool_)):
        raise TypeError("a scalar boolean index (x[True]) is not supported")
    k = const_int(e)
    if k is not None:
        return k, []
    if isinstance(e, list) and any(isinstance(v, Variable) for v in F._flat(e)):
        e = F.as_tensor_variable(e)
    elif isinstance(e, (list, np.ndarray)):
        arr = np.asarray(e)
        e = F.constant(arr.astype("int64") if arr.size == 0 and arr.dtype.kind == "f" else arr)
    v = F.as_tensor_variable(e)
    if v.dtype == "bool":
        if v.ndim == 0:
            raise TypeError("a scalar boolean index (x[True]) is not supported")
        return "mask", v
    if not dtypes.is_int(v.dtype):
        raise TypeError(f"only integers, slices, None, Ellipsis and integer or boolean arrays are "
                        f"valid indices; got {v!r} of dtype {v.dtype}")
    return ("?" if v.ndim == 0 else "a"), [v]


def _expand(x: Variable, items: list) -> list:
    """Expand Ellipsis and masks into one entry per index item: [(entry, inputs), ...]."""
    width = [0 if it is Ellipsis or it[0] == "x" else (it[1].ndim if it[0] == "mask" else 1)
             for it in items]
    if sum(it is Ellipsis for it in items) > 1:
        _fail("an index can only have a single ellipsis ('...')")
    if sum(width) > x.ndim:
        _fail(f"too many indices for {x!r}: it has {x.ndim} axes, {sum(width)} were indexed")
    out, ax = [], 0
    for it, w in zip(items, width):
        if it is Ellipsis:
            n = x.ndim - sum(width)
            out.extend([((None, None, None), [])] * n)
            ax += n
        elif it[0] == "mask":
            out.extend(_mask_entries(x, it[1], ax))
            ax += w
        else:
            out.append(it)
            ax += w
    return out


def _mask_entries(x: Variable, m: Variable, ax: int) -> list:
    want = x.type.shape[ax:ax + m.ndim]
    for a, (s, t) in enumerate(zip(want, m.type.shape)):
        if s is not None and t is not None and s != t:
            _fail(f"boolean index did not match the indexed tensor along axis {ax + a}: "
                  f"size {s}, mask size {t}")
    if isinstance(m, Constant):
        return [("a", [F.constant(c)]) for c in np.nonzero(m.data)]
    m = specify_shape(m, sizes(x)[ax:ax + m.ndim])     # NumPy refuses a mask of another shape
    return [("a", [nonzero_op(m, axis=k)]) for k in range(m.ndim)]


def _normalize(x: Variable, entries: list) -> list:
    out, ax = [], 0
    for e, ins in entries:
        if e == "x":
            out.append((e, ins))
            continue
        n = x.type.shape[ax]
        if isinstance(e, int):   # out of bounds: the op's type rule says so, with the user's line
            e = e + n if n is not None and -n <= e < 0 else e
        elif e == "a" and isinstance(ins[0], Constant) and n is not None and ins[0].data.size:
            d = ins[0].data
            if d.min() < -n or d.max() >= n:
                _fail(f"index array {d.tolist()} is out of bounds for axis {ax} with size {n}")
        elif isinstance(e, tuple):
            start, stop, step = e
            if step == 0:
                raise ValueError("slice step cannot be zero")
            step = None if step == 1 else step
            start = None if start == 0 and (step is None or (isinstance(step, int) and step > 0)) else start
            e = (start, stop, step)
        out.append((e, ins))
        ax += 1
    while out and out[-1][0] == (None, None, None):
        out.pop()
    return out


def getitem(x, idx) -> Variable:
    """``x[idx]``: ints, slices (constant or symbolic bounds), None, Ellipsis, integer arrays, masks.

    >>> import egopt.tensor as T
    >>> T.tensor("float64", shape=(5, 4))[1:3, None, -1].type
    matrix[float64](2, 1)
    """
    x = F.as_tensor_variable(x)
    raw = list(idx) if isinstance(idx, tuple) else [idx]
    entries = _normalize(x, _expand(x, [_item(e) for e in raw]))
    idx = tuple(e for e, _ in entries)
    ins = [v for _, vs in entries for v in vs]
    if x.owner is not None and x.owner.op is shape_op and len(idx) == 1 and isinstance(idx[0], int):
        s = x.owner.inputs[0].type.shape[idx[0]]
        if s is not None:        # a static size: x.shape[0] is a constant
            return F.constant(np.int64(s))
    op = advanced_subtensor if "a" in idx else subtensor
    return op(x, *ins, idx=idx)


def _value_for(x: Variable, y) -> Variable:
    if isinstance(y, (bool, int, float, complex)) and not isinstance(y, np.generic):
        y = F.constant(y, dtype=dtypes.weak_scalar_dtype(y, x.dtype))
    y = F.as_tensor_variable(y)
    if y.dtype != x.dtype:
        if not np.can_cast(y.dtype, x.dtype, casting="same_kind"):
            raise EgoptTypeError(f"cannot put values of dtype {y.dtype} into {x!r} of dtype {x.dtype} "
                                 f"without losing information; cast them: y.astype({x.dtype!r})")
        y = F.cast(y, x.dtype)
    return y


def inc_subtensor(x, y, inplace: bool = False, set_instead_of_inc: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> Variable:
    """A copy of the tensor indexed by ``x`` with ``y`` added to that region (``x`` is ``a[idx]``).

    Repeated integer-array indices accumulate (as ``np.add.at``); ``y`` broadcasts.

    >>> import egopt.tensor as T
    >>> a = T.constant([0.0, 0.0, 0.0])
    >>> T.inc_subtensor(a[[0, 0, 2]], 1.0).eval()
    array([2., 0., 1.])
    """
    node = x.owner if isinstance(x, Variable) else None
    op = _INC.get(node.op.name) if node is not None else None
    if op is None:
        raise TypeError(f"set_subtensor/inc_subtensor: the first argument must be an indexing "
                        f"expression such as a[1:3] or a[idx], got {x!r}")
    base, ins = node.inputs[0], node.inputs[1:]
    return op(base, _value_for(base, y), *ins, idx=node.params["idx"], set=bool(set_instead_of_inc))


def set_subtensor(x, y, inplace: bool = False, tolerate_inplace_aliasing: bool = False) -> Variable:
    """A copy of the tensor indexed by ``x`` with that region replaced by ``y`` (``x`` is ``a[idx]``).

    >>> import egopt.tensor as T
    >>> a = T.constant([1.0, 2.0, 3.0])
    >>> T.set_subtensor(a[1:], 0.0).eval()
    array([1., 0., 0.])
    """
    return inc_subtensor(x, y, set_instead_of_inc=True)


def take(x, indices, axis: int | None = None) -> Variable:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` when None), as NumPy.

    >>> import egopt.tensor as T
    >>> T.take(T.constant([[1, 2], [3, 4]]), [1, 0, 1], axis=1).eval()
    array([[2, 1, 2],
           [4, 3, 4]])
    """
    x = F.as_tensor_variable(x)
    if axis is None:
        return flatten(x)[indices]
    a = int(axis)
    if not -x.ndim <= a < x.ndim:
        raise np.exceptions.AxisError(f"take: axis {a} is out of bounds for {x!r} of ndim {x.ndim}")
    return x[(slice(None),) * (a % x.ndim) + (indices,)]


# ---- join: concatenate along an axis -------------------------------------------------------------

def _join_infer(params, *ts):
    axis = params["axis"]
    if not ts:
        raise ValueError("needs at least one tensor")
    nd = ts[0].ndim
    if any(t.ndim != nd for t in ts) or not 0 <= axis < nd:
        raise ShapeError(f"tensors must have the same ndim >= 1 and axis={axis} must be one of "
                         f"their axes; got ndims {[t.ndim for t in ts]}")
    out = []
    for a in range(nd):
        col = [t.shape[a] for t in ts]
        if a == axis:
            out.append(None if None in col else sum(col))
            continue
        known = {s for s in col if s is not None}
        if len(known) > 1:
            raise ShapeError(f"sizes differ on axis {a} ({sorted(known)}); only axis {axis} may differ")
        out.append(known.pop() if known else None)
    return TensorType(dtypes.upcast(*(t.dtype for t in ts)), tuple(out))


def _join_vjp(node, g):
    axis, grads, start = node.params["axis"], [], 0
    for x in node.inputs:
        n = x.type.shape[axis] if x.type.shape[axis] is not None else shape(x)[axis]
        stop = start + n
        if dtypes.is_differentiable(x.dtype):
            part = g[(slice(None),) * axis + (slice(start, stop),)]
            grads.append(F.cast(part, x.dtype))
        else:
            grads.append(None)
        start = stop
    return grads


join_op = register(Op("join", _join_infer, lambda params, *xs: np.concatenate(xs, axis=params["axis"]),
                     _join_vjp, kind="shape", defined_in=_HERE))


def concatenate(tensors, axis: int = 0) -> Variable:
    """Join tensors along an existing axis (NumPy's ``concatenate``).

    >>> import egopt.tensor as T
    >>> T.concatenate([T.ones((2, 3)), T.zeros((1, 3))]).type
    matrix[float64](3, 3)
    """
    xs = F.as_args(list(tensors))
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    nd = xs[0].ndim
    if nd == 0:
        raise ShapeError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    axis = axis_index(axis, nd, "concatenate")
    return xs[0] if len(xs) == 1 else join_op(*xs, axis=axis)


def join(axis: int, *tensors) -> Variable:
    """Theano's ``join(axis, *tensors)``: ``concatenate(tensors, axis)``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return concatenate(tensors, axis)


def stack(tensors, *more, axis: int = 0) -> Variable:
    """Join tensors along a new axis; also Theano's ``stack(a, b, c)``.

    >>> import egopt.tensor as T
    >>> T.stack([T.dscalar(), T.dscalar()]).type
    vector[float64](2)
    """
    if isinstance(tensors, (list, tuple)):
        if len(more) > 1:
            raise TypeError("stack(tensors, axis): too many arguments")
        axis = more[0] if more else axis
    else:
        tensors = (tensors,) + more
    xs = F.as_args(list(tensors))
    if not xs:
        raise ValueError("stack: needs at least one tensor")
    axis = axis_index(axis, xs[0].ndim + 1, "stack")
    return join_op(*(expand_dims(x, axis) for x in xs), axis=axis)


# ---- repeat: a gather along one axis (its VJP scatters back) -------------------------------------

def _repeat_infer(params, t, *rep):
    axis, r = params["axis"], params["repeats"]
    if not 0 <= axis < t.ndim:
        raise ShapeError(f"axis {axis} is out of range for a tensor of ndim {t.ndim}")
    if (r is None) != (len(rep) == 1) or (rep and (rep[0].ndim > 1 or not dtypes.is_int(rep[0].dtype))):
        raise EgoptTypeError("repeats must be an int, an int scalar or an int vector")
    if rep and rep[0].ndim == 1 and None not in (rep[0].shape[0], t.shape[axis]) \
            and rep[0].shape[0] not in (1, t.shape[axis]):
        raise ShapeError(f"{rep[0].shape[0]} repeats for {t.shape[axis]} elements on axis {axis}")
    s = t.shape[axis]
    out = list(t.shape)
    out[axis] = s * r if r is not None and s is not None else None
    return TensorType(t.dtype, tuple(out))


def _repeat_perform(params, x, *rep):
    return np.repeat(x, params["repeats"] if not rep else rep[0], axis=params["axis"])


def _repeat_vjp(node, g):
    x, axis, r = node.inputs[0], node.params["axis"], node.params["repeats"]
    rep = node.inputs[1] if r is None else None
    extra = [None] * (len(node.inputs) - 1)
    if not dtypes.is_differentiable(x.dtype):
        return [None] + extra
    if rep is None or rep.ndim == 0:      # each element repeated r times in a row: sum groups of r
        n = sizes(x)
        g = reshape(g, n[:axis] + [n[axis], r if rep is None else rep] + n[axis + 1:])
        return [with_static(F.sum(g, axis=axis + 1), x.type.shape)] + extra
    idx = repeat(arange(sizes(x)[axis]), rep)   # out[j] came from x[idx[j]]
    gx = inc_subtensor(zeros_like(x)[(slice(None),) * axis + (idx,)], g)
    return [gx] + extra


repeat_op = register(Op("repeat", _repeat_infer, _repeat_perform, _repeat_vjp, kind="shape",
                        defined_in=_HERE))


def repeat(x, repeats, axis=None) -> Variable:
    """Repeat each element ``repeats`` times along ``axis`` (flattened first when None), as NumPy.

    >>> import egopt.tensor as T
    >>> T.repeat(T.constant([1, 2]), 2).eval()
    array([1, 1, 2, 2])
    """
    x = F.as_tensor_variable(x)
    if axis is None:
        x, axis = flatten(x), 0
    axis = axis_index(axis, x.ndim, "repeat")
    r = const_int(repeats)
    if r is not None:
        if r < 0:
            raise ValueError(f"repeat: negative repeats {r}")
        return repeat_op(x, axis=axis, repeats=r)
    rep = F.as_tensor_variable(repeats)
    if not dtypes.is_int(rep.dtype):
        raise EgoptTypeError(f"repeat: repeats must be integers, got {rep.type}")
    return repeat_op(x, rep, axis=axis, repeats=None)
