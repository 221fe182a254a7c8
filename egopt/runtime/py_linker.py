"""The NumPy linker: run a graph's nodes in a precomputed order with each op's ``perform``.

It is the reference every other backend is checked against, and the fallback without a C
compiler. Storage is a flat list indexed by precomputed slots.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..lang.errors import OpRuntimeError
from ..lang.graph import Apply, Constant, Variable, toposort
from ..lang.ops import describe_call, run_node
from .profile import ProfileStats


@dataclass
class Step:
    node: Apply
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    bcast_check: tuple[tuple[int, int], ...]   # (input, axis) whose size must equal the output's


class Program:
    """A linear schedule over storage slots: inputs, constants, then one step per node."""

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable]):
        self.slot: dict[int, int] = {}
        self.storage_init: list = []
        for v in inputs:
            self._slot(v)
        self.input_slots = [self.slot[id(v)] for v in inputs]
        self.steps: list[Step] = []
        for node in toposort(outputs, stop=inputs):
            ins = tuple(self._leaf_slot(v) for v in node.inputs)
            outs = tuple(self._slot(v) for v in node.outputs)
            self.steps.append(Step(node, ins, outs, _bcast_checks(node)))
        self.output_slots = [self._leaf_slot(v) for v in outputs]
        # arrays the program owns for good (constants): outputs must never hand them out
        self.constant_arrays = [a for a in self.storage_init if a is not None]

    def _slot(self, v: Variable) -> int:
        if id(v) not in self.slot:
            self.slot[id(v)] = len(self.storage_init)
            self.storage_init.append(v.data if isinstance(v, Constant) else None)
        return self.slot[id(v)]

    def _leaf_slot(self, v: Variable) -> int:
        if id(v) not in self.slot and not isinstance(v, Constant):
            raise KeyError(v)   # the caller checked that every leaf is an input
        return self._slot(v)

    def run(self, values: Sequence[np.ndarray], profile: "ProfileStats | None" = None,
            observer=None) -> list[np.ndarray]:
        """The outputs for ``values``; ``observer(node, inputs, outputs)`` (if given) sees every
        node run, in order (DebugMode and NanGuardMode check values there)."""
        storage = list(self.storage_init)
        for s, v in zip(self.input_slots, values):
            storage[s] = v
        for step in self.steps:
            args = [storage[i] for i in step.in_slots]
            t0 = time.perf_counter() if profile is not None else 0.0
            outs = run_node(step.node, args)
            if step.bcast_check:
                _check_broadcast(step, args, outs[0])
            if profile is not None:
                profile.record(step.node.op.name, time.perf_counter() - t0)
            if observer is not None:
                observer(step.node, args, outs)
            for i, o in zip(step.out_slots, outs):
                storage[i] = o
        return [storage[i] for i in self.output_slots]


def _bcast_checks(node: Apply) -> tuple[tuple[int, int], ...]:
    # Broadcasting is static: an axis of unknown size must not turn out to be 1 at run time
    # while the output is longer (NumPy would broadcast it silently; the gradient would not).
    if node.op.kind != "elemwise" or len(node.inputs) < 2:
        return ()
    out = node.outputs[0].type
    checks = []
    for i, v in enumerate(node.inputs):
        lead = out.ndim - v.ndim
        for a, s in enumerate(v.type.shape):
            if s is None and out.shape[lead + a] != 1:
                checks.append((i, a))
    return tuple(checks)


def _check_broadcast(step: Step, args, out) -> None:
    for i, a in step.bcast_check:
        x = args[i]
        lead = out.ndim - x.ndim
        if x.shape[a] != out.shape[lead + a]:
            node = step.node
            shapes = ", ".join(str(np.shape(v)) for v in args)
            raise OpRuntimeError(
                f"{describe_call(node.op, node.params, [v.type for v in node.inputs])}: input {i} has "
                f"size {x.shape[a]} on axis {a} at run time, but its type does not mark that axis "
                f"broadcastable (input shapes {shapes}). Declare it with a static size 1 "
                f"(T.row(), T.tensor(shape=(1, None)), shared(..., shape=...)) or use dimshuffle('x', ...)"
                + (f"\n  built at {node.loc}" if node.loc else ""))
