"""Runs rendered CUDA kernels on the CPU: the source is compiled as C++ with a shim in which
each block's threads are real threads (``__syncthreads`` is a barrier, ``__shared__`` a static),
blocks run one after another. It checks the renderer's indexing, grid-stride loops and
reduction tree against NumPy without a card; it says nothing about nvcc's code or speed."""
from __future__ import annotations

import ctypes
import hashlib
import re
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


SIGNATURE = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')


def signatures(src: str) -> list[tuple[str, int, int]]:
    """(kernel name, buffer count, integer-argument count) of each kernel in rendered source."""
    found = []
    for name, params in SIGNATURE.findall(src):
        ps = [p.strip() for p in params.split(",") if p.strip()]
        found.append((name, sum(p.startswith("char") for p in ps), sum(p.startswith("long long") for p in ps)))
    return found


def build_source(src: str, cxx: str = "g++"):
    """A ctypes library with ``run_<kernel name>`` for each kernel of rendered CUDA ``src``
    (what a fake ``cupy.RawModule`` compiles: tests/fake_cupy.py)."""
    src = SHIM + src.replace("#include <cuda_fp16.h>", "")
    src += "".join(_launcher(name, nb, nargs) for name, nb, nargs in signatures(src))
    d = Path(tempfile.mkdtemp(prefix="egopt-cuda-emu-"))
    so = d / f"k{hashlib.sha256(src.encode()).hexdigest()[:12]}.so"
    (d / "k.cpp").write_text(src)
    subprocess.run([cxx, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-o", str(so),
                    str(d / "k.cpp")], check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(so))


def build(kernels, cxx: str = "g++"):
    """A ctypes library with ``run_<kernel name>`` for each kernel."""
    return build_source(CUDARenderer().render(kernels), cxx)


def launch(lib, name: str, grid: int, block: int, pointers, ints) -> None:
    """Run kernel ``name`` of ``lib`` on ``grid`` blocks of ``block`` threads."""
    ptrs = (ctypes.c_char_p * max(1, len(pointers)))(*[ctypes.cast(p, ctypes.c_char_p) for p in pointers])
    vals = (ctypes.c_longlong * max(1, len(ints)))(*[int(v) for v in ints])
    getattr(lib, "run_" + name)(ctypes.c_uint(grid), ctypes.c_uint(block), ptrs, vals)


def run(lib, kernel, shape, arrays, grid: int, block: int) -> None:
    """``arrays``: one per buffer, already broadcast (views) to ``shape``."""
    ints = [int(s) for s in shape] + [int(s) for a in arrays for s in a.strides]
    launch(lib, CUDARenderer().kernel_name(kernel), grid, block, [a.ctypes.data for a in arrays], ints)
