"""The one script to run when a GPU is lent (docs/gpu.md): it must finish in under 8 minutes.

    python -m bench.gpu_check [--wheelhouse DIR] [--no-install] [--skip-tests] [--out docs/gpu-results.md]

1. cupy: installs the ``cuda`` extra's wheel (pyproject.toml) unless it imports already
   (``--wheelhouse DIR``: from local wheels, for a machine without network).
2. Stops with a clear message unless cupy finds a device (egopt.runtime.cuda.unavailable_reason).
3. The CUDA tests with the real cupy (``EGOPT_TEST_REAL_CUPY=1``; nvcc compile checks too).
4. W1 (1e7 elements, float32 and float64) against CuPy-eager, with a device copy kernel as the
   bandwidth floor (W1 moves 4 arrays, a copy 2: floor = 2 x copy time); W3 (MLP SGD step,
   784->500->10, batch 128, float32) against the same step written eagerly in CuPy.
   Every contender's result is compared with egopt's before timing.
5. Writes the table, with the date and the card, to ``--out``, and the tests' whole output to
   ``gpu-tests.log`` beside it.
Exit status: 0 when all ran, 2 when cupy or a device is missing, 1 when tests failed.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 8 * 60
TESTS = ["tests/runtime/test_cuda_program.py", "tests/codegen/test_cuda_render.py", "tests/runtime/test_backends.py"]


def cuda_extra() -> list[str]:
    """The requirement strings of pyproject's ``cuda`` extra."""
    import tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return meta["project"]["optional-dependencies"]["cuda"]


def ensure_cupy(wheelhouse: str | None, install: bool) -> None:
    try:
        importlib.import_module("cupy")
        return
    except ImportError as e:
        if not install:
            print(f"gpu_check: cupy not installed ({e}); run without --no-install, or: "
                  f"pip install {' '.join(cuda_extra())}", file=sys.stderr)
            sys.exit(2)
    cmd = [sys.executable, "-m", "pip", "install", "-q", *cuda_extra()]
    if wheelhouse:
        cmd[4:4] = ["--no-index", "--find-links", wheelhouse]
    print("gpu_check:", " ".join(cmd), flush=True)
    if subprocess.run(cmd, timeout=180).returncode != 0:
        print("gpu_check: installing cupy failed (see pip's message above; without network, "
              "pass --wheelhouse with a cupy-cuda13x wheel)", file=sys.stderr)
        sys.exit(2)
    importlib.invalidate_caches()


def require_device() -> str:
    from egopt.runtime.cuda import unavailable_reason
    missing = unavailable_reason("cuda")
    if missing is not None:
        print(f"gpu_check: no device: {missing}", file=sys.stderr)
        sys.exit(2)
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return f"{name}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, cupy {cupy.__version__}"


def run_tests(timeout: float, log: Path) -> tuple[bool, str]:
    """Run the CUDA tests on the card; their whole output goes to ``log`` (a device lease is
    short: a failure must be readable afterwards without another run)."""
    env = dict(os.environ, EGOPT_TEST_REAL_CUPY="1")
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", *TESTS],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        log.write_text(str(e.stdout or "") + str(e.stderr or ""))
        return False, f"over {timeout:.0f} s (partial output in {log.name})"
    log.write_text(r.stdout + r.stderr)
    tail = (r.stdout + r.stderr).strip().splitlines()
    return r.returncode == 0, tail[-1] if tail else "(no output)"


def device_time(fn, batches: int = 5, reps: int = 20) -> float:
    """Seconds per call of ``fn``: CUDA events around ``reps`` back-to-back calls (the host's
    per-call work overlaps the device's when the device is the slower), median of ``batches``,
    after 3 warm-up calls."""
    import cupy as cp
    for _ in range(3):
        fn()
    times = []
    for _ in range(batches):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3 / reps)
    return float(np.median(times))


def w1(n: int, dtype: str) -> list[tuple]:
    import cupy as cp
    import egopt
    import egopt.tensor as T
    rng = np.random.default_rng(0)
    x, y, z = (cp.asarray(rng.standard_normal(n).astype(dtype)) for _ in range(3))
    X, Y, Z = (T.vector(s, dtype=dtype) for s in "xyz")
    expr = T.exp(-X ** 2 / 2) * T.sin(Y) + T.log1p(abs(X * Y)) / (1 + Z ** 2)
    f = egopt.function([X, Y, Z], expr, mode=egopt.Mode(linker="cuda", options={"device_outputs": True}))

    def eager():
        return cp.exp(-x ** 2 / 2) * cp.sin(y) + cp.log1p(cp.abs(x * y)) / (1 + z ** 2)
    dst = cp.empty_like(x)
    err = float(cp.max(cp.abs(f(x, y, z) - eager())))
    t_copy = device_time(lambda: cp.copyto(dst, x))
    floor = 2 * t_copy                        # W1 reads 3 arrays and writes 1; a copy reads 1, writes 1
    rows = []
    for name, fn in [("egopt (fused CUDA kernel)", lambda: f(x, y, z)), ("CuPy eager", eager)]:
        t = device_time(fn)
        rows.append((f"W1 {n:.0e} {dtype}", name, t * 1e3, t / floor, f"max |egopt - CuPy| {err:.1e}"))
    rows.append((f"W1 {n:.0e} {dtype}", "copy kernel x 2 (bandwidth floor)", floor * 1e3, 1.0,
                 f"{2 * x.nbytes / t_copy / 1e9:.0f} GB/s copy"))
    return rows


def w3() -> list[tuple]:
    import cupy as cp
    import egopt
    import egopt.tensor as T
    sys.path.insert(0, str(ROOT))
    from bench.w23_training import LR, mlp, mnist_like
    rng = np.random.default_rng(2)
    P0 = [(rng.standard_normal((784, 500)) * 0.05).astype("float32"), np.zeros(500, "float32"),
          (rng.standard_normal((500, 10)) * 0.05).astype("float32"), np.zeros(10, "float32")]
    xh, yh = mnist_like(128)
    x, y = cp.asarray(xh), cp.asarray(yh)
    with egopt.config.change_flags(device="cuda"):
        ins, cost, upd, params = mlp(T, egopt.shared, T.grad, T.nnet.softmax, "float32", *P0)
        f = egopt.function(ins, cost, updates=upd,
                           mode=egopt.Mode(linker="cuda", options={"device_outputs": True}))
    P = [cp.asarray(p) for p in P0]
    r = cp.arange(128)
    lr = np.float32(LR)

    def eager():
        W1, b1, W2, b2 = P
        h = cp.tanh(x @ W1 + b1)
        z = h @ W2 + b2
        e = cp.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        c = -cp.log(p[r, y]).mean()
        p[r, y] -= 1
        p /= 128
        dh = (p @ W2.T) * (1 - h * h)
        W2 -= lr * (h.T @ p)
        b2 -= lr * p.sum(axis=0)
        W1 -= lr * (x.T @ dh)
        b1 -= lr * dh.sum(axis=0)
        return c
    f(x, y)
    eager()
    dP = max(float(cp.max(cp.abs(q.get_value(return_internal_type=True) - p))) for q, p in zip(params, P))
    rows = []
    for name, fn in [("egopt (device=cuda)", lambda: f(x, y)), ("CuPy eager", eager)]:
        t = device_time(fn)
        rows.append(("W3 MLP step f32", name, t * 1e3, None, f"dP after one step {dP:.1e}"))
    base = rows[1][2]
    return [(w, n, ms, ms / base, note) for w, n, ms, _, note in rows]


def write(out: Path, card: str, tests: str, rows: list[tuple]) -> None:
    lines = [f"# GPU results ({datetime.date.today().isoformat()})", "",
             f"Card: {card}. Produced by `python -m bench.gpu_check`; ms per call: CUDA events around 20 "
             "back-to-back calls, median of 5 batches (inputs already on the device; egopt's outputs "
             "kept there with `device_outputs`, so no copy to the host is timed).", "",
             f"CUDA tests with the real cupy: {tests}", "",
             "| workload | contender | ms | ratio | note |", "|---|---|---|---|---|"]
    for w, name, ms, ratio, note in rows:
        lines.append(f"| {w} | {name} | {ms:.3f} | {'' if ratio is None else f'{ratio:.2f}'} | {note} |")
    lines += ["", "W1 ratio: time / bandwidth floor (target <= 1.3). W3 ratio: time / CuPy eager's "
              "(target < 1)."]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheelhouse")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "docs" / "gpu-results.md"))
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    ensure_cupy(a.wheelhouse, not a.no_install)
    card = require_device()
    print("gpu_check: device:", card, flush=True)
    ok, summary = True, "not run (--skip-tests)"
    if not a.skip_tests:
        ok, summary = run_tests(timeout=max(30.0, BUDGET_S - 150 - (time.monotonic() - t0)),
                                log=Path(a.out).with_name("gpu-tests.log"))
        print("gpu_check: tests:", summary, flush=True)
    rows = []
    for dtype in ("float32", "float64"):
        rows += w1(10 ** 7, dtype)
    rows += w3()
    write(Path(a.out), card, summary, rows)
    print(f"gpu_check: done in {time.monotonic() - t0:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
