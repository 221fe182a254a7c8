"""The scan examples train briefly (``--quick``) and their loss goes down."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["rnn_classifier.py", "char_lstm.py"])
def test_example_trains(script):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--quick"], capture_output=True,
                         text=True, timeout=600, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    m = re.search(r"losses: ([\d.]+) -> ([\d.]+)", res.stdout)
    assert m, res.stdout[-2000:]
    first, last = float(m.group(1)), float(m.group(2))
    assert last < 0.9 * first, res.stdout
    if script == "char_lstm.py":
        assert "sample:" in res.stdout
