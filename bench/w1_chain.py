"""W1: the fused elementwise chain ``exp(-x**2/2)*sin(y) + log1p(abs(x*y))/(1+z**2)``.

Contenders: egopt, NumPy, PyTensor, JAX. Yardsticks in the same run: the hand-written C loop in
three builds (bench/cref.py) and the triad kernel with the same bytes moved. Every system's
output is checked against a long-double reference (max error in ulp of the output dtype).
"""
from __future__ import annotations

import numpy as np

from .harness import (ERROR, Context, Row, egopt_outcome, fallback_row, interleaved, is_fallback, note_outcome,
                      rows_from_times)

CHUNK = 1 << 20


def reference(x, y, z) -> tuple[np.ndarray, np.ndarray]:
    """The formula in long double, and the scale its error is measured in: |first term| +
    |second term| (chunked to keep memory modest).

    Why that scale: the two terms cancel for some inputs, and there even a correctly rounded
    evaluation of each term is many ulp of the (tiny) result away. In ulp of |a|+|b| a correct
    evaluation stays within a few units, so the figure shows the quality of exp/sin/log1p.
    """
    out = np.empty(x.shape, np.longdouble)
    scale = np.empty(x.shape, np.longdouble)
    for s in range(0, x.size, CHUNK):
        a, b, c = (v[s:s + CHUNK].astype(np.longdouble) for v in (x, y, z))
        t1, t2 = np.exp(-a * a / 2) * np.sin(b), np.log1p(np.abs(a * b)) / (1 + c * c)
        out[s:s + CHUNK], scale[s:s + CHUNK] = t1 + t2, np.abs(t1) + np.abs(t2)
    return out, scale


def max_ulp(out: np.ndarray, ref: tuple[np.ndarray, np.ndarray]) -> float:
    """max |out - ref| in units of the last place (in out's dtype) of the scale (see reference)."""
    worst = 0.0
    value, scale = ref
    for s in range(0, out.size, CHUNK):
        o = np.asarray(out[s:s + CHUNK])
        ulp = np.spacing(scale[s:s + CHUNK].astype(o.dtype)).astype(np.longdouble)
        with np.errstate(invalid="ignore", divide="ignore"):
            e = np.abs(o.astype(np.longdouble) - value[s:s + CHUNK]) / ulp
        worst = max(worst, float(np.nanmax(e)))
    return worst


FUNCTIONS = ("exp", "sin", "log1p")


def function_ulps(dtype: str, n: int) -> dict[str, float]:
    """egopt's exp, sin and log1p, each compiled alone, in ulp of the correctly rounded result
    (long double reference): the "within 4 ulp" target is about these functions; the formula's
    own error (above) also carries the rounding of its + * / steps."""
    import egopt
    import egopt.tensor as T
    rng = np.random.default_rng(1)
    args = {"exp": rng.uniform(-80, 80, n), "sin": rng.uniform(-100, 100, n), "log1p": rng.uniform(-0.99, 1e4, n)}
    out = {}
    for name in FUNCTIONS:
        a = args[name].astype(dtype)
        v = T.vector("a", dtype=dtype)
        f = egopt.function([v], getattr(T, name)(v))
        got = np.asarray(f(a))
        ref = getattr(np, name)(a.astype(np.longdouble))
        ulp = np.spacing(np.abs(ref.astype(dtype))).astype(np.longdouble)
        out[name] = float(np.max(np.abs(got.astype(np.longdouble) - ref) / ulp))
    return out


def sizes(ctx: Context) -> list[int]:
    if ctx.smoke:
        return [1000]
    return [10**6] if ctx.quick else [10**6, 10**7]


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    libs = _c_libs(rows, ctx)
    for n in sizes(ctx):
        for dtype in ("float32", "float64"):
            rows += _case(ctx, n, dtype, libs)
    return rows


def _c_libs(rows: list[Row], ctx: Context) -> dict:
    from . import cref
    libs = {}
    for v in cref.VARIANTS:
        try:
            libs[v] = cref.build(v)
        except RuntimeError as e:
            rows.append(Row("W1", "all", f"{v} (ref)", ctx.threads, status=ERROR, reference=True, notes=str(e)))
    return libs


def _case(ctx: Context, n: int, dtype: str, libs: dict) -> list[Row]:
    import egopt
    import egopt.tensor as T
    from . import cref
    case = f"N={n:.0e} {dtype}"
    rng = np.random.default_rng(0)
    x, y, z = (rng.standard_normal(n).astype(dtype) for _ in range(3))
    ref = reference(x, y, z)
    fns, notes, metrics, rows = {}, {}, {}, []

    def add(name, fn, note=""):
        err = max_ulp(fn(), ref)
        fns[name], notes[name], metrics[name] = fn, f"{note}err {err:.2g} ulp".strip(), {"max_ulp": err}

    add("numpy", lambda: np.exp(-x**2 / 2) * np.sin(y) + np.log1p(np.abs(x * y)) / (1 + z**2))
    xs, ys, zs = (T.vector(nm, dtype=dtype) for nm in "xyz")
    f = egopt.function([xs, ys, zs], T.exp(-xs**2 / 2) * T.sin(ys) + T.log1p(abs(xs * ys)) / (1 + zs**2))
    outcome = egopt_outcome(f)
    if is_fallback(outcome):
        rows.append(fallback_row("W1", case, ctx, outcome))
    else:
        add("egopt", lambda: f(x, y, z))
    if "pytensor" in ctx.peers:
        import pytensor
        import pytensor.tensor as pt
        px, py, pz = (pt.vector(nm, dtype=dtype) for nm in "xyz")
        g = pytensor.function([px, py, pz], pt.exp(-px**2 / 2) * pt.sin(py) + pt.log1p(abs(px * py)) / (1 + pz**2))
        add("pytensor", lambda: g(x, y, z))
    if "jax" in ctx.peers:
        import jax
        import jax.numpy as jnp
        h = jax.jit(lambda a, b, c: jnp.exp(-a**2 / 2) * jnp.sin(b) + jnp.log1p(jnp.abs(a * b)) / (1 + c**2))
        jx, jy, jz = (jax.device_put(v) for v in (x, y, z))
        add("jax", lambda: np.asarray(h(jx, jy, jz).block_until_ready()))
        fns["jax"] = lambda: h(jx, jy, jz).block_until_ready()
    out = np.empty_like(x)
    for v, lib in libs.items():
        k = cref.kernel(lib, "chain", dtype, ctx.threads)
        add(f"{v} (ref)", lambda k=k: k(x, y, z, out), f"{cref.SHORT[v]}; ")
        metrics[f"{v} (ref)"]["flags"] = cref.flags(v)
    if "c_O3" in libs:
        tri = cref.kernel(libs["c_O3"], "triad", dtype, ctx.threads)
        fns["triad (ref)"] = lambda: tri(x, y, z, out)
        notes["triad (ref)"] = "o=a+b*c, same bytes"
    times = interleaved(fns, ctx.samples, ctx.sample_time)
    rows += rows_from_times("W1", case, times, ctx, notes, metrics,
                            references=tuple(k for k in fns if k.endswith("(ref)")))
    if "triad (ref)" in times:
        floor = min(times["triad (ref)"])
        nbytes = 4 * n * np.dtype(dtype).itemsize
        for r in rows:
            if r.min_s is not None:
                r.metrics["x_bound"] = r.min_s / floor
        next(r for r in rows if r.system == "triad (ref)").notes += f", {nbytes / floor / 1e9:.1f} GB/s"
    egopt_row = next((r for r in rows if r.system == "egopt" and r.status == "ok"), None)
    if egopt_row is not None:
        fu = function_ulps(dtype, min(n, 10**5))
        egopt_row.metrics["function_ulp"] = fu
        egopt_row.notes += "; " + ", ".join(f"{k} {v:.2g}" for k, v in fu.items()) + " ulp alone"
    note_outcome(rows, outcome)
    rows += ctx.rows_missing("W1", case)
    return rows
