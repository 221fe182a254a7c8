"""Explicit-loop NumPy references for convolution, pooling and recurrences (slow, obviously right)."""
from __future__ import annotations

import numpy as np


def conv2d_loops(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True):
    n, c, h, wd = x.shape
    o, c2, kh, kw = w.shape
    assert c == c2
    if border_mode == "valid":
        ph, pw = 0, 0
    elif border_mode == "full":
        ph, pw = kh - 1, kw - 1
    elif border_mode == "half":
        ph, pw = kh // 2, kw // 2
    else:
        ph, pw = border_mode
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=np.float64)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    sh, sw = subsample
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for b in range(n):
        for f in range(o):
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0
                    for ch in range(c):
                        for a in range(kh):
                            for d in range(kw):
                                wv = w[f, ch, kh - 1 - a, kw - 1 - d] if filter_flip else w[f, ch, a, d]
                                acc += xp[b, ch, i * sh + a, j * sw + d] * wv
                    out[b, f, i, j] = acc
    return out


def pool_2d_loops(x, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    """Theano's Pool.perform, written out over every window of the last two axes."""
    stride = stride or ws
    lead, (h, wd) = x.shape[:-2], x.shape[-2:]
    rows, cols = h + 2 * pad[0], wd + 2 * pad[1]

    def length(r, k, s):
        if ignore_border:
            return max(0, (r - k) // s + 1)
        return (r - 1) // s + 1 if s >= k else max(0, (r - 1 - k + s) // s) + 1

    oh, ow = length(rows, ws[0], stride[0]), length(cols, ws[1], stride[1])
    y = np.zeros(lead + (rows, cols))
    y[..., pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    out = np.zeros(lead + (oh, ow))
    for idx in np.ndindex(*lead):
        for i in range(oh):
            r0, r1 = i * stride[0], min(i * stride[0] + ws[0], rows)
            if mode != "average_inc_pad":
                r0, r1 = max(r0, pad[0]), min(r1, h + pad[0])
            for j in range(ow):
                c0, c1 = j * stride[1], min(j * stride[1] + ws[1], cols)
                if mode != "average_inc_pad":
                    c0, c1 = max(c0, pad[1]), min(c1, wd + pad[1])
                block = y[idx + (slice(r0, r1), slice(c0, c1))]
                if mode == "max":
                    out[idx + (i, j)] = block.max()
                elif mode == "sum":
                    out[idx + (i, j)] = block.sum()
                else:
                    out[idx + (i, j)] = block.sum() / block.size
    return out


def rnn_loop(x, wx, wh, h):
    """The states of ``h_t = tanh(x_t wx + h_{t-1} wh)`` for every step of ``x``, stacked."""
    out = []
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ wx + h @ wh)
        out.append(h)
    return np.array(out)
