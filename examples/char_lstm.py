"""A character-level LSTM trained on padded, masked minibatches, then sampling text.

The classic Theano LSTM tutorial shape: lines of different lengths are padded into a
``(time, batch)`` integer matrix with a ``(time, batch)`` mask; the scan body keeps the old
state where the mask is 0, and the loss counts only real characters. The text is
``examples/data/tiny_corpus.txt`` (generated sentences, a few KB, shipped with the repo).
Training uses Adam on shared weights; sampling runs a one-step function in a Python loop.

    python examples/char_lstm.py [--quick]
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

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "tiny_corpus.txt")


def load(path: str = CORPUS):
    lines = [ln for ln in open(path, encoding="utf-8").read().splitlines() if ln]
    chars = sorted(set("".join(lines)))
    vocab = ["<pad/start>", "\n"] + chars          # 0 starts a line (and pads), 1 ends it
    index = {ch: i for i, ch in enumerate(vocab)}
    encoded = [np.array([index[c] for c in ln] + [1], dtype=np.int64) for ln in lines]
    return encoded, vocab


def minibatch(seqs):
    """Inputs (start token + text), targets (text + end token) and the mask, padded to the longest."""
    n = max(len(s) for s in seqs)
    x = np.zeros((n, len(seqs)), dtype=np.int64)
    y = np.zeros((n, len(seqs)), dtype=np.int64)
    m = np.zeros((n, len(seqs)))
    for j, s in enumerate(seqs):
        x[1:len(s), j] = s[:-1]
        y[:len(s), j] = s
        m[:len(s), j] = 1.0
    return x, y, m


class CharLSTM:
    def __init__(self, V: int, D: int = 24, H: int = 96, seed: int = 0, lr: float = 0.01):
        rng = np.random.default_rng(seed)
        self.H = H

        def w(*shape, scale=None):
            return rng.normal(size=shape) * (scale if scale is not None else 1 / np.sqrt(shape[0]))
        b = np.zeros(4 * H)
        b[H:2 * H] = 1.0                                # forget gate starts open
        self.E = egopt.shared(w(V, D, scale=0.3), name="E")
        self.W = egopt.shared(w(D, 4 * H), name="W")
        self.U = egopt.shared(w(H, 4 * H), name="U")
        self.b = egopt.shared(b, name="b")
        self.Wo = egopt.shared(w(H, V), name="Wo")
        self.bo = egopt.shared(np.zeros(V), name="bo")
        self.params = [self.E, self.W, self.U, self.b, self.Wo, self.bo]
        self._compile(lr)

    def step(self, e_t, m_t, h, c, W, U, b):
        H = self.H
        z = T.dot(e_t, W) + T.dot(h, U) + b
        i, f = T.nnet.sigmoid(z[:, :H]), T.nnet.sigmoid(z[:, H:2 * H])
        o, g = T.nnet.sigmoid(z[:, 2 * H:3 * H]), T.tanh(z[:, 3 * H:])
        c_new = f * c + i * g
        h_new = o * T.tanh(c_new)
        m = m_t[:, None]
        return m * h_new + (1 - m) * h, m * c_new + (1 - m) * c

    def _compile(self, lr: float):
        X, Y, M = T.lmatrix("X"), T.lmatrix("Y"), T.dmatrix("M")
        B = X.shape[1]
        h0 = T.zeros((B, self.H))
        (hs, _), _ = egopt.scan(self.step, sequences=[self.E[X], M], outputs_info=[h0, h0],
                                non_sequences=[self.W, self.U, self.b])
        logits = T.dot(hs, self.Wo) + self.bo                      # (time, batch, V)
        logp = T.nnet.log_softmax(logits.reshape((-1, logits.shape[2])))
        picked = logp[T.arange(logp.shape[0]), Y.flatten()]
        loss = -(picked * M.flatten()).sum() / M.sum()
        grads = T.grad(loss, self.params)
        updates, t = [], egopt.shared(np.float64(0.0), name="t")
        t_new = t + 1
        updates.append((t, t_new))
        for p, g in zip(self.params, grads):                       # Adam
            m = egopt.shared(np.zeros_like(p.get_value()), name=f"m_{p.name}")
            v = egopt.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
            m_new, v_new = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g ** 2
            step = lr * T.sqrt(1 - 0.999 ** t_new) / (1 - 0.9 ** t_new)
            updates += [(m, m_new), (v, v_new), (p, p - step * m_new / (T.sqrt(v_new) + 1e-8))]
        self.train = egopt.function([X, Y, M], loss, updates=updates)
        self.loss = egopt.function([X, Y, M], loss)
        # one step for sampling: a batch of one
        ch, h, c = T.lvector("ch"), T.dmatrix("h"), T.dmatrix("c")
        h1, c1 = self.step(self.E[ch], T.ones((1,)), h, c, self.W, self.U, self.b)
        probs = T.nnet.softmax(T.dot(h1, self.Wo) + self.bo)
        self.next = egopt.function([ch, h, c], [probs, h1, c1])

    def sample(self, vocab, rng, n: int = 200, temperature: float = 0.8) -> str:
        h = c = np.zeros((1, self.H))
        ch, out = 0, []
        for _ in range(n):
            p, h, c = self.next(np.array([ch]), h, c)
            logits = np.log(p[0] + 1e-12) / temperature
            q = np.exp(logits - logits.max())
            ch = int(rng.choice(len(q), p=q / q.sum()))
            out.append(vocab[ch] if ch > 1 else "\n")
            if ch <= 1:
                h = c = np.zeros((1, self.H))
                ch = 0
        return "".join(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few minibatches (for tests)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    seqs, vocab = load()
    t0 = time.perf_counter()
    model = CharLSTM(len(vocab), H=48 if args.quick else 96)
    print(f"{len(seqs)} lines, {len(vocab)} symbols; compiled in {time.perf_counter() - t0:.2f} s")
    batch, epochs = 16, (1 if args.quick else 30)
    held = minibatch(seqs[:32])
    losses = [float(model.loss(*held))]
    for ep in range(epochs):
        order = rng.permutation(len(seqs))
        t0 = time.perf_counter()
        for i in range(0, len(seqs), batch):
            model.train(*minibatch([seqs[j] for j in order[i:i + batch]]))
            if args.quick:
                losses.append(float(model.loss(*held)))
        if not args.quick:
            losses.append(float(model.loss(*held)))
        print(f"epoch {ep + 1:2d}  loss {losses[-1]:.3f} nats/char  ({time.perf_counter() - t0:.2f} s)")
    text = model.sample(vocab, rng, n=120 if args.quick else 400)
    print("sample:\n" + text)
    print(f"losses: {losses[0]:.4f} -> {losses[-1]:.4f}")
    return {"losses": losses, "sample": text}


if __name__ == "__main__":
    main()
