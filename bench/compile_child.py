"""One compile-to-first-result measurement in a fresh process (W6, W8); prints one JSON line.

``python -m bench.compile_child SYSTEM GRAPH`` with SYSTEM egopt | pytensor | jax and GRAPH
W2 | W3 | model<steps>. The parent (bench/w6_compile.py) chooses the cache directories through
the environment, so "cold" (empty caches) and "warm" (caches filled by an earlier process) are
the same command.
"""
from __future__ import annotations

import json
import sys
import time


def _graph_values(graph: str):
    from . import w23_training as w
    if graph == "W2":
        x, y, _ = w.digits()
        return "softmax", "float64", (x, y), w._initial("softmax", "float64")
    if graph == "W3":
        x, y = w.mnist_like()
        return "mlp", "float32", (x, y), w._initial("mlp", "float32")
    raise ValueError(graph)


def _egopt(graph: str) -> dict:
    t0 = time.perf_counter()
    import egopt
    import egopt.tensor as T
    t1 = time.perf_counter()
    if graph.startswith("model"):
        from .compile_time import random_model, random_model_inputs
        xv, pv = random_model_inputs()
        x = T.dmatrix("x")
        ps = [egopt.shared(p) for p in pv]
        cost = random_model(T, x, ps, int(graph[5:]))
        f = egopt.function([x], [cost] + T.grad(cost, ps))
        t2 = time.perf_counter()
        f(xv)
    else:
        from . import w23_training as w
        model, dtype, data, P0 = _graph_values(graph)
        build = w.softmax_regression if model == "softmax" else w.mlp
        ins, cost, upd, _ = build(T, egopt.shared, T.grad, T.nnet.softmax, dtype, *P0)
        f = egopt.function(ins, cost, updates=upd)
        t2 = time.perf_counter()
        f(*data)
    t3 = time.perf_counter()
    rep = f.optimization_report()
    return dict(import_s=t1 - t0, compile_s=t2 - t1, first_s=t3 - t1, outcome=rep.outcome,
                nodes_in=rep.nodes_in, nodes_out=rep.nodes_out)


def _pytensor(graph: str) -> dict:
    t0 = time.perf_counter()
    import pytensor
    import pytensor.tensor as pt
    from . import w23_training as w
    t1 = time.perf_counter()
    model, dtype, data, P0 = _graph_values(graph)
    build = w.softmax_regression if model == "softmax" else w.mlp
    ins, cost, upd, _ = build(pt, pytensor.shared, pytensor.grad, lambda v: pt.special.softmax(v, axis=-1),
                              dtype, *P0)
    f = pytensor.function(ins, cost, updates=upd)
    t2 = time.perf_counter()
    f(*data)
    t3 = time.perf_counter()
    return dict(import_s=t1 - t0, compile_s=t2 - t1, first_s=t3 - t1, outcome="")


def _jax(graph: str) -> dict:
    t0 = time.perf_counter()
    import jax
    jax.config.update("jax_enable_x64", True)
    from . import w23_training as w
    t1 = time.perf_counter()
    model, dtype, data, P0 = _graph_values(graph)
    step = w.jax_step(model)
    t2 = time.perf_counter()     # jit is lazy: tracing and compiling happen at the first call
    c, _ = step([jax.device_put(p) for p in P0], *data)
    c.block_until_ready()
    t3 = time.perf_counter()
    return dict(import_s=t1 - t0, compile_s=t2 - t1, first_s=t3 - t1, outcome="")


def main(argv: list[str]) -> int:
    system, graph = argv
    out = {"egopt": _egopt, "pytensor": _pytensor, "jax": _jax}[system](graph)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
