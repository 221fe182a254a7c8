"""egopt.dask.map on the local threaded scheduler: results equal the single-process run."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import egopt
import egopt.tensor as T

da = pytest.importorskip("dask.array", reason="egopt[dask] is not installed (pip install egopt[dask])")
import dask  # noqa: E402
import egopt.dask as ed  # noqa: E402

RNG = np.random.default_rng(15)


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def _w1():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dvector("z")
    return egopt.function([x, y, z], T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2))


def test_elementwise_broadcasting_with_uneven_mismatched_chunks_is_lazy_and_exact():
    f = _w1()
    X, Y, Z = RNG.normal(size=(37, 23)), RNG.normal(size=(37, 23)), RNG.normal(size=23)
    dx = da.from_array(X, chunks=(10, 7))
    dy = da.from_array(Y, chunks=((5, 32), (20, 3)))
    dz = da.from_array(Z, chunks=4)
    out = ed.map(f, dx, dy, dz)
    assert isinstance(out, da.Array) and out.shape == (37, 23)
    assert len(out.chunks[0]) > 1 and len(out.chunks[1]) > 1           # still split, aligned
    # bit for bit the whole-array call: a kernel's result does not depend on an element's
    # position or on its buffer's layout (every element goes through the same vector code)
    np.testing.assert_array_equal(out.compute(), f(X, Y, Z))
    ref = np.exp(-X ** 2 / 2) * np.sin(Y) + np.log1p(np.abs(X * Y)) / (1 + Z ** 2)
    np.testing.assert_allclose(out.compute(), ref, rtol=1e-13)


def test_static_broadcast_rows_columns_and_transpose():
    x, r, c = T.dmatrix("x"), T.drow("r"), T.dcol("c")
    f = egopt.function([x, r, c], [x * r - c, x + x.T, (x * 2).dimshuffle(1, 0)])
    X, R, C = RNG.normal(size=(29, 29)), RNG.normal(size=(1, 29)), RNG.normal(size=(29, 1))
    outs = ed.map(f, da.from_array(X, chunks=(8, 11)), da.from_array(R, chunks=(1, 5)),
                  da.from_array(C, chunks=(13, 1)))
    for o, ref in zip(dask.compute(*outs), f(X, R, C)):
        np.testing.assert_array_equal(o, ref)


def test_reductions_over_chunked_axes_use_tree_reduction_and_match():
    x, i = T.dmatrix("x"), T.imatrix("i")
    outs = [T.log(T.sum(T.exp(x), axis=1)), T.mean(x, axis=0), T.max(x), T.min(x, axis=0, keepdims=True),
            x - x.mean(axis=1, keepdims=True), T.mean(i), T.sum(i, axis=1), T.prod(i, axis=0),
            (i > 0).all(axis=0), (i > 3).any()]
    f = egopt.function([x, i], outs)
    X = RNG.normal(size=(30, 41)) * 300          # exp overflows unless the max is subtracted
    I = RNG.integers(-3, 4, size=(30, 41)).astype("int32")
    res = ed.map(f, da.from_array(X, chunks=(7, 11)), da.from_array(I, chunks=(13, 4)))
    graph = dict(res[0].__dask_graph__())
    assert any("egopt-logsumexp" in str(k) for k in graph)     # a Dask tree reduction, not a rechunk
    for o, ref in zip(dask.compute(*res), f(X, I)):
        assert o.dtype == ref.dtype and o.shape == ref.shape
        np.testing.assert_allclose(o, ref, rtol=1e-12, atol=1e-9)
    lse = dask.compute(res[0])[0]
    assert np.isfinite(lse).all()
    np.testing.assert_allclose(lse, X.max(1) + np.log(np.exp(X - X.max(1, keepdims=True)).sum(1)), rtol=1e-13)


def test_mean_combines_sums_and_counts_over_uneven_chunks():
    v = T.fvector("v")
    f = egopt.function([v], T.mean(v))
    V = RNG.normal(size=1001).astype("float32") + 1000
    out = ed.map(f, da.from_array(V, chunks=(1, 500, 300, 200)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.compute(), V.astype(np.float64).mean(), rtol=1e-6)


def test_unsplittable_ops_warn_naming_the_op_and_stay_right():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = egopt.function([x, y], [T.dot(x, y), T.argmax(x, axis=1), T.nnet.softmax(x)])
    X, Y = RNG.normal(size=(20, 30)), RNG.normal(size=(30, 9))
    with pytest.warns(ed.RechunkWarning) as rec:
        outs = ed.map(f, da.from_array(X, chunks=(6, 7)), da.from_array(Y, chunks=(11, 4)))
    text = " ".join(str(w.message) for w in rec)
    assert "op dot" in text and "op argmax" in text and "op softmax" in text and "test_split.py" in text
    for o, ref in zip(dask.compute(*outs), f(X, Y)):
        np.testing.assert_allclose(o, ref, rtol=1e-12)


def test_splittable_dot_and_softmax_do_not_warn():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    f = egopt.function([x, w], T.nnet.softmax(T.dot(x, w)))
    X, W = RNG.normal(size=(50, 8)), RNG.normal(size=(8, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ed.RechunkWarning)
        out = ed.map(f, da.from_array(X, chunks=(9, 8)), W)
    assert len(out.chunks[0]) == 6
    np.testing.assert_allclose(out.compute(), f(X, W), rtol=1e-12)


def test_shape_dependent_op_without_static_shape_is_a_clear_error_when_read():
    x = T.dmatrix("x")
    X = RNG.normal(size=(4, 6))
    flat = x.reshape((x.shape[0] * x.shape[1],))
    f = egopt.function([x], flat + 1)
    with pytest.warns(ed.RechunkWarning), pytest.raises(ed.DaskSplitError, match="op reshape.*not known.*read"):
        ed.map(f, da.from_array(X, chunks=2))
    # as an output of its own, its size is simply known once computed (unknown Dask chunks)
    g = egopt.function([x], flat)
    with pytest.warns(ed.RechunkWarning, match="op reshape"):
        out = ed.map(g, da.from_array(X, chunks=2))
    assert np.isnan(out.shape[0])
    np.testing.assert_array_equal(out.compute(), X.ravel())


def test_scan_over_a_chunked_axis_runs_whole_with_a_warning_or_errors_clearly():
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    hs, _ = egopt.scan(lambda xt, h: T.tanh(xt + 0.5 * h), sequences=[x], outputs_info=[h0])
    f = egopt.function([x, h0], hs)
    X, H = RNG.normal(size=(12, 5)), RNG.normal(size=5)
    with pytest.warns(ed.RechunkWarning) as rec:
        out = ed.map(f, da.from_array(X, chunks=((5, 5, 2), (2, 3))), H)
    text = " ".join(str(w.message) for w in rec)
    assert "op scan" in text and "test_split.py" in text and "(5, 5, 2)" in text
    # the steps run in order over the whole sequence: the same as the one-process call
    np.testing.assert_array_equal(out.compute(), f(X, H))
    ref, h = [], H
    for t in range(12):
        h = np.tanh(X[t] + 0.5 * h)
        ref.append(h)
    np.testing.assert_allclose(out.compute(), ref, rtol=1e-14)
    # read by another op, its unknown length is a clear error, never a guessed shape
    g = egopt.function([x, h0], hs.sum(axis=0) * 2)
    with pytest.warns(ed.RechunkWarning), pytest.raises(ed.DaskSplitError, match="op scan.*not known"):
        ed.map(g, da.from_array(X, chunks=(5, 5)), H)


def test_input_checks_name_the_input():
    f = _w1()
    with pytest.raises(TypeError, match="input 0.*ndim"):
        ed.map(f, da.ones(3), da.ones((3, 3)), da.ones(3))
    with pytest.raises(TypeError, match="input 1.*dtype complex128"):
        ed.map(f, da.ones((3, 3)), da.ones((3, 3), dtype=complex), da.ones(3))
    with pytest.raises(TypeError, match="takes 3 input"):
        ed.map(f, da.ones((3, 3)))


def test_functions_with_updates_are_refused():
    s = egopt.shared(np.zeros(3), name="s")
    v = T.dvector("v")
    f = egopt.function([v], v.sum(), updates={s: s + v})
    with pytest.raises(ed.DaskSplitError, match="updates"):
        ed.map(f, da.ones(3))


def test_kernels_pickle_by_content_and_rebuild_once_per_process():
    import cloudpickle
    f = _w1()
    k = ed.Kernel.of(f)
    again = cloudpickle.loads(cloudpickle.dumps(k))
    assert again.key == k.key and again.fn is k.fn                 # served from the process table
    g = cloudpickle.loads(cloudpickle.dumps(f))                     # a Function itself travels too
    X = RNG.normal(size=(3, 4))
    np.testing.assert_array_equal(g(X, X, X[0]), f(X, X, X[0]))
    from egopt.dask import kernel as kmod
    before = ed.rebuild_count()
    kmod._LOADED.pop(k.key)
    loaded = [pickle.loads(pickle.dumps(k)) for _ in range(3)]
    assert ed.rebuild_count() == before + 1 and loaded[0].fn is loaded[2].fn
    np.testing.assert_array_equal(loaded[0](X, X, X[0]), f(X, X, X[0]))


def test_wrap_and_compute_with_progress(capsys):
    f = _w1()
    run = ed.wrap(f)
    X = RNG.normal(size=(12, 5))
    (out,) = ed.compute(run(da.from_array(X, chunks=4), X, X[0]))
    # bit for bit, though the rechunked blocks of the NumPy operand are strided views
    np.testing.assert_array_equal(out, f(X, X, X[0]))
    assert "100%" in capsys.readouterr().err


def test_shared_variables_are_read_when_mapping():
    s = egopt.shared(np.arange(4.0), name="s")
    v = T.dmatrix("v")
    f = egopt.function([v], (v * s).sum(axis=0))
    V = RNG.normal(size=(9, 4))
    out = ed.map(f, da.from_array(V, chunks=(2, 3)))
    np.testing.assert_allclose(out.compute(), (V * np.arange(4.0)).sum(0), rtol=1e-13)


def test_array_constants_are_split_with_the_blocks_they_meet():
    x = T.dmatrix("x")
    f = egopt.function([x], [x * np.arange(7.0) + np.ones((1, 7)), (x.T * np.arange(5.0)).sum(axis=1)])
    X = RNG.normal(size=(5, 7))
    outs = ed.map(f, da.from_array(X, chunks=(2, 3)))
    for o, ref in zip(dask.compute(*outs), f(X)):
        np.testing.assert_allclose(o, ref, rtol=1e-13)


def test_a_cluster_egopt_starts_prints_its_dashboard(capsys):
    cluster, client = ed.local_cluster(n_workers=1, processes=False, dashboard_address=":0")
    try:
        err = capsys.readouterr().err
        assert "started a LocalCluster of 1 worker threads; dashboard: http://" in err
        X = RNG.normal(size=(6, 4))
        f = _w1()
        with dask.config.set(scheduler=None):
            (out,) = ed.compute(ed.map(f, da.from_array(X, chunks=2), X, X[0]))
        np.testing.assert_array_equal(out, f(X, X, X[0]))           # see above
    finally:
        client.close()
        cluster.close()


def test_kernels_run_on_one_openmp_thread_inside_dask_tasks():
    # Dask runs a task per core already; OpenMP teams inside them would oversubscribe the cores
    f = _w1()
    kernel = ed.Kernel.of(f)
    if kernel.fn.linker != "c":
        pytest.skip("the py linker runs NumPy: no OpenMP teams to limit")
    libs = list(kernel.fn.program._libs.values())
    assert libs
    seen, saved = [], [lib.egopt_set_threads for lib in libs]
    for lib, real in zip(libs, saved):
        lib.egopt_set_threads = lambda n, real=real: (seen.append(n), real(n))
    X = RNG.normal(size=(40, 30))
    try:
        out = da.blockwise(kernel, "ij", da.from_array(X, chunks=(20, 30)), "ij", X, "ij", X[0], "j",
                           dtype=float, meta=np.empty((0, 0)))
        np.testing.assert_array_equal(out.compute(), f(X, X, X[0]))
    finally:
        for lib, real in zip(libs, saved):
            lib.egopt_set_threads = real
    from egopt.dask.kernel import _cores
    assert seen == [1, egopt.config.threads or _cores()] * 2 * len(libs)     # two blocks, in turn


def _ops_of(kernel) -> set[str]:
    """Op names a kernel's graph evaluates (fused bodies included)."""
    from egopt.lang.graph import toposort
    names, todo = set(), [(kernel.fn.outputs, kernel.fn.input_vars)]
    while todo:
        outs, stop = todo.pop()
        for n in toposort(outs, stop=stop):
            names.add(n.op.name)
            body = n.params.get("body")
            if body is not None:
                todo.append((body.outputs, body.inputs))
    return names


@pytest.fixture
def kernel_calls(monkeypatch):
    """(ops of the kernel, block shape of its first argument) for every kernel call in tasks."""
    calls = []
    real = ed.Kernel.__call__

    def counting(self, *arrays):
        calls.append((_ops_of(self), np.shape(arrays[0]) if arrays else ()))
        return real(self, *arrays)

    monkeypatch.setattr(ed.Kernel, "__call__", counting)
    return calls


@pytest.mark.parametrize("case", ["elementwise", "tree", "whole"])
def test_outputs_sharing_work_compute_it_once_per_block(case, kernel_calls):
    x = T.dmatrix("x")
    a = T.exp(x) * T.sin(x)
    outs = {"elementwise": [a + 1, a * 3, a],
            "tree": [a + 1, a.sum(axis=0), T.max(a, axis=0)],
            "whole": [a + 1, T.argmax(a, axis=0)]}[case]
    f = egopt.function([x], outs)
    X = RNG.normal(size=(40, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ed.RechunkWarning)      # argmax over the chunked axis
        res = ed.map(f, da.from_array(X, chunks=(10, 6)))
    del kernel_calls[:]
    got = dask.compute(*res)                                       # one graph: shared keys once
    for o, ref in zip(got, f(X)):
        np.testing.assert_allclose(o, ref, rtol=1e-14, atol=1e-14)
    with_sin = [shape for ops, shape in kernel_calls if "sin" in ops]
    assert with_sin == [(10, 6)] * 4, kernel_calls                 # a = exp(x)*sin(x): once per block
    if case == "elementwise":
        assert len(kernel_calls) == 4                              # the three outputs: one task per block


def test_logsumexp_over_chunks_is_one_pass_and_stable_like_scipy(kernel_calls):
    from scipy.special import logsumexp as scipy_lse
    x = T.dmatrix("x")
    lse = T.nnet.logsumexp
    f = egopt.function([x], [lse(x, axis=1), lse(x, axis=0, keepdims=True), lse(x), lse(2 * x, axis=(0, 1))])
    X = RNG.normal(size=(20, 31)) * 300                  # exp overflows unless rescaled
    X[:, 0] += 1e5                                       # huge values
    X[3, :] = -np.inf                                    # a row of -inf everywhere (every chunk)
    X[4, :15] = -np.inf                                  # -inf chunks in a finite row
    X[6:13, :5] = -np.inf                                # a whole block of -inf
    X[5, 12] = np.inf
    chunks = ((7, 13), (5, 10, 16))
    res = ed.map(f, da.from_array(X, chunks=chunks))
    graph = dict(res[0].__dask_graph__())
    assert any("egopt-logsumexp" in str(k) for k in graph)
    assert not any("egopt-max" in str(k) or "egopt-sum" in str(k) for k in graph)   # no max pass
    del kernel_calls[:]
    got = dask.compute(*res)
    # the data is read once: one kernel call per block and output (then only small pair combines)
    blocks = [(r, c) for r in chunks[0] for c in chunks[1]]
    assert sorted(s for _, s in kernel_calls if s in blocks) == sorted(blocks * 4)
    with np.errstate(all="ignore"):
        refs = [scipy_lse(X, axis=1), scipy_lse(X, axis=0, keepdims=True), scipy_lse(X), scipy_lse(2 * X)]
    for o, ref in zip(got, refs):
        assert o.shape == ref.shape
        np.testing.assert_allclose(o, ref, rtol=1e-15, atol=0)
    assert got[0][3] == -np.inf and got[0][5] == np.inf and np.isfinite(got[0][4])
    # an entry dominating by more than 40 keeps the tiny rest (as the op does: log1p, not log)
    v = T.dvector("v")
    g = egopt.function([v], lse(v))
    D = np.array([0.0, -50.0, -60.0, -70.0, -45.0])
    tiny = ed.map(g, da.from_array(D, chunks=(1, 3, 1))).compute()
    np.testing.assert_allclose(tiny, np.log1p(np.exp(D[1:]).sum()), rtol=1e-14)
    assert tiny > 0
    # all -inf: -inf, over uneven chunks of one axis
    assert ed.map(g, da.from_array(np.full(11, -np.inf), chunks=(1, 4, 6))).compute() == -np.inf
    V = np.concatenate([np.full(5, -np.inf), RNG.normal(size=6) - 800.0])   # a -inf chunk, tiny values
    out = ed.map(g, da.from_array(V, chunks=(5, 2, 4))).compute()
    np.testing.assert_allclose(out, scipy_lse(V), rtol=1e-15)
    np.testing.assert_allclose(out, g(V), rtol=1e-15)
