"""egopt.dask on a LocalCluster of 2 worker processes (localhost, started and stopped here)."""
from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import egopt
import egopt.tensor as T

da = pytest.importorskip("dask.array", reason="egopt[dask] is not installed (pip install egopt[dask])")
distributed = pytest.importorskip("distributed", reason="egopt[dask] is not installed")
import dask  # noqa: E402
import egopt.dask as ed  # noqa: E402
from egopt.dask import kernel as kernel_module  # noqa: E402

RNG = np.random.default_rng(1515)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_graphs_on_worker_processes_equal_the_single_process_run(client):
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dvector("z")
    w1 = T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2)
    f = egopt.function([x, y, z], [w1, T.log(T.sum(T.exp(x * 50), axis=0)), T.mean(w1, axis=1)])
    X, Y, Z = RNG.normal(size=(53, 31)), RNG.normal(size=(53, 31)), RNG.normal(size=31)
    before = set(kernel_module._LOADED)
    outs = ed.map(f, da.from_array(X, chunks=(10, 9)), da.from_array(Y, chunks=((20, 33), (4, 27))),
                  da.from_array(Z, chunks=7))
    n_kernels = len(set(kernel_module._LOADED) - before)
    n_tasks = sum(len(dict(o.__dask_graph__())) for o in outs)
    start = client.run(ed.rebuild_count)
    for _ in range(2):
        got = client.compute(outs, sync=True)
        for o, ref in zip(got, f(X, Y, Z)):
            np.testing.assert_allclose(o, ref, rtol=1e-12, atol=1e-12)
    # a worker builds each kernel at most once, however many of its tasks it runs
    built = {w: c - start[w] for w, c in client.run(ed.rebuild_count).items()}
    assert 0 < n_kernels < n_tasks / 4
    assert all(0 <= b <= n_kernels for b in built.values()) and sum(built.values()) > 0, (built, n_kernels)


def _softmax_regression(n_features: int, n_classes: int):
    X, y = T.dmatrix("X"), T.ivector("y")
    W, b = T.dmatrix("W"), T.dvector("b")
    p = T.nnet.softmax(T.dot(X, W) + b)
    loss = T.nnet.categorical_crossentropy(p, y).mean()
    gW, gb = T.grad(loss, [W, b])
    grad_fn = egopt.function([W, b, X, y], [loss, gW, gb])
    predict = egopt.function([W, b, X], T.argmax(p, axis=1))
    params = [np.zeros((n_features, n_classes)), np.zeros(n_classes)]
    return grad_fn, predict, params


def _digits():
    try:
        from sklearn.datasets import load_digits
        d = load_digits()
        return d.data / 16.0, d.target.astype("int32")
    except ImportError:   # digits-like: 10 classes of noisy 8x8 prototypes
        protos = RNG.uniform(0, 1, size=(10, 64))
        y = RNG.integers(0, 10, size=1200).astype("int32")
        return np.clip(protos[y] + RNG.normal(0, 0.35, size=(1200, 64)), 0, 1), y


def _single_process(grad_fn, params, X, y, steps, lr):
    params = [p.copy() for p in params]
    for _ in range(steps):
        _, *grads = grad_fn(*params, X, y)
        params = [p - lr * g for p, g in zip(params, grads)]
    return params


STEPS, LR = 25, 0.5


def test_data_parallel_softmax_regression_reaches_single_process_accuracy(client, capsys):
    X, y = _digits()
    grad_fn, predict, params = _softmax_regression(X.shape[1], 10)
    ref = _single_process(grad_fn, params, X, y, STEPS, LR)
    res = ed.train(grad_fn, params, (X, y), client=client, steps=STEPS, learning_rate=LR, n_shards=3)
    for p, r in zip(res.params, ref):
        np.testing.assert_allclose(p, r, rtol=1e-9, atol=1e-12)
    acc = (predict(*res.params, X) == y).mean()
    assert acc == (predict(*ref, X) == y).mean() and acc > 0.8
    assert res.losses[-1] < res.losses[0]
    assert f"step {STEPS}/{STEPS}" in capsys.readouterr().err      # the progress bar


def test_minibatch_epochs_and_scheduler_address(client):
    X, y = _digits()
    grad_fn, predict, params = _softmax_regression(X.shape[1], 10)
    res = ed.train(grad_fn, params, (da.from_array(X, chunks=400), y), address=client.scheduler.address,
                   steps=12, batches_per_epoch=4, learning_rate=LR, progress=False)
    assert (predict(*res.params, X) == y).mean() > 0.8


def test_a_worker_killed_mid_run_gives_the_right_parameters(client):
    X, y = _digits()
    grad_fn, _, params = _softmax_regression(X.shape[1], 10)
    ref = _single_process(grad_fn, params, X, y, STEPS, LR)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    seen = []

    def kill_once(step, params, loss):
        seen.append(step)
        if step == 8:       # shortly after the next step's tasks are sent
            threading.Timer(0.02, os.kill, (victim, signal.SIGKILL)).start()

    res = ed.train(grad_fn, params, (X, y), client=client, steps=STEPS, learning_rate=LR,
                   callback=kill_once, progress=False)
    assert seen == list(range(STEPS))                    # every update applied once, in order
    assert victim not in client.run(os.getpid).values()
    for p, r in zip(res.params, ref):
        np.testing.assert_allclose(p, r, rtol=1e-9, atol=1e-12)
