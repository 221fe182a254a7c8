"""The built wheel carries the rule library: install it in a scratch venv and compile in FAST_RUN.

The scratch venv gets egopt from the wheel only; its dependencies (numpy, egglog, sympy) come
from this test environment's site-packages through a path entry, so nothing is downloaded.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import numpy as np
    import egopt, egopt.tensor as T
    x = T.dvector("x")
    f = egopt.function([x], T.log(1 + T.exp(x)) * 1 + 0, mode="FAST_RUN")
    rep = f.optimization_report()
    assert rep.outcome == "optimized", rep.outcome
    np.testing.assert_allclose(f(np.array([0.0, 1.0])), np.log1p(np.exp([0.0, 1.0])))
    print("EGOPT_FROM", egopt.__file__)
""")


def _run(cmd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_wheel_installs_and_compiles(tmp_path):
    pytest.importorskip("setuptools", minversion="77")
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(dist), str(ROOT)], cwd=tmp_path)
    (wheel,) = dist.glob("egopt-*.whl")
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert "egopt/builtin_rules/algebra.egg" in names and "egopt/builtin_rules/algebra.py" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    # the dependencies, as a plain path entry (this env's .pth files, e.g. an editable egopt, stay out)
    (site / "zz_egopt_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
         cwd=tmp_path)
    out = _run([str(py), "-W", "error::DeprecationWarning", "-c", SCRIPT], cwd=tmp_path)
    where = Path(out.split("EGOPT_FROM", 1)[1].strip())
    assert where.is_relative_to(env_dir), f"egopt came from {where}, not the installed wheel"
