"""The workloads ``egopt bench`` knows, by id (``egopt bench --only W1,W5``).

To add a workload, add one ``Workload`` line. Its ``target`` is ``module:function``:

- a function ``f(ctx: bench.harness.Context) -> list[bench.harness.Row]`` is called in the
  bench process (its rows get ratios, the table, JSON, markdown and chart like the built-in ones);
  for the hooks below the name is ``bench_rows``, so that a script's own ``run(...)`` is not
  mistaken for it;
- a module without that function is run as a script (``python -m module *args``, or
  ``*quick_args`` with --quick) and its printed output goes into the report as a section of its
  own. The script can also read EGOPT_BENCH_QUICK=1 and EGOPT_BENCH_THREADS (1 or the core
  count; BLAS/OpenMP/XLA are already pinned to it) from the environment.

A target module that does not exist yet is reported as missing, not an error.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    target: str                 # "module:function"
    per_thread: bool = True     # run once per thread setting (False: run once, in the 1-thread process)
    args: tuple[str, ...] = ()          # command-line arguments when run as a script
    quick_args: tuple[str, ...] = ()    # the same, with --quick


REGISTRY: dict[str, Workload] = {w.id: w for w in (
    Workload("W1", "fused elementwise chain", "bench.w1_chain:run"),
    Workload("W2", "softmax regression SGD step (digits)", "bench.w23_training:run_w2"),
    Workload("W3", "MLP 784-500-10 tanh SGD step", "bench.w23_training:run_w3"),
    Workload("W4", "tanh RNN T=100 + BPTT (scan)", "bench.w4_rnn:bench_rows", quick_args=("--repeat", "3")),
    Workload("W5", "per-call overhead, x+y on 10 elements", "bench.w5_overhead:run"),
    Workload("W6", "compile to first result, cold and warm (new process)", "bench.w6_compile:run_w6",
             per_thread=False),
    Workload("W8", "compile to first result, random model graph + gradient", "bench.w6_compile:run_w8",
             per_thread=False),
    Workload("CT", "graph -> callable vs PyTensor's rewriter (no call)", "bench.compile_time:run_ct",
             per_thread=False),
    Workload("LENET", "LeNet conv/pool training step", "bench.lenet:bench_rows"),
    Workload("ACC", "accuracy of naive formulas", "bench.accuracy:bench_rows", per_thread=False,
             quick_args=("--points", "24")),
    Workload("DASK", "W1 chain on Dask arrays", "bench.dask_w1:bench_rows", per_thread=False,
             quick_args=("--elements", "4e6", "--chunk", "1e6", "--workers", "1")),
)}


def select(only: str | None) -> list[Workload]:
    """The workloads named in ``only`` (comma-separated ids, any case), or all of them."""
    if not only:
        return list(REGISTRY.values())
    ids = [s.strip().upper() for s in only.split(",") if s.strip()]
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise SystemExit(f"egopt bench: unknown workload(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return [REGISTRY[i] for i in ids]
