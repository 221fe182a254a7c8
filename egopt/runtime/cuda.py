"""The CUDA runtime, through CuPy (imported lazily: egopt works without it).

This module decides whether ``device="cuda"`` can run here and says exactly what is missing,
moves values between host and device (``CuPyPlacement``, installed into egopt.lang.shared so
that shared variables created under ``device="cuda"`` hold CuPy arrays), and compiles/launches
rendered kernels (egopt/codegen/render_cuda.py) through ``cupy.RawModule``; the compiled
program is egopt/runtime/cuda_program.py. Verified with a CPU emulation of CuPy only until it
has run on a card (docs/gpu.md).
"""
from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from typing import Sequence

CUPY_WHEEL = "cupy-cuda13x"          # the wheel for CUDA 13 (pyproject's `cuda` extra)
INSTALL_HINT = f"pip install 'egopt[cuda]' (installs {CUPY_WHEEL}, for CUDA 13 drivers)"


def _cupy():
    return importlib.import_module("cupy")


def device_index(device: str) -> int:
    """``'cuda'`` -> 0, ``'cuda3'`` -> 3."""
    return int(device[4:] or 0)


def unavailable_reason(device: str = "cuda") -> str | None:
    """None when ``device`` can be used, else what is missing, in words a user can act on."""
    try:
        cupy = _cupy()
    except ImportError as e:
        return f"cupy is not installed ({e}); {INSTALL_HINT}"
    except Exception as e:          # a broken install (wrong wheel for the CUDA version, ...)
        return f"cupy failed to import: {type(e).__name__}: {e}; {INSTALL_HINT}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:          # no driver, or a driver too old for this cupy wheel
        return f"cupy is installed but found no usable CUDA device ({type(e).__name__}: {e})"
    index = device_index(device)
    if count == 0:
        return "cupy is installed but this machine has no CUDA device"
    if index >= count:
        return f"{device!r} asks for CUDA device {index}, but this machine has {count} (cuda0..cuda{count - 1})"
    return None


def is_device_array(v) -> bool:
    """Is ``v`` a CuPy array? (Without importing cupy: one exists only if cupy is loaded.)"""
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(v, getattr(cupy, "ndarray", ()))


def require_device(device: str) -> None:
    """Raise ``BackendUnavailableError`` (what is missing, and how to fix it) unless ``device``
    can hold arrays here."""
    missing = unavailable_reason(device)
    if missing is not None:
        from .backends import BackendUnavailableError
        raise BackendUnavailableError(
            f"egopt: device={device!r} was requested, but {missing}. Use device='cpu' "
            "(egopt.config.device = 'cpu', EGOPT_FLAGS=device=cpu or ~/.egoptrc) to run on the CPU.")


@lru_cache(maxsize=None)
def _dtype(name: str):
    import numpy as np
    return np.dtype(name)


class CuPyPlacement:
    """Host <-> device moves for shared variables (egopt.lang.shared.DEVICE)."""

    def is_device(self, v) -> bool:
        return is_device_array(v)

    def to_device(self, arr):
        from .. import config
        require_device(config.device)
        cupy = _cupy()
        with cupy.cuda.Device(device_index(config.device)):
            return cupy.asarray(arr)

    def to_host(self, v):
        return _cupy().asnumpy(v)

    def filter(self, typ, value, name: str, borrow: bool):
        """``value`` as a device array of type ``typ``: a CuPy array is checked (and copied
        unless ``borrow``), anything else converted as on the host, then copied over."""
        if not is_device_array(value):
            return self.to_device(typ.filter(value, name=name))
        if value.dtype != _dtype(typ.dtype):
            raise TypeError(f"{name}: expected {typ}, got a CuPy array of dtype {value.dtype.name}; "
                            f"cast it with .astype({typ.dtype!r})")
        if not typ.accepts(value):
            raise TypeError(f"{name}: expected {typ}, got a CuPy array of shape {value.shape}")
        return value if borrow else value.copy()


@lru_cache(maxsize=64)
def _module(source: str, index: int = 0):
    """One ``RawModule`` per translation unit and device (CuPy also caches binaries on disk)."""
    return _cupy().RawModule(code=source, options=("-std=c++17",))


def load_kernels(kernels: Sequence, index: int = 0) -> dict[str, object]:
    """kernel key -> ``cupy.RawKernel`` for ``kernels`` (one translation unit, cached), for
    CUDA device ``index`` (call it with that device current)."""
    from ..codegen.render_cuda import CUDARenderer
    r = CUDARenderer()
    mod = _module(r.render(kernels), index)
    return {k.key: mod.get_function(r.kernel_name(k)) for k in kernels}


def launch_args(kernel, shape: Sequence[int], strides: Sequence[Sequence[int]]) -> tuple:
    """(grid, block, integer arguments) of a launch of ``kernel`` over ``shape`` with each
    buffer's byte strides (0 on broadcast axes and on an output's reduced axes): the kernel is
    then called as ``fn(grid, block, (*arrays, *integers))`` (CuPy passes an array as its data
    pointer)."""
    import numpy as np
    from ..codegen.render_cuda import launch_dims
    blocks, threads = launch_dims(kernel, shape)
    ints = tuple(np.int64(s) for s in shape) + tuple(np.int64(s) for st in strides for s in st)
    return (blocks,), (threads,), ints


def _install() -> None:
    from ..lang import shared
    shared.DEVICE = CuPyPlacement()


_install()
