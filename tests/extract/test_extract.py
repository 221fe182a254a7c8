"""DAG extraction: shared work paid once, and the greedy extractor near the ILP optimum."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.extract import CostModel, dag_cost, extract
from egopt.extract.ilp import extract_ilp
from egopt.rules import engine
from egopt.rules.decode import view_of
from egopt.rules.encode import encode
from egopt.runtime.optimize import ruleset_for


def saturated_view(outputs, leaves):
    enc = encode(outputs, leaves)
    sat = engine.saturate(enc, ruleset_for(egopt.get_mode("FAST_RUN")))
    view = view_of(sat.egraph, enc)
    return view, [view.roots[r] for r in enc.roots]


def graphs():
    x, y = T.dvectors("x", "y")
    w = T.dmatrix("w")
    p = T.nnet.sigmoid(x * y)
    yield [x, y], [T.log(1 + x) * T.exp(y) + T.exp(y)]
    yield [x, y], [x * y + x * T.exp(y), (x * y).sum()]
    yield [x, y], [-y * T.log(p) - (1 - y) * T.log(1 - p)]
    yield [x, w], [T.exp(w + x).sum(axis=1) * 2, T.exp(w + x) / 4]
    yield [x, y], [T.log(T.exp(x - x.max()) / T.exp(x - x.max()).sum()), (x ** 2 + y ** 2).mean()]


@pytest.mark.parametrize("k", range(5))
def test_greedy_within_two_percent_of_ilp(k):
    leaves, outs = list(graphs())[k]
    view, roots = saturated_view(outs, leaves)
    model = CostModel(view)
    greedy = dag_cost(view, model, extract(view, model), roots)
    exact = dag_cost(view, model, extract_ilp(view, model, roots), roots)
    assert exact <= greedy + 1e-6
    assert greedy <= 1.02 * exact, (greedy, exact)


def test_shared_subterm_is_paid_once():
    # exp(x) * exp(x) shares exp(x); tree cost would prefer exp(x + x)
    x = T.dvector("x")
    e = T.exp(x)
    view, roots = saturated_view([e * e], [x])
    model = CostModel(view)
    choice = extract(view, model)
    seen, stack, ops = set(), list(roots), []
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        ops.append(choice[c].op)
        stack.extend(choice[c].children)
    assert ops.count("Exp") == 1


def test_gradient_graph_keeps_cse():
    x = T.dvector("x")
    w = egopt.shared(np.ones(3), name="w")
    cost = (T.tanh(x * w) ** 2).sum()
    g = T.grad(cost, w)
    f = egopt.function([x], [cost, g])
    ref = egopt.function([x], [cost, g], mode="FAST_COMPILE")
    rep = f.optimization_report()
    assert rep.cost_after <= rep.cost_before
    xv = np.array([0.1, -0.5, 2.0])
    for a, b in zip(f(xv), ref(xv)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    from egopt.lang.graph import toposort
    ops = [name for n in toposort(f.graph_outputs())
           for name in (n.params["body"].op_names() if "body" in n.params else [n.op.name])]
    assert ops.count("tanh") == 1      # inside a fused node, but computed once
