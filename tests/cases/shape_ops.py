"""Cases for the shape ops (egopt/lang/shape.py). Not named shape.py: that would shadow the
``shape`` strategy of ``tests.cases`` once imported."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T
from tests.cases import _i, _stash, Case, array, dtype, shape


def _x(draw, ndim=None, min_side=0, max_dims=3, dtypes=("float64", "float32")):
    return array(draw, shape(draw, ndim, min_side=min_side, max_dims=max_dims), dtype(draw, dtypes))



# ---- dimshuffle, shape ---------------------------------------------------------------------------

@_stash
def _ds_gen(draw):
    x = _x(draw)
    keep = [a for a in range(x.ndim) if x.shape[a] != 1 or draw(st.booleans())]
    order = draw(st.permutations(keep))
    pattern = list(order)
    for _ in range(draw(st.integers(0, 2))):
        pattern.insert(draw(st.integers(0, len(pattern))), "x")
    return [x], tuple(pattern)


def _ds_ref(x):
    pattern = _ds_gen.p
    kept = [p for p in pattern if p != "x"]
    y = np.squeeze(x, axis=tuple(a for a in range(x.ndim) if a not in kept))
    squeezed = sorted(kept)
    y = np.transpose(y, [squeezed.index(p) for p in kept])
    for j, p in enumerate(pattern):
        if p == "x":
            y = np.expand_dims(y, j)
    return y


# ---- reshape, flatten ----------------------------------------------------------------------------

@_stash
def _reshape_gen(draw):
    x = _x(draw)
    n = x.size
    cands = [(n,), (1, n), (n, 1), tuple(reversed(x.shape)), x.shape + (1,), ()]
    if n:
        cands += [(-1,), (1, -1), tuple(reversed(x.shape))[:-1] + (-1,)]
    cands = [c for c in cands if c != () or n == 1]
    return [x], draw(st.sampled_from(cands))


@_stash
def _reshape_sym_gen(draw):
    x = _x(draw, min_side=1)
    a = draw(st.sampled_from([d for d in range(1, x.size + 1) if x.size % d == 0]))
    return [x, _i(a), _i(x.size // a)], None


@_stash
def _flatten_gen(draw):
    x = _x(draw, min_side=0)
    return [x], draw(st.integers(1, max(x.ndim, 1)))


def _np_flatten(x, nd):
    return x.reshape(x.shape[:nd - 1] + (int(np.prod(x.shape[nd - 1:], dtype=np.int64)),))


# ---- alloc, tile ---------------------------------------------------------------------------------

@_stash
def _alloc_gen(draw):
    v = _x(draw, max_dims=2)
    target = tuple(draw(st.integers(0, 3)) if s == 1 else s for s in v.shape)
    lead = tuple(draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2))))
    return [v], lead + target


@_stash
def _alloc_sym_gen(draw):
    v = _x(draw, max_dims=1)
    n = draw(st.integers(0, 3))
    return [v, _i(n)], v.shape


@_stash
def _tile_gen(draw):
    x = _x(draw, max_dims=2)
    return [x], tuple(draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 3))))


# ---- join, stack ---------------------------------------------------------------------------------

@_stash
def _join_gen(draw):
    base = shape(draw, min_side=0, max_dims=3)
    if not base:
        base = (draw(st.integers(0, 3)),)
    axis = draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(draw(st.integers(2, 3))):
        s = list(base)
        s[axis] = draw(st.integers(0, 3))
        xs.append(array(draw, tuple(s), dtype(draw)))
    return xs, axis


@_stash
def _stack_gen(draw):
    s = shape(draw, max_dims=2)
    xs = [array(draw, s, dtype(draw)) for _ in range(draw(st.integers(1, 3)))]
    return xs, draw(st.integers(-len(s) - 1, len(s)))


# ---- arange, eye ---------------------------------------------------------------------------------

def _arange_int_gen(draw):
    dt = dtype(draw, ("int64", "int32"))
    step = draw(st.sampled_from([-3, -2, -1, 1, 2, 3]))
    return [np.asarray(draw(st.integers(-5, 5)), dt), np.asarray(draw(st.integers(-5, 5)), dt),
            np.asarray(step, dt)]


def _arange_float_gen(draw):
    dt = dtype(draw)
    return [np.asarray(draw(st.floats(-3, 3)), dt), np.asarray(draw(st.floats(-3, 3)), dt),
            np.asarray(draw(st.sampled_from([0.5, 0.75, -1.0])), dt)]


@_stash
def _eye_gen(draw):
    return [_i(draw(st.integers(0, 4))), _i(draw(st.integers(0, 4)))], draw(st.integers(-2, 2))


# ---- specify_shape and the broadcast patterns ----------------------------------------------------

def _loose(vals):
    return [T.tensor(v.dtype.name, shape=(None,) * v.ndim) for v in vals]


def _tagged(v):
    """A loosely typed input that remembers the value's shape, for specify_shape's case."""
    x = T.tensor(v.dtype.name, shape=(None,) * v.ndim)
    x.tag.static = v.shape
    return x


@_stash
def _bcast_gen(draw):
    x = array(draw, shape(draw, min_side=1, max_side=2), dtype(draw))
    return [x], tuple(a for a in range(x.ndim) if x.shape[a] == 1)


# ---- repeat --------------------------------------------------------------------------------------

@_stash
def _repeat_gen(draw):
    x = _x(draw)
    axis = None if x.ndim == 0 or draw(st.booleans()) else draw(st.integers(-x.ndim, x.ndim - 1))
    return [x], (draw(st.integers(0, 3)), axis)


@_stash
def _repeat_vec_gen(draw):
    x = _x(draw, min_side=0)
    if x.ndim == 0:
        x = x.reshape(1)
    axis = draw(st.integers(0, x.ndim - 1))
    reps = array(draw, (x.shape[axis],), "int64", 0, 3)
    return [x, reps], axis


@_stash
def _repeat_sym_gen(draw):
    x = _x(draw, ndim=2)
    return [x, _i(draw(st.integers(0, 3)))], draw(st.integers(0, 1))


CASES = [
    Case("dimshuffle", _ds_gen, lambda x: T.dimshuffle(x, _ds_gen.p), _ds_ref),
    Case("dimshuffle", lambda d: [_x(d, ndim=1)], lambda v: v.dimshuffle("x", 0),
         lambda v: v[None, :], label="theano-x0"),
    Case("dimshuffle", lambda d: [_x(d)], lambda x: T.shape_padleft(T.shape_padright(x), 2),
         lambda x: x[None, None, ..., None], label="pad"),
    Case("dimshuffle", lambda d: [_x(d)], lambda x: T.transpose(x), lambda x: np.transpose(x), label="T"),
    Case("dimshuffle", lambda d: [_x(d)], T.squeeze,
         lambda x: np.squeeze(x, axis=tuple(a for a in range(x.ndim) if x.shape[a] == 1)), label="squeeze"),
    Case("shape", lambda d: [_x(d)], T.shape, lambda x: np.asarray(x.shape, dtype="int64"), grad=False),
    Case("shape", lambda d: [_x(d, min_side=2)], lambda x: x.shape[-1] if x.ndim else x.shape,
         lambda x: np.asarray(x.shape[-1] if x.ndim else (), dtype="int64"), grad=False, label="index",
         also_covers=("subtensor",)),
    Case("reshape", _reshape_gen, lambda x: T.reshape(x, _reshape_gen.p),
         lambda x: np.reshape(x, _reshape_gen.p)),
    Case("reshape", _reshape_sym_gen, lambda x, a, b: x.reshape((a, b)),
         lambda x, a, b: x.reshape(int(a), int(b)), label="symbolic"),
    Case("reshape", lambda d: [_x(d, min_side=1)],
         lambda x: x.reshape((x.shape[0], -1)) if x.ndim else x.reshape((-1,)),
         lambda x: x.reshape((x.shape[0], -1)) if x.ndim else x.reshape(-1), label="shape0-minus1"),
    Case("reshape", _flatten_gen, lambda x: T.flatten(x, _flatten_gen.p),
         lambda x: _np_flatten(x, _flatten_gen.p), label="flatten"),
    Case("alloc", _alloc_gen, lambda v: T.alloc(v, *_alloc_gen.p),
         lambda v: np.broadcast_to(v, _alloc_gen.p)),
    Case("alloc", _alloc_sym_gen, lambda v, n: T.alloc(v, n, *_alloc_sym_gen.p),
         lambda v, n: np.broadcast_to(v, (int(n),) + v.shape), label="symbolic"),
    Case("alloc", lambda d: [_x(d)], lambda x: T.zeros(x.shape, dtype=x.dtype) + T.ones_like(x) * x,
         lambda x: x, label="zeros-ones", also_covers=("second",)),
    Case("alloc", _tile_gen, lambda x: T.tile(x, _tile_gen.p), lambda x: np.tile(x, _tile_gen.p),
         label="tile", also_covers=("reshape", "dimshuffle")),
    Case("join", _join_gen, lambda *xs: T.concatenate(xs, axis=_join_gen.p),
         lambda *xs: np.concatenate(xs, axis=_join_gen.p)),
    Case("join", _join_gen, lambda *xs: T.join(_join_gen.p, *xs),
         lambda *xs: np.concatenate(xs, axis=_join_gen.p), label="theano-order"),
    Case("join", _stack_gen, lambda *xs: T.stack(list(xs), axis=_stack_gen.p),
         lambda *xs: np.stack(xs, axis=_stack_gen.p), label="stack", also_covers=("dimshuffle",)),
    Case("arange", _arange_int_gen, T.arange, np.arange, grad=False),
    Case("arange", _arange_float_gen, T.arange, lambda a, b, c: np.arange(a, b, c, dtype=a.dtype),
         grad=False, label="float"),
    Case("eye", _eye_gen, lambda n, m: T.eye(n, m, k=_eye_gen.p),
         lambda n, m: np.eye(int(n), int(m), _eye_gen.p), grad=False),
    Case("specify_shape", lambda d: [_x(d)], lambda x: T.specify_shape(x, x.tag.static),
         lambda x: x, symbolic=lambda vals: [_tagged(v) for v in vals]),
    Case("specify_shape", _bcast_gen, lambda x: T.addbroadcast(x, *_bcast_gen.p), lambda x: x,
         symbolic=_loose, label="addbroadcast"),
    Case("specify_shape", _bcast_gen, lambda x: T.unbroadcast(x, *_bcast_gen.p), lambda x: x,
         label="unbroadcast"),
    Case("specify_shape", _bcast_gen,
         lambda x: T.patternbroadcast(x, [a in _bcast_gen.p for a in range(x.ndim)]), lambda x: x,
         symbolic=_loose, label="patternbroadcast"),
    Case("repeat", _repeat_gen, lambda x: T.repeat(x, *_repeat_gen.p),
         lambda x: np.repeat(x, *_repeat_gen.p)),
    Case("repeat", _repeat_vec_gen, lambda x, r: T.repeat(x, r, axis=_repeat_vec_gen.p),
         lambda x, r: np.repeat(x, r, axis=_repeat_vec_gen.p), label="vector"),
    Case("repeat", _repeat_sym_gen, lambda x, r: T.repeat(x, r, axis=_repeat_sym_gen.p),
         lambda x, r: np.repeat(x, int(r), axis=_repeat_sym_gen.p), label="scalar-symbolic"),
]
