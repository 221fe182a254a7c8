"""The compiler driver: the system C compiler, flags chosen once per machine, cached libraries.

``compile_library(source)`` returns a loaded ``ctypes.CDLL`` for a translation unit, built at
most once per (source, flags, compiler version, CPU) across processes (cache.py). Flags are
probed once per machine and compiler (the result is cached on disk too): ``-O3`` with
``-march=native`` where it works, ``-fopenmp`` where it works, ``-fno-math-errno`` (lets the
vectorizer call libmvec) and ``-fno-trapping-math``; never ``-ffast-math``, which would let the
compiler assume no NaN or inf. ``-fwrapv`` gives signed integers NumPy's wrap-around.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile

from .. import config
from .cache import _write_atomic, cache_key, cached_build

ABI = "egopt-c-abi-1"
BASE_FLAGS = ["-O3", "-std=gnu11", "-fPIC", "-shared", "-fvisibility=hidden",
              "-fno-math-errno", "-fno-trapping-math", "-fwrapv",
              "-Werror=implicit-function-declaration"]
OPTIONAL_FLAGS = (["-march=native"], ["-fopenmp"])
LIBS = ["-lmvec", "-lm"]


class CompilerError(RuntimeError):
    """The C compiler failed on generated code (a bug in egopt: the message has the log)."""


@functools.lru_cache(maxsize=None)
def find_compiler() -> str | None:
    """The C compiler: $CC, else cc, gcc or clang on PATH; None when there is none."""
    for name in [os.environ.get("CC"), "cc", "gcc", "clang"]:
        if name and shutil.which(name.split()[0]):
            return name
    return None


@functools.lru_cache(maxsize=None)
def compiler_version(cc: str) -> str:
    """The first line of ``cc --version``, remembered in the cache dir per compiler binary (its
    resolved path, size and mtime): running the compiler costs a warm process ~15 ms."""
    exe = shutil.which(cc.split()[0])
    path = None
    if exe is not None:
        real = os.path.realpath(exe)
        st = os.stat(real)
        key = cache_key("cc-version", cc, real, str(st.st_size), str(st.st_mtime_ns))
        path = os.path.join(config.compiledir, f"cc-{key[:16]}.txt")
        try:
            with open(path) as f:
                text = f.read()
            if text:
                return text
        except OSError:
            pass
    out = subprocess.run([cc, "--version"], capture_output=True, text=True)
    text = out.stdout.splitlines()[0] if out.stdout else cc
    if path is not None:
        os.makedirs(config.compiledir, exist_ok=True)
        _write_atomic(path, text.encode())
    return text


@functools.lru_cache(maxsize=None)
def cpu_id() -> str:
    """What -march=native depends on: the CPU model and its feature flags."""
    text = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            lines = [l for l in f.read().splitlines() if l.startswith(("model name", "flags"))]
        text += "\n".join(sorted(set(lines)))
    except OSError:
        text += platform.processor()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_PROBE = r"""
#include <math.h>
#pragma omp declare simd notinbranch
double exp(double);
double f(const double *x, int n) { double s = 0;
#pragma omp simd reduction(+:s)
  for (int i = 0; i < n; i++) s += exp(x[i]); return s; }
"""


def _try(cc: str, flags: list[str]) -> bool:
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "p.c"), os.path.join(d, "p.so")
        with open(src, "w") as f:
            f.write(_PROBE)
        r = subprocess.run([cc, *flags, src, "-o", out, *LIBS], capture_output=True)
        if r.returncode != 0:
            return False
        try:
            ctypes.CDLL(out)
        except OSError:
            return False
        return True


@functools.lru_cache(maxsize=None)
def compiler_flags(cc: str) -> tuple[str, ...]:
    """The flags for this machine and compiler, probed once and remembered in the cache dir."""
    key = cache_key("flags", ABI, compiler_version(cc), cpu_id(), " ".join(BASE_FLAGS),
                    repr(OPTIONAL_FLAGS))
    path = os.path.join(config.compiledir, f"flags-{key[:16]}.json")
    try:
        with open(path) as f:
            return tuple(json.load(f))
    except (OSError, ValueError):
        pass
    flags = list(BASE_FLAGS)
    everything = flags + [f for extra in OPTIONAL_FLAGS for f in extra]
    if _try(cc, everything):            # the usual case: one probe instead of one per option
        flags = everything
    else:
        if not _try(cc, flags):
            raise CompilerError(f"the C compiler {cc!r} cannot build a shared library with {flags}")
        for extra in OPTIONAL_FLAGS:
            if _try(cc, flags + extra):
                flags += extra
    os.makedirs(config.compiledir, exist_ok=True)
    _write_atomic(path, json.dumps(flags).encode())
    return tuple(flags)


def library_path(source: str, extra_flags: tuple[str, ...] = ()) -> str:
    """Build (or find in the cache) the shared library of ``source``; returns its path."""
    cc = find_compiler()
    if cc is None:
        raise CompilerError("no C compiler found (set $CC or install gcc)")
    flags = compiler_flags(cc) + tuple(extra_flags)
    key = cache_key(source, " ".join(flags), compiler_version(cc), cpu_id(), ABI)

    def build(out: str) -> None:
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, f"egopt_{key[:16]}.c")
            with open(src, "w") as f:
                f.write(source)
            r = subprocess.run([cc, *flags, src, "-o", out, *LIBS], capture_output=True, text=True)
            if r.returncode != 0:
                raise CompilerError(f"{cc} failed on generated code (please report this):\n"
                                    f"{' '.join([cc, *flags])}\n{r.stderr[-4000:]}")

    return cached_build(key, build)


def compile_library(source: str) -> ctypes.CDLL:
    """The loaded library of ``source``; a cache entry that does not load is rebuilt once."""
    path = library_path(source)
    try:
        return ctypes.CDLL(path)
    except OSError:
        os.unlink(path)          # corrupt in a way the hash could not see: build it again
        return ctypes.CDLL(library_path(source))
