"""egopt.config: validation, EGOPT_FLAGS, ~/.egoptrc, change_flags, and the flags' effects."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import config


@pytest.fixture
def restore():
    """Reload the real configuration after a test that calls config.load(...)."""
    yield
    config.load()


def test_defaults(restore, tmp_path):
    config.load(environ={}, rcfile=str(tmp_path / "none"))
    assert (config.floatX, config.device, config.optimizer, config.compute_test_value) == \
        ("float64", "cpu", "egraph", "off")
    assert config.mode == "FAST_RUN" and config.print_rewrites is False


def test_set_from_python_with_validation():
    with config.change_flags(floatX="float64", device="cpu", print_rewrites=False, optimizer="egraph"):
        config.floatX = "float32"
        assert config.floatX == "float32" and T.matrix().dtype == "float32"
        config.floatX = np.float64                  # dtype objects are accepted
        assert config.floatX == "float64"
        with pytest.raises(ValueError, match="floatX must be one of"):
            config.floatX = "float31"
        with pytest.raises(ValueError, match="device"):
            config.device = "tpu"
        config.device = "cuda1"
        with pytest.raises(ValueError, match="compute_test_value"):
            config.compute_test_value = "sometimes"
        with pytest.raises(AttributeError, match="no setting 'floatx'"):
            config.floatx = "float32"
        config.print_rewrites = "yes"
        assert config.print_rewrites is True
        config.optimizer = "fast_run"               # Theano's name for the full optimizer
        assert config.optimizer == "egraph"
    assert (config.floatX, config.device, config.print_rewrites) == ("float64", "cpu", False)


def test_change_flags_restores_even_on_error():
    before = config.floatX
    with pytest.raises(RuntimeError):
        with config.change_flags(floatX="float16", compute_test_value="warn"):
            assert config.floatX == "float16" and config.compute_test_value == "warn"
            raise RuntimeError
    assert config.floatX == before and config.compute_test_value == "off"
    with pytest.raises(AttributeError, match="no setting"):
        with config.change_flags(no_such_flag=1):
            pass


def test_change_flags_as_decorator():
    @config.change_flags(floatX="float32")
    def make():
        return T.vector("v")
    assert make().dtype == "float32" and config.floatX == "float64"


def test_egopt_flags(restore, tmp_path):
    config.load(environ={"EGOPT_FLAGS": "floatX=float32, device=cuda,compute_test_value=warn"},
                rcfile=str(tmp_path / "none"))
    assert (config.floatX, config.device, config.compute_test_value) == ("float32", "cuda", "warn")
    with pytest.raises(ValueError, match="EGOPT_FLAGS: .*floatX"):
        config.load(environ={"EGOPT_FLAGS": "floatX=float8"}, rcfile=str(tmp_path / "none"))
    with pytest.warns(UserWarning, match="EGOPT_FLAGS: egopt has no setting 'florX'"):
        config.load(environ={"EGOPT_FLAGS": "florX=float32"}, rcfile=str(tmp_path / "none"))
    with pytest.raises(ValueError, match="expected name=value"):
        config.load(environ={"EGOPT_FLAGS": "float32"}, rcfile=str(tmp_path / "none"))


def test_rcfile_and_precedence(restore, tmp_path):
    rc = tmp_path / ".egoptrc"
    rc.write_text("# my settings\n[global]\nfloatX = float32   # for the GPU\ndevice=cuda\n"
                  "compiledir = ~/kernels\n")
    config.load(environ={"HOME": str(tmp_path)}, rcfile=str(rc))
    assert config.floatX == "float32" and config.device == "cuda"
    assert config.compiledir == os.path.expanduser("~/kernels")
    config.load(environ={"EGOPT_FLAGS": "floatX=float16"}, rcfile=str(rc))
    assert config.floatX == "float16" and config.device == "cuda"     # the environment wins


def test_rcfile_found_in_home(restore, tmp_path, monkeypatch):
    (tmp_path / ".egoptrc").write_text("floatX = float32\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    config.load(environ={})
    assert config.floatX == "float32"
    assert config.compiledir == os.path.join(str(tmp_path), ".cache", "egopt")


def test_flags_read_at_import(tmp_path):
    (tmp_path / ".egoptrc").write_text("device = cuda\nfloatX = float64\n")
    env = dict(os.environ, HOME=str(tmp_path), EGOPT_FLAGS="floatX=float32")
    # (a shared variable made under device=cuda needs cupy and a GPU: test_backends.py)
    code = ("import egopt, egopt.tensor as T; d = egopt.config.device; egopt.config.device = 'cpu'; "
            "print(egopt.config.floatX, d, T.matrix().dtype, egopt.shared(1.5).dtype)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["float32", "cuda", "float32", "float32"]


def test_optimizer_flag_selects_the_default_mode():
    from egopt.runtime.mode import get_mode
    assert get_mode(None).optimizer == "egraph"
    with config.change_flags(optimizer="None"):
        assert get_mode(None).optimizer is None
        x = T.dscalar("x")
        f = egopt.function([x], x + 0)
        assert f.mode.optimizer is None and f(2.0) == 2.0
    with config.change_flags(mode="FAST_COMPILE"):
        assert get_mode(None).name == "FAST_COMPILE"
    assert get_mode("FAST_RUN").optimizer == "egraph"


def test_describe_lists_every_flag():
    text = config.describe()
    for name in ("floatX", "device", "optimizer", "compiledir", "compute_test_value"):
        assert f"{name} = " in text
