"""Greedy DAG extraction: each class picks the node whose whole sub-DAG, with shared classes
counted once, costs least. (Tree cost would pay a shared subterm once per use and undo CSE.)
"""
from __future__ import annotations

from ..rules.decode import EGraphView, ENode
from .cost import CostModel


def extract(view: EGraphView, model: CostModel, max_passes: int = 30) -> dict[int, ENode]:
    """A node for every class reachable from the roots, chosen bottom-up by DAG cost."""
    best: dict[int, tuple[float, ENode, dict[int, float]]] = {}
    order = list(view.classes)
    for _ in range(max_passes):
        changed = False
        for c in order:
            for n in view.classes[c]:
                if any(k not in best for k in n.children):
                    continue
                deps: dict[int, float] = {}
                cyclic = False
                for k in n.children:
                    kd = best[k][2]
                    if c in kd:
                        cyclic = True
                        break
                    if len(kd) > len(deps):
                        kd, deps = deps, dict(kd)
                    deps.update(kd)
                if cyclic:
                    continue
                deps[c] = model.node_cost(c, n)
                total = sum(deps.values())
                if c not in best or total < best[c][0] - 1e-9 * max(1.0, total):
                    best[c] = (total, n, deps)
                    changed = True
        if not changed:
            break
    missing = [r for r in view.roots.values() if r not in best]
    if missing:
        raise RuntimeError(f"extraction found no finite term for e-classes {missing[:5]}")
    return {c: v[1] for c, v in best.items()}


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
        n = choice[c]
        total += model.node_cost(c, n)
        stack.extend(n.children)
    return total
