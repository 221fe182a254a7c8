"""2-D pooling over the last two axes (``T.signal.pool.pool_2d``), Theano's semantics.

Three ops close under differentiation (Theano's Pool, MaxPoolGrad/AveragePoolGrad and
DownsampleFactorMaxGradGrad):

- ``pool_2d(x)``: max, sum, or average over windows (with or without the padding counted);
- ``pool_2d_grad(x, gz)``: the gradient, linear in ``gz``; max routes each window's gradient
  to the positions holding its maximum, sum and average spread it over the window;
- ``pool_2d_grad_grad(x, h)`` (max only): picks ``h`` at each window's maximum, the transpose
  of the max gradient.

The VJP of the sum/average gradient in ``gz`` is the same pooling again, and the max pair
are each other's transposes, so gradients of gradients stay within these ops. ``x`` never
gets a gradient through the gradient ops (pooling is piecewise linear in it).

Windows: ``ws`` rows x cols, moved by ``stride``, over ``x`` zero-padded by ``pad`` on each
side (padding needs ``ignore_border=True`` and ``pad < ws``). With ``ignore_border=False`` a
partial window at the bottom/right edge is kept. Max takes only real (unpadded) elements;
'average_inc_pad' divides by the window's size inside the padded image, 'average_exc_pad'
by its count of real elements.
"""
from __future__ import annotations

import warnings

import math

import numpy as np

from . import dtypes
from . import frontend as F
from .ops import Op, register
from .types import TensorType, int_pair

_DEFINED = "egopt/lang/pool.py"
MODES = ("max", "sum", "average_exc_pad", "average_inc_pad")


def out_length(n: int | None, ws: int, stride: int, pad: int, ignore_border: bool) -> int | None:
    """Theano's pooled length of an axis of length ``n`` (None when unknown)."""
    if n is None:
        return None
    r = n + 2 * pad
    if ignore_border:
        return max(0, (r - ws) // stride + 1)
    if stride >= ws:
        return (r - 1) // stride + 1
    return max(0, (r - 1 - ws + stride) // stride) + 1


# ---- the window geometry shared by the performs ----------------------------------------------------------

class _Geometry:
    def __init__(self, params, shape):
        self.ws, self.st, self.pad = params["ws"], params["stride"], params["pad"]
        self.rows, self.cols = shape[-2:]
        self.out = tuple(out_length(n, w, s, p, params["ignore_border"])
                         for n, w, s, p in zip(shape[-2:], self.ws, self.st, self.pad))
        # the padded image, extended at the end so that partial windows fit
        self.ext = tuple(max(n + 2 * p, (o - 1) * s + w) if o else n + 2 * p
                         for n, p, o, s, w in zip(shape[-2:], self.pad, self.out, self.st, self.ws))

    def padded(self, x: np.ndarray, fill) -> np.ndarray:
        (ph, pw), (eh, ew) = self.pad, self.ext
        widths = [(0, 0)] * (x.ndim - 2) + [(ph, eh - ph - self.rows), (pw, ew - pw - self.cols)]
        return np.pad(x, widths, constant_values=fill) if any(a or b for a, b in widths) else x

    @property
    def tiles(self) -> bool:
        """Windows tile the input exactly (stride = window, no padding, no partial window): the
        input then reshapes to (..., out_rows, ws_rows, out_cols, ws_cols) without a copy."""
        return (tuple(self.st) == tuple(self.ws) and tuple(self.pad) == (0, 0)
                and (self.rows, self.cols) == (self.out[0] * self.ws[0], self.out[1] * self.ws[1]))

    def tiled(self, x: np.ndarray) -> np.ndarray:
        (oh, ow), (wh, ww) = self.out, self.ws
        return x.reshape(x.shape[:-2] + (oh, wh, ow, ww))

    def taps(self, xp: np.ndarray):
        """For each window offset (a, b): the (..., out_rows, out_cols) strided view of the padded
        array that the offset reads. Pooling is a reduction over these few views, which is
        faster than reducing a 6-D window view, and never a loop over pixels."""
        (oh, ow), (sh, sw) = self.out, self.st
        for a in range(self.ws[0]):
            for b in range(self.ws[1]):
                yield (a, b), xp[..., a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw]

    def reduce(self, xp: np.ndarray, combine) -> np.ndarray:
        out = None
        for _, view in self.taps(xp):
            out = view.copy() if out is None else combine(out, view, out=out)
        return out

    def counts(self, mode: str) -> np.ndarray:
        """Elements each window averages over (out_rows, out_cols)."""
        (ph, pw), (eh, ew) = self.pad, self.ext
        mask = np.zeros((eh, ew))
        if mode == "average_inc_pad":
            mask[:self.rows + 2 * ph, :self.cols + 2 * pw] = 1
        else:
            mask[ph:ph + self.rows, pw:pw + self.cols] = 1
        return self.reduce(mask, np.add)

    def scatter(self, contribution, lead: tuple, dtype) -> np.ndarray:
        """The transpose of ``taps``: add ``contribution(offset, view)`` back at each offset, then crop."""
        out = np.zeros(lead + self.ext, dtype=dtype)
        for offset, view in self.taps(out):
            view += contribution(offset)
        (ph, pw) = self.pad
        return out[..., ph:ph + self.rows, pw:pw + self.cols]


def _lowest(dtype) -> float:
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


# ---- performs ------------------------------------------------------------------------------------------------

def _pool_perform(params, x):
    geo, mode = _Geometry(params, x.shape), params["mode"]
    if 0 in geo.out:
        return np.zeros(x.shape[:-2] + geo.out, dtype=x.dtype)
    if mode == "max":
        return geo.reduce(geo.padded(x, _lowest(x.dtype)), np.maximum)
    total = geo.reduce(geo.padded(x, 0), np.add)
    return total if mode == "sum" else total / geo.counts(mode)


def _pool_grad_perform(params, x, gz):
    geo, mode = _Geometry(params, x.shape), params["mode"]
    if 0 in geo.out:
        return np.zeros(x.shape, dtype=gz.dtype)
    if geo.tiles:         # the common case: broadcast over the tiled layout, no scatter
        per = gz if mode in ("max", "sum") else gz / geo.counts(mode)
        per = per[..., :, None, :, None]
        if mode == "max":
            top = geo.reduce(x, np.maximum)[..., :, None, :, None]
            return ((geo.tiled(x) == top) * per).reshape(x.shape)
        return np.broadcast_to(per, geo.tiled(x).shape).reshape(x.shape)
    if mode == "max":     # each window's gradient goes to the positions holding its maximum
        xp = geo.padded(x, _lowest(x.dtype))
        top = geo.reduce(xp, np.maximum)
        views = dict(geo.taps(xp))
        return geo.scatter(lambda o: (views[o] == top) * gz, x.shape[:-2], gz.dtype)
    per = gz if mode == "sum" else gz / geo.counts(mode)
    return geo.scatter(lambda o: per, x.shape[:-2], gz.dtype)


def _pool_grad_grad_perform(params, x, h):
    geo = _Geometry(params, x.shape)
    if 0 in geo.out:
        return np.zeros(x.shape[:-2] + geo.out, dtype=h.dtype)
    xp = geo.padded(x, _lowest(x.dtype))
    top = geo.reduce(xp, np.maximum)
    hviews = dict(geo.taps(geo.padded(h, 0)))
    out = np.zeros(top.shape, dtype=h.dtype)
    for offset, view in geo.taps(xp):
        out += (view == top) * hviews[offset]
    return out


# ---- type rules ---------------------------------------------------------------------------------------------

def _pooled_type(params, x: TensorType, dtype: str) -> TensorType:
    if x.ndim < 2:
        raise ValueError(f"pooling needs at least 2 axes, got {x}")
    out = tuple(out_length(n, w, s, p, params["ignore_border"])
                for n, w, s, p in zip(x.shape[-2:], params["ws"], params["stride"], params["pad"]))
    return TensorType(dtype, x.shape[:-2] + out)


def _pool_infer(params, x: TensorType):
    if params["mode"] != "max" and x.dtype not in dtypes.FLOATS:
        x = x.with_dtype(dtypes.float_of(x.dtype))
    return _pooled_type(params, x, x.dtype)


def _same_lead(x: TensorType, g: TensorType, want) -> None:
    if g.ndim != x.ndim:
        raise ValueError(f"the gradient has ndim {g.ndim}, the input {x.ndim}")
    for i, (a, b) in enumerate(zip(want, g.shape)):
        if a is not None and b is not None and a != b:
            raise ValueError(f"the gradient has shape {g.shape}, expected {want} (axis {i})")


def _pool_grad_infer(params, x: TensorType, gz: TensorType):
    _same_lead(x, gz, _pooled_type(params, x, x.dtype).shape)
    return TensorType(gz.dtype, x.shape)


def _pool_grad_grad_infer(params, x: TensorType, h: TensorType):
    _same_lead(x, h, x.shape)
    return _pooled_type(params, x, h.dtype)


# ---- VJPs -------------------------------------------------------------------------------------------------------

def _pool_vjp(node, g):
    return [pool_grad_op(node.inputs[0], g, **node.params)]


def _pool_grad_vjp(node, h):
    x = node.inputs[0]
    if node.params["mode"] == "max":
        return [None, pool_grad_grad_op(x, h, **node.params)]
    return [None, pool_op(h, **node.params)]       # spreading is the transpose of summing


def _pool_grad_grad_vjp(node, g):
    return [None, pool_grad_op(node.inputs[0], g, **node.params)]


# ---- costs: one operation per window element ----------------------------------------------------------------

def _window_cost(pooled: int):
    def cost(params, in_shapes, out_shape):
        small = out_shape if pooled < 0 else in_shapes[pooled]
        return float(math.prod(small) * math.prod(params["ws"]))
    return cost


def _op(name, infer, perform, vjp, nin, pooled, grad_inputs=None):
    return register(Op(name, infer, perform, vjp, kind="pool", nin=nin, grad_inputs=grad_inputs,
                       defined_in=_DEFINED, extra={"cost": _window_cost(pooled)}))


pool_op = _op("pool_2d", _pool_infer, _pool_perform, _pool_vjp, 1, -1)
pool_grad_op = _op("pool_2d_grad", _pool_grad_infer, _pool_grad_perform, _pool_grad_vjp, 2, 1,
                   grad_inputs=(1,))
pool_grad_grad_op = _op("pool_2d_grad_grad", _pool_grad_grad_infer, _pool_grad_grad_perform,
                        _pool_grad_grad_vjp, 2, -1, grad_inputs=(1,))


# ---- frontend -----------------------------------------------------------------------------------------------------

def pool_2d(input, ws=None, ignore_border: bool | None = None, stride=None, pad=(0, 0), mode: str = "max",
            ds=None, st=None, padding=None):
    """Theano's ``pool_2d``: pool the last two axes of ``input`` over ``ws`` windows.

    ``stride`` defaults to ``ws`` (non-overlapping windows); ``pad`` zero-pads both sides;
    ``mode`` is 'max', 'sum', 'average_inc_pad' or 'average_exc_pad' ('average' is the
    latter). ``ignore_border=False`` (Theano's default, with a warning when it is not given)
    keeps a partial window at the edge. ``ds``, ``st`` and
    ``padding`` are Theano's old names for ``ws``, ``stride`` and ``pad``.

    >>> import egopt.tensor as T
    >>> T.signal.pool.pool_2d(T.tensor4("x", shape=(8, 20, 24, 24)), (2, 2)).type
    tensor4[float64](8, 20, 12, 12)
    """
    ws = ws if ws is not None else ds
    stride = stride if stride is not None else st
    pad = padding if padding is not None else pad
    if ws is None:
        raise TypeError("pool_2d: give the window size ws=(rows, cols)")
    x = F.as_tensor_variable(input)
    ws = int_pair(ws, "pool_2d: ws")
    stride = ws if stride is None else int_pair(stride, "pool_2d: stride")
    pad = int_pair(pad, "pool_2d: pad")
    if ignore_border is None:       # Theano's default, with Theano's warning (PyTensor has no pool_2d)
        warnings.warn("pool_2d: ignore_border not given: using False (Theano's default: a partial window at "
                      "the edge is pooled too); pass ignore_border=True to pool whole windows only",
                      UserWarning, stacklevel=2)
        ignore_border = False
    ignore_border = bool(ignore_border)
    mode = "average_exc_pad" if mode == "average" else mode
    if mode not in MODES:
        raise ValueError(f"pool_2d: mode must be one of {MODES}, got {mode!r}")
    if min(ws) < 1 or min(stride) < 1 or min(pad) < 0:
        raise ValueError(f"pool_2d: ws={ws} and stride={stride} must be positive, pad={pad} non-negative")
    if pad != (0, 0) and not ignore_border:
        raise ValueError("pool_2d: padding works only with ignore_border=True (as in Theano)")
    if pad[0] >= ws[0] or pad[1] >= ws[1]:
        raise ValueError(f"pool_2d: pad={pad} must be smaller than ws={ws} (a window would hold only padding)")
    return pool_op(x, ws=ws, stride=stride, pad=pad, mode=mode, ignore_border=ignore_border)


def max_pool_2d(input, ds, ignore_border: bool | None = None, st=None, padding=(0, 0), mode: str = "max"):
    """Theano's old ``T.signal.downsample.max_pool_2d`` (``ds`` window, ``st`` stride)."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)
