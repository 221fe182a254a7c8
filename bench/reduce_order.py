"""Fused reductions over outer axes (a bias gradient's ``sum(x, axis=0)``) against NumPy.

Not part of ``make bench``: a quick before/after check of the C reduction kernels' loop order.
One thread by default, interleaved samples (every contender once per round, in turn), medians per call.
Run: ``.venv/bin/python -m bench.reduce_order [--rounds 30] [--threads 1]``.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _cases():
    import egopt.tensor as T
    rng = np.random.default_rng(0)
    out = []
    for shape, dt in [((128, 500), "float32"), ((600, 10), "float64")]:
        x = rng.standard_normal(shape).astype(dt)
        g = rng.standard_normal(shape).astype(dt)
        v, w = T.matrix("v", dtype=dt), T.matrix("w", dtype=dt)
        out.append((f"sum(x,0) {dt}{shape}", [v], T.sum(v, axis=0), (x,), lambda x: np.sum(x, axis=0)))
        out.append((f"sum((1-h*h)*g,0) {dt}{shape}", [v, w], T.sum((1 - v * v) * w, axis=0), (x, g),
                    lambda h, g: np.sum((1 - h * h) * g, axis=0)))
    for axis in [(0, 2), (0, 1)]:
        x = rng.standard_normal((32, 64, 128))
        t = T.tensor(dtype="float64", shape=(None, None, None), name="t")
        out.append((f"sum(x,{axis}) float64(32,64,128)", [t], T.sum(t, axis=axis), (x,),
                    lambda x, axis=axis: np.sum(x, axis=axis)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--calls", type=int, default=200, help="calls per sample")
    ap.add_argument("--threads", type=int, default=1, help="egopt's OpenMP threads (NumPy's sums use one)")
    args = ap.parse_args()
    import egopt
    egopt.config.threads = args.threads
    print(f"{'case':40s} {'egopt us':>10s} {'numpy us':>10s} {'ratio':>7s}  kernels")
    for name, ins, out, vals, ref in _cases():
        f = egopt.function(ins, out)
        np.testing.assert_allclose(f(*vals), ref(*vals), rtol=1e-4, atol=1e-4)
        fns = {"egopt": lambda: f(*vals), "numpy": lambda: ref(*vals)}
        times = {k: [] for k in fns}
        for r in range(args.rounds):
            for k in (list(fns) if r % 2 else list(fns)[::-1]):
                fn = fns[k]
                t0 = time.perf_counter()
                for _ in range(args.calls):
                    fn()
                times[k].append((time.perf_counter() - t0) / args.calls * 1e6)
        me, mn = np.median(times["egopt"]), np.median(times["numpy"])
        prog = getattr(f, "program", None)
        print(f"{name:40s} {me:10.2f} {mn:10.2f} {me / mn:7.2f}  {getattr(prog, 'kernel_count', '?')}")


if __name__ == "__main__":
    main()
