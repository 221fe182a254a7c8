"""The CUDA runtime, through CuPy (imported lazily: egopt works without it).

Today this module decides whether ``device="cuda"`` can run here and says exactly what is
missing, and compiles/launches rendered kernels (egopt/codegen/render_cuda.py) through
``cupy.RawModule``. The launch path has not run on a GPU yet (docs/gpu.md): functions compiled
with ``device="cuda"`` still raise ``BackendUnavailableError`` until device placement is wired.
"""
from __future__ import annotations

import importlib
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


@lru_cache(maxsize=64)
def _module(source: str):
    """One ``RawModule`` per translation unit (CuPy also caches compiled binaries on disk)."""
    return _cupy().RawModule(code=source, options=("-std=c++17",))


def load_kernels(kernels: Sequence) -> dict[str, object]:
    """kernel key -> ``cupy.RawKernel`` for ``kernels`` (one translation unit).
    Unverified on a GPU (docs/gpu.md)."""
    from ..codegen.render_cuda import CUDARenderer
    r = CUDARenderer()
    mod = _module(r.render(kernels))
    return {k.key: mod.get_function(r.kernel_name(k)) for k in kernels}


def launch(fn, kernel, shape: Sequence[int], arrays: Sequence, strides: Sequence[Sequence[int]]) -> None:
    """Run ``fn`` (from ``load_kernels``) over ``shape`` with one CuPy array per buffer and its
    byte strides (0 on broadcast axes and on an output's reduced axes).
    Unverified on a GPU (docs/gpu.md)."""
    import numpy as np
    from ..codegen.render_cuda import launch_dims
    blocks, threads = launch_dims(kernel, shape)
    args = list(arrays) + [np.int64(s) for s in shape] + [np.int64(s) for st in strides for s in st]
    fn((blocks,), (threads,), tuple(args))      # CuPy passes an array as its data pointer
