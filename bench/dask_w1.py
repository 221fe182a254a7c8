"""W1 on Dask arrays: egopt.dask.map against dask.array with NumPy functions, in the same run.

    W1 = exp(-x**2/2) * sin(y) + log1p(|x*y|) / (1 + z**2),   x, y: (rows, cols), z: (cols,)

The arrays are made inside the tasks (uniform random, chunked by rows), far larger than one
chunk; each contender reduces W1 to its sum so nothing of its size is kept. egopt compiles
``sum(W1)`` once: each block runs the compiled W1 fused with its partial sum, and Dask's
tree reduction combines the partials. Runs on the threaded scheduler, then on LocalClusters
of 1 and 2 worker processes (1 thread each). Timings on a shared machine are noisy: compare
the ratios within one run.

    python -m bench.dask_w1 --elements 4e8 --chunk 1e7
"""
from __future__ import annotations

import argparse
import os
import time


def inputs(elements: float, chunk: float, cols: int = 10_000, seed: int = 0):
    import dask.array as da
    rows = int(elements) // cols
    crow = max(1, int(chunk) // cols)
    rs = da.random.RandomState(seed)
    x = rs.random_sample((rows, cols), chunks=(crow, cols))
    y = rs.random_sample((rows, cols), chunks=(crow, cols)) * 4 - 2
    z = rs.random_sample((cols,), chunks=cols)
    return x, y, z


def numpy_w1(x, y, z):
    import dask.array as da
    return (da.exp(-x ** 2 / 2) * da.sin(y) + da.log1p(abs(x * y)) / (1 + z ** 2)).sum()


def egopt_w1(x, y, z):
    import egopt
    import egopt.dask
    import egopt.tensor as T
    X, Y, Z = T.dmatrix("x"), T.dmatrix("y"), T.dvector("z")
    w1 = T.exp(-X ** 2 / 2) * T.sin(Y) + T.log1p(abs(X * Y)) / (1 + Z ** 2)
    f = egopt.function([X, Y, Z], w1.sum())
    return egopt.dask.map(f, x, y, z)


def _time(expr, compute) -> tuple[float, float]:
    t0 = time.perf_counter()
    value = float(compute(expr))
    return time.perf_counter() - t0, value


def run(elements: float, chunk: float, workers=(1, 2), repeat: int = 1) -> list[dict]:
    import dask
    from distributed import Client, LocalCluster
    x, y, z = inputs(elements, chunk)
    exprs = {"dask+numpy": numpy_w1(x, y, z), "egopt.dask": egopt_w1(x, y, z), "inputs only": (x + y).sum() + z.sum()}
    rows = []

    small = inputs(chunk, chunk)
    warm = [numpy_w1(*small), egopt_w1(*small)]      # same kernels: workers import and build them here

    def measure(where, compute):
        for e in warm:
            compute(e)
        for name, e in exprs.items():
            best = min((_time(e, compute) for _ in range(repeat)), key=lambda tv: tv[0])
            rows.append({"where": where, "contender": name, "seconds": best[0], "value": best[1],
                         "Melem_per_s": elements / best[0] / 1e6})

    with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
        measure(f"threads ({os.cpu_count()})", lambda e: e.compute())
    for n in workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl) as client:
            measure(f"{n} worker process{'es' if n > 1 else ''}", lambda e: client.compute(e, sync=True))
    return rows


def format_rows(rows: list[dict], elements: float, chunk: float) -> str:
    lines = [f"W1 on {elements:.3g} elements (float64), chunks of {chunk:.3g} elements; sum of W1 per run",
             f"{'where':<22}{'contender':<14}{'seconds':>9}{'Melem/s':>10}  value"]
    for r in rows:
        lines.append(f"{r['where']:<22}{r['contender']:<14}{r['seconds']:>9.2f}{r['Melem_per_s']:>10.1f}"
                     f"  {r['value']:.10g}")
    by = {(r["where"], r["contender"]): r["seconds"] for r in rows}
    wheres = list(dict.fromkeys(r["where"] for r in rows))
    for w in wheres:
        if (w, "egopt.dask") in by and (w, "dask+numpy") in by:
            lines.append(f"{w}: egopt.dask / dask+numpy time = {by[(w, 'egopt.dask')] / by[(w, 'dask+numpy')]:.2f}")
    procs = [w for w in wheres if "worker" in w]
    if len(procs) >= 2:
        for c in ("dask+numpy", "egopt.dask"):
            lines.append(f"{c}: speed-up {procs[0]} -> {procs[-1]} = {by[(procs[0], c)] / by[(procs[-1], c)]:.2f}x")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=float, default=4e8)
    ap.add_argument("--chunk", type=float, default=1e7, help="elements per chunk")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    rows = run(a.elements, a.chunk, tuple(int(w) for w in a.workers.split(",")), a.repeat)
    print(format_rows(rows, a.elements, a.chunk))


if __name__ == "__main__":
    main()
