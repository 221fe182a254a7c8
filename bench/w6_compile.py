"""W6 (compile to first result of the W2 and W3 training steps, cold and warm) and W8 (compile to
first result of a large random model graph with its gradient, as the graph grows).

Each figure is one fresh process (bench/compile_child.py). Cold: every cache directory the
system has (egopt's ``compiledir``, PyTensor's ``base_compiledir`` and Numba's cache, JAX's
persistent compilation cache) points into an empty temporary directory. Warm: a new process on
the caches the cold one filled. Figures are graph building + compile + first call, without the
import (shown in the notes).
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

from .harness import ERROR, FALLBACK, Context, Row, is_fallback, thread_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cache_env(cache: str) -> dict[str, str]:
    """Environment that sends every system's compile cache under ``cache``."""
    flags = [f for f in os.environ.get("EGOPT_FLAGS", "").split(",") if f and not f.startswith("compiledir=")]
    return {
        "EGOPT_FLAGS": ",".join(flags + [f"compiledir={os.path.join(cache, 'egopt')}"]),
        "PYTENSOR_FLAGS": f"base_compiledir={os.path.join(cache, 'pytensor')}",
        "NUMBA_CACHE_DIR": os.path.join(cache, "numba"),
        "JAX_COMPILATION_CACHE_DIR": os.path.join(cache, "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def measure(system: str, graph: str, cache: str, timeout: float = 900) -> dict:
    """Run one child; its JSON, or {'error': ...}."""
    env = {**os.environ, **thread_env(1), **cache_env(cache), "PYTHONPATH": ROOT}
    try:
        p = subprocess.run([sys.executable, "-m", "bench.compile_child", system, graph], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def _row(workload: str, case: str, system: str, results: list[dict]) -> Row:
    errs = [r["error"] for r in results if "error" in r]
    if errs:
        return Row(workload, case, system, 1, status=ERROR, notes=errs[0])
    outcome = results[0].get("outcome", "")
    if system == "egopt" and is_fallback(outcome):
        return Row(workload, case, system, 1, status=FALLBACK,
                   notes=f"optimizer outcome: {outcome!r}; not counted", metrics=results[0])
    firsts = [r["first_s"] for r in results]
    note = f"import {results[0]['import_s']:.2f}s, compile {min(r['compile_s'] for r in results):.3f}s"
    if "nodes_in" in results[0]:
        note += f", nodes {results[0]['nodes_in']}->{results[0]['nodes_out']}"
    return Row(workload, case, system, 1, min(firsts), statistics.median(firsts), len(firsts), notes=note,
               metrics={"runs": results})


def run_w6(ctx: Context) -> list[Row]:
    systems = ["egopt"] + [p for p in ("pytensor", "jax") if p in ctx.peers and not ctx.quick]
    warm_runs = 1 if ctx.quick else 3
    rows = []
    for graph in ("W2",) if ctx.smoke else ("W2", "W3"):
        for system in systems:
            with tempfile.TemporaryDirectory(prefix="egopt-bench-cache-") as cache:
                cold = measure(system, graph, cache)
                warm = [measure(system, graph, cache) for _ in range(warm_runs)]
            rows.append(_row("W6", f"{graph} cold", system, [cold]))
            rows.append(_row("W6", f"{graph} warm", system, warm))
    if ctx.quick:
        rows += [Row("W6", "W2 cold", p, 1, status="skipped", notes="--quick: peers' compile times not run")
                 for p in ctx.peers]
    rows += ctx.rows_missing("W6", "W2 cold")
    return rows


def w8_steps(ctx: Context) -> tuple[int, ...]:
    if ctx.smoke:
        return (10, 20)
    return (50, 100) if ctx.quick else (200, 500)


def run_w8(ctx: Context) -> list[Row]:
    rows = []
    for steps in w8_steps(ctx):
        with tempfile.TemporaryDirectory(prefix="egopt-bench-cache-") as cache:
            rows.append(_row("W8", f"model {steps} steps cold", "egopt", [measure("egopt", f"model{steps}", cache)]))
    ok = [r for r in rows if r.status == "ok"]
    if len(ok) == 2:
        (a, b) = ok
        na, nb = a.metrics["runs"][0]["nodes_in"], b.metrics["runs"][0]["nodes_in"]
        growth = math.log(b.min_s / a.min_s) / math.log(nb / na)
        b.metrics["growth_exponent"] = growth
        b.notes += f"; time ~ nodes^{growth:.2f} (from {na} to {nb} nodes)"
    return rows
