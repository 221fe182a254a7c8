"""conv2d and its two gradients on the GPU through CuPy: im2col by one strided copy per filter
tap, then one batched GEMM (cuBLAS through ``cupy.matmul``), the same arithmetic as the NumPy
performs of egopt/lang/conv.py (which use ``sliding_window_view``, not available on every CuPy).
cuDNN is not used. Entries of cuda_program.DEVICE_OPS: ``fn(cupy, params, *args)``.
"""
from __future__ import annotations

from ..lang.conv import out_size, pads


def _taps(cp, xp, kh: int, kw: int, stride, oh: int, ow: int):
    """(N, C, kh, kw, oh, ow): the padded input ``xp`` under each filter tap."""
    if xp.shape[2] < kh or xp.shape[3] < kw:
        raise ValueError(f"the padded input is {xp.shape[2]}x{xp.shape[3]}, smaller than the "
                         f"filter {kh}x{kw}")
    sh, sw = stride
    n, c = xp.shape[:2]
    cols = cp.empty((n, c, kh, kw, oh, ow), dtype=xp.dtype)
    for a in range(kh):
        for b in range(kw):
            cols[:, :, a, b] = xp[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw]
    return cols


def _pad(cp, x, ph: int, pw: int):
    return cp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


def _flip(w, flip: bool):
    return w[:, :, ::-1, ::-1] if flip else w


def conv2d(cp, params, x, w):
    o, c, kh, kw = w.shape
    ph, pw = pads(params["border_mode"], kh, kw)
    sh, sw = params["subsample"]
    n, cx, h, wd = x.shape
    if cx != c:
        raise ValueError(f"the input has {cx} channels, the filters expect {c}")
    oh, ow = out_size(h, kh, ph, sh), out_size(wd, kw, pw, sw)
    cols = _taps(cp, _pad(cp, x, ph, pw), kh, kw, (sh, sw), oh, ow).reshape(n, c * kh * kw, oh * ow)
    wmat = cp.ascontiguousarray(_flip(w, params["filter_flip"])).reshape(o, c * kh * kw)
    return cp.matmul(wmat, cols).reshape(n, o, oh, ow)


def grad_filters(cp, params, x, g, like):
    o, c, kh, kw = like.shape
    ph, pw = pads(params["border_mode"], kh, kw)
    n, _, oh, ow = g.shape
    cols = _taps(cp, _pad(cp, x, ph, pw), kh, kw, params["subsample"], oh, ow).reshape(n, c * kh * kw, oh * ow)
    gw = cp.matmul(g.reshape(n, o, oh * ow), cols.transpose(0, 2, 1)).sum(axis=0)
    return cp.ascontiguousarray(_flip(gw.reshape(o, c, kh, kw), params["filter_flip"]))


def grad_inputs(cp, params, w, g, like):
    o, c, kh, kw = w.shape
    ph, pw = pads(params["border_mode"], kh, kw)
    sh, sw = params["subsample"]
    n, _, h, wd = like.shape
    oh, ow = g.shape[2:]
    wmat = cp.ascontiguousarray(_flip(w, params["filter_flip"])).reshape(o, c * kh * kw)
    cols = cp.matmul(wmat.T, g.reshape(n, o, oh * ow)).reshape(n, c, kh, kw, oh, ow)
    gxp = cp.zeros((n, c, max(h + 2 * ph, (oh - 1) * sh + kh), max(wd + 2 * pw, (ow - 1) * sw + kw)),
                   dtype=cols.dtype)
    for a in range(kh):              # col2im: one strided add per filter tap
        for b in range(kw):
            region = gxp[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw]
            gxp[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] = region + cols[:, :, a, b]
    return gxp[:, :, ph:ph + h, pw:pw + wd]


CONV_OPS = {"conv2d": conv2d, "conv2d_grad_filters": grad_filters, "conv2d_grad_inputs": grad_inputs}
