"""``MonitorMode(pre_func, post_func)`` (Theano's ``theano.compile.MonitorMode``): user callbacks
see every node of the program as it runs, as ``func(i, node, fn)`` (PyTensor's
``func(fgraph, i, node, fn)`` too, told apart by the number of parameters) where ``fn.inputs`` and
``fn.outputs`` are lists of one-element lists holding the values (Theano's storage cells).

Both callbacks run once the node has been computed (``pre_func`` first, seeing the outputs as
``[None]``), through the program's per-node observer, on the graph the function runs.
"""
from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Callable

from .mode import Mode


def MonitorMode(pre_func: Callable | None = None, post_func: Callable | None = None,
                optimizer: str | None = "egraph", linker: str = "py", rules=()) -> Mode:
    """A mode that calls ``pre_func(i, node, fn)`` and ``post_func(i, node, fn)`` for every node."""
    return Mode(optimizer, linker, rules=tuple(rules), name="MonitorMode",
                options={"check": "monitor", "monitor": {"pre_func": pre_func, "post_func": post_func}})


def _with_fgraph(func, fgraph):
    """PyTensor's callbacks take ``(fgraph, i, node, fn)``, Theano's ``(i, node, fn)``."""
    if func is None:
        return None
    try:
        params = inspect.signature(func).parameters.values()
        n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    except (TypeError, ValueError):
        n = 3
    return (lambda i, node, fn: func(fgraph, i, node, fn)) if n >= 4 else func


class MonitorProgram:
    def __init__(self, fn, pre_func=None, post_func=None):
        self.program = fn.program
        fgraph = fn.maker.fgraph
        self.pre_func, self.post_func = _with_fgraph(pre_func, fgraph), _with_fgraph(post_func, fgraph)
        self.count = 0

    def run(self, values, profile=None):
        self.count = 0
        return self.program.run(values, profile, observer=self._observe)

    def _observe(self, node, args, outs) -> None:
        i, self.count = self.count, self.count + 1
        if self.pre_func is not None:
            self.pre_func(i, node, SimpleNamespace(inputs=[[a] for a in args], outputs=[[None] for _ in outs]))
        if self.post_func is not None:
            self.post_func(i, node, SimpleNamespace(inputs=[[a] for a in args], outputs=[[o] for o in outs]))


def detect_nan(i, node, fn) -> None:
    """Theano's ``theano.compile.monitormode.detect_nan``: a ``post_func`` that prints the first node
    whose output holds a NaN, with its inputs and outputs."""
    import numpy as np
    from ..lang.printing import debugprint
    for output in fn.outputs:
        value = output[0]
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and np.isnan(value).any():
            print("*** NaN detected ***")
            debugprint(node)
            print(f"Inputs : {[x[0] for x in fn.inputs]}")
            print(f"Outputs: {[x[0] for x in fn.outputs]}")
            break
