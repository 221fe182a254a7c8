"""Compile time of training functions: egopt's optimizer vs PyTensor's rewriter, same graphs, same run.

Graphs: the Theano tutorial logistic regression (400 x 784 inputs) and a 2-layer tanh MLP
(784-500-10, softmax output, cross-entropy), each with T.grad and SGD updates. egopt is timed
from ``function(...)`` to a callable with the e-graph optimizer (FAST_RUN), and the optimizer
stage alone; PyTensor with its FAST_RUN rewrites and the Python linker (rewrites dominate).
"""
from __future__ import annotations

import statistics
import time

import numpy as np


def logreg(T, shared, feats=784):
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.dvector("y")
    w = shared(rng.normal(size=feats), name="w")
    b = shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    return [x, y], [cost], [(w, w - 0.1 * gw), (b, b - 0.1 * gb)]


def mlp(T, shared, n_in=784, n_hid=500, n_out=10):
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.lvector("y")
    W1 = shared(rng.normal(size=(n_in, n_hid)) * 0.01, name="W1")
    b1 = shared(np.zeros(n_hid), name="b1")
    W2 = shared(rng.normal(size=(n_hid, n_out)) * 0.01, name="W2")
    b2 = shared(np.zeros(n_out), name="b2")
    h = T.tanh(T.dot(x, W1) + b1)
    p = T.nnet.softmax(T.dot(h, W2) + b2)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y]) + 1e-4 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    params = [W1, b1, W2, b2]
    grads = T.grad(cost, params)
    return [x, y], [cost], [(q, q - 0.1 * g) for q, g in zip(params, grads)]


def random_model(ns, x, params, steps: int, seed: int = 0):
    """A model-like random DAG of ``steps`` operations on 32x16 matrices and its scalar cost (W8).

    ``ns`` is the array namespace (``egopt.tensor``, ``pytensor.tensor`` or ``jax.numpy``), ``x``
    a 32x16 input, ``params`` five parameters: two 16x16 weights, three 32x16 tensors. Each step
    combines recent or earlier values (heavy reuse, as in real models) with elementwise math,
    a ``dot`` with a weight every 10th step, or an axis reduction broadcast back; values stay
    bounded (squashing functions) so the first result is finite.
    """
    import random
    rng = random.Random(seed)
    W = params[:2]
    vals = [x] + list(params[2:])
    unary = (ns.tanh, ns.sin, lambda v: ns.exp(-v * v), lambda v: ns.log1p(v * v),
             lambda v: v / (1 + ns.abs(v)))
    binary = (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - 0.5 * b)

    def pick():
        return vals[-1 - rng.randrange(min(4, len(vals)))] if rng.random() < 0.6 else rng.choice(vals)
    for i in range(steps):
        if i % 10 == 9:
            v = ns.tanh(ns.dot(pick(), W[i // 10 % 2]))
        elif i % 7 == 3:
            a, axis = pick(), rng.randrange(2)
            v = a - ns.mean(a, axis=axis, keepdims=True) if rng.random() < 0.5 else \
                a * ns.tanh(ns.sum(a, axis=axis, keepdims=True))
        elif rng.random() < 0.5:
            v = rng.choice(unary)(pick())
        else:
            v = ns.tanh(rng.choice(binary)(pick(), pick()))
        vals.append(v)
    cost = ns.mean(vals[-1] * vals[-1])
    for v in vals[4::5]:      # most values reach the cost, as in a model with many heads/terms
        cost = cost + 0.01 * ns.mean(v)
    return cost


def random_model_inputs(seed: int = 0):
    """(x, params) values for ``random_model``: x 32x16, weights 16x16 (x2), tensors 32x16 (x3)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((32, 16)), [rng.standard_normal(s) * 0.3 for s in [(16, 16)] * 2 + [(32, 16)] * 3]


def time_egopt(build, repeat):
    import egopt
    import egopt.tensor as T
    totals, opts, report = [], [], None
    for _ in range(repeat):
        ins, outs, upd = build(T, egopt.shared)
        t0 = time.perf_counter()
        f = egopt.function(ins, outs, updates=upd)
        totals.append(time.perf_counter() - t0)
        report = f.optimization_report()
        opts.append(sum(report.seconds.values()))
    return min(totals), min(opts), report


def time_pytensor(build, repeat):
    try:
        import pytensor
        import pytensor.tensor as pt
        from pytensor.compile.mode import Mode
    except ImportError:
        return None
    pt.nnet = type("nnet", (), {"softmax": staticmethod(lambda v: pt.special.softmax(v, axis=-1))})
    pt.grad = pytensor.grad
    totals = []
    for _ in range(repeat):
        ins, outs, upd = build(pt, pytensor.shared)
        t0 = time.perf_counter()
        pytensor.function(ins, outs, updates=upd, mode=Mode(linker="py", optimizer="fast_run"))
        totals.append(time.perf_counter() - t0)
    return min(totals)


def run(repeat: int = 3) -> list[dict]:
    rows = []
    for name, build, budget in (("logreg train", logreg, 1.0), ("mlp-2 train", mlp, 3.0)):
        total, opt, rep = time_egopt(build, repeat)
        pyt = time_pytensor(build, repeat)
        rows.append(dict(case=name, egopt_compile=total, egopt_optimize=opt, budget=budget,
                         pytensor_rewrite=pyt, nodes=f"{rep.nodes_in}->{rep.nodes_out}",
                         cost=f"{rep.cost_before:.3g}->{rep.cost_after:.3g}", outcome=rep.outcome))
    return rows


def format_rows(rows) -> str:
    lines = ["== compile time (graph -> callable; min of repeats)",
             f"{'case':<14}{'egopt total':>12}{'optimizer':>11}{'budget':>8}{'pytensor':>10}"
             f"{'egopt/pyt':>10}  nodes, cost, outcome"]
    for r in rows:
        pyt = r["pytensor_rewrite"]
        ratio = f"{r['egopt_compile'] / pyt:.2f}" if pyt else "n/a"
        pyt_s = f"{pyt:.3f}s" if pyt else "n/a"
        lines.append(f"{r['case']:<14}{r['egopt_compile']:>11.3f}s{r['egopt_optimize']:>10.3f}s"
                     f"{r['budget']:>7.1f}s{pyt_s:>10}{ratio:>10}  {r['nodes']}, {r['cost']}, {r['outcome']}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_rows(run()))


def run_ct(ctx) -> list:
    """The table above as bench rows (``egopt bench --only CT``): graph -> callable, no call."""
    from .harness import FALLBACK, Row, is_fallback
    rows = []
    for name, build in (("logreg train", logreg), ("mlp-2 train", mlp)):
        total, opt, rep = time_egopt(build, 1 if ctx.quick else 3)
        note = f"optimizer {opt:.3f}s, nodes {rep.nodes_in}->{rep.nodes_out}"
        if is_fallback(rep.outcome):
            rows.append(Row("CT", name, "egopt", 1, status=FALLBACK, notes=f"{rep.outcome!r}; not counted"))
        else:
            rows.append(Row("CT", name, "egopt", 1, total, total, 1, notes=note))
        if "pytensor" in ctx.peers:
            pyt = time_pytensor(build, 1 if ctx.quick else 3)
            rows.append(Row("CT", name, "pytensor", 1, pyt, pyt, 1, notes="FAST_RUN rewrites, py linker"))
    return rows
