"""One compiled function called from 8 threads, 1,000 calls each: right answers, no lost updates."""
from __future__ import annotations

import sys
import threading

import numpy as np

import egopt
import egopt.tensor as T

THREADS, CALLS = 8, 1000


def test_threads_get_their_own_results_and_every_update_counts():
    x = T.dvector("x")
    count = egopt.shared(np.float64(0.0), name="count")
    total = egopt.shared(np.zeros(3), name="total")
    f = egopt.function([x], [T.exp(x) * 2 + count * 0, x.sum()],
                       updates=[(count, count + 1), (total, total + x)])
    assert f.optimization_report().outcome == "optimized"
    errors: list[str] = []

    def worker(t: int) -> None:
        for i in range(CALLS):
            v = np.array([t, i, t * i], dtype=float) / 1000.0
            a, s = f(v)
            if not (np.allclose(a, np.exp(v) * 2) and np.isclose(s, v.sum())):
                errors.append(f"thread {t} call {i}: {a}, {s}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)      # switch threads often: without the lock, updates get lost
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert count.get_value() == THREADS * CALLS
    want = sum(np.array([t, i, t * i], dtype=float) / 1000.0 for t in range(THREADS) for i in range(CALLS))
    np.testing.assert_allclose(total.get_value(), want, rtol=1e-12)


def test_functions_without_updates_run_concurrently_and_correctly():
    x = T.dmatrix("x")
    f = egopt.function([x], T.tanh(T.dot(x, x.T)).sum(axis=1))
    errors = []

    def worker(t):
        for i in range(200):
            m = np.full((3, 3), (t + i) / 500.0)
            if not np.allclose(f(m), np.tanh(m @ m.T).sum(axis=1)):
                errors.append((t, i))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    [th.start() for th in threads]
    [th.join() for th in threads]
    assert not errors
