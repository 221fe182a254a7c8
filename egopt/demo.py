"""``egopt demo``: the Theano tutorial's logistic regression, trained end to end.

It builds the model with the tensor API, differentiates the cost with ``T.grad``, compiles one
training function (forward pass, gradient and parameter updates in one graph, through the
e-graph optimizer), trains on a synthetic, linearly separable data set and reports what
happened: the model, what the optimizer did, accuracy before and after, loss and time per step.
"""
from __future__ import annotations

import time

import numpy as np

import egopt
import egopt.tensor as T
from egopt.lang.graph import toposort


def run(quick: bool = False) -> int:
    """Train and print the report; returns the exit status (0).

    >>> run(quick=True)  # doctest: +ELLIPSIS
    egopt demo: logistic regression...
    """
    n, feats, steps, lr = 400, 50, (30 if quick else 300), 0.1
    rng = np.random.RandomState(0)
    data = rng.randn(n, feats)
    labels = (data @ rng.randn(feats) > 0).astype(np.float64)

    x, y = T.dmatrix("x"), T.dvector("y")
    w = egopt.shared(rng.randn(feats) * 0.01, name="w")
    b = egopt.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])

    t0 = time.perf_counter()
    train = egopt.function([x, y], cost, updates=[(w, w - lr * gw), (b, b - lr * gb)], name="train")
    compile_s = time.perf_counter() - t0
    predict = egopt.function([x], prediction, name="predict")
    built = len(toposort([cost, w - lr * gw, b - lr * gb]))

    acc_before = float(np.mean(predict(data) == labels))
    loss_before = float(train(data, labels))
    t0 = time.perf_counter()
    for _ in range(steps - 1):
        loss = float(train(data, labels))
    per_step = (time.perf_counter() - t0) / max(steps - 1, 1)
    acc_after = float(np.mean(predict(data) == labels))

    report = train.optimization_report()
    print("egopt demo: logistic regression (the Theano tutorial), trained end to end")
    print(f"  data      {n} examples x {feats} features (synthetic, linearly separable, seed 0)")
    print("  model     p_1 = 1 / (1 + exp(-dot(x, w) - b))")
    print("            cost = mean(-y log p_1 - (1 - y) log(1 - p_1)) + 0.01 * sum(w ** 2)")
    print(f"  gradient  T.grad(cost, [w, b]): {built} nodes with the forward pass and updates")
    print(f"  compile   {compile_s * 1000:.0f} ms, mode {train.mode.name}")
    first, *rest = str(report).splitlines()
    print(f"  optimizer {first.removeprefix('egopt optimization: ')}")
    for line in rest:
        print("          " + line)
    print(f"  train     {steps} steps of gradient descent (learning rate {lr}), "
          f"{per_step * 1000:.2f} ms per step")
    print(f"  accuracy  {acc_before:.1%} before -> {acc_after:.1%} after")
    print(f"  loss      {loss_before:.4f} -> {loss:.4f}")
    return 0
