"""W2 softmax-regression SGD step (64->10, batch 600, float64, digits) and W3 MLP SGD step
(784->500->10 tanh, batch 128, float32), parameter updates inside the compiled function.

Contenders: egopt and PyTensor (the same graph-building code, Theano style: shared variables,
``grad``, ``updates=``), JAX (``jit`` of a step returning the new parameters, donated), and
the hand-written NumPy step (manual backprop, in-place updates). One step from the same
starting parameters is compared against NumPy's before timing (``dP`` = max |difference|).
"""
from __future__ import annotations

import numpy as np

from .harness import (Context, Row, egopt_outcome, fallback_row, interleaved, is_fallback, note_outcome,
                      rows_from_times)

LR = 0.1


# ---- data ----------------------------------------------------------------------------------------------
def digits(batch: int = 600) -> tuple[np.ndarray, np.ndarray, str]:
    """(X, y, source): the 8x8 digits shipped with scikit-learn when installed (read from its
    data file: importing sklearn costs seconds), else digits-like data (same shape, value range
    0..1 and 10 classes) generated from a fixed seed."""
    import importlib.util
    import os
    spec = importlib.util.find_spec("sklearn")
    path = spec and os.path.join(os.path.dirname(spec.origin), "datasets", "data", "digits.csv.gz")
    if path and os.path.isfile(path):
        d = np.loadtxt(path, delimiter=",", max_rows=batch)
        return d[:, :64] / 16.0, d[:, 64].astype(np.int64), "scikit-learn's digits"
    else:
        rng = np.random.default_rng(0)
        protos = rng.random((10, 64))
        y = rng.integers(0, 10, batch)
        x = np.clip(protos[y] + 0.2 * rng.standard_normal((batch, 64)), 0, 1)
        return x, y.astype(np.int64), "generated digits-like data (scikit-learn missing)"


def mnist_like(batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int64)


# ---- models, written once for egopt and PyTensor (T = egopt.tensor or pytensor.tensor) -------------------
def softmax_regression(T, shared, grad, softmax, dtype, W0, b0):
    x, y = T.matrix("x", dtype=dtype), T.vector("y", dtype="int64")
    W, b = shared(W0.copy(), name="W"), shared(b0.copy(), name="b")
    p = softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = grad(cost, [W, b])
    return [x, y], cost, [(W, W - LR * gW), (b, b - LR * gb)], [W, b]


def mlp(T, shared, grad, softmax, dtype, W1_0, b1_0, W2_0, b2_0):
    x, y = T.matrix("x", dtype=dtype), T.vector("y", dtype="int64")
    params = [shared(v.copy(), name=n) for v, n in zip((W1_0, b1_0, W2_0, b2_0), ("W1", "b1", "W2", "b2"))]
    W1, b1, W2, b2 = params
    h = T.tanh(T.dot(x, W1) + b1)
    p = softmax(T.dot(h, W2) + b2)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    grads = grad(cost, params)
    lr = np.asarray(LR, dtype=dtype)
    return [x, y], cost, [(q, q - lr * g) for q, g in zip(params, grads)], params


# ---- hand-written NumPy steps --------------------------------------------------------------------------
def _softmax_np(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def numpy_softmax_step(P, x, y):
    W, b = P
    p = _softmax_np(x @ W + b)
    r = np.arange(len(y))
    cost = -np.log(p[r, y]).mean()
    p[r, y] -= 1
    p /= len(y)
    W -= LR * (x.T @ p)
    b -= LR * p.sum(axis=0)
    return cost


def numpy_mlp_step(P, x, y):
    W1, b1, W2, b2 = P
    lr = np.asarray(LR, dtype=x.dtype)
    h = np.tanh(x @ W1 + b1)
    p = _softmax_np(h @ W2 + b2)
    r = np.arange(len(y))
    cost = -np.log(p[r, y]).mean()
    p[r, y] -= 1
    p /= len(y)
    dh = (p @ W2.T) * (1 - h * h)
    W2 -= lr * (h.T @ p)
    b2 -= lr * p.sum(axis=0)
    W1 -= lr * (x.T @ dh)
    b1 -= lr * dh.sum(axis=0)
    return cost


# ---- JAX ------------------------------------------------------------------------------------------------
def _jax_cost(model):
    import jax.numpy as jnp
    from jax.nn import log_softmax

    def softmax_cost(P, x, y):
        W, b = P
        return -jnp.mean(jnp.take_along_axis(log_softmax(x @ W + b), y[:, None], axis=1))

    def mlp_cost(P, x, y):
        W1, b1, W2, b2 = P
        h = jnp.tanh(x @ W1 + b1)
        return -jnp.mean(jnp.take_along_axis(log_softmax(h @ W2 + b2), y[:, None], axis=1))
    return softmax_cost if model == "softmax" else mlp_cost


def jax_step(model):
    import jax
    cost = _jax_cost(model)

    def step(P, x, y):
        c, g = jax.value_and_grad(cost)(P, x, y)
        return c, [p - (LR * gi).astype(p.dtype) for p, gi in zip(P, g)]
    return jax.jit(step, donate_argnums=0)


# ---- the workloads --------------------------------------------------------------------------------------
def _initial(model, dtype):
    rng = np.random.default_rng(2)
    if model == "softmax":
        return [(rng.standard_normal((64, 10)) * 0.01).astype(dtype), np.zeros(10, dtype)]
    return [(rng.standard_normal((784, 500)) * 0.01).astype(dtype), np.zeros(500, dtype),
            (rng.standard_normal((500, 10)) * 0.01).astype(dtype), np.zeros(10, dtype)]


def _case(ctx: Context, wl: str, model: str, dtype: str, x, y, case: str, data_note: str) -> list[Row]:
    import egopt
    import egopt.tensor as T
    P0 = _initial(model, dtype)
    ref = [p.copy() for p in P0]
    np_step = numpy_softmax_step if model == "softmax" else numpy_mlp_step
    cost0 = float(np_step(ref, x, y))
    build = softmax_regression if model == "softmax" else mlp
    fns, notes, rows = {}, {}, []

    def diff(params) -> float:
        return max(float(np.max(np.abs(np.asarray(a, np.float64) - b))) for a, b in zip(params, ref))

    state = [p.copy() for p in P0]
    fns["numpy"], notes["numpy"] = (lambda: np_step(state, x, y)), f"cost {cost0:.4f}; {data_note}"

    ins, cost, upd, shared = build(T, egopt.shared, T.grad, T.nnet.softmax, dtype, *P0)
    f = egopt.function(ins, cost, updates=upd)
    outcome = egopt_outcome(f)
    if is_fallback(outcome):
        rows.append(fallback_row(wl, case, ctx, outcome))
    else:
        f(x, y)
        fns["egopt"] = lambda: f(x, y)
        notes["egopt"] = f"dP {diff([s.get_value() for s in shared]):.0e}"
    if "pytensor" in ctx.peers:
        import pytensor
        import pytensor.tensor as pt
        soft = lambda v: pt.special.softmax(v, axis=-1)   # noqa: E731
        ins, cost, upd, shared = build(pt, pytensor.shared, pytensor.grad, soft, dtype, *P0)
        g = pytensor.function(ins, cost, updates=upd)
        g(x, y)
        fns["pytensor"] = lambda: g(x, y)
        notes["pytensor"] = f"dP {diff([s.get_value() for s in shared]):.0e}"
    if "jax" in ctx.peers:
        import jax
        step = jax_step(model)
        jx, jy = jax.device_put(x), jax.device_put(y)
        holder = [[jax.device_put(p.copy()) for p in P0]]
        _, holder[0] = step(holder[0], jx, jy)
        notes["jax"] = f"dP {diff(holder[0]):.0e}"

        def run_jax():
            c, holder[0] = step(holder[0], jx, jy)
            c.block_until_ready()
        fns["jax"] = run_jax
    rows += rows_from_times(wl, case, interleaved(fns, ctx.samples, ctx.sample_time), ctx, notes)
    note_outcome(rows, outcome)
    rows += ctx.rows_missing(wl, case)
    return rows


def run_w2(ctx: Context) -> list[Row]:
    x, y, src = digits(60 if ctx.smoke else 600)
    return _case(ctx, "W2", "softmax", "float64", x, y, f"softmax 64->10 bs={len(y)} float64", src)


def run_w3(ctx: Context) -> list[Row]:
    x, y = mnist_like(16 if ctx.smoke else 128)
    return _case(ctx, "W3", "mlp", "float32", x, y, f"MLP 784-500-10 tanh bs={len(y)} float32",
                 "random MNIST-shaped data")
