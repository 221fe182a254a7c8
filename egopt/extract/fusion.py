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

from ..lang.fused import MAX_DEPTH, FusedBody, fused_elemwise, fused_reduce
from ..lang.graph import Apply, Constant, Variable, rebuild_node, toposort
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
        self._bound_depth()

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

    def _bound_depth(self) -> None:
        """Store every MAX_DEPTH-th value of a longer chain of ops inside one region;
        ``depth`` is each result's chain length from its region's inputs."""
        self.depth = depth = {}
        for n in self.nodes:
            if n.op.kind != "elemwise":
                continue
            d = 1 + max((depth[id(v)] for v in n.inputs if self.inside(v)), default=0)
            if d >= MAX_DEPTH:
                self.root.add(id(n.outputs[0]))
            depth[id(n.outputs[0])] = d

    def region(self, top: Variable) -> tuple[list[Variable], int, set[int]]:
        """The boundary inputs of the region computing ``top`` (first-seen order), its op
        count and the ids of its ops' results."""
        inputs: list[Variable] = []
        seen: set[int] = set()
        ops: set[int] = set()
        count = 0
        stack = [top]
        while stack:
            v = stack.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            if v is top or self.inside(v):
                count += 1
                ops.add(id(v))
                stack.extend(reversed(v.owner.inputs))
            elif not (isinstance(v, Constant) and v.ndim == 0):
                inputs.append(v)
        return inputs, count, ops


def _find(parent: dict, k):
    while parent.setdefault(k, k) != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


class _Groups:
    """Regions merged into one multi-output node: roots whose results have the same run-time
    shape (each pinned by an input of exactly their static shape) and that share an input or
    a subterm, so one pass reads the shared data once. A merge that would make the graph
    cyclic (a path from one member through another node back to a member) is not made."""

    def __init__(self, plan: _Plan, regions: dict):
        self.plan = plan
        self._info: dict | None = None
        self._cons: dict = {}
        self.members: list[list[Variable]] = []
        self.group_of: dict[int, int] = {}
        chain: dict[int, int] = {}       # a member's chain length from its group's inputs (a bound)
        roots = [n.outputs[0] for n in plan.nodes if n.op.kind == "elemwise" and id(n.outputs[0]) in plan.root]
        parent: dict = {}
        for r in roots:       # same run-time shape: an input of the same static shape pins it
            for v in regions[id(r)][0]:
                if r.ndim and v.type.shape == r.type.shape:
                    parent[_find(parent, id(v))] = _find(parent, id(r))
        by_class: dict = {}
        for r in roots:
            if id(r) not in parent:
                continue
            cls = _find(parent, id(r))
            for gi in by_class.get(cls, ()):
                ins_r = {id(v) for v in regions[id(r)][0]}
                depth = plan.depth[id(r)] + max((chain[id(m)] for m in self.members[gi] if id(m) in ins_r), default=0)
                if (depth <= MAX_DEPTH and self._shares(gi, r, regions)
                        and not self._cyclic(self.members[gi] + [r])):
                    self.members[gi].append(r)
                    self.group_of[id(r)] = gi
                    chain[id(r)] = depth
                    break
            else:
                chain[id(r)] = plan.depth[id(r)]
                self.group_of[id(r)] = len(self.members)
                by_class.setdefault(cls, []).append(len(self.members))
                self.members.append([r])

    def _shares(self, gi: int, r: Variable, regions) -> bool:
        ins_r, ops_r = {id(v) for v in regions[id(r)][0]}, regions[id(r)][2]
        for m in self.members[gi]:
            ins_m, ops_m = regions[id(m)][0], regions[id(m)][2]
            if id(m) in ins_r or ops_r & ops_m or any(id(v) in ins_r for v in ins_m):
                return True
        return False

    def _cyclic(self, members: list[Variable]) -> bool:
        """Whether a path leaves the members through a node outside every region (or another
        region's result, another group's results all at once) and comes back to a member.
        A walk over node ids with per-node facts computed once (``_facts``): it runs for each
        candidate merge, over everything downstream of the group."""
        if self._info is None:
            self._facts()
        info, cons, root, group_of = self._info, self._cons, self.plan.root, self.group_of
        ids = {id(m) for m in members}
        last = max(info[id(m.owner)][0] for m in members)
        stack = [(c, False) for m in members for c in cons.get(id(m), ())]
        seen_inside: set = set()
        seen_external: set = set()
        while stack:
            nid, external = stack.pop()
            pos, ew, out = info[nid]
            if pos > last:
                continue
            seen = seen_external if external else seen_inside
            if nid in seen:
                continue
            seen.add(nid)
            nxt: tuple | list = (out,)
            if ew and out in ids:
                if external:
                    return True
            elif not ew or out in root:
                external = True
                gi = group_of.get(out)
                if gi is not None:                     # another group: all its results at once
                    nxt = [id(v) for v in self.members[gi]]
            # else: inside a region, transparent
            for v in nxt:
                for c in cons.get(v, ()):
                    stack.append((c, external))
        return False

    def _facts(self) -> None:
        plan = self.plan
        self._info = {id(n): (i, n.op.kind == "elemwise", id(n.outputs[0])) for i, n in enumerate(plan.nodes)}
        self._cons = {v: [id(c) for c in cs] for v, cs in plan.consumers.items()}


def fuse(outputs: Sequence[Variable], stop: Sequence[Variable] = (), multi_output: bool = True,
         replaced: dict | None = None) -> list[Variable]:
    """The graph with each elementwise region as one node (see the module docstring).

    ``replaced``, when given, is filled with ``id(old variable) -> new variable`` for every
    value of the input graph that the fused graph computes as a different variable (a fused
    node's result, or a node rebuilt over fused inputs); values that vanish inside a fused
    body are not in it, and values whose node is kept as it is keep their variable."""
    plan = _Plan(outputs, stop)
    regions: dict[int, tuple] = {}          # root id -> (inputs, op count, ids of its ops)
    for n in plan.nodes:
        v = n.outputs[0]
        if n.op.kind == "elemwise" and id(v) in plan.root:
            regions[id(v)] = plan.region(v)
    groups = _Groups(plan, regions) if multi_output else None
    containing: dict[int, set] = {}         # id of a result -> the regions that compute it
    for r, (_, _, ops) in regions.items():
        for o in ops:
            containing.setdefault(o, set()).add(r)
    for n in plan.nodes:
        if id(n) in plan.fused_red:
            for o in plan.region(n.inputs[0])[2]:
                containing.setdefault(o, set()).add(id(n))
    out_ids = {id(o) for o in outputs}
    memo: dict[int, Variable] = {}

    def needed_outside(m: Variable, ids: set) -> bool:
        """Whether a group member is read by anything but the group's own regions."""
        if id(m) in out_ids:
            return True
        for c in plan.consumers.get(id(m), ()):
            if c.op.kind != "elemwise" or not containing.get(id(c.outputs[0]), {None}) <= ids:
                return True
        return False

    def new(v: Variable) -> Variable:
        return memo.get(id(v), v)

    def emit_group(members: list[Variable]) -> None:
        ids = {id(m) for m in members}
        ins, seen = [], set()
        for m in members:
            for v in regions[id(m)][0]:
                if id(v) not in ids and id(v) not in seen:
                    seen.add(id(v))
                    ins.append(v)
        results = [m for m in members if needed_outside(m, ids)]   # the rest stay inside
        body = FusedBody.of(ins, results)
        loc = results[-1].owner.loc
        node = fused_elemwise.make_node([new(i) for i in ins], loc=loc, body=body)
        for m, out in zip(results, node.outputs):
            out.name = m.name
            memo[id(m)] = out

    for n in _unit_order(plan, regions, groups):
        if n.op.kind == "elemwise":
            v = n.outputs[0]
            gi = groups.group_of.get(id(v)) if groups else None
            if gi is not None and len(groups.members[gi]) > 1:
                emit_group(groups.members[gi])
                continue
            ins, count, _ = regions[id(v)]
            if count > 1:
                body = FusedBody.of(ins, [v])
                out = fused_elemwise.make_node([new(i) for i in ins], loc=n.loc, body=body).outputs[0]
                out.name = v.name
                memo[id(v)] = out
                continue
        elif id(n) in plan.fused_red:
            x = n.inputs[0]
            ins, _, _ = plan.region(x)
            body = FusedBody.of(ins, [x])
            out = fused_reduce.make_node([new(i) for i in ins], loc=n.loc, body=body, reduce=n.op.name,
                                         axis=n.params["axis"], keepdims=n.params["keepdims"],
                                         dtype=n.outputs[0].dtype).outputs[0]
            out.name = n.outputs[0].name
            memo[id(n.outputs[0])] = out
            continue
        rebuild_node(n, [new(i) for i in n.inputs], memo)
    if replaced is not None:
        replaced.update(memo)
    return [new(o) for o in outputs]


def _unit_order(plan: _Plan, regions: dict, groups: "_Groups | None") -> list[Apply]:
    """Nodes to emit, each after what it reads: one per unit (a group is emitted once, at a
    point where the inputs of all its members exist); region-internal nodes are left out."""
    def unit(n: Apply):
        v = n.outputs[0]
        if n.op.kind == "elemwise":
            if id(v) not in plan.root:
                return None
            gi = groups.group_of.get(id(v)) if groups else None
            if gi is not None and len(groups.members[gi]) > 1:
                return ("g", gi)
        return ("n", id(n))

    def reads(n: Apply) -> list[Variable]:
        if n.op.kind == "elemwise":
            return regions[id(n.outputs[0])][0]
        if id(n) in plan.fused_red:
            return plan.region(n.inputs[0])[0]
        return n.inputs

    first: dict = {}
    deps: dict = {}
    for n in plan.nodes:
        u = unit(n)
        if u is None:
            continue
        first.setdefault(u, n)
        members = groups.members[u[1]] if u[0] == "g" else None
        for v in reads(n):
            if v.owner is None or id(v) in plan.stop:
                continue
            pu = unit(v.owner)
            if pu is not None and pu != u:
                deps.setdefault(u, []).append(pu)
        if members is not None:
            deps.setdefault(u, [])
    order: list[Apply] = []
    done: set = set()
    for n in plan.nodes:
        u = unit(n)
        if u is None or u in done:
            continue
        stack = [(u, False)]
        active: set = set()
        while stack:
            w, expanded = stack.pop()
            if w in done:
                continue
            if expanded:
                active.discard(w)
                done.add(w)
                order.append(first[w])
                continue
            if w in active:      # a merge made a cycle (the checks should make this impossible)
                raise RuntimeError(f"fusion: the merged regions depend on each other ({w})")
            active.add(w)
            stack.append((w, True))
            stack.extend((d, False) for d in deps.get(w, ()) if d not in done)
    return order
