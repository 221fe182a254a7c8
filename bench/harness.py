"""The benchmark harness: interleaved samples, thread pinning, optional peers, rows and ratios.

Why interleaved: the machine is shared, so load drifts over seconds. Timing every contender
once per round (in a rotating order) exposes them all to the same drift, which keeps the
*ratios* of one run meaningful even when absolute times move. Min and median are both kept:
min is the best the code can do, median what a user sees under this load.

Thread counts are set through the environment *before* NumPy/JAX are imported (XLA reads its
flags once), so each thread setting runs in its own process (see ``bench.run``).
"""
from __future__ import annotations

import contextlib
import importlib
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

FALLBACK = "fallback"
OK, MISSING, ERROR, SKIPPED = "ok", "missing", "error", "skipped"


@dataclass
class Row:
    """One measured (or missing) contender in one case. Times are seconds per call."""
    workload: str
    case: str
    system: str
    threads: int
    min_s: float | None = None
    median_s: float | None = None
    samples: int = 0
    status: str = OK
    notes: str = ""
    reference: bool = False          # a yardstick (hand-written C, triad), not a contender
    metrics: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    """What a workload gets: the run's size and thread settings and the peers that loaded."""
    threads: int                     # threads actually used (all cores resolved to a count)
    quick: bool = False
    smoke: bool = False              # tiny sizes, a few samples: the test suite's run
    peers: dict = field(default_factory=dict)     # name -> module, for the peers that imported
    missing: dict = field(default_factory=dict)   # name -> why it is missing
    samples: int = 7
    sample_time: float = 0.05        # seconds one sample aims for (many calls of a fast function)

    def rows_missing(self, workload: str, case: str, names=None) -> list[Row]:
        """A 'missing' row for each requested peer that did not import: reported, never faked."""
        return [Row(workload, case, n, self.threads, status=MISSING, notes=self.missing[n])
                for n in (names or self.missing) if n in self.missing]


# ---- threads -------------------------------------------------------------------------------------------
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """Environment that pins BLAS, OpenMP, Numba and XLA to ``threads`` (set before importing them).

    OPENBLAS_CORETYPE and every other variable are left as they are.
    """
    env = {k: str(threads) for k in THREAD_ENV}
    xla = [f for f in os.environ.get("XLA_FLAGS", "").split()
           if not f.startswith(("--xla_cpu_multi_thread_eigen", "intra_op_parallelism_threads"))]
    if threads == 1:      # (a first word without "--" would be read as a flag file: flags only)
        xla.append("--xla_cpu_multi_thread_eigen=false")
    env["XLA_FLAGS"] = " ".join(xla)
    env["JAX_PLATFORMS"] = "cpu"
    env["JAX_ENABLE_X64"] = "1"
    return env


@contextlib.contextmanager
def pinned(threads: int) -> Iterator[dict[str, Any]]:
    """Pin the runtime-adjustable pools (BLAS via threadpoolctl, egopt's own setting) for the
    block, yielding what was set; both are restored afterwards."""
    import egopt
    info: dict[str, Any] = {"requested": threads}
    with contextlib.ExitStack() as stack:
        try:
            import threadpoolctl
            stack.enter_context(threadpoolctl.threadpool_limits(threads))
            info["threadpools"] = [{"api": p["internal_api"], "threads": p["num_threads"],
                                    "version": p.get("version")} for p in threadpoolctl.threadpool_info()]
        except ImportError:
            info["threadpools"] = "threadpoolctl missing: BLAS threads set by environment only"
        if hasattr(egopt.config, "threads"):
            stack.enter_context(egopt.config.change_flags(threads=threads))
            info["egopt.config.threads"] = egopt.config.threads
        else:
            info["egopt.config.threads"] = "no such setting in this egopt"
        info.update({k: os.environ.get(k) for k in THREAD_ENV + ("XLA_FLAGS", "OPENBLAS_CORETYPE")})
        yield info


# ---- peers ---------------------------------------------------------------------------------------------
PEERS = ("pytensor", "jax")


def load_peers(names=PEERS) -> tuple[dict, dict]:
    """Import each peer; (loaded name -> module, missing name -> reason)."""
    loaded, missing = {}, {}
    for name in names:
        try:
            if name == "jax":
                mod = importlib.import_module("jax")
                mod.config.update("jax_enable_x64", True)
                mod.config.update("jax_platforms", "cpu")
            else:
                mod = importlib.import_module(name)
            loaded[name] = mod
        except Exception as e:       # ImportError, or a broken install: reported, not fatal
            missing[name] = f"not importable ({type(e).__name__}: {str(e)[:80]})"
    return loaded, missing


def egopt_linker() -> str:
    """Which linker egopt's default mode runs (recorded with the figures: the suite measures
    whatever linker this egopt has)."""
    import egopt
    import egopt.tensor as T
    a = T.dvector("a")
    f = egopt.function([a], a + 1)
    prog = type(getattr(f, "program", None))
    linker = getattr(f, "linker", None) or f"{f.mode.linker} (setting)"
    return f"mode {f.mode.name}, linker {linker}, program {prog.__module__}.{prog.__name__}"


def versions(peers: dict) -> dict[str, str]:
    import numpy
    import egopt
    out = {"egopt": getattr(egopt, "__version__", "?"), "numpy": numpy.__version__}
    for name, mod in peers.items():
        out[name] = getattr(mod, "__version__", "?")
    return out


# ---- timing --------------------------------------------------------------------------------------------
def _loops_for(fn: Callable[[], Any], target: float) -> int:
    """Calls per sample so that one sample takes about ``target`` seconds (at least one)."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    if once >= target:
        return 1
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target / 4 or n >= 1 << 20:
            return max(1, int(n * target / max(dt, 1e-9)))
        n *= 4


def interleaved(fns: dict[str, Callable[[], Any]], samples: int, target: float) -> dict[str, list[float]]:
    """Seconds per call of each function: ``samples`` rounds, each timing every function once
    (rotating the order), every function warmed up first."""
    loops = {k: _loops_for(f, target) for k, f in fns.items()}
    names = list(fns)
    out: dict[str, list[float]] = {k: [] for k in names}
    for s in range(samples):
        for k in names[s % len(names):] + names[:s % len(names)]:
            f, n = fns[k], loops[k]
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            out[k].append((time.perf_counter() - t0) / n)
    return out


def rows_from_times(workload: str, case: str, times: dict[str, list[float]], ctx: Context,
                    notes: dict | None = None, metrics: dict | None = None,
                    references: tuple = ()) -> list[Row]:
    rows = []
    for name, ts in times.items():
        rows.append(Row(workload, case, name, ctx.threads, min(ts), statistics.median(ts), len(ts),
                        notes=(notes or {}).get(name, ""), reference=name in references,
                        metrics=(metrics or {}).get(name, {})))
    return rows


def egopt_outcome(f) -> str:
    """The optimizer's outcome for a compiled egopt function."""
    return f.optimization_report().outcome


def is_fallback(outcome: str) -> bool:
    """True when the optimizer kept or failed on the input graph for a reason other than it being
    optimal already ("nothing to optimize", "no cheaper form found" keep a correct, optimal graph)."""
    return outcome not in ("optimized", "nothing to optimize", "kept the input graph (no cheaper form found)")


def note_outcome(rows: list[Row], outcome: str) -> None:
    """Show an outcome other than "optimized" on the egopt row (counted, but visible)."""
    if outcome != "optimized":
        for r in rows:
            if r.system == "egopt" and r.status == OK:
                r.notes = f"{r.notes}; optimizer: {outcome}".lstrip("; ")


def fallback_row(workload: str, case: str, ctx: Context, outcome: str) -> Row:
    return Row(workload, case, "egopt", ctx.threads, status=FALLBACK,
               notes=f"optimizer outcome: {outcome!r}; not counted")


# ---- ratios --------------------------------------------------------------------------------------------
def add_ratios(rows: list[Row]) -> None:
    """metrics['x_numpy'] and metrics['x_best'] (median over NumPy's / over the fastest contender's
    median in the same workload, case and thread count; references are not contenders)."""
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        if r.median_s is not None:
            groups.setdefault((r.workload, r.case, r.threads), []).append(r)
    for g in groups.values():
        contenders = [r for r in g if not r.reference]
        best = min((r.median_s for r in contenders), default=None)
        numpy_row = next((r for r in g if r.system == "numpy"), None)
        for r in g:
            if numpy_row is not None:
                r.metrics["x_numpy"] = r.median_s / numpy_row.median_s
            if best:
                r.metrics["x_best"] = r.median_s / best
