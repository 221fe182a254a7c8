"""``egopt demo --quick`` (what CI runs): both models learn the digits and the pictures are written."""
from __future__ import annotations

import re

def test_demo_quick(tmp_path, capsys):
    from egopt.cli import main
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    errors = [float(e) / 100 for e in re.findall(r"test error\s+([\d.]+)%", out)]
    assert len(errors) == 2, out
    soft, conv = errors
    assert soft < 0.10 and conv < 0.08, out
    assert "rules fired" in out and "compile" in out
    for name in ("filters.png", "curves.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
