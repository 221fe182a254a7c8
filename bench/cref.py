"""Hand-written C yardsticks for W1, compiled at bench time with the system C compiler.

Three builds of the same one-loop formula, plus the triad ``o = a + b*c`` (the memory-bandwidth
floor: the same 3 reads and 1 write per element as the chain):

- ``c_O3``: ``-O3 -march=native``, plain loop (libm called per element: what most C code gets);
- ``c_simd``: ``-O3 -march=native -fno-math-errno`` with ``#pragma omp simd``, which lets GCC
  call glibc's vectorized libmvec exp/sin/log1p (IEEE semantics kept, within 4 ulp): the
  hand-written vectorized loop issue 9 compares egopt's kernels against. On an AVX-512 CPU it
  also gets ``-mprefer-vector-width=512`` (egopt's kernels do too), so the yardstick is the best
  loop a C programmer gets on the machine, not GCC's 256-bit default;
- ``c_fastmath``: ``-O3 -march=native -ffast-math`` (breaks NaN/inf semantics; a reference only).

Every build also takes a thread count (OpenMP ``parallel for``) for the all-core figures.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile

import numpy as np

_SOURCE = r"""
#include <math.h>
#ifdef DECLARE_SIMD   /* glibc declares its libmvec variants only under __FAST_MATH__ */
#define V __attribute__((__simd__("notinbranch")))
extern double exp(double) V; extern double sin(double) V; extern double log1p(double) V;
extern float expf(float) V; extern float sinf(float) V; extern float log1pf(float) V;
#endif
#ifndef SIMD
#define SIMD
#endif
#define CHAIN(NAME, T, EXP, SIN, LOG1P, ABS)                                              \
void NAME(long n, const T* restrict x, const T* restrict y, const T* restrict z,           \
          T* restrict o, int nt) {                                                      \
    _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")             \
    for (long b = 0; b < n; b += 4096) {                                                \
        long e = b + 4096 < n ? b + 4096 : n;                                           \
        SIMD                                                                            \
        for (long i = b; i < e; i++) {                                                  \
            T a = x[i], c = y[i], d = z[i];                                             \
            o[i] = EXP(-(a * a) / (T)2) * SIN(c) + LOG1P(ABS(a * c)) / ((T)1 + d * d);  \
        }                                                                               \
    }                                                                                   \
}
#define TRIAD(NAME, T)                                                                  \
void NAME(long n, const T* restrict a, const T* restrict b, const T* restrict c,        \
          T* restrict o, int nt) {                                                      \
    _Pragma("omp parallel for simd num_threads(nt) schedule(static) if(nt > 1)")        \
    for (long i = 0; i < n; i++) o[i] = a[i] + b[i] * c[i];                             \
}
CHAIN(chain_f64, double, exp, sin, log1p, fabs)
CHAIN(chain_f32, float, expf, sinf, log1pf, fabsf)
TRIAD(triad_f64, double)
TRIAD(triad_f32, float)
"""

def _wide() -> list[str]:
    from egopt.codegen.compile import WIDE_VECTORS, cpu_flags
    return WIDE_VECTORS if "avx512f" in cpu_flags() else []


VARIANTS = {
    "c_O3": ["-O3", "-march=native"],
    "c_simd": ["-O3", "-march=native", "-fno-math-errno", "-DDECLARE_SIMD", "-DSIMD=_Pragma(\"omp simd\")", *_wide()],
    "c_fastmath": ["-O3", "-march=native", "-ffast-math", "-DSIMD=_Pragma(\"omp simd\")", *_wide()],
}

SHORT = {"c_O3": "scalar libm", "c_simd": "libmvec SIMD, IEEE", "c_fastmath": "-ffast-math"}


def compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def build(variant: str) -> ctypes.CDLL:
    """Compile ``variant`` into a shared library and load it (RuntimeError with the compiler's
    message if that fails). The files are removed once loaded."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler (cc/gcc) on PATH")
    with tempfile.TemporaryDirectory(prefix="egopt-bench-c-") as workdir:
        return _build_in(cc, variant, workdir)


def _build_in(cc: str, variant: str, workdir: str) -> ctypes.CDLL:
    src, obj = os.path.join(workdir, "w1.c"), os.path.join(workdir, f"w1_{variant}.o")
    with open(src, "w") as f:
        f.write(_SOURCE)
    lib = os.path.join(workdir, f"w1_{variant}.so")
    # compile and link apart: linking with -ffast-math adds crtfastmath.o, whose constructor
    # sets flush-to-zero/denormals-are-zero for the whole process once the library is loaded
    for cmd in ([cc, "-c", "-fPIC", "-fopenmp", *VARIANTS[variant], src, "-o", obj],
                [cc, "-shared", "-fopenmp", obj, "-o", lib, "-lm"]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()[:300]}")
    return ctypes.CDLL(lib)


def flags(variant: str) -> str:
    return " ".join(VARIANTS[variant])


def kernel(lib: ctypes.CDLL, name: str, dtype, threads: int):
    """A callable ``f(a, b, c, out)`` over contiguous arrays of ``dtype``."""
    fn = getattr(lib, f"{name}_{'f64' if np.dtype(dtype) == np.float64 else 'f32'}")
    fn.restype = None
    fn.argtypes = [ctypes.c_long] + [ctypes.c_void_p] * 4 + [ctypes.c_int]

    def call(a: np.ndarray, b: np.ndarray, c: np.ndarray, out: np.ndarray) -> np.ndarray:
        fn(a.size, a.ctypes.data, b.ctypes.data, c.ctypes.data, out.ctypes.data, threads)
        return out
    return call
