"""Every code block in docs/ runs (in order, one namespace per page, in a scratch directory).

```python blocks run; a block whose first line is ``# name.py`` (``; name.egg`` in an ```egg
block) is written to that file instead, for the blocks after it to use; ```console blocks run
their ``$ `` commands, which must succeed; ```ini blocks must parse and name known flags.
```text blocks (output, error messages, config
shown as text) are not code.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
FILE_LINE = re.compile(r"^(?:#|;)\s*([\w.-]+\.(?:py|egg))\s*$")
KINDS = {"python", "egg", "console", "text", "ini"}


def blocks(page: Path):
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    ns: dict = {"__name__": f"docs_{page.stem}"}
    for i, (kind, code) in enumerate(blocks(page)):
        assert kind in KINDS, f"{page.name} block {i}: tag it as one of {sorted(KINDS)} (got {kind!r})"
        first = code.splitlines()[0] if code.strip() else ""
        target = FILE_LINE.match(first)
        if kind in ("python", "egg") and target:
            Path(target.group(1)).write_text(code)
        elif kind == "python":
            exec(compile(code, f"{page.name}[block {i}]", "exec"), ns)
        elif kind == "egg":
            raise AssertionError(f"{page.name} block {i}: an egg block starts with '; name.egg'")
        elif kind == "ini":          # a config file as shown: it must parse and name known flags
            import configparser
            from egopt import config
            cp = configparser.ConfigParser(inline_comment_prefixes=("#",))
            cp.optionxform = str
            cp.read_string("\n".join(l for l in code.splitlines() if not l.startswith("#")))
            for section in cp.sections():
                for key in cp[section]:
                    assert hasattr(config, key), f"{page.name} block {i}: unknown flag {key!r}"
        elif kind == "console":
            for line in code.splitlines():
                if line.startswith("$ "):
                    out = subprocess.run(line[2:], shell=True, capture_output=True, text=True)
                    assert out.returncode == 0, f"{page.name} block {i}: {line}\n{out.stdout}\n{out.stderr}"
