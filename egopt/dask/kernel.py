"""Compiled functions that travel to Dask workers and are rebuilt once per worker process.

A ``Function`` pickles as its graph and is compiled again when loaded. Dask may unpickle a
task's function once per task, so a ``Kernel`` carries the pickled graph with a content hash
and keeps the rebuilt function in a per-process table: a worker compiles each kernel once,
whatever the number of tasks (and the C backend's on-disk cache serves the kernels).

The graph a kernel ships is the one its function already runs (optimized on the driver),
compiled on the worker with the optimizer off: the e-graph runs once, before the split.

Inside a Dask task a kernel runs on one OpenMP thread: Dask already runs one task per core
(threads or worker processes), and OpenMP teams on top of that oversubscribe the cores, which
costs more than it gains (Dask's workers set ``OMP_NUM_THREADS=1`` for the same reason).
"""
from __future__ import annotations

import hashlib
import pickle
import os
import threading
from dataclasses import replace
from typing import Any

from ..runtime import Function, function

_LOADED: dict[str, Function] = {}
_LOCK = threading.Lock()
_STATS = {"rebuilt": 0}
_ACTIVE: dict[int, int] = {}          # id(shared library) -> kernels running on one thread now


def rebuild_count() -> int:
    """How many kernels this process has rebuilt from their pickled graph (for tests and logs)."""
    return _STATS["rebuilt"]


def linked_copy(fn: Function) -> Function:
    """``fn``'s optimized graph compiled again without the optimizer (the same program, no e-graph)."""
    if fn.updates:
        raise ValueError(f"{fn!r} has updates; a function sent to Dask workers must be pure "
                         "(pass parameters as inputs and return the new values or gradients)")
    outs = fn.outputs[0] if fn.single else list(fn.outputs)
    return function(list(fn.ins), outs, mode=replace(fn.mode, optimizer=None),
                    on_unused_input="ignore", name=fn.name,
                    allow_input_downcast=fn.allow_input_downcast)


class Kernel:
    """A callable wrapper of a compiled ``Function`` that pickles as (content hash, graph)."""

    def __init__(self, fn: Function, payload: bytes | None = None, key: str | None = None):
        self.fn = fn
        self.payload = pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL) if payload is None else payload
        self.key = key or hashlib.sha256(self.payload).hexdigest()
        with _LOCK:
            _LOADED.setdefault(self.key, fn)

    @classmethod
    def of(cls, fn: Function) -> "Kernel":
        """A kernel running ``fn``'s optimized graph (compiled without the optimizer)."""
        return cls(linked_copy(fn))

    def __call__(self, *arrays) -> Any:
        libs = list(getattr(self.fn.program, "_libs", {}).values())
        if not libs:
            return self.fn(*arrays)
        _single_threaded(libs, +1)
        try:
            return self.fn(*arrays)
        finally:
            _single_threaded(libs, -1)

    def __reduce__(self):
        return (_load, (self.key, self.payload))

    def __dask_tokenize__(self) -> str:
        return self.key

    def __repr__(self) -> str:
        return f"<egopt Kernel {self.key[:12]} {self.fn!r}>"


def _single_threaded(libs: list, step: int) -> None:
    """Count a kernel entering (+1) or leaving (-1) its libraries: one OpenMP thread while any
    Dask task runs them, the configured number again when none does."""
    from .. import config
    with _LOCK:
        for lib in libs:
            n = _ACTIVE.get(id(lib), 0) + step
            _ACTIVE[id(lib)] = n
            if n == 1 and step > 0:
                lib.egopt_set_threads(1)
            elif n == 0:
                del _ACTIVE[id(lib)]
                lib.egopt_set_threads(config.threads or _cores())


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _load(key: str, payload: bytes) -> Kernel:
    with _LOCK:
        fn = _LOADED.get(key)
    if fn is None:
        fn = pickle.loads(payload)
        with _LOCK:
            if key not in _LOADED:
                _STATS["rebuilt"] += 1
                _LOADED[key] = fn
            fn = _LOADED[key]
    return Kernel(fn, payload, key)
