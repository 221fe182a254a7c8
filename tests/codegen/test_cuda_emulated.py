"""The rendered CUDA kernels' logic (indexing, broadcasting, strided views, grid-stride loops,
the block reduction tree, float16 storage) run on the CPU by tests/codegen/cuda_emulator.py,
against NumPy. Not a GPU run: docs/gpu.md lists what only a card can verify."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import egopt.tensor as T
from egopt.lang.fused import fuse_elemwise
from egopt.codegen.kernel_ir import Buffer, Cast, Kernel, Load, Reduce
from tests.codegen import cuda_emulator as emu
from tests.codegen.test_cuda_render import kernels_of

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++ (C++20) to emulate")


def _bcast(arrays, shape):
    return [np.broadcast_to(a, shape) for a in arrays]


@pytest.mark.parametrize("grid,block", [(1, 1), (3, 8), (64, 32)])
def test_elementwise_and_fused_kernels_match_numpy(grid, block):
    x = T.tensor(dtype="float32", shape=(None, 1, None), name="x")
    y = T.tensor(dtype="int16", shape=(None, None), name="y")
    out = fuse_elemwise([x, y], [T.exp(x) * y + T.sigmoid(x - 1) // 0.25])[0]
    (k,) = kernels_of([x, y], [out])
    assert k.label.startswith("fused(")
    lib = emu.build([k])
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((3, 1, 5)).astype("float32")[:, :, ::-1]          # a strided view
    yv = rng.integers(-4, 5, (4, 5)).astype("int16")
    shape = (3, 4, 5)
    res = np.empty(shape, out.dtype)
    emu.run(lib, k, shape, _bcast([xv, yv], shape) + [res], grid, block)
    want = np.exp(xv) * yv + (1 / (1 + np.exp(-(xv - 1)))) // np.float32(0.25)
    np.testing.assert_allclose(res, want, rtol=2e-6)


KINDS = ["sum", "prod", "max", "min", "mean", "all", "any"]
AXES = [None, 1, (0, 2)]


def _dtype(kind):
    return "int32" if kind in ("all", "any") else "float64"


@pytest.fixture(scope="module")
def reductions():
    """(kind, axis) -> kernel, and one library holding them all (g++ is slow)."""
    found = {}
    for kind in KINDS:
        for axis in AXES:
            x = T.tensor(dtype=_dtype(kind), shape=(None, None, None), name="x")
            (found[kind, axis],) = kernels_of([x], [getattr(T, kind)(x, axis=axis)])
    return found, emu.build(list(found.values()))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("axis", AXES)
def test_reductions_match_numpy(reductions, kind, axis):
    kernels, lib = reductions
    k = kernels[kind, axis]
    dt = _dtype(kind)
    rng = np.random.default_rng(1)
    xv = (rng.uniform(0.5, 1.5, (4, 37, 3)) if dt == "float64" else rng.integers(0, 3, (4, 37, 3))).astype(dt)
    if kind in ("max", "min"):
        xv[1, 2, 0] = np.nan                   # NaN propagates, as np.max
    axes = (0, 1, 2) if axis is None else (axis,) if isinstance(axis, int) else axis
    want = getattr(np, kind)(xv, axis=axes, keepdims=True)
    res = np.zeros(want.shape, want.dtype)
    for grid, block in [(1, 16), (5, 4), (2, 1)]:
        res[...] = 0
        emu.run(lib, k, xv.shape, [xv, np.broadcast_to(res, xv.shape)], grid, block)
        np.testing.assert_allclose(res, want, rtol=1e-12, equal_nan=True, err_msg=f"{grid}x{block}")


def test_float16_storage_with_float32_math():
    x = Buffer(0, "float16", (False,))
    k = Kernel(1, (x,), ((Buffer(1, "float16", (True,)), Cast(Load(x), "float32")),),
               Reduce("sum", (0,), "float32"), label="half sum")
    lib = emu.build([k])
    xv = np.full(3000, 0.1, np.float16)
    res = np.zeros(1, np.float16)
    emu.run(lib, k, xv.shape, [xv, np.broadcast_to(res, xv.shape)], 1, 32)
    # float32 accumulation: NumPy's float16 running sum would stall far below 300
    assert res[0] == np.float16(xv.astype(np.float32).sum())
