"""Cases for the indexing ops (egopt/lang/subtensor.py)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T
from tests.cases import _i, _stash, Case, array, dtype, shape



def _bound(draw, n):
    return draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))


def _basic_index(draw, xshape, newaxis=True) -> tuple:
    """A random basic index for a tensor of shape xshape (ints, slices, None, Ellipsis)."""
    nd = len(xshape)
    before = draw(st.integers(0, nd))
    after = draw(st.integers(0, nd - before)) if draw(st.booleans()) else None   # None: no Ellipsis
    axes = list(range(before)) + (list(range(nd - after, nd)) if after else [])
    items = []
    for a in axes:
        n = xshape[a]
        if n and draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            step = draw(st.sampled_from([None, 1, 2, -1, -2, 3]))
            items.append(slice(_bound(draw, n), _bound(draw, n), step))
    if after is not None:
        items.insert(before, Ellipsis)
    if newaxis:
        for _ in range(draw(st.integers(0, 2))):
            items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


# ---- basic ---------------------------------------------------------------------------------------

@_stash
def _basic_gen(draw):
    x = array(draw, shape(draw, min_side=0), dtype(draw))
    return [x], _basic_index(draw, x.shape)


@_stash
def _sym_gen(draw):
    x = array(draw, shape(draw, ndim=2, min_side=1), dtype(draw))
    n0, n1 = x.shape
    vals = [x, _i(draw(st.integers(-n0, n0 - 1))), _i(draw(st.integers(-n1 - 1, n1 + 1))),
            _i(draw(st.sampled_from([1, 2, -1])))]
    return vals, None


def _y_for(draw, region_shape, dt):
    """A value that broadcasts to region_shape (some axes 1, some leading axes missing)."""
    nd = draw(st.integers(0, len(region_shape)))
    s = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else n
              for n in region_shape[len(region_shape) - nd:])
    return array(draw, s, dt)


@_stash
def _inc_gen(draw):
    x = array(draw, shape(draw, min_side=0), dtype(draw))
    idx = _basic_index(draw, x.shape)
    return [x, _y_for(draw, x[idx].shape, x.dtype)], (idx, draw(st.booleans()))


def _inc_ref(x, y):
    idx, is_set = _inc_gen.p
    out = x.copy()
    if is_set:
        out[idx] = y
    else:
        out[idx] += y
    return out


# ---- advanced (integer arrays) -------------------------------------------------------------------

@_stash
def _adv_gen(draw):
    xshape = shape(draw, ndim=draw(st.integers(1, 3)), min_side=1)
    x = array(draw, xshape, dtype(draw))
    bshape = shape(draw, ndim=draw(st.integers(1, 2)), min_side=1, max_side=3)
    which = draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))
    items, arrays = [], []
    for a, n in enumerate(xshape):
        if a in which:
            s = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else b for b in bshape)
            arrays.append(array(draw, s[draw(st.integers(0, len(s))):], "int64", -n, n - 1))
            items.append(("arr", len(arrays) - 1))
        else:
            items.append(draw(st.sampled_from([slice(None), slice(None, None, -1), slice(1, None),
                                               min(1, n - 1)])))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return [x] + arrays, tuple(items)


def _adv_index(items, arrays):
    return tuple(arrays[it[1]] if isinstance(it, tuple) else it for it in items)


@_stash
def _adv_inc_gen(draw):
    vals = _adv_gen(draw)
    x, arrays = vals[0], vals[1:]
    idx = _adv_index(_adv_gen.p, arrays)
    return [x, _y_for(draw, x[idx].shape, x.dtype)] + arrays, _adv_gen.p


def _adv_inc_ref(x, y, *arrays):
    out = x.copy()
    np.add.at(out, _adv_index(_adv_inc_gen.p, arrays), y)
    return out


@_stash
def _adv_set_gen(draw):
    x = array(draw, shape(draw, ndim=draw(st.integers(1, 3)), min_side=1), dtype(draw))
    axis = draw(st.integers(0, x.ndim - 1))
    n = x.shape[axis]
    idx = np.asarray(draw(st.permutations(range(n)))[:draw(st.integers(0, n))], dtype="int64")
    region = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
    return [x, _y_for(draw, region, x.dtype), idx], axis


def _adv_set_ref(x, y, idx):
    out = x.copy()
    out[(slice(None),) * _adv_set_gen.p + (idx,)] = y
    return out


@_stash
def _rows_gen(draw):
    p = array(draw, shape(draw, ndim=2, min_side=1), dtype(draw))
    return [p, array(draw, (p.shape[0],), "int64", 0, p.shape[1] - 1)], None


@_stash
def _take_gen(draw):
    x = array(draw, shape(draw, min_side=1), dtype(draw))
    axis = None if x.ndim == 0 or draw(st.booleans()) else draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.size if axis is None else x.shape[axis]
    ishape = shape(draw, ndim=draw(st.integers(0, 2)), max_side=3)
    return [x, array(draw, ishape, "int64", -n, n - 1)], axis


# ---- masks ---------------------------------------------------------------------------------------

@_stash
def _mask_gen(draw):
    x = array(draw, shape(draw, ndim=draw(st.integers(1, 3))), dtype(draw))
    k = draw(st.integers(1, x.ndim))
    return [x, array(draw, x.shape[:k], "bool")], None


CASES = [
    Case("subtensor", _basic_gen, lambda x: x[_basic_gen.p], lambda x: x[_basic_gen.p]),
    Case("subtensor", _sym_gen, lambda x, i, j, s: x[i, j::s], lambda x, i, j, s: x[int(i), int(j)::int(s)],
         label="symbolic"),
    Case("subtensor", _sym_gen, lambda x, i, j, s: x[:, ::s][i], lambda x, i, j, s: x[:, ::int(s)][int(i)],
         label="symbolic-int"),
    Case("inc_subtensor", _inc_gen,
         lambda x, y: (T.set_subtensor if _inc_gen.p[1] else T.inc_subtensor)(x[_inc_gen.p[0]], y), _inc_ref),
    Case("advanced_subtensor", _adv_gen, lambda x, *a: x[_adv_index(_adv_gen.p, a)],
         lambda x, *a: x[_adv_index(_adv_gen.p, a)]),
    Case("advanced_subtensor", _rows_gen, lambda p, y: p[T.arange(y.shape[0]), y],
         lambda p, y: p[np.arange(len(y)), y], label="rows", also_covers=("arange",)),
    Case("advanced_subtensor", _take_gen, lambda x, i: T.take(x, i, axis=_take_gen.p),
         lambda x, i: np.take(x, i, axis=_take_gen.p), label="take"),
    Case("advanced_inc_subtensor", _adv_inc_gen,
         lambda x, y, *a: T.inc_subtensor(x[_adv_index(_adv_inc_gen.p, a)], y), _adv_inc_ref),
    Case("advanced_inc_subtensor", _adv_set_gen,
         lambda x, y, i: T.set_subtensor(x[(slice(None),) * _adv_set_gen.p + (i,)], y), _adv_set_ref,
         label="set"),
    Case("nonzero", _mask_gen, lambda x, m: x[m], lambda x, m: x[m], also_covers=("advanced_subtensor",)),
    Case("nonzero", _mask_gen, lambda x, m: T.set_subtensor(x[m], 0.5), lambda x, m: np.where(
        np.reshape(m, m.shape + (1,) * (x.ndim - m.ndim)), np.asarray(0.5, x.dtype), x),
         label="set", also_covers=("advanced_inc_subtensor",)),
]
