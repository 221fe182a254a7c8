"""The C runtime's reuse across calls: scratch buffers, shape-only values computed once per
shape, BLAS gemm (in place into an updated shared value), and the softmax kernels.

Reused memory must never reach the caller: a result is never overwritten by a later call and
never shares memory with an input, a shared value or another result; concurrent calls never
share a scratch buffer."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.compile import find_compiler
from egopt.codegen.trampoline import gemm_call
from egopt.lang.nnet import _log_softmax, _softmax
from egopt.runtime.schedule import GemmStep, KernelStep

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")
C = egopt.Mode(None, "c")
FAST_C = egopt.Mode("egraph", "c")
FAST_PY = egopt.Mode("egraph", "py")


def _chain(x):
    a = T.exp(x) + 1.0
    b = T.sum(a * a, axis=1, keepdims=True)      # a is scratch: read by a reduction only
    return a / b


def test_scratch_is_reused_and_results_are_never_overwritten():
    x = T.dmatrix("x")
    a = T.exp(x) + 1.0
    s = T.sum(a, axis=1, keepdims=True)          # a: an intermediate that stays inside the call
    f = egopt.function([x], [a / s, (a * 2).T], mode=C)   # the second result is a view of a kernel output
    assert f.program.scratch_count >= 1
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((5, 7)) for _ in range(4)]
    results = [f(v) for v in xs]
    for v, (r0, r1) in zip(xs, results):         # every earlier result still holds its own values
        e = np.exp(v) + 1.0
        np.testing.assert_allclose(r0, e / e.sum(1, keepdims=True), rtol=1e-14)
        np.testing.assert_allclose(r1, (e * 2).T, rtol=1e-14)
    flat = [r for rs in results for r in rs]
    for i, p in enumerate(flat):
        assert not any(np.shares_memory(p, q) for q in flat[i + 1:])
        assert not any(np.shares_memory(p, v) for v in xs)
    # the scratch buffer is the same array from call to call (while the shape repeats)
    pool = f.program._pool
    assert len(pool) == 1
    before = [b for b in pool[0] if b is not None]
    f(xs[0])
    assert [id(b) for b in pool[0] if b is not None] == [id(b) for b in before]


def test_scratch_follows_shape_changes():
    x = T.dmatrix("x")
    f = egopt.function([x], _chain(x), mode=C)
    rng = np.random.default_rng(1)
    for shape in [(3, 4), (6, 2), (3, 4), (1, 9), (6, 2)]:
        v = rng.standard_normal(shape)
        e = np.exp(v) + 1.0
        np.testing.assert_allclose(f(v), e / (e * e).sum(1, keepdims=True), rtol=1e-14)


def test_concurrent_calls_never_share_scratch():
    # large enough that kernels release the GIL: the threads' kernels really interleave
    x = T.dmatrix("x")
    f = egopt.function([x], _chain(x), mode=C)
    assert f.program.scratch_count >= 1
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((300, 200)) * (1 + k) for k in range(6)]
    want = [f(v).copy() for v in inputs]
    errors = []

    def work(k):
        for _ in range(15):
            got = f(inputs[k])
            if not np.array_equal(got, want[k]):
                errors.append(k)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_shape_only_values_are_memoized_per_shape_and_never_returned_shared():
    y = T.lvector("y")
    x = T.dmatrix("x")
    rows = T.arange(y.shape[0])
    picked = x[rows, y]                                  # arange(shape) runs once per shape
    f = egopt.function([x, y], [picked * 2, y.shape[0] + 0], mode=C)
    assert f.program.memo_keys
    rng = np.random.default_rng(3)
    for n in [4, 7, 4, 1, 7]:
        xv = rng.standard_normal((n, 3))
        yv = rng.integers(0, 3, n)
        got, size = f(xv, yv)
        np.testing.assert_array_equal(got, xv[np.arange(n), yv] * 2)
        assert int(size) == n
        size[...] = -1                                   # the caller owns what it got
    got, size = f(xv, yv)
    assert int(size) == n


def _blas_found() -> bool:
    from egopt.codegen.trampoline import gemm_call
    return gemm_call() is not None


def _sgd(mode, W0, lr=0.1):
    x, g = T.dmatrix("x"), T.dmatrix("g")
    W = egopt.shared(W0.copy(), name="W")
    f = egopt.function([x, g], [], updates=[(W, W - lr * T.dot(x.T, g))], mode=mode)
    return f, W


def test_gemm_update_runs_in_place_in_blas_and_matches_the_py_linker():
    rng = np.random.default_rng(4)
    W0 = rng.standard_normal((6, 4))
    fc, Wc = _sgd(FAST_C, W0)
    fp, Wp = _sgd(FAST_PY, W0)
    gemm = [s for s in fc.program.steps if isinstance(s, GemmStep)]
    if not gemm:
        pytest.skip("NumPy's CBLAS was not found: gemm runs its NumPy perform")
    assert gemm[0].given, "the update should write into W's own storage"
    storage = Wc.get_value(borrow=True)
    for _ in range(5):
        x, g = rng.standard_normal((10, 6)), rng.standard_normal((10, 4))
        fc(x, g)
        fp(x, g)
    assert Wc.get_value(borrow=True) is storage            # updated in place
    np.testing.assert_allclose(Wc.get_value(), Wp.get_value(), rtol=1e-13, atol=1e-13)


def test_gemm_reading_the_old_value_is_not_done_in_place():
    # W - lr * dot(W.T, M).T reads W in the product: BLAS must not write W while reading it
    rng = np.random.default_rng(5)
    W0, M = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    results = []
    for mode in (FAST_C, FAST_PY):
        W = egopt.shared(W0.copy(), name="W")
        m = T.dmatrix("m")
        f = egopt.function([m], [], updates=[(W, W - 0.1 * T.dot(W, m))], mode=mode)
        assert not any(isinstance(s, GemmStep) and s.given for s in getattr(f.program, "steps", []))
        for _ in range(3):
            f(M)
        results.append(W.get_value())
    want = W0.copy()
    for _ in range(3):
        want = want - 0.1 * want @ M
    np.testing.assert_allclose(results[0], want, rtol=1e-13)
    np.testing.assert_allclose(results[1], want, rtol=1e-13)


def test_gemm_caller_array_overlapping_the_updated_value():
    # the caller passes W's own storage as an operand: the BLAS call must not write into it
    rng = np.random.default_rng(6)
    W0 = rng.standard_normal((5, 5))
    fc, Wc = _sgd(FAST_C, W0)
    g = rng.standard_normal((5, 5))
    x = Wc.get_value(borrow=True)
    want = W0 - 0.1 * W0.T @ g
    fc(x, g)
    np.testing.assert_allclose(Wc.get_value(), want, rtol=1e-13)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("trans", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_transposes_layouts_and_broadcast_c(dtype, trans):
    rng = np.random.default_rng(7)
    ta, tb = trans
    a, b = T.matrix("a", dtype=dtype), T.matrix("b", dtype=dtype)
    c = T.vector("c", dtype=dtype)
    A = a.T if ta else a
    B = b.T if tb else b
    outs = [T.dot(A, B) + c, 2.0 * T.dot(A, B) - T.dot(A, B) * 0.5]
    fc = egopt.function([a, b, c], outs, mode=FAST_C)
    if _blas_found():
        assert any(isinstance(s, GemmStep) for s in fc.program.steps)
    av = rng.standard_normal((7, 5) if ta else (5, 7)).astype(dtype)
    bv = rng.standard_normal((3, 7) if tb else (7, 3)).astype(dtype)
    cv = rng.standard_normal(3).astype(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for layout in (lambda v: v, np.asfortranarray, lambda v: np.repeat(v, 2, axis=1)[:, ::2]):
        A_, B_ = (av.T if ta else av), (bv.T if tb else bv)
        got = fc(layout(av), layout(bv), cv)
        np.testing.assert_allclose(got[0], A_ @ B_ + cv, rtol=tol, atol=tol)
        np.testing.assert_allclose(got[1], 1.5 * (A_ @ B_), rtol=tol, atol=tol)


def test_gemm_without_cblas_runs_the_numpy_perform(monkeypatch):
    import egopt.runtime.schedule as sched
    monkeypatch.setattr(sched, "_gemm_entry", lambda: None)
    rng = np.random.default_rng(8)
    W0 = rng.standard_normal((6, 4))
    fc, Wc = _sgd(FAST_C, W0)
    assert not any(isinstance(s, GemmStep) for s in fc.program.steps)
    x, g = rng.standard_normal((10, 6)), rng.standard_normal((10, 4))
    fc(x, g)
    np.testing.assert_allclose(Wc.get_value(), W0 - 0.1 * x.T @ g, rtol=1e-13)


def _softmax_fns(x, axis):
    """softmax and log_softmax as two kernels (two functions) and as one paired kernel."""
    sm, ls = T.nnet.softmax(x, axis=axis), T.nnet.log_softmax(x, axis=axis)
    fs, fl = egopt.function([x], sm, mode=C), egopt.function([x], ls, mode=C)
    pair = egopt.function([x], [sm, ls], mode=C)
    assert [type(s) for s in fs.program.steps] == [KernelStep] == [type(s) for s in fl.program.steps]
    assert [s.name for s in pair.program.steps] == [f"softmax+log_softmax[{axis % x.ndim}]"]
    return [lambda v: (fs(v), fl(v)), pair]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,axis", [((600, 10), 1), ((4, 700), -1), ((5, 6, 7), 1), ((5, 6, 7), 0)])
def test_softmax_kernels_match_the_reference(dtype, shape, axis):
    x = T.tensor(dtype=dtype, shape=(None,) * len(shape))
    rng = np.random.default_rng(9)
    v = (rng.standard_normal(shape) * 5).astype(dtype)
    ax = axis % len(shape)
    tol = 2e-6 if dtype == "float32" else 1e-14
    for f in _softmax_fns(x, axis):
        for arr in (v, np.asfortranarray(v), v[..., ::-1]):
            s, ls = f(arr)
            np.testing.assert_allclose(s, _softmax({"axis": ax}, arr), rtol=tol, atol=tol)
            np.testing.assert_allclose(ls, _log_softmax({"axis": ax}, arr), rtol=tol, atol=tol)


@pytest.mark.parametrize("layout", ["c", "f"])
def test_softmax_kernels_special_values(layout):
    x = T.dmatrix("x")
    for f in _softmax_fns(x, 1):
        _check_special(f, layout)


def _check_special(f, layout):
    v = np.array([[0.0, -50.0, -60.0],          # a dominated entry keeps its tiny log-probability
                  [np.nan, 1.0, 2.0],
                  [np.inf, 1.0, 2.0],
                  [-np.inf, -np.inf, -np.inf],
                  [-np.inf, 0.0, 1.0],
                  [1.0, 1.0, 1.0]])
    s, ls = f(v if layout == "c" else np.asfortranarray(v))
    with np.errstate(all="ignore"):
        rs, rls = _softmax({"axis": 1}, v), _log_softmax({"axis": 1}, v)
    np.testing.assert_allclose(s, rs, rtol=1e-15, equal_nan=True)
    np.testing.assert_allclose(ls, rls, rtol=1e-15, equal_nan=True)
    assert ls[0, 0] == pytest.approx(-np.exp(-50) - np.exp(-60), rel=1e-12)


def test_side_effects_of_shape_only_values_run_every_call(capsys):
    from egopt.lang.printing import Print
    y = T.lvector("y")
    n = Print("n")(y.shape[0])
    f = egopt.function([y], T.arange(n) * 2, mode=C)
    for _ in range(3):
        np.testing.assert_array_equal(f(np.zeros(4, "int64")), np.arange(4) * 2)
    assert capsys.readouterr().out.count("n __str__ = 4") == 3


def test_tensordot_of_rows_is_a_gemm_into_a_reused_buffer():
    """tensordot(X, W) over X's last axis (a scan's hoisted input projection) is one BLAS call
    on X's rows, written into a buffer that later calls reuse when it stays inside the call
    (here it feeds a scan, whose results are its own arrays); as a result it is a new array."""
    X, W, h0 = T.dtensor3("X"), T.dmatrix("W"), T.dmatrix("h0")
    xw = T.tensordot(X, W, axes=((2,), (0,)))
    hs, _ = egopt.scan(lambda r, h: T.tanh(r + h), sequences=xw, outputs_info=h0)
    f = egopt.function([X, W, h0], egopt.scan_module.scan_last(hs, h0), mode=FAST_C)
    g = egopt.function([X, W], xw, mode=FAST_C)
    folds = [st for st in f.program.steps if isinstance(st, GemmStep) and st.fold]
    blas = gemm_call() is not None          # (EGOPT_NO_CBLAS or no CBLAS: tensordot's perform)
    assert len(folds) == blas and all(st.scratch for st in folds)
    assert any(isinstance(st, GemmStep) and st.fold and not st.scratch for st in g.program.steps) == blas
    rng = np.random.default_rng(3)
    seen, outs = set(), []
    for n in (4, 4, 4, 0, 2):
        x, w, h = rng.standard_normal((n, 3, 5)), rng.standard_normal((5, 2)), rng.standard_normal((3, 2))
        want = h
        for t in range(n):
            want = np.tanh(x[t] @ w + want)
        np.testing.assert_allclose(f(x, w, h), want, rtol=1e-13)
        outs.append((g(x, w), x, w))
        if n == 4 and blas:
            seen.add(id(f.program._pool[0][folds[0].scratch[0]]))
    assert len(seen) == blas                    # the same buffer at each call of that shape
    for r, x, w in outs:                        # results of g are never overwritten
        assert r.shape == x.shape[:2] + w.shape[1:]
        np.testing.assert_allclose(r, np.tensordot(x, w, axes=((2,), (0,))), rtol=1e-13)


def _close(a, b):
    """Equal up to the vector math functions' last bit (another call's values would differ
    in every bit)."""
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-300)


def _big_function():
    x = T.dvector("x")
    return egopt.function([x], [T.exp(x) * 2 + 1, T.sin(x)], mode=C)


def test_dropped_results_are_written_into_again_and_held_ones_never():
    import weakref
    from egopt.runtime.schedule import RECYCLE_BYTES
    f = _big_function()
    n = RECYCLE_BYTES // 8 + 1
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal(n) for _ in range(6)]
    held = [f(x) for x in xs]                       # the caller keeps every result
    for x, (e, s) in zip(xs, held):
        _close(e, np.exp(x) * 2 + 1)
        _close(s, np.sin(x))
    arrays = [a for pair in held for a in pair]
    assert len({a.ctypes.data for a in arrays}) == len(arrays)        # nothing shared
    del held, arrays, e, s                     # (the loop variables held the last pair)
    e, s = f(xs[0])
    old = weakref.ref(e)
    del e                                            # dropped: the next call writes into it
    e2, s2 = f(xs[1])
    assert old() is e2
    _close(e2, np.exp(xs[1]) * 2 + 1)
    view = e2[::3]                                   # a live view keeps its base from reuse
    del e2
    e3, _ = f(xs[2])
    assert not np.shares_memory(e3, view)
    _close(view, (np.exp(xs[1]) * 2 + 1)[::3])
    # ``out = f(x)`` in a loop holds the last result while the next is computed: two buffers
    for k in range(4):
        out = f(xs[k])
        _close(out[0], np.exp(xs[k]) * 2 + 1)


def test_small_results_are_not_kept():
    import weakref
    f = _big_function()
    e, _ = f(np.arange(10.0))
    old = weakref.ref(e)
    del e
    assert old() is None


def test_recycled_results_under_threads():
    from egopt.runtime.schedule import RECYCLE_BYTES
    f = _big_function()
    n = RECYCLE_BYTES // 8 + 5
    errors, kept = [], []

    def work(seed):
        rng = np.random.default_rng(seed)
        for i in range(30):
            x = rng.standard_normal(n)
            e, s = f(x)
            if not (np.allclose(e, np.exp(x) * 2 + 1, rtol=1e-14, atol=0) and np.allclose(s, np.sin(x), rtol=1e-14, atol=1e-300)):
                errors.append(seed)
            if i % 7 == 0:
                kept.append((x, e))                  # some results are held on to
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for x, e in kept:                                 # never overwritten by a later call
        _close(e, np.exp(x) * 2 + 1)
