"""One compile-to-first-result measurement in a fresh process (W6, W8); prints one JSON line.

``python -m bench.compile_child SYSTEM GRAPH`` with SYSTEM egopt | pytensor | jax and GRAPH
W2 | W3 | model<steps>. The parent (bench/w6_compile.py) chooses the cache directories through
the environment, so "cold" (empty caches) and "warm" (caches filled by an earlier process) are
the same command. The data and initial parameters are made before the clock starts.
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


def _values(graph: str):
    if graph.startswith("model"):
        from .compile_time import random_model_inputs
        return random_model_inputs()
    return _graph_values(graph)


def _egopt(graph: str) -> dict:
    t0 = time.perf_counter()
    import egopt
    import egopt.tensor as T
    values = _values(graph)       # the data and initial parameters are not part of compiling
    t1 = time.perf_counter()
    if graph.startswith("model"):
        from .compile_time import random_model
        xv, pv = values
        x = T.dmatrix("x")
        ps = [egopt.shared(p) for p in pv]
        cost = random_model(T, x, ps, int(graph[5:]))
        f = egopt.function([x], [cost] + T.grad(cost, ps))
        t2 = time.perf_counter()
        f(xv)
    else:
        from . import w23_training as w
        model, dtype, data, P0 = values
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
    model, dtype, data, P0 = _graph_values(graph)
    t1 = time.perf_counter()
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
    model, dtype, data, P0 = _graph_values(graph)
    t1 = time.perf_counter()
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
