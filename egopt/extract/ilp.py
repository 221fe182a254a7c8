"""Exact DAG extraction as an integer program (for small e-graphs; used to check the greedy one).

Needs SciPy (its HiGHS MILP solver), imported lazily: ``pip install egopt[test]``.
"""
from __future__ import annotations

from ..rules.decode import EGraphView, ENode
from .cost import CostModel


def extract_ilp(view: EGraphView, model: CostModel, roots, time_limit: float = 20.0) -> dict[int, ENode]:
    """Minimise the sum of chosen node costs: roots chosen, children of chosen nodes chosen, acyclic."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    nodes = [(c, n) for c, ns in view.classes.items() for n in ns]
    classes = list(view.classes)
    cidx = {c: i for i, c in enumerate(classes)}
    nx, nc = len(nodes), len(classes)
    # variables: x_n (binary) for every node, then o_c (order, continuous) for every class
    nvar = nx + nc
    cost = np.zeros(nvar)
    cost[:nx] = [model.node_cost(c, n) for c, n in nodes]
    by_class: dict[int, list[int]] = {}
    for i, (c, _) in enumerate(nodes):
        by_class.setdefault(c, []).append(i)
    rows, lo, hi = [], [], []
    big = nc + 1
    for r in set(roots):                      # some node of every root class
        row = {i: 1.0 for i in by_class[r]}
        rows.append(row), lo.append(1.0), hi.append(np.inf)
    for i, (c, n) in enumerate(nodes):
        for k in set(n.children):
            row = {j: 1.0 for j in by_class.get(k, [])}      # sum_{m in k} x_m - x_n >= 0
            row[i] = row.get(i, 0.0) - 1.0
            rows.append(row), lo.append(0.0), hi.append(np.inf)
            # o_c - o_k - big*x_n >= 1 - big   (children strictly below their parent when chosen)
            row = {nx + cidx[c]: 1.0, i: -float(big)}
            row[nx + cidx[k]] = row.get(nx + cidx[k], 0.0) - 1.0
            rows.append(row), lo.append(1.0 - big), hi.append(np.inf)
    A = lil_matrix((len(rows), nvar))
    for ri, row in enumerate(rows):
        for j, v in row.items():
            A[ri, j] = v
    integrality = np.concatenate([np.ones(nx), np.zeros(nc)])
    bounds = Bounds(np.zeros(nvar), np.concatenate([np.ones(nx), np.full(nc, float(big))]))
    res = milp(cost, constraints=[LinearConstraint(A.tocsr(), lo, hi)], integrality=integrality,
               bounds=bounds, options={"time_limit": time_limit})
    if res.x is None:
        raise RuntimeError(f"ILP extraction failed: {res.message}")
    choice: dict[int, ENode] = {}
    for i, (c, n) in enumerate(nodes):
        if res.x[i] > 0.5 and (c not in choice or model.node_cost(c, n) < model.node_cost(c, choice[c])):
            choice[c] = n
    return choice
