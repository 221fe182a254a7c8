"""Fusion regions of an extracted graph, as IR: one node per region instead of one per op.

In the e-graph an elementwise region is one ``(Ew s)`` over a scalar DAG, so the extracted
graph already says which elementwise ops run together: every elementwise op whose result is
read only by elementwise ops (or by one reduction, ``(Fred s ...)``) is inside its reader's
region. What the e-graph cannot say is how a region boundary treats a scalar subterm that two
regions share (it counts a shared subterm once). Here each such subterm is either recomputed
in each region or stored once and loaded, whichever the cost model prices lower
(``recompute_or_store``).

A region of two or more ops becomes one ``fused_elemwise`` node; an elementwise body feeding
a sum, prod, max, min or mean becomes one ``fused_reduce`` node; a lone op stays as it is.
Each fused node keeps the source line of the op whose result it computes.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..lang.fused import FusedBody, fused_elemwise, fused_reduce
from ..lang.graph import Apply, Constant, Variable, toposort
from .cost import LOAD, STORE

FUSABLE_REDUCTIONS = ("sum", "prod", "max", "min", "mean")


def _itemsize(v: Variable) -> float:
    return float(np.dtype(v.dtype).itemsize)


def recompute_or_store(cone_cost: float, consumers: int, itemsize: float) -> bool:
    """True to store a value read by ``consumers`` regions: recomputing costs the cone's
    flops and loads per extra region, storing costs one store and a load per region."""
    recompute = (consumers - 1) * cone_cost
    store = itemsize * (STORE + consumers * LOAD)
    return store < recompute


class _Plan:
    def __init__(self, outputs: Sequence[Variable], stop: Sequence[Variable]):
        self.stop = {id(v) for v in stop}
        self.nodes = toposort(outputs, stop=stop)
        self.consumers: dict[int, list[Apply]] = {}
        for n in self.nodes:
            for v in n.inputs:
                self.consumers.setdefault(id(v), []).append(n)
        out_ids = {id(o) for o in outputs}
        # reductions that take their (elementwise, otherwise unread) input's region
        self.fused_red: set[int] = set()
        for n in self.nodes:
            if n.op.kind == "reduce" and n.op.name in FUSABLE_REDUCTIONS:
                v = n.inputs[0]
                if self.is_ew(v) and id(v) not in out_ids and len(self.consumers[id(v)]) == 1:
                    self.fused_red.add(id(n))
        # elementwise results that are stored: outputs, and those a non-fusing node reads
        self.root: set[int] = set()
        for n in self.nodes:
            if n.op.kind != "elemwise":
                continue
            v = n.outputs[0]
            if id(v) in out_ids or any(c.op.kind != "elemwise" and id(c) not in self.fused_red
                                       for c in self.consumers.get(id(v), ())):
                self.root.add(id(v))
        self._share()

    def is_ew(self, v: Variable) -> bool:
        return v.owner is not None and id(v) not in self.stop and v.owner.op.kind == "elemwise"

    def inside(self, v: Variable) -> bool:
        """Whether a region reading v computes it (rather than loading it)."""
        return self.is_ew(v) and id(v) not in self.root

    def _share(self) -> None:
        """Store a shared subterm where that is cheaper than recomputing it in each region."""
        cone: dict[int, float] = {}
        for n in self.nodes:                       # estimated cost of recomputing each result
            if n.op.kind != "elemwise":
                continue
            c = n.op.flops
            for v in n.inputs:
                if self.is_ew(v):
                    c += cone[id(v)]
                elif not (isinstance(v, Constant) and v.ndim == 0):
                    c += LOAD * _itemsize(v)
            cone[id(n.outputs[0])] = c
        reach: dict[int, frozenset] = {}
        for n in reversed(self.nodes):
            if n.op.kind != "elemwise":
                continue
            v = n.outputs[0]
            if id(v) in self.root:
                reach[id(v)] = frozenset([id(v)])
                continue
            regions: set = set()
            for c in self.consumers.get(id(v), ()):
                if id(c) in self.fused_red:
                    regions.add(id(c))
                else:
                    regions |= reach[id(c.outputs[0])]
            if len(regions) > 1 and recompute_or_store(cone[id(v)], len(regions), _itemsize(v)):
                self.root.add(id(v))
                regions = {id(v)}
            reach[id(v)] = frozenset(regions)

    def region(self, top: Variable) -> tuple[list[Variable], int]:
        """The boundary inputs of the region computing ``top`` (first-seen order), and its op count."""
        inputs: list[Variable] = []
        seen: set[int] = set()
        count = 0
        stack = [top]
        while stack:
            v = stack.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            if v is top or self.inside(v):
                count += 1
                stack.extend(reversed(v.owner.inputs))
            elif not (isinstance(v, Constant) and v.ndim == 0):
                inputs.append(v)
        return inputs, count


def fuse(outputs: Sequence[Variable], stop: Sequence[Variable] = ()) -> list[Variable]:
    """The graph with each elementwise region as one node (see the module docstring)."""
    plan = _Plan(outputs, stop)
    memo: dict[int, Variable] = {}

    def new(v: Variable) -> Variable:
        return memo.get(id(v), v)

    for n in plan.nodes:
        if n.op.kind == "elemwise":
            v = n.outputs[0]
            if id(v) not in plan.root:
                continue                         # computed inside the regions that read it
            ins, count = plan.region(v)
            if count > 1:
                body = FusedBody.of(ins, [v])
                out = fused_elemwise.make_node([new(i) for i in ins], loc=n.loc, body=body).outputs[0]
                out.name = v.name
                memo[id(v)] = out
                continue
        elif id(n) in plan.fused_red:
            x = n.inputs[0]
            ins, _ = plan.region(x)
            body = FusedBody.of(ins, [x])
            out = fused_reduce.make_node([new(i) for i in ins], loc=n.loc, body=body, reduce=n.op.name,
                                         axis=n.params["axis"], keepdims=n.params["keepdims"],
                                         dtype=n.outputs[0].dtype).outputs[0]
            out.name = n.outputs[0].name
            memo[id(n.outputs[0])] = out
            continue
        args = [new(i) for i in n.inputs]
        if all(a is b for a, b in zip(args, n.inputs)):
            continue
        rebuilt = n.op.make_node(args, loc=n.loc, **n.params)
        for old, nv in zip(n.outputs, rebuilt.outputs):
            nv.name = old.name
            memo[id(old)] = nv
    return [new(o) for o in outputs]
