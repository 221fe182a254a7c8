"""bench/dask_w1.py at a small size: both contenders compute the same sum of W1 on lazily
generated inputs (the bench's figures are measured by running it, never asserted here)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.array", reason="egopt[dask] is not installed (pip install egopt[dask])")
pytest.importorskip("distributed", reason="egopt[dask] is not installed")

import dask  # noqa: E402
from bench import dask_w1  # noqa: E402


def test_quick_bench_contenders_agree_and_inputs_stay_lazy():
    x, y, z = dask_w1.inputs(3e5, 4e4)
    assert x.shape == (30, 10_000) and len(x.chunks[0]) == 8 and x.chunks == y.chunks
    e = dask_w1.egopt_w1(x, y, z)
    # one egopt stage task per chunk (W1 fused with its partial sum), then the tree reduction
    keys = [k for k in dict(e.__dask_graph__()) if isinstance(k, tuple)]
    stage = [k for k in keys if k[0].startswith("egopt-") and not k[0].startswith("egopt-sum")]
    assert len(stage) == 8 and any(k[0].startswith("egopt-sum") for k in keys)
    # Dask fuses each block's draws into the task that runs W1 on it: no input block is a task
    (fused,) = dask.optimize(e)
    assert len(dict(fused.__dask_graph__())) < len(dict(e.__dask_graph__())) - 3 * 8
    rows = dask_w1.run(3e5, 4e4, workers=(), threads=True, repeat=1)
    by = {r["contender"]: r for r in rows}
    assert set(by) == {"dask+numpy", "egopt.dask", "inputs only"}
    X, Y, Z = (a.compute() for a in (x, y, z))
    ref = (np.exp(-X ** 2 / 2) * np.sin(Y) + np.log1p(abs(X * Y)) / (1 + Z ** 2)).sum()
    assert by["dask+numpy"]["value"] == pytest.approx(ref, rel=1e-12)
    assert by["egopt.dask"]["value"] == pytest.approx(ref, rel=1e-12)
    assert all(r["seconds"] > 0 and len(r["load"]) == 2 for r in rows)
    text = dask_w1.summary(rows, dask_w1.one_chunk(4e4, samples=1))
    assert "dask+numpy time / egopt.dask time" in text and "ns/elem" in text
