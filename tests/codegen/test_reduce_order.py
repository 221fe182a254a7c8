"""Reductions against NumPy over dtypes, kinds, axes, keepdims and memory layouts.

The C renderer folds a reduction in one of two orders, chosen per call from the strides: rows
(the innermost axis kept and unit-stride in every buffer: an accumulator row per block of
output elements, NumPy's order for ``sum(x, axis=0)``) or per output element (the reduced
axes innermost: transposed and strided views, an innermost axis that is reduced). Contiguous,
transposed, sliced and reversed inputs exercise both. The functions follow the suite's linker
(``--linker=c|py``); the thread-count test is the C linker's.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.compile import find_compiler
from egopt.codegen.render_c import CRenderer
from egopt.lang.errors import OpRuntimeError

PLAIN = egopt.Mode(None, "auto")       # no optimizer (kernels see the graph as written); the suite's linker
KINDS = ["sum", "prod", "max", "min", "mean", "all", "any"]
DTYPES = ["float32", "float64", "int32", "int64", "bool"]
needs_cc = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")


def _data(rng, shape, dtype, kind):
    """Values whose reductions are exact in integers and well conditioned in floats."""
    if dtype == "bool":
        return rng.random(shape) > 0.3
    if kind == "prod":
        if dtype.startswith("float"):
            return rng.uniform(0.5, 1.5, shape).astype(dtype)
        return rng.choice(np.array([-1, 1, 1, 1, 2], dtype=dtype), shape)
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-50, 50, shape).astype(dtype)


def _layouts(rng, shape, dtype, kind):
    """The same logical array ``shape`` as a C-contiguous array and as views: transposed (F
    order), strided along the innermost axis, offset slices on every axis (unit stride inside),
    and reversed along the first axis."""
    d = len(shape)
    yield "contiguous", _data(rng, shape, dtype, kind)
    yield "transposed", _data(rng, shape[::-1], dtype, kind).T
    yield "strided", _data(rng, shape[:-1] + (2 * shape[-1],), dtype, kind)[..., ::2]
    big = _data(rng, tuple(s + 2 for s in shape), dtype, kind)
    yield "sliced", big[tuple(slice(1, 1 + s) for s in shape)]
    yield "reversed", _data(rng, shape, dtype, kind)[::-1]
    if d >= 3:
        yield "swapped", np.ascontiguousarray(_data(rng, shape, dtype, kind).swapaxes(0, 1)).swapaxes(0, 1)


def _check(got, want, out_dtype, what):
    assert got.shape == want.shape, what
    assert got.dtype.name == out_dtype, what
    if got.dtype.kind == "f":
        tol = 2e-5 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=str(what))
    else:
        np.testing.assert_array_equal(got, want, err_msg=str(what))


def _axes_variants(d, every):
    """Every axes combination up to 3-D (``every``), else those that keep the innermost axis
    (the row order's) and two that do not; 4-D only when ``every``."""
    subsets = [c for r in range(1, d + 1) for c in itertools.combinations(range(d), r)]
    if d == 4 or not every:
        subsets = [c for c in subsets if d - 1 not in c] + [(d - 1,), (0, d - 1)]
    return [None] + [a[0] if len(a) == 1 else a for a in subsets]


@pytest.mark.parametrize("kind", KINDS)
def test_reductions_match_numpy_on_every_layout(kind):
    """Axes combinations of 2-D, 3-D and 4-D arrays (all up to 3-D in two dtypes), keepdims,
    five dtypes: one function (one library) per kind."""
    rng = np.random.default_rng(10)
    dtypes = [dt for dt in DTYPES if not (kind in ("all", "any") and dt.startswith("int"))]
    shapes = {2: (7, 37), 3: (5, 6, 19), 4: (3, 4, 2, 21)}
    cases, ins, outs = [], [], []
    for dt in dtypes:
        every = dt in ("float64", "int32", "bool")
        for d, shape in shapes.items():
            if d == 4 and not every:
                continue
            v = T.tensor(dtype=dt, shape=(None,) * d, name=f"x{d}_{dt}")
            ins.append(v)
            for i, axis in enumerate(_axes_variants(d, every)):
                keepdims = bool(i % 2)
                outs.append(getattr(T, kind)(v, axis=axis, keepdims=keepdims))
                cases.append((len(ins) - 1, dt, shape, axis, keepdims))
    f = egopt.function(ins, outs, mode=PLAIN)
    for name in ["contiguous", "transposed", "strided", "sliced", "reversed", "swapped"]:
        vals = []
        for v in ins:
            d, dt = v.ndim, v.dtype
            layouts = dict(_layouts(rng, shapes[d], dt, kind))
            vals.append(layouts.get(name, layouts["contiguous"]))
        for (i, dt, shape, axis, keepdims), out, got in zip(cases, outs, f(*vals)):
            want = getattr(np, kind)(vals[i], axis=axis, keepdims=keepdims)
            _check(got, want, out.dtype, (name, dt, shape, axis, keepdims))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_min_propagate_nan_in_either_order(dtype):
    """NumPy's max/min return NaN for a line with a NaN anywhere in it (first, middle, last)."""
    rng = np.random.default_rng(11)
    v = T.tensor(dtype=dtype, shape=(None, None, None), name="x")
    axes = [0, 1, 2, (0, 1), (0, 2), (1, 2), None]
    outs = [getattr(T, k)(v, axis=a) for k in ("max", "min") for a in axes]
    f = egopt.function([v], outs, mode=PLAIN)
    a = rng.standard_normal((6, 5, 40)).astype(dtype)
    a[0, 0, 3] = a[5, 4, 7] = a[2, 3, 39] = a[3, 2, 0] = np.nan
    a[1, 1, :] = np.nan
    for arr in (a, np.asfortranarray(a), a[:, ::-1]):
        for (k, ax), got in zip([(k, ax) for k in ("max", "min") for ax in axes], f(arr)):
            want = getattr(np, k)(arr, axis=ax)
            np.testing.assert_array_equal(got, want, err_msg=f"{k} {ax}")      # NaN where NumPy has NaN


@pytest.mark.parametrize("kind", ["sum", "prod", "mean", "max", "min"])
def test_empty_reductions(kind):
    """No reduced element: sum 0, prod 1, mean NaN, max/min an error naming the op; no output
    element: an empty result."""
    v = T.dmatrix("v")
    f = egopt.function([v], getattr(T, kind)(v, axis=0, keepdims=True), mode=PLAIN)
    g = egopt.function([v], getattr(T, kind)(v, axis=1), mode=PLAIN)
    assert f(np.zeros((3, 0))).shape == (1, 0)
    assert g(np.zeros((0, 5))).shape == (0,)
    empty = np.zeros((0, 5))
    if kind in ("max", "min"):
        with pytest.raises(OpRuntimeError, match=f"{kind}.*no identity"):
            f(empty)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # NumPy's mean of nothing warns (the py linker's too)
        want = getattr(np, kind)(empty, axis=0, keepdims=True)
        got = f(empty)
    np.testing.assert_array_equal(got, want)


def test_fused_body_with_broadcast_inputs():
    """A fused reduction (the optimizer's fused_reduce) whose body reads a full matrix, a row
    and a column broadcast over it (stride 0) and a scalar: MLP bias gradients."""
    rng = np.random.default_rng(12)
    for dt, tol in (("float32", 2e-5), ("float64", 1e-12)):
        h, g = T.matrix("h", dtype=dt), T.matrix("g", dtype=dt)
        row = T.tensor(dtype=dt, shape=(1, None), name="row")
        col = T.tensor(dtype=dt, shape=(None, 1), name="col")
        s = T.scalar("s", dtype=dt)
        outs = [T.sum((1 - h * h) * g, axis=0),
                T.sum(h * row + col * s, axis=0, keepdims=True),
                T.max(T.exp(h) * col - row, axis=0),
                T.mean((h - row) ** 2, axis=0)]
        f = egopt.function([h, g, row, col, s], outs)
        assert f.optimization_report().outcome == "optimized"
        if f.linker == "c":
            assert f.program.kernel_count == len(outs)        # one fused kernel each
        for shape in [(128, 500), (600, 10), (3, 1), (1, 37)]:
            H = rng.uniform(-1, 1, shape).astype(dt)
            G = rng.standard_normal(shape).astype(dt)
            R = rng.standard_normal((1, shape[1])).astype(dt)
            C = rng.standard_normal((shape[0], 1)).astype(dt)
            S = dt == "float32" and np.float32(0.5) or 0.5
            want = [np.sum((1 - H * H) * G, axis=0), np.sum(H * R + C * S, axis=0, keepdims=True),
                    np.max(np.exp(H) * C - R, axis=0), np.mean((H - R) ** 2, axis=0)]
            for w, got in zip(want, f(H, G, R, C, S)):
                np.testing.assert_allclose(got, w, rtol=tol, atol=tol * 10)
                assert got.dtype.name == dt and got.shape == w.shape


def test_rendered_order_follows_the_innermost_axis():
    """The row order is emitted exactly for kernels whose innermost axis is kept."""
    from egopt.codegen.lower import lower_reduce
    v = T.tensor(dtype="float64", shape=(None, None, None), name="x")
    for axis, rows in [(0, True), ((0, 1), True), (1, True), (2, False), ((0, 2), False), (None, False)]:
        out = T.sum(v, axis=axis)
        src = CRenderer().render([lower_reduce(out.owner).kernel])
        assert ("egopt_reduce_rows(shape, data" in src) == rows, axis


@needs_cc
@pytest.mark.parametrize("threads", [2, 3, 5])
def test_thread_count_does_not_change_results(threads):
    """Above the parallel threshold, 1 and n threads give the same bits: every output element
    folds its reduced elements in the same order whichever thread owns it."""
    rng = np.random.default_rng(13)
    h, g = T.fmatrices("h", "g")
    x = T.tensor(dtype="float64", shape=(None, None, None), name="x")
    outs = [T.sum((1 - h * h) * g, axis=0), T.max(h, axis=0), T.sum(T.tanh(h) * g, axis=0),
            T.mean(x, axis=(0, 1)), T.prod(x, axis=1), T.sum(x, axis=(0, 2)), T.sum(h.T, axis=0)]
    H = rng.uniform(-1, 1, (40, 1003)).astype("float32")
    G = rng.standard_normal((40, 1003)).astype("float32")
    X = rng.uniform(0.9, 1.1, (9, 50, 130))
    saved = egopt.config.threads
    results = []
    try:
        for n in (1, threads):
            egopt.config.threads = n            # read when a function is compiled
            f = egopt.function([h, g, x], outs, mode=egopt.Mode("egraph", "c"))
            results.append(f(H, G, X))
    finally:
        egopt.config.threads = saved
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    want = [np.sum((1 - H * H) * G, axis=0), np.max(H, axis=0), np.sum(np.tanh(H) * G, axis=0),
            np.mean(X, axis=(0, 1)), np.prod(X, axis=1), np.sum(X, axis=(0, 2)), np.sum(H.T, axis=0)]
    for w, got in zip(want, results[1]):
        np.testing.assert_allclose(got, w, rtol=2e-5, atol=1e-5 * np.abs(w).max())
