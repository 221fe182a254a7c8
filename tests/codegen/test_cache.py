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


def test_a_big_library_compiles_in_parts_that_link_into_one(tmp_path, monkeypatch):
    import egopt
    import egopt.tensor as T
    from egopt.codegen import compile as C
    monkeypatch.setattr(C, "SPLIT_BYTES", 2000)
    monkeypatch.setattr(C, "_cores", lambda: 3)
    seen, runs = [], []
    real, real_run = C.split_source, C._run
    monkeypatch.setattr(C, "split_source", lambda s, n: seen.append(real(s, n)) or seen[-1])
    monkeypatch.setattr(C, "_run", lambda cmds, *a: runs.append(cmds) or real_run(cmds, *a))
    x, y = T.dmatrix("x"), T.dmatrix("y")
    outs = [T.exp(x) * y + 1, T.tanh(x - y) * 2, T.sum(T.sin(x) * y, axis=1), T.log1p(T.abs(x * y))]
    with egopt.config.change_flags(compiledir=str(tmp_path)):
        f = egopt.function([x, y], outs, mode=egopt.Mode(linker="c"))
    assert f.linker == "c" and seen and len(seen[0]) >= 2        # several units ...
    assert len(runs) == 2 and len(runs[0]) == len(seen[0])        # compiled at once, then linked (no fallback)
    a = np.linspace(-1, 1, 12).reshape(3, 4)
    b = np.cos(a)
    want = [np.exp(a) * b + 1, np.tanh(a - b) * 2, np.sum(np.sin(a) * b, axis=1), np.log1p(np.abs(a * b))]
    for got, w in zip(f(a, b), want):      # atol: a row sum of 4 terms that cancel to 0 in NumPy's order
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=4e-16)
    assert len(_libraries(tmp_path)) == 1


def test_split_source_keeps_every_kernel_once_and_one_thread_count():
    from egopt.codegen.compile import split_source
    prelude = "#include <math.h>\nstatic int egopt_nthreads = 1;\n" \
              "EGOPT_EXPORT void egopt_set_threads(int n) { egopt_nthreads = n; }\n"
    # a kernel may have static helpers between its head comment and itself (render_c does)
    kernels = [f"/* k{i} */\n" + (f"static int egopt_c_{i:04x}(void) {{\n    return {i};\n}}\n" if i % 2 else "") +
               f"EGOPT_EXPORT int egopt_k_{i:04x}(void) {{ return {i} + egopt_nthreads; }}" + " " * 500 + "\n"
               for i in range(10)]
    import egopt.codegen.compile as C
    src = prelude + "".join(kernels)
    old = C.SPLIT_BYTES
    try:
        C.SPLIT_BYTES = 1000
        parts = split_source(src, 4)
    finally:
        C.SPLIT_BYTES = old
    assert len(parts) == 4
    assert [sum(p.count(f"egopt_k_{i:04x}(") for p in parts) for i in range(10)] == [1] * 10
    assert all(f"egopt_c_{i:04x}(" in p for i in range(1, 10, 2) for p in parts if f"egopt_k_{i:04x}(" in p)
    assert not any("egopt_c_" in p.split("/* k")[0] for p in parts)      # never left in a prelude
    assert parts[0].count("int egopt_nthreads = 1;") == 1 and "static int egopt_nthreads" not in parts[0]
    assert all("extern int egopt_nthreads;" in p and "egopt_set_threads" not in p for p in parts[1:])
    assert split_source(src, 1) == [src]
