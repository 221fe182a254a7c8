"""The benchmark suite's harness (bench/): a tiny smoke run produces the table, JSON and markdown
with egopt and NumPy rows; ratios, error units, selection and missing peers behave. No timing
is asserted (speed is measured in benchmarks, never in unit tests)."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from bench import harness, registry, report, run, w1_chain
from bench.harness import Context, Row


def test_smoke_run_writes_table_json_markdown(tmp_path, capsys):
    assert run.main(["--smoke", "--in-process", "--no-peers", "--only", "W1,W5", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "bench.json").read_text())
    rows = [Row(**r) for r in data["rows"]]
    for wl in ("W1", "W5"):
        systems = {r.system for r in rows if r.workload == wl and r.status == harness.OK}
        assert {"egopt", "numpy"} <= systems, (wl, systems)
    for r in rows:
        if r.status == harness.OK:
            assert 0 < r.min_s <= r.median_s and r.samples == 3
            if r.workload == "W1" and r.system != "triad (ref)":
                assert r.metrics["max_ulp"] < 64       # every system computes the formula
    # peers asked off are reported as missing, never measured
    assert {(r.system, r.status) for r in rows if r.system in ("pytensor", "jax")} == {
        ("pytensor", "missing"), ("jax", "missing")}
    md = (tmp_path / "bench.md").read_text()
    assert "| egopt |" in md and "| numpy |" in md and "## W1" in md and "## W5" in md
    assert "egopt" in printed and "numpy" in printed and "x numpy" in printed
    has_mpl = importlib.util.find_spec("matplotlib") is not None
    assert (tmp_path / "bench.png").exists() == has_mpl
    assert ("bench.png" in md) == has_mpl


def test_ratios_against_numpy_and_best_contender():
    rows = [Row("W", "c", "numpy", 1, 2.0, 4.0, 3), Row("W", "c", "egopt", 1, 1.0, 2.0, 3),
            Row("W", "c", "c (ref)", 1, 0.1, 0.5, 3, reference=True), Row("W", "c", "egopt", 2, 1.0, 1.0, 3)]
    harness.add_ratios(rows)
    assert rows[1].metrics == {"x_numpy": 0.5, "x_best": 1.0}
    assert rows[0].metrics == {"x_numpy": 1.0, "x_best": 2.0}
    assert rows[2].metrics["x_best"] == 0.25          # a reference is not the best contender
    assert "x_numpy" not in rows[3].metrics           # no NumPy row at 2 threads


def test_max_ulp_counts_units_of_the_scale():
    x = np.array([0.3, -1.2, 2.0])
    value, scale = w1_chain.reference(x, x + 1, x - 1)
    exact = value.astype(np.float64)
    assert w1_chain.max_ulp(exact, (value, scale)) <= 0.5
    off = exact + 3 * np.spacing(scale.astype(np.float64))
    assert 2.5 <= w1_chain.max_ulp(off, (value, scale)) <= 3.5


def test_fallback_outcomes_are_not_counted():
    assert not harness.is_fallback("optimized")
    assert harness.is_fallback("failed, kept the input graph (PanicException)")
    assert harness.is_fallback("kept the input graph (type changed)")
    row = harness.fallback_row("W1", "c", Context(threads=1), "kept the input graph (type changed)")
    assert row.status == harness.FALLBACK and row.min_s is None


def test_selection_missing_scripts_and_missing_peers():
    assert [w.id for w in registry.select("w1, W5")] == ["W1", "W5"]
    with pytest.raises(SystemExit, match="unknown workload"):
        registry.select("W1,W99")
    ctx = Context(threads=1)
    absent = registry.Workload("ZZ", "not written", "bench.no_such_workload:run")
    rows, sections = run.run_workloads([absent], ctx)
    assert [(r.workload, r.status) for r in rows] == [("ZZ", harness.MISSING)] and sections == []
    loaded, missing = harness.load_peers(("no_such_peer_module",))
    assert loaded == {} and "not importable" in missing["no_such_peer_module"]


def test_targets_read_the_same_run():
    rows = [Row("W5", "x+y float64[10]", "egopt", 1, 1e-6, 1.2e-6, 3),
            Row("W6", "W2 cold", "egopt", 1, 2.0, 2.0, 1)]
    verdicts = {t: v for t, v, _ in report.targets(rows)}
    assert verdicts["W5: per-call overhead under 1.5 us"] == "holds"
    assert verdicts["W6 W2 cold: first result under 1.5 s"] == "MISSED"
    assert not any(t.startswith("W1") for t in verdicts)   # nothing claimed for what did not run


def test_thread_env_pins_every_pool_and_keeps_openblas_coretype(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    env = harness.thread_env(1)
    assert all(env[k] == "1" for k in harness.THREAD_ENV)
    assert env["XLA_FLAGS"].split() == ["--xla_cpu_multi_thread_eigen=false"]
    monkeypatch.setenv("XLA_FLAGS", env["XLA_FLAGS"])
    assert harness.thread_env(1)["XLA_FLAGS"] == env["XLA_FLAGS"]    # applying it twice changes nothing
    assert "OPENBLAS_CORETYPE" not in env


def test_pinned_threads_are_restored():
    has_tpc = importlib.util.find_spec("threadpoolctl") is not None
    if has_tpc:
        import threadpoolctl
        before = [p["num_threads"] for p in threadpoolctl.threadpool_info()]
    with harness.pinned(1) as info:
        if has_tpc:
            assert all(p["threads"] == 1 for p in info["threadpools"])
        else:
            assert "threadpoolctl missing" in info["threadpools"]
    if has_tpc:
        assert [p["num_threads"] for p in threadpoolctl.threadpool_info()] == before


def test_a_script_workload_becomes_a_report_section():
    script = registry.Workload("ZS", "a script", "tests.bench_script_fixture:bench_rows",
                               args=("--full",), quick_args=("--points", "3"))
    rows, sections = run.run_workloads([script], Context(threads=1, quick=True))
    assert rows == [] and len(sections) == 1
    assert sections[0]["text"].strip() == "args ['--points', '3'] quick 1 threads 1"


def test_c_yardsticks_compute_w1_and_leave_denormals_alone():
    from bench import cref
    if cref.compiler() is None:
        with pytest.raises(RuntimeError, match="no C compiler"):
            cref.build("c_fastmath")
        return
    x = np.linspace(-3, 3, 101)
    want = np.exp(-x**2 / 2) * np.sin(x + 1) + np.log1p(np.abs(x * (x + 1))) / (1 + (x - 1)**2)
    for variant in cref.VARIANTS:
        k = cref.kernel(cref.build(variant), "chain", np.float64, 1)
        np.testing.assert_allclose(k(x, x + 1, x - 1, np.empty_like(x)), want, rtol=1e-13, atol=1e-15)
        # a -ffast-math link would have switched the process to flush-to-zero (spacing(0) -> 0)
        assert np.spacing(np.float32(0)) > 0
