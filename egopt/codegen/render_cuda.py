"""Kernel IR -> CUDA C++ source (STYLE P8: a ``CRenderer`` subclass; only what differs).

Every kernel is ``extern "C" __global__ void egopt_k_<key>(char *b0, .., char *bN, long long
sh0, .., long long st0, ..)``: one device pointer per buffer (inputs, then outputs), then the
``ndim`` sizes of the index space, then ``ndim`` byte strides per buffer, all by value (nothing
to upload per launch). Inside, they become the C renderer's ``shape``/``st``/``data`` arrays,
so scalar expressions, templates and the contiguity test are shared with C.

Elementwise kernels run a grid-stride loop over the flattened index space (a flat path when
every buffer is C-contiguous, else the flat index is decomposed into per-buffer offsets).
Reductions give each output element to one block (grid-stride over outputs): the block's
threads stride over the reduced elements, then fold their partials by a shared-memory tree;
thread 0 writes. ``blockDim.x`` must be a power of two <= ``BLOCK`` (``launch_dims`` says what
to launch). A max/min over no element writes nothing: the host raises before launching.

float16 buffers are stored as ``__half`` and computed in float32; each op's result is rounded
to float16 as NumPy's float16 loops do, unless ``round_half=False`` (float32 intermediates:
faster and more accurate, but not bit-equal to NumPy).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..lang import dtypes
from .kernel_ir import Buffer, Call, Cast, Kernel
from .render_c import HELPERS, CRenderer

BLOCK = 256            # threads per block; the reduction tree's shared array has this size
MAX_GRID = 65535 * 32  # blocks launched at most (grid-stride loops cover the rest)

# only where a kernel stores float16: NVRTC then needs the CUDA headers, which a bare CuPy
# install may lack, so modules without float16 do not depend on them
HALF_HEADER = "#include <cuda_fp16.h>\n"

PRELUDE = r"""
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
#define EGOPT_BLOCK %(block)d

#define EGOPT_FN __device__ __forceinline__
%(helpers)s
/* float helpers: C++ overloads (the C prelude dispatches on a name suffix instead) */
EGOPT_FLOAT_HELPERS(double, )
EGOPT_FLOAT_HELPERS(float, )
#define EGOPT_INT_HELPERS(T, W, S) \
__device__ __forceinline__ T egopt_floordiv(T a, T b) { return (T)egopt_floordiv##S((W)a, (W)b); } \
__device__ __forceinline__ T egopt_mod(T a, T b) { return (T)egopt_mod##S((W)a, (W)b); } \
__device__ __forceinline__ T egopt_ipow(T a, T b) { return (T)egopt_ipow##S((W)a, (W)b); }
EGOPT_INT_HELPERS(signed char, long long, _i)
EGOPT_INT_HELPERS(short, long long, _i)
EGOPT_INT_HELPERS(int, long long, _i)
EGOPT_INT_HELPERS(long long, long long, _i)
EGOPT_INT_HELPERS(unsigned char, unsigned long long, _u)
EGOPT_INT_HELPERS(unsigned short, unsigned long long, _u)
EGOPT_INT_HELPERS(unsigned int, unsigned long long, _u)
EGOPT_INT_HELPERS(unsigned long long, unsigned long long, _u)

__device__ __forceinline__ int egopt_contig(const long long *shape, const long long *st, int d, long long size) {
    for (int a = d - 1; a >= 0; a--) {
        if (shape[a] != 1 && st[a] != size) return 0;
        size *= shape[a];
    }
    return 1;
}
"""


def launch_dims(kernel: Kernel, shape: Sequence[int]) -> tuple[int, int]:
    """(blocks, threads per block) for ``kernel`` over an index space of ``shape``."""
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    if kernel.reduce is None:
        return max(1, min(-(-n // BLOCK), MAX_GRID)), BLOCK
    nred = int(np.prod([shape[a] for a in kernel.reduce.axes], dtype=np.int64))
    nout = n // nred if nred else int(np.prod([s for a, s in enumerate(shape)
                                               if a not in kernel.reduce.axes], dtype=np.int64))
    return max(1, min(nout, MAX_GRID)), BLOCK


class CUDARenderer(CRenderer):
    """Renders kernels to CUDA C++ (compiled with nvcc, or NVRTC through CuPy)."""
    kernel_prefix = 'extern "C" __global__ void'
    template_field = "cuda"

    def __init__(self, round_half: bool = True):
        self.round_half = round_half

    # ---- types: float16 is stored as __half and computed in float ------------------------------
    def ctype(self, dtype: str) -> str:
        return "float" if dtype == "float16" else super().ctype(dtype)

    def storage(self, dtype: str) -> str:
        return "__half" if dtype == "float16" else self.ctype(dtype)

    def load(self, dtype: str, ref: str) -> str:
        return f"__half2float({ref})" if dtype == "float16" else ref

    def store(self, dtype: str, value: str) -> str:
        return f"__float2half({value})" if dtype == "float16" else value

    def _half(self, dtype: str, text: str) -> str:
        if dtype == "float16" and self.round_half:
            return f"__half2float(__float2half({text}))"
        return text

    def call(self, call: Call, args: Sequence[str]) -> str:
        return self._half(call.dtype, super().call(call, args))

    def cast(self, e: Cast, arg: str) -> str:
        return self._half(e.dtype, super().cast(e, arg))

    # ---- kernels -----------------------------------------------------------------------------
    def render(self, kernels: Sequence[Kernel]) -> str:
        bodies = []
        seen = set()
        for k in kernels:
            if k.normalize is not None:
                raise NotImplementedError(f"CUDA kernels for {k.normalize.kind} are not rendered yet")
            if k.key not in seen:
                seen.add(k.key)
                bodies.append(self.render_reduce(k) if k.reduce else self.render_elemwise(k))
        head = PRELUDE % {"block": BLOCK, "helpers": HELPERS}
        if any("__half" in b for b in bodies):
            head = HALF_HEADER + head
        return "\n".join([head] + bodies)

    def _head(self, k: Kernel) -> list[str]:
        d, nb = k.ndim, k.nbuffers
        params = [f"char *b{i}" for i in range(nb)] + [f"long long sh{a}" for a in range(d)]
        params += [f"long long st{i}" for i in range(nb * d)]
        lines = [f"/* {k.label} */", f"{self.kernel_prefix} {self.kernel_name(k)}({', '.join(params)}) {{"]
        lines.append(f"    char *const data[{nb}] = {{{', '.join(f'b{i}' for i in range(nb))}}};")
        if d:
            lines.append(f"    const long long shape[{d}] = {{{', '.join(f'sh{a}' for a in range(d))}}};")
            lines.append(f"    const long long st[{nb * d}] = {{{', '.join(f'st{i}' for i in range(nb * d))}}};")
        lines.append("    long long n = 1;" + "".join(f" n *= shape[{a}];" for a in range(d)))
        return lines

    def _invariants(self, k: Kernel, lines: list[str]) -> dict[int, str]:
        names = {}
        for b in k.inputs:
            if b.invariant:
                names[b.index] = f"v{b.index}"
                ref = f"*(const {self.storage(b.dtype)} *)data[{b.index}]"
                lines.append(f"    const {self.ctype(b.dtype)} v{b.index} = {self.load(b.dtype, ref)}; (void)v{b.index};")
        return names

    def _offsets(self, axes: Sequence[int], index: str, bufs: Sequence[Buffer], d: int,
                 into: str, indent: str) -> list[str]:
        """Decompose ``index`` over ``axes`` (last fastest), adding byte offsets to ``into<b>``."""
        lines = [f"{indent}long long rem_{into} = {index};"]
        for a in reversed(axes):
            adds = " ".join(f"{into}{b.index} += ix * st[{b.index * d + a}];" for b in bufs)
            lines.append(f"{indent}{{ const long long ix = rem_{into} % shape[{a}]; "
                         f"rem_{into} /= shape[{a}]; {adds} }}")
        return lines

    def render_elemwise(self, k: Kernel) -> str:
        d = k.ndim
        lines = self._head(k)
        lines.append("    const long long start = (long long)blockIdx.x * blockDim.x + threadIdx.x;")
        lines.append("    const long long step = (long long)gridDim.x * blockDim.x;")
        inv = self._invariants(k, lines)
        varying = [b for b in k.inputs if not b.invariant]
        outs = [b for b, _ in k.outputs]
        roots = [e for _, e in k.outputs]

        def loop(loads: dict[int, str], store_ref) -> list[str]:
            body, names = self.exprs(roots, loads, "t")
            body += [f"{store_ref(b)} = {self.store(b.dtype, names[e])};" for b, e in k.outputs]
            return ["    for (long long i = start; i < n; i += step) {"] + \
                   ["        " + s for s in body] + ["    }"]

        flat = {**inv, **{b.index: self.load(b.dtype, f"p{b.index}[i]") for b in varying}}
        if d == 0 or all(not any(b.broadcast) for b in varying):
            if d:
                lines.append(f"    if ({self._contig_check(k, varying + outs)}) {{")
            for b in varying + outs:
                c = "const " if b in varying else ""
                lines.append(f"    {c}{self.storage(b.dtype)} *p{b.index} = ({c}{self.storage(b.dtype)} *)data[{b.index}];"
                             f" (void)p{b.index};")
            lines += loop(flat, lambda b: f"p{b.index}[i]")
            if d:
                lines += ["    return;", "    }"]
        if d:
            bufs = varying + outs
            strided = {**inv, **{b.index: self.load(b.dtype, f"*(const {self.storage(b.dtype)} *)((const char *)data[{b.index}] + o{b.index})")
                                 for b in varying}}
            body = loop(strided, lambda b: f"*({self.storage(b.dtype)} *)(data[{b.index}] + o{b.index})")
            decompose = ["        " + "".join(f"long long o{b.index} = 0; " for b in bufs)]
            decompose += self._offsets(range(d), "i", bufs, d, "o", "        ")
            lines += body[:1] + decompose + body[1:]
        lines.append("}")
        return "\n".join(lines)

    def render_reduce(self, k: Kernel) -> str:
        d = k.ndim
        red = k.reduce
        (obuf, root), = k.outputs
        axes = list(red.axes)
        kept = [a for a in range(d) if a not in axes]
        acc_t = self.ctype(red.acc)
        lines = self._head(k)
        lines.append("    long long nred = 1;" + "".join(f" nred *= shape[{a}];" for a in axes))
        lines.append("    const long long nout = nred ? n / nred : 1" + "".join(f" * shape[{a}]" for a in kept) + ";")
        if red.kind in ("max", "min"):
            lines.append("    if (nred == 0) return;      /* the host raises: max/min of no element */")
        inv = self._invariants(k, lines)
        varying = [b for b in k.inputs if not b.invariant]
        lines.append(f"    __shared__ {acc_t} part[EGOPT_BLOCK];")
        lines.append("    for (long long o = blockIdx.x; o < nout; o += gridDim.x) {")
        lines.append("        " + "".join(f"long long o{b.index} = 0; " for b in varying + [obuf]))
        if kept:
            lines += self._offsets(kept, "o", varying + [obuf], d, "o", "        ")
        lines.append(f"        {acc_t} acc = {self._init(red.kind, red.acc)};")
        lines.append("        for (long long j = threadIdx.x; j < nred; j += blockDim.x) {")
        lines.append("            " + "".join(f"long long q{b.index} = o{b.index}; " for b in varying))
        if axes and varying:
            lines += self._offsets(axes, "j", varying, d, "q", "            ")
        loads = {**inv, **{b.index: self.load(b.dtype, f"*(const {self.storage(b.dtype)} *)((const char *)data[{b.index}] + q{b.index})")
                           for b in varying}}
        body, names = self.exprs([root], loads, "t")
        lines += ["            " + s for s in body]
        lines.append(f"            acc = ({acc_t})({self._combine(red.kind, 'acc', names[root])});")
        lines.append("        }")
        lines.append("        part[threadIdx.x] = acc;")
        lines.append("        __syncthreads();")
        lines.append("        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {")
        lines.append("            if (threadIdx.x < s) {")
        lines.append(f"                const {acc_t} a = part[threadIdx.x], b = part[threadIdx.x + s];")
        lines.append(f"                part[threadIdx.x] = ({acc_t})({self._combine(red.kind, 'a', 'b')});")
        lines.append("            }")
        lines.append("            __syncthreads();")
        lines.append("        }")
        final = "part[0]"
        if red.kind == "mean":
            final = f"part[0] / ({'float' if red.acc == 'float32' else 'double'})nred"
        out_ref = f"*({self.storage(obuf.dtype)} *)(data[{obuf.index}] + o{obuf.index})"
        value = self.store(obuf.dtype, f"({self.ctype(obuf.dtype)})({final})")
        lines.append(f"        if (threadIdx.x == 0) {out_ref} = {value};")
        lines.append("        __syncthreads();      /* part[] is reused by the next output */")
        lines.append("    }")
        lines.append("}")
        return "\n".join(lines)
