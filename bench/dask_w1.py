"""W1 on Dask arrays: egopt.dask.map against dask.array with NumPy functions, in the same run.

    W1 = exp(-x**2/2) * sin(y) + log1p(|x*y|) / (1 + z**2),   x, y: (rows, cols), z: (cols,)

The inputs are drawn inside the tasks, block by block (``draw``: x uniform in [0, 1), y in
[-2, 2), z in [0, 1)), far larger than one chunk and never whole in memory; each
contender reduces W1 to its sum, so nothing of its size is kept. egopt compiles ``sum(W1)``
once: each block runs the compiled W1 fused with its partial sum (one task per chunk with the
generation), and Dask's tree reduction combines the partials. "inputs only" times the
generation alone (x + y summed): what both contenders pay before any W1 work.

Where: the threaded scheduler (one thread per core), then LocalClusters of 1 and 2 worker
processes (1 thread each). Per contender and place: the first run ("cold": workers unpickle
and build the kernels then) and the best of ``--repeat`` further runs ("warm"). The one-chunk
line times one chunk's W1 in this process (egopt on one thread, as in a Dask task; NumPy),
the margin the kernels give before generation and Dask's overhead are counted.

Timings on a shared machine are noisy: every figure carries the 1-minute load average before
and after it; compare the ratios within one run. On the clusters, "task s" sums the seconds
the tasks computed (Dask's task stream) and "xfers" counts transfers between workers: the same
work taking more task seconds on 2 workers than on 1 means the cores were not there to scale.

    python -m bench.dask_w1                    # 4e8 elements, chunks of 2e6
    python -m bench.dask_w1 --quick            # 4e6 elements, chunks of 5e5 (seconds)
"""
from __future__ import annotations

import argparse
import os
import time

COLS = 10_000


def draw(which: int, seed: int, low: float, high: float, block_info=None):
    """One block of an input: uniform in [low, high), from a generator seeded by (seed, which
    input, block position), so that a block is the same wherever and whenever it is drawn."""
    import numpy as np
    info = block_info[None]
    rng = np.random.default_rng([seed, which, *info["chunk-location"]])
    return rng.uniform(low, high, size=info["chunk-shape"])


def inputs(elements: float, chunk: float, cols: int = COLS, seed: int = 0):
    """x, y (rows, cols) and z (cols,) as lazy Dask arrays drawn per block (row-wise chunks).

    The draws are blockwise layers (``map_blocks`` without array arguments), so Dask fuses each
    block's draws into the task that uses them: no block is drawn by one worker and shipped to
    another, and no input is ever whole in memory (``da.random``'s layers are not fused: on 2
    workers most blocks then travel between them, for both contenders)."""
    import dask.array as da
    import numpy as np
    cols = min(cols, int(elements))
    rows = int(elements) // cols
    crow = max(1, int(chunk) // cols)
    row_chunks = (crow,) * (rows // crow) + ((rows % crow,) if rows % crow else ())
    meta2, meta1 = np.empty((0, 0)), np.empty((0,))
    x = da.map_blocks(draw, 0, seed, 0.0, 1.0, chunks=(row_chunks, (cols,)), dtype=float, meta=meta2)
    y = da.map_blocks(draw, 1, seed, -2.0, 2.0, chunks=(row_chunks, (cols,)), dtype=float, meta=meta2)
    z = da.map_blocks(draw, 2, seed, 0.0, 1.0, chunks=((cols,),), dtype=float, meta=meta1)
    return x, y, z


def numpy_w1(x, y, z):
    import dask.array as da
    return (da.exp(-x ** 2 / 2) * da.sin(y) + da.log1p(abs(x * y)) / (1 + z ** 2)).sum()


def egopt_function():
    import egopt
    import egopt.tensor as T
    X, Y, Z = T.dmatrix("x"), T.dmatrix("y"), T.dvector("z")
    w1 = T.exp(-X ** 2 / 2) * T.sin(Y) + T.log1p(abs(X * Y)) / (1 + Z ** 2)
    return egopt.function([X, Y, Z], w1.sum())


def egopt_w1(x, y, z, f=None):
    import egopt.dask
    return egopt.dask.map(f or egopt_function(), x, y, z)


def _load() -> float:
    return os.getloadavg()[0]


def _time(expr, compute, client=None) -> dict:
    """One run: wall seconds, the value, the load before and after; on a cluster also the
    seconds the tasks computed (summed over workers) and the number of transfers between them."""
    import contextlib
    stream = contextlib.nullcontext()
    if client is not None:
        from distributed import get_task_stream
        stream = get_task_stream(client)
    l0 = _load()
    with stream as ts:
        t0 = time.perf_counter()
        value = float(compute(expr))
        seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "value": value, "load": (l0, _load())}
    if ts is not None:
        spans = [s for t in ts.data for s in t["startstops"]]
        out["task_s"] = sum(s["stop"] - s["start"] for s in spans if s["action"] == "compute")
        out["transfers"] = sum(s["action"] == "transfer" for s in spans)
    return out


def one_chunk(chunk: float, samples: int = 5) -> dict:
    """Seconds per element of W1 on one in-memory chunk: egopt (1 thread, as inside a Dask task),
    NumPy, and the generation of x and y (NumPy's default Generator, as ``draw``)."""
    import numpy as np
    from egopt.dask.kernel import Kernel
    cols = min(COLS, int(chunk))
    shape = (max(1, int(chunk) // cols), cols)
    g = np.random.default_rng(1)
    x, y, z = g.random(shape), g.uniform(-2, 2, shape), g.random(cols)
    k = Kernel.of(egopt_function())
    k(x, y, z)

    def np_w1():
        return (np.exp(-x ** 2 / 2) * np.sin(y) + np.log1p(abs(x * y)) / (1 + z ** 2)).sum()

    out = {}
    l0 = _load()
    for name, fn in (("egopt", lambda: k(x, y, z)), ("numpy", np_w1),
                     ("generation", lambda: (g.random(shape), g.uniform(-2, 2, shape)))):
        best = float("inf")
        for _ in range(samples):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[name] = best / (shape[0] * shape[1])
    out["load"] = (l0, _load())
    return out


def run(elements: float, chunk: float, workers=(1, 2), repeat: int = 1, threads: bool = True,
        log=None) -> list[dict]:
    """Rows of {where, contender, cold, warm, value, ...}; ``log(row)`` is called as each lands."""
    import dask
    from distributed import Client, LocalCluster
    x, y, z = inputs(elements, chunk)
    f = egopt_function()
    exprs = {"dask+numpy": numpy_w1(x, y, z), "egopt.dask": egopt_w1(x, y, z, f),
             "inputs only": (x + y).sum() + z.sum()}
    rows = []

    def measure(where, compute, client=None):
        for name, e in exprs.items():
            cold = _time(e, compute, client)
            warm = [_time(e, compute, client) for _ in range(repeat)]
            best = min(warm, key=lambda r: r["seconds"]) if warm else cold
            row = {"where": where, "contender": name, "cold": cold["seconds"], "cold_load": cold["load"],
                   "seconds": best["seconds"], "load": best["load"], "value": best["value"],
                   "Melem_per_s": elements / best["seconds"] / 1e6,
                   "task_s": best.get("task_s"), "transfers": best.get("transfers")}
            rows.append(row)
            if log:
                log(row)

    if threads:
        with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
            measure(f"threads ({os.cpu_count()})", lambda e: e.compute())
    for n in workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          host="127.0.0.1") as cl, Client(cl) as client:
            measure(f"{n} worker process{'es' if n > 1 else ''}", lambda e: client.compute(e, sync=True), client)
    return rows


def format_row(r: dict) -> str:
    tasks = "" if r.get("task_s") is None else f"{r['task_s']:>8.2f}{r['transfers']:>6d}"
    return (f"{r['where']:<20}{r['contender']:<13}{r['cold']:>8.2f}{r['seconds']:>8.2f}"
            f"{r['Melem_per_s']:>9.1f}  {r['load'][0]:>4.1f}->{r['load'][1]:<4.1f}  {r['value']:<16.12g}{tasks}")


HEADER = (f"{'where':<20}{'contender':<13}{'cold s':>8}{'warm s':>8}{'Melem/s':>9}  {'load':<11}{'sum of W1':<16}"
          f"{'task s':>8}{'xfers':>6}")


def summary(rows: list[dict], chunk_info: dict | None = None) -> str:
    lines = []
    if chunk_info:
        c = chunk_info
        lines.append(f"one chunk, in process: egopt (1 thread) {c['egopt'] * 1e9:.2f} ns/elem, numpy "
                     f"{c['numpy'] * 1e9:.2f} ns/elem ({c['numpy'] / c['egopt']:.2f}x), generation of x, y "
                     f"{c['generation'] * 1e9:.2f} ns/elem; with generation numpy/egopt = "
                     f"{(c['numpy'] + c['generation']) / (c['egopt'] + c['generation']):.2f}x "
                     f"(load {c['load'][0]:.1f}->{c['load'][1]:.1f})")
    by = {(r["where"], r["contender"]): r["seconds"] for r in rows}
    wheres = list(dict.fromkeys(r["where"] for r in rows))
    for w in wheres:
        if (w, "egopt.dask") in by and (w, "dask+numpy") in by:
            lines.append(f"{w}: dask+numpy time / egopt.dask time = "
                         f"{by[(w, 'dask+numpy')] / by[(w, 'egopt.dask')]:.2f}x (warm)")
    procs = [w for w in wheres if "worker" in w]
    if len(procs) >= 2:
        for c in ("dask+numpy", "egopt.dask", "inputs only"):
            if (procs[0], c) in by and (procs[-1], c) in by:
                line = f"{c}: speed-up {procs[0]} -> {procs[-1]} = {by[(procs[0], c)] / by[(procs[-1], c)]:.2f}x (warm)"
                work = {w: r["task_s"] for r in rows for w in (procs[0], procs[-1])
                        if r["where"] == w and r["contender"] == c and r.get("task_s")}
                if len(work) == 2:
                    line += (f"; task seconds {work[procs[0]]:.2f} -> {work[procs[-1]]:.2f} (the same work: a rise"
                             " means each worker got less than a core)")
                lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=float, default=None, help="elements of x and y (default 4e8)")
    ap.add_argument("--chunk", type=float, default=None, help="elements per chunk (default 2e6)")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=1, help="warm runs after the cold one")
    ap.add_argument("--no-threads", action="store_true", help="skip the threaded scheduler")
    ap.add_argument("--quick", action="store_true", help="4e6 elements in chunks of 5e5 (seconds)")
    a = ap.parse_args(argv)
    elements = a.elements or (4e6 if a.quick else 4e8)
    chunk = a.chunk or (5e5 if a.quick else 2e6)
    print(f"W1 on {elements:.3g} float64 elements ({elements * 8 / 2**30:.1f} GiB per input), chunks of "
          f"{chunk:.3g} elements; {os.cpu_count()} cores; load = 1-minute load average before->after",
          flush=True)
    info = one_chunk(chunk)
    print(summary([], info), flush=True)
    print(HEADER, flush=True)
    rows = run(elements, chunk, tuple(int(w) for w in a.workers.split(",") if w), a.repeat,
               threads=not a.no_threads, log=lambda r: print(format_row(r), flush=True))
    print(summary(rows))


if __name__ == "__main__":
    main()
