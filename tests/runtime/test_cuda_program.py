"""``device="cuda"`` end to end: placement, kernels, CuPy ops and the host fallback, checked
against NumPy and the C linker.

Without a GPU (the usual case) ``cupy`` is tests/fake_cupy.py: CuPy's subset on NumPy, strict
about host/device mixing, whose ``RawModule`` compiles the rendered CUDA source with the CPU
emulator (tests/codegen/cuda_emulator.py), so the kernels that run are the ones a card would
run, on threads. ``EGOPT_TEST_REAL_CUPY=1`` (bench/gpu_check.py) runs the same tests with the
real CuPy on a card; the tests that count copies read the fake's counters and skip there.
"""
from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.lang.errors import OpRuntimeError
from egopt.runtime import cuda
from egopt.runtime.cuda_program import CUDAProgram, HostFallbackWarning
from tests import fake_cupy

REAL = os.environ.get("EGOPT_TEST_REAL_CUPY") == "1"
pytestmark = pytest.mark.skipif(not REAL and shutil.which("g++") is None,
                                reason="the fake cupy compiles kernels with g++ (C++20)")
fake_only = pytest.mark.skipif(REAL, reason="counts host/device copies with the fake cupy's counters")


@pytest.fixture
def cp(monkeypatch):
    """The cupy module (fake unless EGOPT_TEST_REAL_CUPY=1), with ``device="cuda"`` set."""
    if REAL:
        import cupy as mod
    else:
        mod = fake_cupy.install(monkeypatch)
    cuda._module.cache_clear()
    with egopt.config.change_flags(device="cuda"):
        yield mod
    cuda._module.cache_clear()


def test_fused_elementwise_with_broadcast_and_a_strided_device_input(cp):
    x, r = T.dmatrix("x"), T.row("r", dtype="float32")
    f = egopt.function([x, r], T.exp(-x ** 2 / 2) * T.sin(r) + T.log1p(abs(x * r)))
    assert isinstance(f.program, CUDAProgram) and f.program.kernel_count == 1
    rng = np.random.default_rng(0)
    xv, rv = rng.standard_normal((5, 14)), rng.standard_normal((1, 7)).astype("float32")
    want = np.exp(-xv[:, ::2] ** 2 / 2) * np.sin(rv) + np.log1p(abs(xv[:, ::2] * rv))
    xd = cp.asarray(xv)[:, ::2]                   # a strided view, read in place
    out = f(xd, rv)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, want, rtol=1e-6)
    with pytest.raises(OpRuntimeError, match="shapes do not broadcast"):
        f(xv, np.ones((1, 3), "float32"))


def test_reductions_and_their_errors(cp):
    x = T.dtensor3("x")
    outs = [x.sum(axis=0), T.max(x), (x * 2).mean(axis=(0, 2), keepdims=True), T.prod(x, axis=1),
            T.any(x > 1.4, axis=2), T.argmax(x, axis=1)]
    f = egopt.function([x], outs)
    assert ("argmax", "cupy") in f.program.placement()          # a NumPy perform dispatched to CuPy
    rng = np.random.default_rng(1)
    xv = rng.uniform(0.5, 1.5, (3, 37, 4))
    want = [xv.sum(axis=0), xv.max(), (xv * 2).mean(axis=(0, 2), keepdims=True), xv.prod(axis=1),
            (xv > 1.4).any(axis=2), xv.argmax(axis=1)]
    for got, w in zip(f(xv), want):
        assert got.shape == w.shape and got.dtype == w.dtype
        np.testing.assert_allclose(got, w, rtol=1e-12)
    empty = np.zeros((0, 2, 3))
    np.testing.assert_array_equal(egopt.function([x], x.sum(axis=0))(empty), np.zeros((2, 3)))
    with pytest.raises(OpRuntimeError, match="zero-size array to reduction operation max"):
        f(empty)


def _softmax_sgd(W0, b0):
    from bench.w23_training import softmax_regression
    ins, cost, upd, params = softmax_regression(T, egopt.shared, T.grad, T.nnet.softmax, "float64", W0, b0)
    return egopt.function(ins, cost, updates=upd), params


def test_softmax_regression_sgd_step_on_the_device_matches_the_c_linker(cp):
    rng = np.random.default_rng(2)
    W0, b0 = rng.normal(size=(8, 3)) * 0.1, rng.normal(size=3) * 0.1
    X, Y = rng.random((20, 8)), rng.integers(0, 3, 20)
    with egopt.config.change_flags(device="cpu"):
        f_cpu, p_cpu = _softmax_sgd(W0, b0)
        want = [f_cpu(X, Y) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", HostFallbackWarning)      # everything runs on the device
        f, params = _softmax_sgd(W0, b0)
    assert all(where != "host (fallback)" for _, where in f.program.placement())
    got = [f(X, Y) for _ in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    for p, q in zip(params, p_cpu):
        assert isinstance(p.container[0], cp.ndarray)            # updates stayed on the device
        v = p.get_value()
        assert type(v) is np.ndarray
        np.testing.assert_allclose(v, q.get_value(), rtol=1e-12, atol=1e-15)
        inner = p.get_value(return_internal_type=True)
        assert isinstance(inner, cp.ndarray) and inner is not p.container[0]
        assert p.get_value(borrow=True, return_internal_type=True) is p.container[0]


def test_shared_values_live_on_the_device_and_set_value_keeps_them_there(cp):
    w = egopt.shared(np.arange(4.0), name="w")
    assert isinstance(w.container[0], cp.ndarray)
    w.set_value(np.ones(4))
    assert isinstance(w.container[0], cp.ndarray)
    np.testing.assert_array_equal(w.get_value(), np.ones(4))
    d = cp.asarray(np.full(4, 2.0))
    w.set_value(d, borrow=True)
    assert w.container[0] is d
    with pytest.raises(TypeError, match="dtype float32"):
        w.set_value(cp.asarray(np.ones(4, "float32")))
    f = egopt.function([], [], updates=[(w, w * 3)])
    f()
    np.testing.assert_array_equal(w.get_value(), np.full(4, 6.0))


@fake_only
def test_numpy_inputs_are_copied_once_per_call_and_cupy_inputs_used_in_place(cp):
    x = T.dvector("x")
    f = egopt.function([x], T.exp(x) + x)
    xv = np.linspace(0, 1, 50)
    before = dict(fake_cupy.stats)
    f(xv)
    assert fake_cupy.stats["to_device"] - before["to_device"] == 1      # the input, once
    assert fake_cupy.stats["to_host"] - before["to_host"] == 1         # the output, once
    scaled = egopt.function([x], x * T.cast(x.shape[0], "float64"))    # a host scalar feeds the kernel
    before = dict(fake_cupy.stats)
    np.testing.assert_allclose(scaled(xv), xv * 50)
    assert fake_cupy.stats["to_device"] - before["to_device"] == 2      # the input and the scalar
    before = dict(fake_cupy.stats)
    np.testing.assert_allclose(scaled(xv), xv * 50)
    assert fake_cupy.stats["to_device"] - before["to_device"] == 1      # the scalar's copy is reused
    np.testing.assert_allclose(scaled(xv[:7]), xv[:7] * 7)             # another value: copied
    xd = cp.asarray(xv)
    before = dict(fake_cupy.stats)
    out = f(xd)
    assert fake_cupy.stats["to_device"] == before["to_device"]         # used in place
    np.testing.assert_allclose(out, np.exp(xv) + xv)
    keep = egopt.function([x], [T.exp(x) + x, x], mode=egopt.Mode(linker="cuda", options={"device_outputs": True}))
    before = dict(fake_cupy.stats)
    a, same = keep(xd)
    assert isinstance(a, cp.ndarray) and fake_cupy.stats["to_host"] == before["to_host"]
    assert same is not xd                        # an output never aliases an input
    np.testing.assert_array_equal(same.get(), xv)
    s = T.dscalar("s")
    ident = egopt.function([x, s], [x, s * 1, s])        # host (0-d) and device values handed back
    out = ident(xv, np.float64(2.0))
    assert not any(np.shares_memory(o, xv) for o in out) and not np.shares_memory(out[1], out[2])


def test_an_op_without_a_cuda_implementation_runs_on_the_host_with_one_warning(cp):
    x = T.dmatrix("x")
    y = T.repeat(x * 2, 2, axis=0) + 1                   # repeat: no kernel, not in DEVICE_OPS
    with pytest.warns(HostFallbackWarning) as record:
        f = egopt.function([x], y)
        egopt.function([x], y)                           # the same op and line: no second warning
    found = [w for w in record if issubclass(w.category, HostFallbackWarning)]
    assert len(found) == 1 and "repeat" in str(found[0].message) and "test_cuda_program.py" in str(found[0].message)
    assert found[0].filename == __file__                 # reported at the user's call
    assert ("repeat", "host (fallback)") in f.program.placement()
    xv = np.random.default_rng(3).random((4, 6))
    np.testing.assert_array_equal(f(xv), np.repeat(xv * 2, 2, axis=0) + 1)


@pytest.mark.parametrize("border_mode,subsample,flip", [("half", (2, 1), True), ("valid", (1, 1), False),
                                                       ("full", (1, 2), True), ((2, 0), (3, 2), False)])
def test_conv2d_and_its_gradients_on_the_device_match_the_c_linker(cp, border_mode, subsample, flip):
    rng = np.random.default_rng(4)
    xv, wv = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    results = {}
    for device in ("cpu", "cuda"):
        with egopt.config.change_flags(device=device):
            x, w = T.dtensor4("x"), T.dtensor4("w")
            y = T.nnet.conv2d(x, w, border_mode=border_mode, subsample=subsample, filter_flip=flip)
            cost = (y * T.tanh(y)).sum()
            with warnings.catch_warnings():
                warnings.simplefilter("error", HostFallbackWarning)
                f = egopt.function([x, w], [y] + T.grad(cost, [x, w]))
            results[device] = f(xv, wv)
    assert ("conv2d", "cupy") in f.program.placement()
    for a, b in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_cpu_function_refuses_shared_values_held_on_the_device(cp):
    w = egopt.shared(np.ones(3), name="w")
    with egopt.config.change_flags(device="cpu"):
        with pytest.raises(TypeError, match="w.*hold CuPy arrays.*device='cuda'"):
            egopt.function([], w * 2)
        w.set_value(np.full(3, 2.0))          # set_value keeps it on the device
        with pytest.raises(TypeError, match="hold CuPy arrays"):
            egopt.function([], w * 2)
    np.testing.assert_array_equal(egopt.function([], w * 2)(), np.full(3, 4.0))


@pytest.mark.skipif(REAL, reason="reads the sources the fake RawModule was given")
def test_the_modules_the_runtime_builds_compile_with_nvcc(cp, tmp_path):
    """What the fake compiles on the CPU is also what nvcc (NVRTC's front end) must accept."""
    from tests.codegen.test_cuda_render import NVCC
    import subprocess
    if NVCC is None:
        pytest.skip("nvcc not found: the runtime's CUDA modules are not compile-checked")
    x = T.fmatrix("x")
    egopt.function([x], [T.nnet.softmax(T.tanh(x) * 2), (x ** 2).sum(axis=0), T.max(x)])
    src = tmp_path / "m.cu"
    (module,) = fake_cupy.sources                     # one module per function
    src.write_text(module)
    proc = subprocess.run([NVCC, "-arch=sm_90", "--ptx", "-std=c++17", "-Werror", "all-warnings", "-diag-suppress",
                           "177,550", "-o", str(tmp_path / "m.ptx"), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
