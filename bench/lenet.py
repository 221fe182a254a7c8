"""Forward + backward of a LeNet layer: egopt vs PyTensor vs JAX, same data, same run.

The layer (the Theano tutorial's LeNetConvPoolLayer): input (128, 1, 28, 28), 20 filters 5x5
(valid convolution), 2x2 max pooling, ``tanh(pooled + b)``; the cost is the mean of the
squared output, and each framework computes the cost and its gradients with respect to the
filters and the bias in one compiled call (float32). Times are the median of ``repeat``
calls after warm-up; compile times are reported apart.

PyTensor 3.0.7 has no 4-D ``conv2d`` nor ``pool_2d`` any more (Theano's nnet/signal modules
were removed); its closest equivalents are used: ``pytensor.tensor.signal.convolve2d``
broadcast over the batch and the filters (a true convolution, as Theano's ``filter_flip``),
and max pooling written as a reshape and a max. JAX uses ``lax.conv_general_dilated`` (on
flipped filters, for the same true convolution) and ``lax.reduce_window``, under ``jit``.
PyTensor and JAX are optional imports; a missing one is reported as n/a.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

BATCH, FILTERS, SIDE, K = 128, 20, 28, 5


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, SIDE, SIDE)).astype("float32")
    w = (rng.standard_normal((FILTERS, 1, K, K)) * 0.1).astype("float32")
    b = (rng.standard_normal(FILTERS) * 0.1).astype("float32")
    return x, w, b


def _median_call(fn, repeat: int) -> float:
    fn()   # warm-up (and for JAX: compile)
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_egopt(x, w, b, repeat):
    import egopt
    import egopt.tensor as T
    xs = T.ftensor4("x")
    W, B = egopt.shared(w, name="W"), egopt.shared(b, name="b")
    pooled = T.signal.pool.pool_2d(T.nnet.conv2d(xs, W), (2, 2), ignore_border=True)
    out = T.tanh(pooled + B.dimshuffle("x", 0, "x", "x"))
    cost = (out ** 2).mean()
    t0 = time.perf_counter()
    f = egopt.function([xs], [cost, *T.grad(cost, [W, B])])
    compile_s = time.perf_counter() - t0
    res = f(x)
    return dict(seconds=_median_call(lambda: f(x), repeat), compile=compile_s, result=res,
                note=f.optimization_report().outcome)


def run_pytensor(x, w, b, repeat):
    try:
        import pytensor
        import pytensor.tensor as pt
        from pytensor.tensor.signal import convolve2d
    except ImportError:
        return None
    xs = pt.tensor("x", dtype="float32", shape=(None, 1, SIDE, SIDE))   # axis 1 broadcasts
    W = pytensor.shared(w[:, 0], name="W")               # (20, 5, 5): one-channel filters
    B = pytensor.shared(b, name="b")
    conv = convolve2d(xs, W[None], mode="valid")          # (128, 1, 28, 28) * (1, 20, 5, 5)
    n, side = BATCH, (SIDE - K + 1) // 2
    pooled = conv.reshape((n, FILTERS, side, 2, side, 2)).max(axis=(3, 5))
    out = pt.tanh(pooled + B.dimshuffle("x", 0, "x", "x"))
    cost = (out ** 2).mean()
    t0 = time.perf_counter()
    f = pytensor.function([xs], [cost, *pytensor.grad(cost, [W, B])])
    compile_s = time.perf_counter() - t0
    c, gw, gb = f(x)
    return dict(seconds=_median_call(lambda: f(x), repeat), compile=compile_s, result=[c, gw[:, None], gb],
                note="signal.convolve2d + reshape-max")


def run_jax(x, w, b, repeat):
    try:
        import jax
        import jax.numpy as jnp
        from jax import lax
    except ImportError:
        return None

    def cost(W, B, X):
        conv = lax.conv_general_dilated(X, W[:, :, ::-1, ::-1], (1, 1), "VALID",
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))
        pooled = lax.reduce_window(conv, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        out = jnp.tanh(pooled + B[None, :, None, None])
        return jnp.mean(out ** 2)

    step = jax.jit(jax.value_and_grad(cost, argnums=(0, 1)))
    W, B, X = jnp.asarray(w), jnp.asarray(b), jnp.asarray(x)
    t0 = time.perf_counter()
    c, (gw, gb) = step(W, B, X)
    c.block_until_ready()
    compile_s = time.perf_counter() - t0

    def call():
        c, (gw, gb) = step(W, B, X)
        gw.block_until_ready()
    return dict(seconds=_median_call(call, repeat), compile=compile_s,
                result=[np.asarray(c), np.asarray(gw), np.asarray(gb)], note=f"jit, {jax.default_backend()}")


def run(repeat: int = 20) -> list[dict]:
    x, w, b = data()
    rows = []
    ref = None
    for name, fn in (("egopt", run_egopt), ("pytensor", run_pytensor), ("jax", run_jax)):
        r = fn(x, w, b, repeat)
        if r is None:
            rows.append(dict(name=name, seconds=None, compile=None, agree="n/a", note="not installed"))
            continue
        if ref is None:
            ref = r["result"]
        agree = all(np.allclose(np.asarray(a), np.asarray(e), rtol=2e-3, atol=1e-6)
                    for a, e in zip(r["result"], ref))
        rows.append(dict(name=name, seconds=r["seconds"], compile=r["compile"], agree="yes" if agree else "NO",
                         note=r["note"]))
    return rows


def format_rows(rows) -> str:
    base = rows[0]["seconds"]
    lines = [f"== LeNet layer forward+backward (batch {BATCH}, 1x{SIDE}x{SIDE}, {FILTERS} filters {K}x{K}, "
             "2x2 max pool, float32; median call)",
             f"{'framework':<10}{'ms/call':>10}{'vs egopt':>10}{'compile s':>11}{'same result':>13}  note"]
    for r in rows:
        if r["seconds"] is None:
            lines.append(f"{r['name']:<10}{'n/a':>10}{'n/a':>10}{'n/a':>11}{'n/a':>13}  {r['note']}")
            continue
        ratio = r["seconds"] / base if base else float("nan")   # > 1: slower than egopt
        lines.append(f"{r['name']:<10}{r['seconds'] * 1000:>10.2f}{ratio:>10.2f}{r['compile']:>11.2f}"
                     f"{r['agree']:>13}  {r['note']}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_rows(run()))
