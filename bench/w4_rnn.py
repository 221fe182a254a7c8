"""W4: a tanh RNN (T=100, batch 32, hidden 128, input 64, float64), forward and BPTT.

Each system computes ``sum(h_T)`` and its gradients with respect to ``W_x`` and ``W_h`` for
``h_t = tanh(x_t W_x + h_{t-1} W_h)``: egopt's scan, a hand-written NumPy loop (the reference
for the values), PyTensor's scan and JAX's ``lax.scan`` (each optional: reported as missing
when it does not import). One BLAS thread, as in ``shared/research/peer-benchmarks.md``.
Then the per-step overhead: a scan of 10,000 steps over ``h + x_t`` on 10-element vectors.

    python bench/w4_rnn.py [--repeat 20]
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

T_, B, H, I = 100, 32, 128, 64


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(T_, B, I)), rng.normal(size=(I, H)) / np.sqrt(I),
            rng.normal(size=(H, H)) / np.sqrt(H), np.zeros((B, H)))


def numpy_rnn(x, wx, wh, h0):
    xw = np.dot(x.reshape(-1, I), wx).reshape(T_, B, H)
    hs = np.empty((T_ + 1, B, H))
    hs[0] = h0
    for t in range(T_):
        hs[t + 1] = np.tanh(xw[t] + hs[t] @ wh)
    gh = np.ones((B, H))
    gwh = np.zeros_like(wh)
    gz_all = np.empty((T_, B, H))
    for t in range(T_ - 1, -1, -1):
        gz = gh * (1 - hs[t + 1] ** 2)
        gz_all[t] = gz
        gwh += hs[t].T @ gz
        gh = gz @ wh.T
    gwx = x.reshape(-1, I).T @ gz_all.reshape(-1, H)
    return hs[-1].sum(), gwx, gwh


def egopt_rnn():
    import egopt
    import egopt.tensor as T
    X, Wx, Wh, h0 = T.dtensor3("X"), T.dmatrix("Wx"), T.dmatrix("Wh"), T.dmatrix("h0")
    hs, _ = egopt.scan(lambda x_t, h, Wx, Wh: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh)), sequences=X,
                       outputs_info=h0, non_sequences=[Wx, Wh])
    cost = hs[-1].sum()
    gwx, gwh = T.grad(cost, [Wx, Wh])
    f = egopt.function([X, Wx, Wh, h0], [cost, gwx, gwh])
    return lambda x, wx, wh, h0: f(x, wx, wh, h0)


def pytensor_rnn():
    import pytensor
    import pytensor.tensor as pt
    X, Wx, Wh, h0 = pt.dtensor3("X"), pt.dmatrix("Wx"), pt.dmatrix("Wh"), pt.dmatrix("h0")
    hs = pytensor.scan(lambda x_t, h, Wx, Wh: pt.tanh(pt.dot(x_t, Wx) + pt.dot(h, Wh)), sequences=X,
                       outputs_info=h0, non_sequences=[Wx, Wh], return_updates=False)
    cost = hs[-1].sum()
    gwx, gwh = pytensor.grad(cost, [Wx, Wh])
    f = pytensor.function([X, Wx, Wh, h0], [cost, gwx, gwh])
    return f


def jax_rnn():
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def loss(wx, wh, x, h0):
        def step(h, x_t):
            h = jnp.tanh(x_t @ wx + h @ wh)
            return h, None
        hT, _ = jax.lax.scan(step, h0, x)
        return hT.sum()
    vg = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))

    def run(x, wx, wh, h0):
        v, (gx, gh) = vg(wx, wh, x, h0)
        return float(v), np.asarray(gx), np.asarray(gh)
    return run


def time_it(fn, args, repeat):
    fn(*args)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts)


def overhead(repeat):
    import egopt
    import egopt.tensor as T
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    y, _ = egopt.scan(lambda a, h: h + a, sequences=x, outputs_info=h0)
    f = egopt.function([x, h0], y[-1])
    xv, hv = np.random.default_rng(1).random((10_000, 10)), np.zeros(10)
    assert np.allclose(f(xv, hv), xv.sum(0))

    def numpy_loop(xv, hv):
        h = hv.copy()
        for row in xv:
            np.add(h, row, out=h)
        return h
    return time_it(f, (xv, hv), repeat), time_it(numpy_loop, (xv, hv), repeat)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    vals = data()
    ref = numpy_rnn(*vals)
    built = []
    rows = []
    for name, make in [("numpy", lambda: numpy_rnn), ("egopt", egopt_rnn), ("pytensor", pytensor_rnn),
                       ("jax", jax_rnn)]:
        try:
            t0 = time.perf_counter()
            fn = make()
            build = time.perf_counter() - t0
        except ImportError as e:
            rows.append((name, None, None, f"missing ({e.name})"))
            continue
        got = fn(*vals)
        err = max(abs(float(got[0]) - ref[0]) / abs(ref[0]),
                  *(np.abs(np.asarray(g) - r).max() / np.abs(r).max() for g, r in zip(got[1:], ref[1:])))
        fn(*vals)
        built.append((name, fn, f"rel err {err:.0e}, build {build:.2f}s"))
    # samples interleaved (one call of each system per round): a busy machine slows all alike
    samples = {name: [] for name, _, _ in built}
    for _ in range(args.repeat):
        for name, fn, _ in built:
            t = time.perf_counter()
            fn(*vals)
            samples[name].append(time.perf_counter() - t)
    rows += [(name, min(samples[name]), statistics.median(samples[name]), note) for name, _, note in built]
    rows.sort(key=lambda r: ["numpy", "egopt", "pytensor", "jax"].index(r[0]))
    best = min(r[1] for r in rows if r[1] is not None)
    base, base_med = next((r[1], r[2]) for r in rows if r[0] == "numpy")
    print(f"== W4: tanh RNN T={T_} B={B} H={H} I={I} float64, forward + grad wrt W_x, W_h  [BLAS threads=1]")
    print(f"{'system':<12}{'min':>12}{'median':>12}{'x numpy':>9}{'(median)':>9}{'x best':>8}  notes")
    for name, mn, med, note in rows:
        if mn is None:
            print(f"{name:<12}{'-':>12}{'-':>12}{'':>9}{'':>9}{'':>8}  {note}")
        else:
            print(f"{name:<12}{mn * 1e3:>10.2f}ms{med * 1e3:>10.2f}ms{mn / base:>9.2f}{med / base_med:>9.2f}"
                  f"{mn / best:>8.2f}  {note}")
    (e_min, e_med), (n_min, n_med) = overhead(max(3, args.repeat // 4))
    print("\n== scan per-step overhead: 10,000 steps of h + x_t, float64[10]")
    print(f"egopt scan   {e_min * 1e3:8.2f} ms min  {e_med * 1e3:8.2f} ms median  ({e_min / 1e4 * 1e6:.2f} us/step)")
    print(f"numpy loop   {n_min * 1e3:8.2f} ms min  {n_med * 1e3:8.2f} ms median  (np.add(h, x_t, out=h))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
