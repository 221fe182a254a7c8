"""Run the benchmark suite (``egopt bench`` / ``make bench``): table, JSON, markdown and chart.

    egopt bench                      # everything, 1 thread and all cores
    egopt bench --only W1,W5 --quick # a ~1 minute look
    egopt bench --threads 1          # one thread setting

Each thread setting runs in a child process whose environment pins BLAS, OpenMP, Numba and XLA
to the same count before anything is imported (XLA reads its flags once per process).
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from . import harness, report
from .harness import MISSING, Context, Row
from .registry import REGISTRY, Workload, select

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
SCRIPT_TIMEOUT = 1800     # seconds a script workload may run


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="egopt bench", description=__doc__.split("\n")[0])
    p.add_argument("--only", help="comma-separated workload ids: " + ",".join(REGISTRY))
    p.add_argument("--quick", action="store_true", help="small sizes, few samples, 1 thread (~1 minute)")
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)   # tiny sizes: the test suite
    p.add_argument("--threads", choices=["1", "all", "both"], help="thread settings (default: both; "
                   "--quick: 1)")
    p.add_argument("--no-peers", action="store_true", help="egopt, NumPy and the C yardsticks only")
    p.add_argument("--out", default=RESULTS, help="directory for bench.json, bench.md, bench.png")
    p.add_argument("--in-process", action="store_true", help="no child processes (threads via threadpoolctl "
                   "and egopt.config only; XLA keeps its own)")
    p.add_argument("--child-json", help=argparse.SUPPRESS)
    p.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-compile", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def thread_counts(args) -> list[int]:
    choice = args.threads or ("1" if args.quick or args.smoke else "both")
    cores = os.cpu_count() or 1
    return {"1": [1], "all": [cores], "both": sorted({1, cores})}[choice]


def context(args, threads: int) -> Context:
    peers, missing = ({}, {"pytensor": "--no-peers", "jax": "--no-peers"}) if args.no_peers \
        else harness.load_peers()
    if args.smoke:
        samples, sample_time = 3, 0.002
    elif args.quick:
        samples, sample_time = 3, 0.02
    else:
        samples, sample_time = 9, 0.1
    return Context(threads=threads, quick=args.quick or args.smoke, smoke=args.smoke, peers=peers,
                   missing=missing, samples=samples, sample_time=sample_time)


# ---- running workloads in this process ------------------------------------------------------------------
def run_workloads(workloads: list[Workload], ctx: Context) -> tuple[list[Row], list[dict]]:
    rows, sections = [], []
    for w in workloads:
        mod_name, fn_name = w.target.split(":")
        if importlib.util.find_spec(mod_name) is None:
            rows.append(Row(w.id, "-", "egopt", ctx.threads, status=MISSING,
                            notes=f"{mod_name.replace('.', '/')}.py is not there yet"))
            continue
        mod = importlib.import_module(mod_name)
        t0 = time.perf_counter()
        print(f"  [{w.id}, {ctx.threads} thread(s)] {w.title} ...", file=sys.stderr, flush=True)
        if hasattr(mod, fn_name):
            try:
                got = getattr(mod, fn_name)(ctx)
            except Exception as e:     # one broken workload must not lose the others' figures
                got = [Row(w.id, "-", "egopt", ctx.threads, status=harness.ERROR,
                           notes=f"{type(e).__name__}: {str(e)[:200]}")]
            rows += got
        else:
            sections.append(_run_script(w, mod_name, ctx))
        print(f"  [{w.id}] {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows, sections


def _run_script(w: Workload, mod_name: str, ctx: Context) -> dict:
    env = {**os.environ, "EGOPT_BENCH_QUICK": "1" if ctx.quick else "0", "EGOPT_BENCH_THREADS": str(ctx.threads),
           "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-m", mod_name, *(w.quick_args if ctx.quick else w.args)]
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return dict(id=w.id, title=w.title, threads=ctx.threads, text=f"{out}\n(stopped after {SCRIPT_TIMEOUT} s)")
    text = p.stdout + (f"\n(exit status {p.returncode})\n{p.stderr[-2000:]}" if p.returncode else "")
    return dict(id=w.id, title=w.title, threads=ctx.threads, text=text)


def child(args) -> int:
    """Run the selected workloads at one thread setting (environment already pinned) and save them."""
    ctx = context(args, args.child_threads)
    chosen = [w for w in select(args.only) if w.per_thread or args.child_compile]
    with harness.pinned(args.child_threads) as info:
        rows, sections = run_workloads(chosen, ctx)
    with open(args.child_json, "w") as f:
        json.dump({"rows": [r.to_json() for r in rows], "sections": sections, "threads": info,
                   "versions": harness.versions(ctx.peers), "missing": ctx.missing,
                   "egopt_linker": harness.egopt_linker()}, f, default=str)
    return 0


def _spawn(args, threads: int, compile_figs: bool, path: str) -> dict:
    cmd = [sys.executable, "-m", "bench.run", "--child-json", path, "--child-threads", str(threads)]
    cmd += ["--only", args.only] if args.only else []
    cmd += [flag for flag, on in (("--quick", args.quick), ("--smoke", args.smoke), ("--no-peers", args.no_peers),
                                  ("--child-compile", compile_figs)) if on]
    env = {**os.environ, **harness.thread_env(threads), "PYTHONPATH": ROOT}
    p = subprocess.run(cmd, cwd=ROOT, env=env)
    if p.returncode != 0 or not os.path.exists(path):
        return {"rows": [Row("-", "-", "egopt", threads, status=harness.ERROR,
                             notes=f"bench child for {threads} thread(s) failed (exit {p.returncode})").to_json()],
                "sections": [], "threads": {}, "versions": {}, "missing": {}, "egopt_linker": "?"}
    with open(path) as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child_json:
        return child(args)
    selected = select(args.only)
    counts = thread_counts(args)
    os.makedirs(args.out, exist_ok=True)
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=f"{platform.machine()} {_cpu_name()}, {os.cpu_count()} cores",
                python=platform.python_version(), load_start=_load(),
                mode="egopt.function default mode (FAST_RUN)" + (", --quick" if args.quick else "")
                + (", smoke" if args.smoke else ""), threads=counts)
    print(f"egopt bench: {', '.join(w.id for w in selected)} at threads {counts} "
          f"({'quick' if args.quick else 'full'}); {meta['machine']}", file=sys.stderr)
    results = []
    if args.in_process:
        ctx = context(args, counts[0])
        with harness.pinned(counts[0]) as info:
            rows, sections = run_workloads(selected, ctx)
        results.append({"rows": [r.to_json() for r in rows], "sections": sections,
                        "threads": info, "versions": harness.versions(ctx.peers),
                        "missing": ctx.missing, "egopt_linker": harness.egopt_linker()})
    else:
        with tempfile.TemporaryDirectory(prefix="egopt-bench-") as tmp:
            for i, t in enumerate(counts):
                results.append(_spawn(args, t, i == 0, os.path.join(tmp, f"t{t}.json")))
    rows = [Row(**r) for res in results for r in res["rows"]]
    sections = [s for res in results for s in res["sections"]]
    harness.add_ratios(rows)
    meta.update(load_end=_load(), versions=next((r["versions"] for r in results if r["versions"]), {}),
                missing=next((r["missing"] for r in results if r["versions"]), {}),
                egopt_linker=next((r["egopt_linker"] for r in results if r["versions"]), "?"),
                thread_pinning={str(t): r["threads"] for t, r in zip(counts, results)},
                noise=report.NOISE)
    titles = {k: w.title for k, w in REGISTRY.items()}
    verdicts = report.targets(rows)
    text = report.table(rows, titles)
    print(f"egopt: {meta['egopt_linker']}\n{text}")
    if verdicts:
        print("\n== issue 9 targets (1 thread)")
        for t, v, e in verdicts:
            print(f"  {v:<13}{t}: {e}")
    for s in sections:
        print(f"\n== {s['id']}: {s['title']} [threads={s['threads']}] (script)\n{s['text']}")
    paths = {k: os.path.join(args.out, f"bench.{k}") for k in ("json", "md", "png")}
    report.write_json(paths["json"], rows, meta, verdicts, sections)
    chart_note = report.write_chart(paths["png"], rows)
    report.write_markdown(paths["md"], rows, meta, titles, verdicts, sections,
                          None if chart_note else paths["png"], chart_note)
    print(f"\n{report.NOISE}\nwrote {paths['json']}, {paths['md']}" + ("" if chart_note else f", {paths['png']}"))
    return 0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "?"


def _load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
