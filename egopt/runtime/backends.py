"""Which backends this build can run; asking for one it lacks is an error, never a CPU fallback.

``require_backend`` is the single place that decides; egopt/runtime/cuda.py says what is missing.
"""
from __future__ import annotations

from .. import config
from ..lang.errors import EgoptError


class BackendUnavailableError(EgoptError):
    """The configured device or linker has no backend in this build."""


def require_backend(mode) -> None:
    """Raise ``BackendUnavailableError`` if ``mode`` (with ``config.device``) asks for a backend
    this build does not have."""
    device = config.device
    if device.startswith("cuda") or mode.linker == "cuda":
        from .cuda import unavailable_reason
        what = f"device={device!r}" if device.startswith("cuda") else "linker='cuda'"
        missing = unavailable_reason(device if device.startswith("cuda") else "cuda")
        if missing is None and mode.options.get("check"):
            missing = (f"mode {mode.name} checks values with the NumPy linker on the host, which "
                       "does not read GPU arrays")
        if missing is None:
            return
        raise BackendUnavailableError(
            f"egopt: {what} was requested, but {missing}. Nothing would run on the GPU. "
            "Use device='cpu' (egopt.config.device = 'cpu', EGOPT_FLAGS=device=cpu or ~/.egoptrc) "
            "to run on the CPU.")
