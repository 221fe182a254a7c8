"""egglog's bindings are loaded without its Python API (egopt/rules/egglog_bindings.py), and a
later ``import egglog`` still works and shares them."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_optimizer_runs_on_the_bindings_alone_and_egglog_imports_after():
    script = textwrap.dedent("""
        import sys, numpy as np, egopt, egopt.tensor as T
        egopt.config.graph_cache = False
        x = T.dvector("x")
        f = egopt.function([x], T.log(1 + x) * 1, mode=egopt.Mode(linker="py"))
        assert f.optimization_report().outcome == "optimized", f.optimization_report().outcome
        assert f.optimization_report().fired.get("log1p")
        assert np.allclose(f(np.arange(3.0)), np.log1p(np.arange(3.0)))
        assert "egglog.bindings" in sys.modules and "egglog" not in sys.modules
        b = sys.modules["egglog.bindings"]
        import egglog
        import egglog.bindings
        assert egglog.bindings is b and egglog.EggSmolError is b.EggSmolError
        egglog.EGraph()
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
