"""Theano's ``T.fft`` and PyTensor's ``pt.fft``: ``rfft`` and ``irfft`` (half spectra as (..., k, 2))."""
from ..lang.fft import irfft, rfft  # noqa: F401
