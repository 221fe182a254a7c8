"""Random scan bodies: a random elementwise graph of (sequence row, state, non-sequence) as the
step, run by scan (optimized, default linker) against a Python loop over the unoptimized step,
and its gradients with respect to the sequence, the initial state and the non-sequence against
the unoptimized graph's. Slow (a compiled loop per example): ``make test-slow``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note, settings, strategies as st

import egopt
import egopt.tensor as T
from egopt import testing
from egopt.lang.graph import clone_replace

KINDS = ["unary", "binary", "binary", "const", "pattern", "reduce", "index", "compare", "clip", "reduce2"]


@pytest.mark.slow
@settings(max_examples=300)
@given(testing.graphs(max_inputs=3, max_steps=6, kinds=KINDS), st.integers(1, 3), st.integers(1, 4),
       st.integers(0, 2 ** 16))
def test_random_scan_bodies(graph, side, steps, seed):
    s, h, w = T.dvector("s"), T.dvector("h"), T.dvector("w")
    if any(v.ndim > 1 for v in graph.inputs) or graph.outputs[0].ndim > 1:
        return
    subs = {v: (r if v.ndim == 1 else r[0]) for v, r in zip(graph.inputs, [h, s, w])}
    out = clone_replace([graph.outputs[0]], subs)[0]
    step = T.tanh(out + T.zeros_like(h))      # a bounded state of the shape of h
    note(f"step: {egopt.printing.pp(step)}")
    X, h0, W = T.dmatrix("X"), T.dvector("h0"), T.dvector("W")
    res, _ = egopt.scan(lambda a, b, c: clone_replace([step], {s: a, h: b, w: c})[0],
                        sequences=X, outputs_info=h0, non_sequences=W)
    grads = T.grad(res.sum() + (res[-1] ** 2).sum(), [X, h0, W], disconnected_inputs="ignore")
    rng = np.random.default_rng(seed)
    Xv, h0v, Wv = rng.uniform(-2, 2, (steps, side)), rng.uniform(-2, 2, side), rng.uniform(-2, 2, side)
    body = egopt.function([s, h, w], step, mode="FAST_COMPILE", on_unused_input="ignore")
    with np.errstate(all="ignore"):
        ref, state = [], h0v
        for t in range(steps):
            state = np.asarray(body(Xv[t], state, Wv), dtype=np.float64)
            ref.append(state)
        if not np.isfinite(ref).all():
            return
        got = egopt.function([X, h0, W], [res] + grads, on_unused_input="ignore")(Xv, h0v, Wv)
        want = egopt.function([X, h0, W], grads, mode="FAST_COMPILE", on_unused_input="ignore")(Xv, h0v, Wv)
    np.testing.assert_allclose(got[0], np.array(ref), rtol=1e-9, atol=1e-12)
    for g, r in zip(got[1:], want):
        if np.isfinite(r).all():
            np.testing.assert_allclose(g, r, rtol=1e-7, atol=1e-9)
