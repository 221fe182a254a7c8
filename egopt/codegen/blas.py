"""NumPy's own CBLAS, found once per process, so compiled code calls the BLAS NumPy calls.

``gemm`` nodes then run as one ``?gemm``/``?gemv`` call with ``beta`` (no product array, no
scaled copy, no sum; with an in-place update, into the old value's own storage) instead of
NumPy's ``dot`` then ``*`` then ``+``. Threads, and their settings (``OPENBLAS_NUM_THREADS``,
threadpoolctl), are NumPy's.

The library is the one NumPy has loaded (``/proc/self/maps``), else one shipped in NumPy's
wheel folders; the symbol decides the integer width: OpenBLAS's ILP64 builds end their names
in ``64_`` (NumPy's wheels: ``scipy_cblas_dgemm64_``); an unsuffixed ``cblas_dgemm`` is taken
as 32-bit only when NumPy's build does not report 64-bit BLAS integers. Anything else: None,
and gemm runs its NumPy perform.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os
from typing import NamedTuple

import numpy as np

_ROUTINES = ("sgemm", "dgemm", "sgemv", "dgemv")
# (symbol pattern, 64-bit integers)
_NAMINGS = (("scipy_cblas_{}64_", True), ("cblas_{}64_", True), ("scipy_cblas_{}", False),
            ("cblas_{}", False))


class CBlas(NamedTuple):
    """Addresses of sgemm, dgemm, sgemv, dgemv and whether their integers are 64-bit."""
    sgemm: int
    dgemm: int
    sgemv: int
    dgemv: int
    ilp64: bool
    path: str


def _candidates() -> list[str]:
    paths: list[str] = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1] if line.count("/") else ""
                if p.startswith("/") and "blas" in os.path.basename(p).lower() and p not in paths:
                    paths.append(p)
    except OSError:
        pass
    root = os.path.dirname(os.path.dirname(np.__file__))
    for d in (os.path.join(root, "numpy.libs"), os.path.join(os.path.dirname(np.__file__), ".dylibs")):
        for p in sorted(glob.glob(os.path.join(d, "*blas*"))):
            if p not in paths:
                paths.append(p)
    return paths


def _numpy_reports_ilp64() -> bool:
    try:
        cfg = np.show_config(mode="dicts")
        text = repr(cfg.get("Build Dependencies", {}).get("blas", {})).lower()
    except Exception:          # an old NumPy without the dict form: do not guess
        return True
    return "64bitint" in text or "ilp64" in text


def _find(path: str) -> CBlas | None:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for pattern, ilp64 in _NAMINGS:
        try:
            fns = [ctypes.cast(getattr(lib, pattern.format(r)), ctypes.c_void_p).value for r in _ROUTINES]
        except AttributeError:
            continue
        if not ilp64 and _numpy_reports_ilp64():
            continue
        return CBlas(*fns, ilp64=ilp64, path=path)
    return None


@functools.lru_cache(maxsize=None)
def cblas() -> CBlas | None:
    """NumPy's CBLAS gemm/gemv entry points, or None where they cannot be found safely."""
    if os.environ.get("EGOPT_NO_CBLAS"):
        return None
    for path in _candidates():
        found = _find(path)
        if found is not None:
            return found
    return None
