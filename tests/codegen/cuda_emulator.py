"""Runs rendered CUDA kernels on the CPU: the source is compiled as C++ with a shim in which
each block's threads are real threads (``__syncthreads`` is a barrier, ``__shared__`` a static),
blocks run one after another. It checks the renderer's indexing, grid-stride loops and
reduction tree against NumPy without a card; it says nothing about nvcc's code or speed."""
from __future__ import annotations

import ctypes
import hashlib
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from egopt.codegen.render_cuda import CUDARenderer

SHIM = r"""
#include <math.h>
#include <barrier>
#include <thread>
#include <vector>
struct egopt_dim { unsigned x; };
static thread_local egopt_dim threadIdx, blockIdx;
static egopt_dim blockDim, gridDim;
static std::barrier<> *egopt_bar;
struct __half { _Float16 v; };
static inline float __half2float(__half h) { return (float)h.v; }
static inline __half __float2half(float f) { __half h; h.v = (_Float16)f; return h; }
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() egopt_bar->arrive_and_wait()
"""


def _launcher(name: str, nb: int, nargs: int) -> str:
    ptrs = ", ".join(f"p[{i}]" for i in range(nb))
    ints = "".join(f", v[{i}]" for i in range(nargs))
    return f"""
extern "C" void run_{name}(unsigned grid, unsigned block, char **p, long long *v) {{
    gridDim.x = grid; blockDim.x = block;
    std::barrier<> bar(block); egopt_bar = &bar;
    for (unsigned b = 0; b < grid; b++) {{
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; t++)
            ts.emplace_back([=] {{ blockIdx.x = b; threadIdx.x = t; {name}({ptrs}{ints}); }});
        for (auto &th : ts) th.join();
    }}
}}"""


def build(kernels, cxx: str = "g++"):
    """A ctypes library with ``run_<kernel name>`` for each kernel."""
    r = CUDARenderer()
    src = r.render(kernels).replace("#include <cuda_fp16.h>", SHIM)
    src += "".join(_launcher(r.kernel_name(k), k.nbuffers, k.ndim * (1 + k.nbuffers)) for k in kernels)
    d = Path(tempfile.mkdtemp(prefix="egopt-cuda-emu-"))
    so = d / f"k{hashlib.sha256(src.encode()).hexdigest()[:12]}.so"
    (d / "k.cpp").write_text(src)
    subprocess.run([cxx, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-o", str(so),
                    str(d / "k.cpp")], check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(so))


def run(lib, kernel, shape, arrays, grid: int, block: int) -> None:
    """``arrays``: one per buffer, already broadcast (views) to ``shape``."""
    name = "run_" + CUDARenderer().kernel_name(kernel)
    ptrs = (ctypes.c_char_p * len(arrays))(*[ctypes.cast(a.ctypes.data, ctypes.c_char_p) for a in arrays])
    ints = [int(s) for s in shape] + [int(s) for a in arrays for s in a.strides]
    vals = (ctypes.c_longlong * max(1, len(ints)))(*ints)
    getattr(lib, name)(ctypes.c_uint(grid), ctypes.c_uint(block), ptrs, vals)
