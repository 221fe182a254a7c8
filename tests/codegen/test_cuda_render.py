"""The CUDA renderer without a GPU: every kernel the op-table cases' graphs lower to (plus a
sweep of reductions, broadcasts and float16 kernels) is rendered to CUDA and compiled with
``nvcc --ptx`` for sm_90, in one translation unit, to catch syntax and type errors.

Nothing here runs a kernel: that needs a card (docs/gpu.md says what is unverified)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import egopt.tensor as T
from egopt.codegen.kernel_ir import Buffer, Call, Cast, Const, Kernel, Load, Reduce
from egopt.codegen.render_cuda import BLOCK, CUDARenderer, launch_dims
from egopt.lang.graph import toposort
from egopt.runtime.schedule import CProgram, _consumers, plan_regions
from tests.cases import all_cases, symbolic_like

NVCC = os.environ.get("EGOPT_NVCC") or shutil.which("nvcc") or (
    "/usr/local/bin/nvcc" if os.path.exists("/usr/local/bin/nvcc") else None)
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found: the CUDA kernels are not compile-checked")


def kernels_of(inputs, outputs) -> list[Kernel]:
    """The kernels the C linker's planner would build for this graph (none compiled)."""
    nodes = toposort(list(outputs), stop=list(inputs))
    needed = _consumers(nodes, outputs)
    found = []
    for unit in plan_regions(nodes):
        low = CProgram._lower(None, unit, needed)
        if low is not None and low.kernel.normalize is None:    # softmax kernels: C only so far
            found.append(low.kernel)
    return found


def _collect_case(case, found: dict[str, Kernel]) -> None:
    """The kernels of one op-table case's graph over two drawn examples. One Hypothesis run a
    case: the draws of all cases in one example overflow Hypothesis's buffer, and every example
    then counts as invalid (the run never ends)."""
    @settings(max_examples=2, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data):
        values = [np.asarray(v) for v in case.gen(data.draw)]
        syms = (case.symbolic(values) if case.symbolic
                else [symbolic_like(v, f"in{i}") for i, v in enumerate(values)])
        out = case.build(*syms)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for k in kernels_of(syms, outs):
            found[k.key] = k
    collect()


def case_kernels() -> dict[str, Kernel]:
    """Kernels of every op-table case's graph over a few drawn examples, by key."""
    found: dict[str, Kernel] = {}
    for case in all_cases():
        _collect_case(case, found)
    return found


REDUCE_DTYPES = ("float64", "float32", "int64", "int32", "int8", "uint8", "uint64", "bool")


def sweep_kernels() -> dict[str, Kernel]:
    """Reductions of every kind over every dtype and some axes, broadcasting and casts."""
    found: dict[str, Kernel] = {}
    for dt in REDUCE_DTYPES:
        x = T.tensor(dtype=dt, shape=(None, None, None), name="x")
        outs = [fn(x, axis=ax) for fn in (T.sum, T.prod, T.max, T.min, T.all, T.any)
                for ax in (None, 1, (0, 2))]
        if dt.startswith("float"):
            outs += [T.mean(x, axis=ax) for ax in (None, (1,))]
        for k in kernels_of([x], outs):
            found[k.key] = k
    a = T.tensor(dtype="float32", shape=(None, 1), name="a")
    b = T.tensor(dtype="int16", shape=(None,), name="b")
    c = T.tensor(dtype="float64", shape=(), name="c")
    for k in kernels_of([a, b, c], [T.exp(a) * b + c, T.cast(a, "int8") // b, (a > b) | (c < 0)]):
        found[k.key] = k
    return found


def half_kernels() -> list[Kernel]:
    """float16 storage (the lowering does not emit these yet: built by hand)."""
    x = Buffer(0, "float16", (False, False))
    y = Buffer(1, "float16", (True, False))
    e = Call("exp", (Load(x),), "float16")
    e = Call("mul", (e, Load(y)), "float16")
    e = Call("add", (e, Const(0.5, "float16")), "float16")
    ew = Kernel(2, (x, y), ((Buffer(2, "float16", (False, False)), e),), label="half ew")
    red = Kernel(2, (x,), ((Buffer(1, "float16", (False, True)),
                            Cast(Load(x), "float32")),),
                 Reduce("sum", (1,), "float32"), label="half sum")
    return [ew, red]


@pytest.fixture(scope="module")
def all_kernels() -> list[Kernel]:
    found = {**case_kernels(), **sweep_kernels()}
    return list(found.values()) + half_kernels()


def test_the_suite_yields_elementwise_fused_and_reduction_kernels(all_kernels):
    labels = [k.label for k in all_kernels]
    assert sum(k.reduce is None for k in all_kernels) > 50
    assert sum(k.reduce is not None for k in all_kernels) > 50
    assert any(l.startswith("fused(") for l in labels) and any("(fused" in l for l in labels)
    dts = {b.dtype for k in all_kernels for b in k.inputs}
    assert {"float64", "float32", "int64", "int8", "uint64", "bool", "float16"} <= dts


def test_cuda_source_shape(all_kernels):
    """What the renderer promises: __global__ kernels, grid-stride loops, a shared-memory tree
    for reductions, __half storage for float16; no C-only constructs (_Generic, OpenMP)."""
    r = CUDARenderer()
    src = r.render(all_kernels)
    names = re.findall(r'extern "C" __global__ void (egopt_k_[0-9a-f]{16})\(', src)
    assert len(names) == len({k.key for k in all_kernels})
    assert "_Generic" not in src and "#pragma omp" not in src and "tgmath" not in src
    red = r.render_reduce(next(k for k in all_kernels if k.reduce and k.reduce.kind == "max"))
    assert "__shared__" in red and "__syncthreads()" in red and "blockIdx.x; o < nout; o += gridDim.x" in red
    half = r.render(half_kernels())
    assert "__half2float(" in half and "__float2half(" in half and "__half *" in half
    assert half.startswith("#include <cuda_fp16.h>")
    assert "cuda_fp16.h" not in r.render([k for k in all_kernels if k not in half_kernels()])


def test_launch_dims():
    k = Kernel(2, (Buffer(0, "float32", (False, False)),),
               ((Buffer(1, "float32", (False, True)), Load(Buffer(0, "float32", (False, False)))),),
               Reduce("sum", (1,), "float64"))
    assert launch_dims(k, (7, 1000)) == (7, BLOCK)          # one block per output element
    assert launch_dims(k, (0, 5)) == (1, BLOCK)
    ew = Kernel(1, (Buffer(0, "float32", (False,)),), ((Buffer(1, "float32", (False,)), Load(Buffer(0, "float32", (False,)))),))
    assert launch_dims(ew, (10 ** 6,)) == (-(-10 ** 6 // BLOCK), BLOCK)
    assert launch_dims(ew, (10 ** 12,))[0] == 65535 * 32      # grid-stride covers the rest


@needs_nvcc
@pytest.mark.parametrize("round_half", [True, False])
def test_every_kernel_compiles_with_nvcc(all_kernels, tmp_path, round_half):
    """One translation unit with every kernel; nvcc --ptx for sm_90 must accept it with every
    warning an error (bar unused variables: an op like ``second`` ignores an input). round_half=False (float32 intermediates) only changes the float16 kernels."""
    kernels = all_kernels if round_half else half_kernels()
    src = tmp_path / "kernels.cu"
    src.write_text(CUDARenderer(round_half=round_half).render(kernels))
    proc = subprocess.run([NVCC, "-arch=sm_90", "--ptx", "-Werror", "all-warnings", "-diag-suppress", "177,550", "-o", str(tmp_path / "k.ptx"), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ptx = (tmp_path / "k.ptx").read_text()
    for k in kernels:
        assert f".entry {CUDARenderer().kernel_name(k)}(" in ptx
