"""The compiled-library cache: concurrent processes, truncated entries, content keys."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from egopt.codegen.compile import find_compiler

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")

SCRIPT = textwrap.dedent("""
    import numpy as np, egopt, egopt.tensor as T
    x = T.dvector("x")
    f = egopt.function([x], T.exp(x) * 3.25 + T.sin(x), mode=egopt.Mode(None, "c"))
    assert f.linker == "c"
    a = np.linspace(-2, 2, 7)
    assert np.allclose(f(a), np.exp(a) * 3.25 + np.sin(a))
    print("ok")
""")


def _spawn(tmp_path):
    env = {**os.environ, "EGOPT_FLAGS": f"compiledir={tmp_path}"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _libraries(tmp_path):
    return [p for p in glob.glob(str(tmp_path / "*.so")) if "tramp" not in os.path.basename(p)]


def test_two_processes_compiling_the_same_function_at_once(tmp_path):
    procs = [_spawn(tmp_path) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "ok", err
    assert len(_libraries(tmp_path)) == 1                 # built once, by one of them
    assert not glob.glob(str(tmp_path / ".tmp-*"))        # no half-written files left


def test_truncated_library_is_rebuilt(tmp_path):
    p = _spawn(tmp_path)
    assert p.communicate(timeout=300)[0].strip() == "ok"
    (lib,) = _libraries(tmp_path)
    size = os.path.getsize(lib)
    with open(lib, "r+b") as f:                # a crash mid-copy, a full disk: half a library
        f.truncate(size // 3)
    p = _spawn(tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0 and out.strip() == "ok", err
    assert os.path.getsize(lib) == size


def test_garbage_with_a_matching_name_is_rebuilt(tmp_path):
    from egopt.codegen.cache import cached_build
    calls = []

    def build(out):
        calls.append(out)
        with open(out, "wb") as f:
            f.write(b"library bytes")
    path = cached_build("k" * 64, build, directory=str(tmp_path))
    assert cached_build("k" * 64, build, directory=str(tmp_path)) == path and len(calls) == 1
    with open(path, "wb") as f:
        f.write(b"garbage")
    cached_build("k" * 64, build, directory=str(tmp_path))
    assert len(calls) == 2 and open(path, "rb").read() == b"library bytes"


def test_key_depends_on_source_and_flags():
    from egopt.codegen.cache import cache_key
    assert cache_key("a", "-O3") != cache_key("a", "-O2") != cache_key("b", "-O2")
