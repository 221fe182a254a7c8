"""W5: the per-call overhead of a compiled ``x + y`` on 10-element float64 vectors.

Contenders are called the way a user calls them with NumPy arrays in hand; PyTensor's
``trust_input`` (no input checks) and JAX with inputs already on the device are extra rows.
"""
from __future__ import annotations

import numpy as np

from .harness import (Context, Row, egopt_outcome, fallback_row, interleaved, is_fallback, note_outcome,
                      rows_from_times)


def run(ctx: Context) -> list[Row]:
    import egopt
    import egopt.tensor as T
    case = "x+y float64[10]"
    x, y = np.arange(10.0), np.ones(10)
    fns, notes, rows = {"numpy": lambda: x + y}, {}, []
    a, b = T.dvectors("a", "b")
    f = egopt.function([a, b], a + b)
    outcome = egopt_outcome(f)
    if is_fallback(outcome):
        rows.append(fallback_row("W5", case, ctx, outcome))
    else:
        assert np.array_equal(f(x, y), x + y)
        fns["egopt"] = lambda: f(x, y)
    if "pytensor" in ctx.peers:
        import pytensor
        import pytensor.tensor as pt
        pa, pb = pt.dvector("a"), pt.dvector("b")
        g = pytensor.function([pa, pb], pa + pb)
        fns["pytensor"] = lambda: g(x, y)
        g2 = pytensor.function([pa, pb], pa + pb)
        g2.trust_input = True
        fns["pytensor+trust_input"] = lambda: g2(x, y)
        notes["pytensor+trust_input"] = "no input checks"
    if "jax" in ctx.peers:
        import jax
        h = jax.jit(lambda u, v: u + v)
        jx, jy = jax.device_put(x), jax.device_put(y)
        fns["jax"] = lambda: h(jx, jy).block_until_ready()
        notes["jax"] = "inputs on the device"
        fns["jax+numpy_in"] = lambda: h(x, y).block_until_ready()
    rows += rows_from_times("W5", case, interleaved(fns, ctx.samples, ctx.sample_time), ctx, notes)
    note_outcome(rows, outcome)
    rows += ctx.rows_missing("W5", case)
    return rows
