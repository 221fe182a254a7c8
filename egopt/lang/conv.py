"""2-D convolution (``T.nnet.conv2d``) in Theano's layout: input NCHW, filters (out, in, h, w).

Three ops close under differentiation, as Theano's AbstractConv2d family does:

- ``conv2d(x, w)``: the forward correlation (with flipped filters when ``filter_flip``);
- ``conv2d_grad_inputs(w, g, like_x)``: its transpose in ``x`` (a "full" convolution);
- ``conv2d_grad_filters(x, g, like_w)``: its transpose in ``w``.

Each is linear in its first two inputs, so each VJP is one of the three (the gradient of a
gradient is a convolution again). The third input of the gradient ops only gives the result's
shape and never carries a gradient. The NumPy performs are im2col + BLAS: the windows come from
``sliding_window_view`` and one batched GEMM (``matmul``) multiplies them; the transposes scatter back with
one vectorised add per filter tap, never a Python loop over pixels.

Params (Python literals, so the e-graph holds them as text): ``border_mode`` ('valid',
'full', 'half' or a pair of paddings), ``subsample`` (a pair of strides), ``filter_flip``.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import dtypes
from . import frontend as F
from .errors import ShapeError
from .ops import Op, register
from .types import TensorType, int_pair

_DEFINED = "egopt/lang/conv.py"


# ---- geometry ---------------------------------------------------------------------------------------------

def pads(border_mode, kh: int, kw: int) -> tuple[int, int]:
    """Zero padding (rows, columns) that a border mode adds around the input."""
    if border_mode == "valid":
        return 0, 0
    if border_mode == "full":
        return kh - 1, kw - 1
    if border_mode == "half":
        return kh // 2, kw // 2
    return int(border_mode[0]), int(border_mode[1])


def out_size(n: int | None, k: int | None, pad: int | None, stride: int) -> int | None:
    """Output length of a strided correlation over a padded axis (None when unknown)."""
    if n is None or k is None or pad is None:
        return None
    return (n + 2 * pad - k) // stride + 1


def _static_pads(border_mode, kh, kw):
    if border_mode in ("valid",) or isinstance(border_mode, tuple):
        return pads(border_mode, 0, 0)
    if kh is None or kw is None:
        return None, None
    return pads(border_mode, kh, kw)


def _columns(xp, x, kh: int, kw: int, stride, oh: int, ow: int):
    """The im2col matrix of each image, (N, C*kh*kw, oh*ow): one row per filter tap, so a
    product with the (O, C*kh*kw) filter matrix lands directly in NCHW order. ``xp`` is the
    array module (NumPy, or CuPy for the device): NumPy reads the windows through
    ``sliding_window_view``, which not every CuPy has; elsewhere one strided copy per tap."""
    if x.shape[2] < kh or x.shape[3] < kw:
        raise ValueError(f"the padded input is {x.shape[2]}x{x.shape[3]}, smaller than the "
                         f"filter {kh}x{kw}")
    sh, sw = stride
    n, c = x.shape[:2]
    if xp is np:
        v = sliding_window_view(x, (kh, kw), axis=(2, 3))
        v = v[:, :, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw]       # N, C, oh, ow, kh, kw
        return v.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            cols[:, :, a, b] = x[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw]
    return cols.reshape(n, c * kh * kw, oh * ow)


def _pad(xp, x, ph: int, pw: int):
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


def _filter_matrix(xp, w, flip: bool):
    """The filters as an (O, C*kh*kw) matrix, flipped for a convolution (``filter_flip``)."""
    o, c, kh, kw = w.shape
    return xp.ascontiguousarray(w[:, :, ::-1, ::-1] if flip else w).reshape(o, c * kh * kw)


# ---- the arithmetic, once for NumPy (the performs) and CuPy (runtime/cuda_program.py) ---------------------
# Each takes the array module first: ``fn(xp, params, *inputs)``.

def conv2d_forward(xp, params, x, w):
    o, c, kh, kw = w.shape
    ph, pw = pads(params["border_mode"], kh, kw)
    sh, sw = params["subsample"]
    if x.shape[1] != c:
        raise ValueError(f"the input has {x.shape[1]} channels, the filters expect {c}")
    oh, ow = out_size(x.shape[2], kh, ph, sh), out_size(x.shape[3], kw, pw, sw)
    cols = _columns(xp, _pad(xp, x, ph, pw), kh, kw, (sh, sw), oh, ow)
    return xp.matmul(_filter_matrix(xp, w, params["filter_flip"]), cols).reshape(x.shape[0], o, oh, ow)


def conv2d_grad_filters(xp, params, x, g, like):
    o, c, kh, kw = like.shape
    ph, pw = pads(params["border_mode"], kh, kw)
    n, _, oh, ow = g.shape
    cols = _columns(xp, _pad(xp, x, ph, pw), kh, kw, params["subsample"], oh, ow)
    gw = xp.matmul(g.reshape(n, o, oh * ow), cols.transpose(0, 2, 1)).sum(axis=0).reshape(o, c, kh, kw)
    return xp.ascontiguousarray(gw[:, :, ::-1, ::-1] if params["filter_flip"] else gw)


def conv2d_grad_inputs(xp, params, w, g, like):
    o, c, kh, kw = w.shape
    ph, pw = pads(params["border_mode"], kh, kw)
    sh, sw = params["subsample"]
    n, _, h, wd = like.shape
    oh, ow = g.shape[2:]
    wmat = _filter_matrix(xp, w, params["filter_flip"])
    cols = xp.matmul(wmat.T, g.reshape(n, o, oh * ow)).reshape(n, c, kh, kw, oh, ow)
    gxp = xp.zeros((n, c, max(h + 2 * ph, (oh - 1) * sh + kh), max(wd + 2 * pw, (ow - 1) * sw + kw)),
                   dtype=cols.dtype)
    for a in range(kh):              # col2im: one strided add per filter tap
        for b in range(kw):
            gxp[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += cols[:, :, a, b]
    return gxp[:, :, ph:ph + h, pw:pw + wd]


def _conv_perform(params, x, w):
    return conv2d_forward(np, params, x, w)


def _grad_filters_perform(params, x, g, like):
    return conv2d_grad_filters(np, params, x, g, like)


def _grad_inputs_perform(params, w, g, like):
    return conv2d_grad_inputs(np, params, w, g, like)


# ---- type rules ------------------------------------------------------------------------------------------------

def _check4(name: str, t: TensorType) -> None:
    if t.ndim != 4:
        raise ValueError(f"{name} must be a 4-D tensor, got {t}")


def _float(*ts: TensorType) -> str:
    dt = dtypes.upcast(*(t.dtype for t in ts))
    if dt not in dtypes.FLOATS:
        raise TypeError(f"convolution needs float inputs, got {', '.join(t.dtype for t in ts)}")
    return dt


def _check_channels(cx, cw):
    if cx is not None and cw is not None and cx != cw:
        raise ShapeError(f"the input has {cx} channels but the filters expect {cw}")


def _conv_shape(params, x: tuple, w: tuple) -> tuple:
    kh, kw = w[2:]
    ph, pw = _static_pads(params["border_mode"], kh, kw)
    sh, sw = params["subsample"]
    oh, ow = out_size(x[2], kh, ph, sh), out_size(x[3], kw, pw, sw)
    if (oh is not None and oh < 1) or (ow is not None and ow < 1):
        raise ShapeError(f"the (padded) input {x[2]}x{x[3]} is smaller than the filter {kh}x{kw}")
    return (x[0], w[0], oh, ow)


def _conv_infer(params, x: TensorType, w: TensorType):
    _check4("the input", x)
    _check4("the filters", w)
    _check_channels(x.shape[1], w.shape[1])
    return TensorType(_float(x, w), _conv_shape(params, x.shape, w.shape))


def _check_out(params, x: tuple, w: tuple, g: TensorType):
    want = _conv_shape(params, x, w)
    for i, (a, b) in enumerate(zip(want, g.shape)):
        if a is not None and b is not None and a != b:
            raise ShapeError(f"the output gradient has shape {g.shape}, the convolution's output "
                             f"is {want} (axis {i})")


def _grad_filters_infer(params, x: TensorType, g: TensorType, like: TensorType):
    for name, t in (("the input", x), ("the output gradient", g), ("the filter-shape donor", like)):
        _check4(name, t)
    _check_channels(x.shape[1], like.shape[1])
    _check_out(params, x.shape, like.shape, g)
    return TensorType(_float(x, g), (g.shape[1] if like.shape[0] is None else like.shape[0],) + like.shape[1:])


def _grad_inputs_infer(params, w: TensorType, g: TensorType, like: TensorType):
    for name, t in (("the filters", w), ("the output gradient", g), ("the input-shape donor", like)):
        _check4(name, t)
    _check_channels(like.shape[1], w.shape[1])
    _check_out(params, like.shape, w.shape, g)
    n = g.shape[0] if like.shape[0] is None else like.shape[0]
    c = w.shape[1] if like.shape[1] is None else like.shape[1]
    return TensorType(_float(w, g), (n, c) + like.shape[2:])


# ---- VJPs: each op's transposes are the other two ------------------------------------------------------------

def _params(node) -> dict:
    return dict(node.params)


def _conv_vjp(node, g):
    x, w = node.inputs
    p = _params(node)
    return [grad_inputs_op(w, g, x, **p), grad_filters_op(x, g, w, **p)]


def _grad_inputs_vjp(node, h):
    w, g, like = node.inputs        # out = A_w^T g, so <h, out> = <conv(h, w), g>
    p = _params(node)
    return [grad_filters_op(h, g, w, **p), conv2d_op(h, w, **p), None]


def _grad_filters_vjp(node, k):
    x, g, like = node.inputs        # out = B_x^T g, so <k, out> = <conv(x, k), g>
    p = _params(node)
    return [grad_inputs_op(k, g, x, **p), conv2d_op(x, k, **p), None]


# ---- costs: 2 flops per multiply-add of the im2col product -----------------------------------------------------

def _macs_cost(out_like: int, w_like: int):
    def cost(params, in_shapes, out_shape):
        big = in_shapes[out_like] if out_like >= 0 else out_shape
        w = in_shapes[w_like] if w_like >= 0 else out_shape
        return 2.0 * math.prod(big) * math.prod(w[1:])
    return cost


def _op(name, infer, perform, vjp, nin, cost, grad_inputs=None):
    return register(Op(name, infer, perform, vjp, kind="conv", nin=nin, grad_inputs=grad_inputs,
                       sympy=perform, defined_in=_DEFINED, extra={"cost": cost}))


# conv: output (N,O,oh,ow) times C*kh*kw; grad_inputs: g times C*kh*kw; grad_filters: g times C*kh*kw
conv2d_op = _op("conv2d", _conv_infer, _conv_perform, _conv_vjp, 2, _macs_cost(-1, 1))
grad_inputs_op = _op("conv2d_grad_inputs", _grad_inputs_infer, _grad_inputs_perform, _grad_inputs_vjp, 3,
                     _macs_cost(1, 0), grad_inputs=(0, 1))
grad_filters_op = _op("conv2d_grad_filters", _grad_filters_infer, _grad_filters_perform, _grad_filters_vjp,
                      3, _macs_cost(1, 2), grad_inputs=(0, 1))


# ---- frontend ------------------------------------------------------------------------------------------------

def _check_hint(name: str, hint, t: TensorType) -> None:
    if hint is None:
        return
    hint = tuple(hint)
    if len(hint) != 4:
        raise ValueError(f"conv2d: {name} must have 4 entries, got {hint}")
    for i, (h, s) in enumerate(zip(hint, t.shape)):
        if h is not None and s is not None and h != s:
            raise ShapeError(f"conv2d: {name}={hint} contradicts the variable's type {t} (axis {i})")


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
           filter_flip: bool = True, image_shape=None, filter_dilation=(1, 1), num_groups: int = 1,
           unshared: bool = False, **_kwargs):
    """Theano's ``T.nnet.conv2d``: input (batch, channels, rows, cols), filters (out, in, rows, cols).

    ``border_mode``: 'valid' (no padding), 'full' (filter size - 1), 'half' (filter size // 2),
    an int or a pair of ints (explicit zero padding). ``subsample``: strides. ``filter_flip``
    True is a true convolution (Theano's default); False a correlation. ``input_shape`` and
    ``filter_shape`` are checked against the static types; their None entries are unknown.

    >>> import egopt.tensor as T
    >>> T.nnet.conv2d(T.tensor4("x", shape=(8, 1, 28, 28)), T.tensor4("w", shape=(20, 1, 5, 5))).type
    tensor4[float64](8, 20, 24, 24)
    """
    x, w = F.as_tensor_variable(input), F.as_tensor_variable(filters)
    if num_groups != 1 or unshared:
        raise NotImplementedError(f"conv2d: {'unshared filters' if unshared else f'num_groups={num_groups}'} "
                                  "is not supported by egopt")
    _check_hint("input_shape", input_shape if input_shape is not None else image_shape, x.type)
    _check_hint("filter_shape", filter_shape, w.type)
    bm, stride = _conv_params(border_mode, subsample, filter_dilation)
    return conv2d_op(x, w, border_mode=bm, subsample=stride, filter_flip=bool(filter_flip))


def _conv_params(border_mode, subsample, filter_dilation):
    if tuple(filter_dilation) != (1, 1):
        raise NotImplementedError("conv2d: filter_dilation other than (1, 1) is not supported")
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half' or paddings, "
                             f"got {border_mode!r}")
        bm = border_mode
    else:
        bm = int_pair(border_mode, "conv2d: border_mode")
        if min(bm) < 0:
            raise ValueError(f"conv2d: negative padding {bm}")
        bm = "valid" if bm == (0, 0) else bm
    stride = int_pair(subsample, "conv2d: subsample")
    if min(stride) < 1:
        raise ValueError(f"conv2d: subsample must be positive, got {stride}")
    return bm, stride


def _like(shape, dtype: str, what: str):
    """A zero tensor of ``shape`` (4 sizes, ints or int scalars) that only gives a result's shape."""
    shape = tuple(shape)
    if len(shape) != 4 or any(s is None for s in shape):
        raise ValueError(f"{what} must give the 4 sizes (batch, channels, rows, cols), got {shape}")
    return F.zeros(shape, dtype=dtype)


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None, border_mode="valid",
                           subsample=(1, 1), filter_flip: bool = True, filter_dilation=(1, 1), **_kwargs):
    """Theano's ``abstract_conv.conv2d_grad_wrt_inputs``: the gradient of ``conv2d(x, filters)``
    with respect to ``x`` of shape ``input_shape``, given the output gradient (a transposed
    convolution)."""
    g, w = F.as_tensor_variable(output_grad), F.as_tensor_variable(filters)
    _check_hint("filter_shape", filter_shape, w.type)
    bm, stride = _conv_params(border_mode, subsample, filter_dilation)
    like = _like(input_shape, dtypes.upcast(g.dtype, w.dtype), "conv2d_grad_wrt_inputs: input_shape")
    return grad_inputs_op(w, g, like, border_mode=bm, subsample=stride, filter_flip=bool(filter_flip))


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None, border_mode="valid",
                            subsample=(1, 1), filter_flip: bool = True, filter_dilation=(1, 1), **_kwargs):
    """Theano's ``abstract_conv.conv2d_grad_wrt_weights``: the gradient of ``conv2d(input, w)``
    with respect to ``w`` of shape ``filter_shape``, given the output gradient."""
    x, g = F.as_tensor_variable(input), F.as_tensor_variable(output_grad)
    bm, stride = _conv_params(border_mode, subsample, filter_dilation)
    like = _like(filter_shape, dtypes.upcast(g.dtype, x.dtype), "conv2d_grad_wrt_weights: filter_shape")
    return grad_filters_op(x, g, like, border_mode=bm, subsample=stride, filter_flip=bool(filter_flip))


def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid", input_dilation=(1, 1),
                     filter_flip: bool = True, filter_dilation=(1, 1)):
    """Theano's ``T.nnet.conv2d_transpose`` ("deconvolution"): the transpose of ``conv2d`` with
    strides ``input_dilation``, giving a result of ``output_shape``."""
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode, input_dilation,
                                  filter_flip, filter_dilation)


def signal_conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
                  **_kwargs):
    """Theano's ``T.signal.conv.conv2d``: images without channels. ``input`` is one image (rows,
    cols) or a batch (batch, rows, cols); ``filters`` one (rows, cols) or a stack (n, rows, cols).
    The result drops the axes the arguments did not have: (batch, n, r, c), (batch, r, c),
    (n, r, c) or (r, c)."""
    x, w = F.as_tensor_variable(input), F.as_tensor_variable(filters)
    if x.ndim not in (2, 3) or w.ndim not in (2, 3):
        raise ValueError(f"signal.conv2d: input and filters must be 2-d or 3-d, got {x.type} and {w.type}")
    x4 = x.dimshuffle("x", "x", 0, 1) if x.ndim == 2 else x.dimshuffle(0, "x", 1, 2)
    w4 = w.dimshuffle("x", "x", 0, 1) if w.ndim == 2 else w.dimshuffle(0, "x", 1, 2)
    out = conv2d(x4, w4, border_mode=border_mode, subsample=subsample)
    if x.ndim == 2 and w.ndim == 2:
        return out[0, 0]
    if x.ndim == 2:
        return out[0]
    if w.ndim == 2:
        return out[:, 0]
    return out
