"""Greedy DAG extraction: each class picks the node whose whole sub-DAG, with shared classes
counted once, costs least. (Tree cost would pay a shared subterm once per use and undo CSE.)

A class's sub-DAG is a bit set over all classes (NumPy, packed), so the union over a node's
children and its cost (a dot product with the per-class costs) are vectorized.
"""
from __future__ import annotations

import numpy as np

from ..rules.decode import EGraphView, ENode, Worklist, parents_of
from .cost import CostModel


def extract(view: EGraphView, model: CostModel, max_passes: int = 30) -> dict[int, ENode]:
    """A node for every class reachable from the roots, chosen bottom-up by DAG cost."""
    classes = list(view.classes)
    index = {c: i for i, c in enumerate(classes)}
    n = len(classes)
    nbytes = (n + 7) // 8
    cur_cost = np.zeros(n)                       # cost of the node currently chosen per class
    total = np.full(n, np.inf)
    masks: dict[int, np.ndarray] = {}
    best: dict[int, ENode] = {}
    node_costs = {c: [model.node_cost(c, nd) for nd in view.classes[c]] for c in classes}
    own = {}
    for c in classes:
        m = np.zeros(nbytes, np.uint8)
        i = index[c]
        m[i >> 3] |= np.uint8(0x80 >> (i & 7))
        own[c] = m
    # a class is looked at again only when one of its children got cheaper
    work = Worklist([c for c in classes if any(not nd.children for nd in view.classes[c])],
                    parents_of(view.classes))
    budget = max_passes * max(1, sum(len(v) for v in view.classes.values()))
    while work and budget > 0:
        c = work.pop()
        i = index[c]
        improved = False
        for nd, ncost in zip(view.classes[c], node_costs[c]):
            budget -= 1
            kids = nd.children
            if any(k not in masks for k in kids):
                continue
            m = own[c].copy()
            cyclic = False
            for k in set(kids):
                km = masks[k]
                if km[i >> 3] & (0x80 >> (i & 7)):
                    cyclic = True
                    break
                m |= km
            if cyclic:
                continue
            bits = np.unpackbits(m, count=n).astype(bool)
            cost = float(cur_cost[bits].sum()) - cur_cost[i] + ncost
            if cost < total[i] - 1e-9 * max(1.0, cost):
                total[i] = cost
                cur_cost[i] = ncost
                masks[c] = m
                best[c] = nd
                improved = True
        if improved:
            work.changed(c)
    missing = [r for r in view.roots.values() if r not in best]
    if missing:
        raise RuntimeError(f"extraction found no finite term for e-classes {missing[:5]}")
    return best


def dag_cost(view: EGraphView, model: CostModel, choice: dict[int, ENode], roots) -> float:
    """The cost of the DAG a choice selects below ``roots`` (each class once)."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0.0
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        nd = choice[c]
        total += model.node_cost(c, nd)
        stack.extend(nd.children)
    return total
