"""Synchronous data-parallel training on a Dask cluster.

Each step: the parameters are broadcast to the workers (inside each task when small, by
``client.scatter(broadcast=True)`` when large), every worker runs the compiled
gradient function on its shard's batch, the driver averages the gradients (weighted by batch
size) and applies the update once. Gradient tasks are pure functions of (parameters, shard,
step): when a worker dies, Dask recomputes its lost shard from the shard's lineage and reruns
the step's tasks elsewhere; the driver applies a step's update only after all its gradients
are gathered, so no update is ever applied twice.
"""
from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..runtime import Function
from .cluster import ProgressLine, local_cluster
from .kernel import Kernel


@dataclass
class TrainResult:
    params: list[np.ndarray]
    losses: list[float] = field(default_factory=list)     # the mean loss of each step
    retries: int = 0                                       # steps resubmitted after a failure


def sgd(learning_rate: float) -> Callable:
    """The default update: ``p - learning_rate * g`` for each parameter."""
    def update(params, grads, step):
        return [p - np.asarray(learning_rate, p.dtype) * g for p, g in zip(params, grads)]
    return update


def _shard_grad(kernel: Kernel, params: list, shard: tuple, batch: int, n_batches: int):
    """One worker's part of a step: (rows, loss, gradients) on batch ``batch`` of its shard."""
    n = len(shard[0])
    lo, hi = batch * n // n_batches, (batch + 1) * n // n_batches
    rows = [a[lo:hi] for a in shard]
    if hi <= lo:
        return 0, 0.0, None
    out = kernel(*params, *rows)
    return hi - lo, float(out[0]), [np.asarray(g, dtype=np.float64) for g in out[1:]]


def _shards(data: Sequence, n_shards: int):
    """Dask delayed objects, one tuple of row blocks per shard, with lineage (recomputable)."""
    import dask
    import dask.array as da
    arrays = [a if isinstance(a, da.Array) else da.from_array(np.asarray(a), chunks=-1) for a in data]
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError(f"egopt.dask.train: the data arrays have different lengths "
                         f"{[a.shape[0] for a in arrays]}")
    size = math.ceil(n / n_shards)
    arrays = [a.rechunk({0: size, **{k: -1 for k in range(1, a.ndim)}}) for a in arrays]
    blocks = [a.to_delayed().reshape(-1) for a in arrays]
    return [dask.delayed(tuple)(list(parts)) for parts in zip(*blocks)]


def train(grad_fn: Function, params: Sequence[np.ndarray], data: Sequence, *, client=None,
          address: str | None = None, steps: int = 100, batches_per_epoch: int = 1,
          update: Callable | None = None, learning_rate: float = 0.1, n_shards: int | None = None,
          callback: Callable | None = None, progress: bool = True, max_retries: int = 3,
          step_timeout: float | None = 600.0) -> TrainResult:
    """Train data-parallel on a Dask cluster; returns the final parameters and the losses.

    grad_fn: compiled ``egopt.function([*params, *data_vars], [loss, *grads])`` where ``loss`` is
        the *mean* over the batch and ``grads`` its gradients, one per parameter.
    params: initial parameter values (NumPy arrays); data: arrays with the same number of rows
        (NumPy or Dask), split into ``n_shards`` shards (default: one per worker).
    client / address: a ``distributed.Client``, or a scheduler address to connect to; with
        neither, a LocalCluster of 2 worker processes is started (its dashboard is printed).
    Step ``s`` uses batch ``s % batches_per_epoch`` of every shard; ``update(params, grads, step)``
    returns the new parameters (default: SGD with ``learning_rate``); ``callback(step, params,
    loss)`` runs on the driver after each update. A step not done within ``step_timeout`` seconds,
    or whose parameters could not be sent, is run again (at most ``max_retries`` times).
    """
    from distributed import Client
    own = None
    if client is None:
        if address is not None:
            client = own = Client(address)
        else:
            cluster, client = local_cluster(2)
            own = (client, cluster)
    try:
        return _train(client, Kernel.of(grad_fn), [np.array(p) for p in params], data, steps,
                      batches_per_epoch, update or sgd(learning_rate), n_shards, callback, progress,
                      max_retries, step_timeout)
    finally:
        for obj in (own if isinstance(own, tuple) else (own,)):
            if obj is not None:
                obj.close()


def _train(client, kernel, params, data, steps, n_batches, update, n_shards, callback, progress,
           max_retries, timeout) -> TrainResult:
    n_shards = n_shards or max(1, len(client.scheduler_info()["workers"]))
    shards = client.compute(_shards(data, n_shards))      # futures that Dask can recompute
    result = TrainResult(params)
    bar = ProgressLine(steps, "egopt.dask.train", progress)
    run = uuid.uuid4().hex[:8]
    try:
        for step in range(steps):
            grads, loss = _step(client, kernel, params, shards, step % n_batches, n_batches,
                                f"{run}-{step}", max_retries, timeout, result)
            params = [np.asarray(p) for p in update(params, [g.astype(p.dtype) for g, p in zip(grads, params)], step)]
            result.params = params
            result.losses.append(loss)
            bar.update(step + 1, loss=loss)
            if callback is not None:
                callback(step, params, loss)
    finally:
        client.cancel(shards)
    return result


INLINE_BYTES = 8 << 20   # parameters up to this size travel inside each task; larger ones are scattered


def _step(client, kernel, params, shards, batch, n_batches, tag, max_retries, timeout, result):
    from distributed import wait
    for attempt in range(max_retries + 1):
        futures: list = []
        try:
            sent = params
            if sum(p.nbytes for p in params) > INLINE_BYTES:
                sent = client.scatter(params, broadcast=True, hash=False)
                futures += sent
            grads = [client.submit(_shard_grad, kernel, sent, shard, batch, n_batches,
                                   key=f"egopt-grad-{tag}-{attempt}-{i}", pure=False)
                     for i, shard in enumerate(shards)]
            futures += grads
            wait(grads, timeout=timeout)
            parts = client.gather(grads)
        except Exception:
            # a worker was lost beyond what Dask retries by itself (while parameters were being
            # scattered, or the step timed out): run the whole step again; it has not been applied
            if attempt == max_retries:
                raise
            result.retries += 1
            time.sleep(0.5 * (attempt + 1))
            continue
        finally:
            client.cancel(futures)
        total = sum(n for n, _, _ in parts)
        if total == 0:
            raise ValueError(f"egopt.dask.train: batch {batch} is empty on every shard")
        grads = [sum(n * g[j] for n, _, g in parts if n) / total for j in range(len(params))]
        return grads, sum(n * loss for n, loss, _ in parts) / total
    raise AssertionError("unreachable")
