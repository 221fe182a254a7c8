"""The compiler driver: the system C compiler, flags chosen once per machine, cached libraries.

``compile_library(source)`` returns a loaded ``ctypes.CDLL`` for a translation unit, built at
most once per (source, flags, compiler version, CPU) across processes (cache.py). Flags are
probed once per machine and compiler (the result is cached on disk too): ``-O3`` with
``-march=native`` where it works, ``-fopenmp`` where it works, ``-fno-math-errno`` (lets the
vectorizer call libmvec) and ``-fno-trapping-math``; never ``-ffast-math``, which would let the
compiler assume no NaN or inf. On an AVX-512 CPU, ``-mprefer-vector-width=512`` (GCC's default
there is 256-bit vectors; libmvec's 8-wide variants are the faster ones). ``-fwrapv`` gives signed integers NumPy's wrap-around.
A big source (many kernels) is compiled as several translation units at once, one per core,
and linked into the one library (``split_source``): the compiler's time grows with the code.
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
# GCC keeps AVX-512 machines to 256-bit vectors by default; the transcendental kernels run
# libmvec's 8-wide AVX-512 variants 1.2-1.4x faster than its 4-wide AVX2 ones (W1 float64),
# so on a CPU with avx512f the vectorizer is let use the full width.
WIDE_VECTORS = ["-mprefer-vector-width=512"]
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


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def optional_flags() -> tuple[list[str], ...]:
    """The flags tried one by one (each kept if the compiler takes it) on this machine."""
    return OPTIONAL_FLAGS + ((WIDE_VECTORS,) if "avx512f" in cpu_flags() else ())


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
                    repr(optional_flags()))
    path = os.path.join(config.compiledir, f"flags-{key[:16]}.json")
    try:
        with open(path) as f:
            return tuple(json.load(f))
    except (OSError, ValueError):
        pass
    flags = list(BASE_FLAGS)
    everything = flags + [f for extra in optional_flags() for f in extra]
    if _try(cc, everything):            # the usual case: one probe instead of one per option
        flags = everything
    else:
        if not _try(cc, flags):
            raise CompilerError(f"the C compiler {cc!r} cannot build a shared library with {flags}")
        for extra in optional_flags():
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
            parts = split_source(source, _cores())
            if len(parts) == 1:
                src = os.path.join(d, f"egopt_{key[:16]}.c")
                with open(src, "w") as f:
                    f.write(source)
                _run([[cc, *flags, src, "-o", out, *LIBS]], cc, flags)
                return
            objs, cmds = [], []
            compile_flags = [f for f in flags if f != "-shared"]
            for i, part in enumerate(parts):
                src, obj = os.path.join(d, f"egopt_{key[:16]}_{i}.c"), os.path.join(d, f"part{i}.o")
                with open(src, "w") as f:
                    f.write(part)
                cmds.append([cc, *compile_flags, "-c", src, "-o", obj])
                objs.append(obj)
            try:
                _run(cmds, cc, flags)
                _run([[cc, *flags, *objs, "-o", out, *LIBS]], cc, flags)
            except CompilerError:      # a layout split_source did not foresee: one unit, as written
                src = os.path.join(d, f"egopt_{key[:16]}.c")
                with open(src, "w") as f:
                    f.write(source)
                _run([[cc, *flags, src, "-o", out, *LIBS]], cc, flags)

    return cached_build(key, build)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _run(cmds: list[list[str]], cc: str, flags) -> None:
    """Run the compiler commands at once; a CompilerError with the log of the first that fails."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    logs = [p.communicate() for p in procs]
    for p, (_, err) in zip(procs, logs):
        if p.returncode != 0:
            raise CompilerError(f"{cc} failed on generated code (please report this):\n"
                                f"{' '.join([cc, *flags])}\n{err[-4000:]}")


# a big library compiles as several translation units at once (gcc's time grows with the code:
# ~0.75 s of CPU for the 36 kernels, 68 KB, of a 1.4k-node model); each part is at least this big
SPLIT_BYTES = 32_000
_THREADS_DEF = "static int egopt_nthreads = 1;"
_KERNEL = "EGOPT_EXPORT int egopt_k_"


def split_source(source: str, cores: int) -> list[str]:
    """``source`` as up to ``cores`` translation units of whole kernels that link into the same
    library: each repeats the prelude (its helpers are ``static inline``), and the thread count
    becomes one shared (hidden) global. One part when the source is small, or when it is not laid
    out as the renderer lays it out (prelude, then kernels each headed by a comment line, then
    its helper functions)."""
    n = min(cores, len(source) // SPLIT_BYTES)
    if n < 2 or source.count(_THREADS_DEF) != 1:
        return [source]
    lines = source.split("\n")
    starts = [_block_start(lines, i) for i, line in enumerate(lines) if line.startswith(_KERNEL)]
    if len(starts) < 2:
        return [source]
    prelude = "\n".join(lines[:starts[0]])
    if _THREADS_DEF not in prelude:
        return [source]
    blocks = ["\n".join(lines[a:b]) for a, b in zip(starts, starts[1:] + [len(lines)])]
    target = sum(len(b) for b in blocks) / n
    groups: list[list[str]] = [[]]
    size = 0
    for b in blocks:
        if size >= target and len(groups) < n:
            groups.append([])
            size = 0
        groups[-1].append(b)
        size += len(b)
    first = prelude.replace(_THREADS_DEF, "int egopt_nthreads = 1;")
    rest = prelude.replace(_THREADS_DEF, "extern int egopt_nthreads;")
    rest = "\n".join(l for l in rest.split("\n") if not l.startswith("EGOPT_EXPORT void egopt_set_threads"))
    return [(first if i == 0 else rest) + "\n" + "\n".join(g) + "\n" for i, g in enumerate(groups)]


def _block_start(lines: list[str], i: int) -> int:
    """Where the kernel on line ``i`` begins: its head comment, above which the renderer may have
    put the kernel's static helper functions (between the comment and the kernel)."""
    for j in range(i - 1, -1, -1):
        if lines[j].startswith("/*"):
            return j
        if lines[j].startswith(_KERNEL):
            break
    return i


def compile_library(source: str) -> ctypes.CDLL:
    """The loaded library of ``source``; a cache entry that does not load is rebuilt once."""
    path = library_path(source)
    try:
        return ctypes.CDLL(path)
    except OSError:
        os.unlink(path)          # corrupt in a way the hash could not see: build it again
        return ctypes.CDLL(library_path(source))
