"""Cases for the real FFT ops (egopt/lang/fft.py) against numpy.fft."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from egopt.lang import fft as FF
from tests.cases import Case, array, dtype


def _real(draw, dtypes=("float64",)):
    ndim = draw(st.integers(2, 3))
    shp = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    return array(draw, shp, dtype(draw, dtypes))


def _np_rfft(x):
    y = np.fft.rfftn(x, axes=tuple(range(1, x.ndim)))
    return np.stack([y.real, y.imag], axis=-1)


def _spectrum_and_like(draw):
    x = _real(draw)
    k = x.shape[-1] // 2 + 1
    return [array(draw, x.shape[:-1] + (k, 2), "float64"), x]


def _np_adjoint(g, like):
    full = np.zeros(like.shape, dtype=complex)
    full[..., :g.shape[-2]] = g[..., 0] + 1j * g[..., 1]
    axes = tuple(range(1, like.ndim))
    return np.fft.ifftn(full, axes=axes).real * np.prod([like.shape[a] for a in axes])


def _np_irfft(z, like):
    axes = tuple(range(1, like.ndim))
    return np.fft.irfftn(z[..., 0] + 1j * z[..., 1], s=[like.shape[a] for a in axes], axes=axes)


CASES = [
    Case("rfft", lambda draw: [_real(draw, ("float64", "float32"))], FF.rfft, _np_rfft),
    Case("rfft", lambda draw: [_real(draw)], lambda x: FF.rfft(x, norm="ortho"),
         lambda x: _np_rfft(x) / np.sqrt(np.prod(x.shape[1:])), label="ortho"),
    Case("rfft_adjoint", _spectrum_and_like, lambda g, like: FF.RFFT_ADJOINT(g, like), _np_adjoint,
         grad_wrt=(0,)),
    Case("irfft", _spectrum_and_like, lambda z, like: FF.irfft_op(z, like), _np_irfft, grad_wrt=(0,)),
]
