"""Cases for convolution and pooling (egopt/lang/conv.py, egopt/lang/pool.py).

References come from the explicit loops of ``tests/reference_loops.py``. The gradient ops are
the transposes of the local linear map of the forward op: their references multiply by the
Jacobian that the loops give column by column (exact for these piecewise-linear maps; the
drawn values are distinct, so no max is tied).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from egopt.lang.conv import grad_filters_op, grad_inputs_op
from egopt.lang.pool import pool_grad_grad_op, pool_grad_op
import egopt.tensor as T
from tests.cases import Case, _stash, dtype
from tests.reference_loops import conv2d_loops, pool_2d_loops


def _distinct(draw, shape, dt):
    n = int(np.prod(shape))
    perm = np.array(draw(st.permutations(list(range(n)))), dtype="float64")
    return ((perm - n / 2) / max(n, 1) * 4).reshape(shape).astype(dt)


def _jacobian(f, x):
    """Columns (f(x + e_i) - f(x - e_i)) / 2h: exact for a map that is linear near x."""
    h = 1e-3
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        cols.append(((f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * h)).ravel())
    return np.array(cols).T


# ---- conv ---------------------------------------------------------------------------------------------------

def _conv_params(draw):
    border = draw(st.sampled_from(["valid", "full", "half", (1, 0), (0, 2)]))
    return dict(border_mode=border, subsample=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                filter_flip=draw(st.booleans()))


@_stash
def _conv_gen(draw):
    p, dt = _conv_params(draw), dtype(draw)
    c, kh, kw = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = _distinct(draw, (draw(st.integers(1, 2)), c, draw(st.integers(3, 5)), draw(st.integers(3, 5))), dt)
    w = _distinct(draw, (draw(st.integers(1, 3)), c, kh, kw), dt)
    g = np.zeros(conv2d_loops(x, w, **p).shape, dtype=dt) + _distinct(draw, conv2d_loops(x, w, **p).shape, dt)
    return [x, w, g], p


def _nd(vals):
    return [T.tensor(dtype=v.dtype.name, shape=(None,) * v.ndim) for v in vals]


def _conv(x, w, g):
    return T.nnet.conv2d(x, w, **_conv_gen.p)


def _grad_inputs(x, w, g):
    return grad_inputs_op(w, g, x, **_conv_gen.p)


def _grad_filters(x, w, g):
    return grad_filters_op(x, g, w, **_conv_gen.p)


def _conv_ref(x, w, g):
    return conv2d_loops(x, w, **_conv_gen.p)


def _grad_inputs_ref(x, w, g):
    jac = _jacobian(lambda v: conv2d_loops(v, w.astype("float64"), **_conv_gen.p), x.astype("float64"))
    return (jac.T @ g.ravel()).reshape(x.shape)


def _grad_filters_ref(x, w, g):
    jac = _jacobian(lambda v: conv2d_loops(x.astype("float64"), v, **_conv_gen.p), w.astype("float64"))
    return (jac.T @ g.ravel()).reshape(w.shape)


# ---- pool ---------------------------------------------------------------------------------------------------

def _draw_pool(draw):
    ws = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    ignore = draw(st.booleans())
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, ws[0] - 1)), draw(st.integers(0, ws[1] - 1))) if ignore else (0, 0)
    p = dict(ws=ws, ignore_border=ignore, stride=stride, pad=pad,
             mode=draw(st.sampled_from(["max", "sum", "average_inc_pad", "average_exc_pad"])))
    dt = dtype(draw)
    x = _distinct(draw, (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(3, 5)),
                         draw(st.integers(3, 5))), dt)
    out = pool_2d_loops(x, **p)
    return [x, _distinct(draw, out.shape, dt), _distinct(draw, x.shape, dt)], p


_pool_gen = _stash(_draw_pool)


@_stash
def _max_pool_gen(draw):
    vals, p = _draw_pool(draw)
    return vals, {**p, "mode": "max"}


def _pool(x, gz, h):
    return T.signal.pool.pool_2d(x, **_pool_gen.p)


def _pool_ref(x, gz, h):
    return pool_2d_loops(x, **_pool_gen.p)


def _pool_jac(p, x):
    return _jacobian(lambda v: pool_2d_loops(v, **p), x.astype("float64"))


def _pool_grad(x, gz, h):
    return pool_grad_op(x, gz, **_pool_gen.p)


def _pool_grad_ref(x, gz, h):
    return (_pool_jac(_pool_gen.p, x).T @ gz.ravel()).reshape(x.shape)


def _pool_grad_grad(x, gz, h):
    return pool_grad_grad_op(x, h, **_max_pool_gen.p)


def _pool_grad_grad_ref(x, gz, h):
    return (_pool_jac(_max_pool_gen.p, x) @ h.ravel()).reshape(gz.shape)


CASES = [
    Case("conv2d", _conv_gen, _conv, _conv_ref, symbolic=_nd, grad_wrt=(0, 1)),
    Case("conv2d_grad_inputs", _conv_gen, _grad_inputs, _grad_inputs_ref, symbolic=_nd, grad_wrt=(1, 2)),
    Case("conv2d_grad_filters", _conv_gen, _grad_filters, _grad_filters_ref, symbolic=_nd, grad_wrt=(0, 2)),
    Case("pool_2d", _pool_gen, _pool, _pool_ref, symbolic=_nd, grad_wrt=(0,)),
    Case("pool_2d_grad", _pool_gen, _pool_grad, _pool_grad_ref, symbolic=_nd, grad_wrt=(1,)),
    Case("pool_2d_grad_grad", _max_pool_gen, _pool_grad_grad, _pool_grad_grad_ref, symbolic=_nd,
         grad_wrt=(2,)),
]
