"""A tanh RNN sequence classifier trained with scan and back-propagation through time.

The task (generated, so nothing to download): each sequence is a noisy ramp, up for class 1
and down for class 0, with a random offset; the label must be read from the whole sequence. The RNN reads ``x_t`` and keeps ``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``; the class
comes from ``softmax(h_T W_o + c)``. Training: minibatch SGD with momentum on the shared weights.

    python examples/rnn_classifier.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import time

# small matrices: one BLAS thread beats several (and several stall on a busy machine)
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

import egopt  # noqa: E402
import egopt.tensor as T  # noqa: E402


def make_data(n: int, steps: int, rng: np.random.Generator):
    """Class 1: the sequence drifts up over time; class 0: it drifts down. Heavy noise on each
    step, so no single step tells: the RNN has to integrate the whole sequence."""
    y = rng.integers(0, 2, size=n)
    slope = np.where(y == 1, 1.0, -1.0)[:, None] * rng.uniform(0.5, 1.5, size=(n, 1))
    t = np.linspace(-1, 1, steps)[None, :]
    x = slope * t + rng.normal(size=(n, steps)) + rng.normal(size=(n, 1))
    # (time, batch, features): the value and its step-to-step change
    dx = np.diff(x, axis=1, prepend=x[:, :1])
    feats = np.stack([x, dx], axis=-1).transpose(1, 0, 2)
    return feats, y


def build(n_in: int = 2, n_hid: int = 24, n_out: int = 2, lr: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    Wx = egopt.shared(rng.normal(size=(n_in, n_hid)) / np.sqrt(n_in), name="Wx")
    Wh = egopt.shared(rng.normal(size=(n_hid, n_hid)) * (0.9 / np.sqrt(n_hid)), name="Wh")
    b = egopt.shared(np.zeros(n_hid), name="b")
    Wo = egopt.shared(rng.normal(size=(n_hid, n_out)) / np.sqrt(n_hid), name="Wo")
    c = egopt.shared(np.zeros(n_out), name="c")
    params = [Wx, Wh, b, Wo, c]

    X, y = T.dtensor3("X"), T.lvector("y")
    h0 = T.zeros((X.shape[1], n_hid))
    hs, _ = egopt.scan(lambda x_t, h, Wx, Wh, b: T.tanh(T.dot(x_t, Wx) + T.dot(h, Wh) + b),
                       sequences=X, outputs_info=h0, non_sequences=[Wx, Wh, b])
    logp = T.nnet.log_softmax(T.dot(hs[-1], Wo) + c)
    loss = -T.mean(logp[T.arange(y.shape[0]), y])
    acc = T.mean(T.eq(T.argmax(logp, axis=1), y))
    grads = T.grad(loss, params)
    vel = [egopt.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}") for p in params]
    updates = []
    for p, g, v in zip(params, grads, vel):
        g = T.clip(g, -5.0, 5.0)                 # exploding gradients through time
        updates += [(v, 0.9 * v - lr * g), (p, p + 0.9 * v - lr * g)]
    train = egopt.function([X, y], [loss, acc], updates=updates)
    evaluate = egopt.function([X, y], [loss, acc])
    return train, evaluate


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few epochs on a small set (for tests)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    steps, n_train, epochs, batch = (20, 256, 4, 32) if args.quick else (40, 2000, 15, 50)
    Xtr, ytr = make_data(n_train, steps, rng)
    Xte, yte = make_data(500, steps, rng)
    t0 = time.perf_counter()
    train, evaluate = build()
    print(f"compiled in {time.perf_counter() - t0:.2f} s")
    first, _ = evaluate(Xte, yte)
    losses = [float(first)]
    for ep in range(epochs):
        perm = rng.permutation(n_train)
        t0 = time.perf_counter()
        for i in range(0, n_train, batch):
            idx = perm[i:i + batch]
            train(Xtr[:, idx], ytr[idx])
        loss, acc = evaluate(Xte, yte)
        losses.append(float(loss))
        print(f"epoch {ep + 1:2d}  test loss {float(loss):.4f}  accuracy {float(acc):.3f}  "
              f"({time.perf_counter() - t0:.2f} s)")
    print(f"losses: {losses[0]:.4f} -> {losses[-1]:.4f}")
    return {"losses": losses, "accuracy": float(acc)}


if __name__ == "__main__":
    main()
