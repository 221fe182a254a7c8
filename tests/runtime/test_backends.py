"""A device without a backend is a clear error naming what is missing, not a silent CPU run."""
import sys
import types

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.runtime import cuda
from egopt.runtime.backends import BackendUnavailableError


def _fake_cupy(monkeypatch, count=None, error=None):
    """A stand-in ``cupy`` whose runtime reports ``count`` devices or raises ``error``."""
    def get_count():
        if error is not None:
            raise error
        return count
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_count))
    monkeypatch.setitem(sys.modules, "cupy", fake)


def _compile_error(device="cuda", **mode) -> str:
    x = T.dvector("x")
    with egopt.config.change_flags(device=device):
        with pytest.raises(BackendUnavailableError) as info:
            egopt.function([x], x + 1, mode=egopt.Mode(**mode) if mode else None)
    return str(info.value)


def test_cuda_without_cupy_says_cupy_is_missing_and_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)          # import cupy -> ImportError
    msg = _compile_error()
    assert "device='cuda'" in msg and "cupy is not installed" in msg
    assert "egopt[cuda]" in msg and "cupy-cuda13x" in msg and "device='cpu'" in msg
    x = T.dvector("x")
    with pytest.raises(BackendUnavailableError, match="linker='cuda'.*cupy is not installed"):
        egopt.function([x], x + 1, mode=egopt.Mode(linker="cuda"))
    np.testing.assert_allclose(egopt.function([x], x + 1)([1.0]), [2.0])    # cpu still works


def test_cuda_without_a_device_says_so(monkeypatch):
    _fake_cupy(monkeypatch, count=0)
    assert "no CUDA device" in _compile_error()
    _fake_cupy(monkeypatch, error=RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected"))
    msg = _compile_error()
    assert "found no usable CUDA device" in msg and "cudaErrorNoDevice" in msg
    _fake_cupy(monkeypatch, count=2)
    assert "asks for CUDA device 3, but this machine has 2" in _compile_error("cuda3")


def test_cuda_with_a_value_checking_mode_is_refused(monkeypatch):
    """DebugMode and NanGuardMode check values with NumPy on the host: they cannot read GPU arrays
    (device="cuda" itself runs: tests/runtime/test_cuda_program.py)."""
    _fake_cupy(monkeypatch, count=1)
    assert cuda.unavailable_reason("cuda0") is None
    x = T.dvector("x")
    for mode in ("DebugMode", "NanGuardMode"):
        with egopt.config.change_flags(device="cuda"):
            with pytest.raises(BackendUnavailableError, match="checks values with the NumPy linker"):
                egopt.function([x], x + 1, mode=mode)


def test_shared_variable_on_cuda_without_cupy_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with egopt.config.change_flags(device="cuda"):
        with pytest.raises(BackendUnavailableError, match="device='cuda'.*cupy is not installed"):
            egopt.shared(np.zeros(3))


def test_the_gpu_check_script_stops_clearly_without_cupy_or_a_device(monkeypatch, capsys):
    from bench import gpu_check
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(SystemExit) as info:
        gpu_check.main(["--no-install"])
    assert info.value.code == 2 and "cupy not installed" in capsys.readouterr().err
    _fake_cupy(monkeypatch, count=0)
    with pytest.raises(SystemExit) as info:
        gpu_check.main(["--no-install"])
    assert info.value.code == 2 and "no device: cupy is installed but this machine has no CUDA device" in capsys.readouterr().err
