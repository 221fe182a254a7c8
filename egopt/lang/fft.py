"""Real FFTs in Theano's layout (``T.fft.rfft``/``irfft``, PyTensor's ``pt.fft``): a real input
``(batch, ..., n)`` is transformed over every axis but the first; the half spectrum is stored as
``(batch, ..., n // 2 + 1, 2)``, real and imaginary parts on the last axis.

Three linear ops close under differentiation:

- ``rfft(x)``: ``np.fft.rfftn`` over the axes after the first (unnormalized);
- ``rfft_adjoint(g, like_x)``: its transpose, ``Re(N * ifftn(G))`` with ``G`` the half spectrum
  zero-padded to the full one (``like_x`` gives the real shape and never carries a gradient);
- ``irfft(z, like_x)``: ``np.fft.irfftn`` (normalized by ``1/N``), whose transpose is ``rfft``
  weighted by ``c_k / N`` along the last axis (``c_k`` = 2, except 1 for the zero frequency and,
  for an even length, the last one: the Hermitian extension counts the other bins twice).

``norm`` ('ortho', 'no_norm') is a scale on top, computed in the graph.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .errors import EgoptTypeError
from .ops import Op, register
from .types import TensorType

_HERE = "egopt/lang/fft.py"


def _float(t: TensorType) -> str:
    return t.dtype if t.dtype in ("float32", "float64") else "float64"


def _axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(1, ndim))


def _rfft_infer(params, t: TensorType) -> TensorType:
    if t.ndim < 2 or not (dtypes.is_float(t.dtype) or dtypes.is_int(t.dtype)):
        raise EgoptTypeError(f"rfft needs a real tensor (batch, ..., n), got {t}")
    n = t.shape[-1]
    return TensorType(_float(t), t.shape[:-1] + (None if n is None else n // 2 + 1, 2))


def _rfft_perform(params, x):
    y = np.fft.rfftn(x, axes=_axes(x.ndim))
    return np.stack([y.real, y.imag], axis=-1).astype(_float(TensorType(x.dtype.name, (None,) * x.ndim)))


def _adjoint_infer(params, g: TensorType, like: TensorType) -> TensorType:
    if g.ndim != like.ndim + 1:
        raise EgoptTypeError(f"rfft_adjoint: a spectrum of ndim {like.ndim + 1} is needed, got {g}")
    return TensorType(g.dtype, like.shape)


def _adjoint_perform(params, g, like):
    full = np.zeros(like.shape, dtype=np.complex128)
    k = g.shape[-2]
    full[..., :k] = g[..., 0] + 1j * g[..., 1]
    axes = _axes(like.ndim)
    n = int(np.prod([like.shape[a] for a in axes]))
    return (np.fft.ifftn(full, axes=axes).real * n).astype(g.dtype)


def _irfft_infer(params, z: TensorType, like: TensorType) -> TensorType:
    if z.ndim != like.ndim + 1 or z.shape[-1] not in (None, 2):
        raise EgoptTypeError(f"irfft needs a spectrum (batch, ..., k, 2) of ndim {like.ndim + 1}, got {z}")
    return TensorType(z.dtype, like.shape)


def _irfft_perform(params, z, like):
    axes = _axes(like.ndim)
    s = [like.shape[a] for a in axes]
    return np.fft.irfftn(z[..., 0] + 1j * z[..., 1], s=s, axes=axes).astype(z.dtype)


def _last_weights(n, k, dtype: str):
    """``c_k / 1`` along the last axis of the half spectrum: 1 at k = 0 (and k = n/2 for an even
    n), 2 elsewhere."""
    idx = F.arange(k)
    nyquist = F.and_(F.eq(F.mod(n, 2), 0), F.eq(idx * 2, n))
    return F.cast(F.switch(F.or_(F.eq(idx, 0), nyquist), 1.0, 2.0), dtype)


def _size_after_batch(x):
    n = F.constant(1, dtype="int64")
    for a in _axes(x.ndim):
        n = n * F.shape(x)[a]
    return n


rfft_op = register(Op("rfft", _rfft_infer, _rfft_perform,
                      lambda node, g: [RFFT_ADJOINT(g, node.inputs[0])], kind="fft", nin=1, flops=20.0,
                      defined_in=_HERE))
RFFT_ADJOINT = register(Op("rfft_adjoint", _adjoint_infer, _adjoint_perform,
                           lambda node, g: [rfft_op(g), None], kind="fft", nin=2, flops=20.0,
                           grad_inputs=(0,), defined_in=_HERE))


def _irfft_vjp(node, g):
    like = node.inputs[1]
    spec = rfft_op(g)
    n_last = F.shape(like)[like.ndim - 1]
    w = _last_weights(n_last, F.shape(spec)[spec.ndim - 2], spec.dtype)
    scale = F.cast(_size_after_batch(like), spec.dtype)
    return [spec * w.dimshuffle(*(["x"] * (spec.ndim - 2) + [0, "x"])) / scale, None]


irfft_op = register(Op("irfft", _irfft_infer, _irfft_perform, _irfft_vjp, kind="fft", nin=2, flops=20.0,
                       grad_inputs=(0,), defined_in=_HERE))


def _check_norm(norm):
    if norm not in (None, "ortho", "no_norm"):
        raise ValueError(f"fft: norm must be None, 'ortho' or 'no_norm', not {norm!r}")


def rfft(inp, norm: str | None = None):
    """The real FFT of ``inp`` (batch, ..., n) over all axes but the first: (batch, ..., n//2+1, 2)."""
    _check_norm(norm)
    x = F.as_tensor_variable(inp)
    out = rfft_op(x)
    if norm == "ortho":
        out = out / F.sqrt(F.cast(_size_after_batch(x), out.dtype))
    return out


def irfft(inp, norm: str | None = None, is_odd: bool = False):
    """The inverse of ``rfft``: a spectrum (batch, ..., k, 2) back to (batch, ..., n) with
    ``n = 2 (k - 1) + is_odd``. ``norm=None`` divides by the size (as NumPy), 'ortho' by its square
    root, 'no_norm' not at all."""
    _check_norm(norm)
    z = F.as_tensor_variable(inp)
    if z.ndim < 3:
        raise EgoptTypeError(f"irfft needs a spectrum (batch, ..., k, 2), got {z.type}")
    k = F.shape(z)[z.ndim - 2]
    n = (k - 1) * 2 + int(bool(is_odd))
    sizes = [F.shape(z)[a] for a in range(z.ndim - 2)] + [n]
    like = F.zeros(tuple(sizes), dtype=z.dtype)
    out = irfft_op(z, like)
    if norm is not None:
        size = F.cast(_size_after_batch(like), out.dtype)
        out = out * (F.sqrt(size) if norm == "ortho" else size)
    return out
