"""``egopt demo``: handwritten digits, a softmax regression and a small LeNet-style convnet.

The data set is scikit-learn's 8x8 digits (1,797 images, shipped with scikit-learn: nothing is
downloaded). Both models are built with the tensor API, differentiated with ``T.grad`` and
compiled into one training function each (forward pass, gradients and momentum updates in
one graph, through the e-graph optimizer). Training uses minibatch SGD with early stopping on a
validation split; the report gives test errors, what the optimizer did, timings, and writes
pictures of the learned first-layer filters and of the training curves.

Needs the ``demo`` extra: ``pip install 'egopt[demo]'`` (scikit-learn, tqdm, matplotlib).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

import egopt
import egopt.tensor as T
from egopt.lang.graph import toposort

FLOAT = "float32"


def _need(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SystemExit(f"egopt demo needs {module.split('.')[0]}: pip install 'egopt[demo]' "
                         "(scikit-learn, tqdm, matplotlib)") from None


def load_digits(seed: int = 0):
    """(train, valid, test) splits of (images N x 1 x 8 x 8 in [0, 1], labels), stratified."""
    datasets = _need("sklearn.datasets")
    model_selection = _need("sklearn.model_selection")
    d = datasets.load_digits()
    x = (d.images / 16.0).astype(FLOAT)[:, None, :, :]
    y = d.target.astype("int64")
    x_rest, x_test, y_rest, y_test = model_selection.train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y)
    x_train, x_valid, y_train, y_valid = model_selection.train_test_split(
        x_rest, y_rest, test_size=0.2, random_state=seed, stratify=y_rest)
    return (x_train, y_train), (x_valid, y_valid), (x_test, y_test)


# ---- models ---------------------------------------------------------------------------------------------

def _param(rng, shape, scale, name):
    return egopt.shared((rng.standard_normal(shape) * scale).astype(FLOAT), name=name)


def _zeros(shape, name):
    return egopt.shared(np.zeros(shape, dtype=FLOAT), name=name)


def softmax_regression(x, rng):
    w, b = _zeros((64, 10), "W"), _zeros((10,), "b")
    return T.nnet.softmax(T.dot(x.flatten(2), w) + b), [w, b], w


def lenet(x, rng, filters: int = 20, hidden: int = 64):
    """conv 5x5 (half padding) -> relu -> 2x2 max pool -> dense relu -> softmax."""
    w1 = _param(rng, (filters, 1, 5, 5), 0.2, "W_conv")
    b1 = _zeros((filters,), "b_conv")
    w2 = _param(rng, (filters * 16, hidden), np.sqrt(2.0 / (filters * 16)), "W_hidden")
    b2 = _zeros((hidden,), "b_hidden")
    w3 = _param(rng, (hidden, 10), np.sqrt(1.0 / hidden), "W_out")
    b3 = _zeros((10,), "b_out")
    conv = T.nnet.conv2d(x, w1, border_mode="half", filter_shape=(filters, 1, 5, 5))
    h1 = T.signal.pool.pool_2d(T.nnet.relu(conv + b1.dimshuffle("x", 0, "x", "x")), (2, 2), ignore_border=True)
    h2 = T.nnet.relu(T.dot(h1.flatten(2), w2) + b2)
    return T.nnet.softmax(T.dot(h2, w3) + b3), [w1, b1, w2, b2, w3, b3], w1


@dataclass
class Result:
    name: str
    test_error: float = 1.0
    best_valid: float = 1.0
    epochs: int = 0
    stopped_early: bool = False
    compile_s: float = 0.0
    train_s: float = 0.0
    nodes_built: int = 0
    report: object = None
    curve_valid: list = field(default_factory=list)
    curve_loss: list = field(default_factory=list)
    filters: np.ndarray | None = None


def train(name, build, data, *, lr, epochs, patience, batch=32, l2=1e-4, seed=0, progress=True) -> Result:
    """Minibatch SGD with momentum 0.9; stops when the validation error has not improved for
    ``patience`` epochs and keeps the best parameters."""
    tqdm = _need("tqdm").tqdm
    (xt, yt), (xv, yv), (xs, ys) = data
    rng = np.random.default_rng(seed)
    x, y = T.ftensor4("x"), T.lvector("y")
    probs, params, first_layer = build(x, rng)
    loss = T.nnet.categorical_crossentropy(probs, y).mean()
    cost = loss + l2 * sum((p ** 2).sum() for p in params if p.ndim > 1)
    grads = T.grad(cost, params)
    updates = []
    for p, g in zip(params, grads):
        v = egopt.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
        v_new = 0.9 * v - lr * g
        updates += [(v, v_new), (p, p + v_new)]
    res = Result(name, nodes_built=len(toposort([loss] + [u for _, u in updates])))
    t0 = time.perf_counter()
    step = egopt.function([x, y], loss, updates=updates, name=f"{name} train")
    res.compile_s = time.perf_counter() - t0
    res.report = step.optimization_report()
    errors = egopt.function([x, y], T.neq(T.argmax(probs, axis=1), y).mean(), name=f"{name} error")

    best, stale, saved = np.inf, 0, None
    t0 = time.perf_counter()
    n_batches = len(xt) // batch
    for epoch in range(epochs):
        order = rng.permutation(len(xt))
        total = 0.0
        bar = tqdm(range(n_batches), desc=f"{name:>18} epoch {epoch + 1:>2}", leave=False, disable=not progress,
                   ncols=90)
        for i in bar:
            idx = order[i * batch:(i + 1) * batch]
            total += float(step(xt[idx], yt[idx]))
            if i % 8 == 0:
                bar.set_postfix(loss=f"{total / (i + 1):.3f}")
        res.curve_loss.append(total / n_batches)
        valid = float(errors(xv, yv))
        res.curve_valid.append(valid)
        res.epochs = epoch + 1
        if valid < best:
            best, stale, saved = valid, 0, [p.get_value() for p in params]
        else:
            stale += 1
            if stale >= patience:
                res.stopped_early = True
                break
    res.train_s = time.perf_counter() - t0
    for p, v in zip(params, saved):
        p.set_value(v)
    res.best_valid = best
    res.test_error = float(errors(xs, ys))
    res.filters = first_layer.get_value()
    return res


# ---- pictures ---------------------------------------------------------------------------------------------

def _plt():
    mpl = _need("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_filters(results: list[Result], path: str) -> None:
    plt = _plt()
    soft = results[0].filters.T.reshape(10, 8, 8)
    conv = results[1].filters[:, 0]
    cols = max(10, int(np.ceil(len(conv) / 2)))
    fig, axes = plt.subplots(3, cols, figsize=(cols * 0.9, 3 * 1.0))
    for ax in axes.ravel():
        ax.axis("off")
    for i, img in enumerate(soft):
        axes[0, i].imshow(img, cmap="RdBu_r", vmin=-abs(soft).max(), vmax=abs(soft).max())
        axes[0, i].set_title(str(i), fontsize=8)
    for i, img in enumerate(conv):
        ax = axes[1 + i // cols, i % cols]
        ax.imshow(img, cmap="gray", interpolation="nearest")
    fig.suptitle("softmax regression: one 8x8 template per digit (top); convnet: 5x5 filters (bottom)",
                 fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_curves(results: list[Result], path: str) -> None:
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for r in results:
        epochs = np.arange(1, len(r.curve_loss) + 1)
        a.plot(epochs, r.curve_loss, label=r.name)
        b.plot(epochs, np.array(r.curve_valid) * 100, label=r.name)
    a.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log")
    b.set(xlabel="epoch", ylabel="validation error (%)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- the command ------------------------------------------------------------------------------------------

def _optimizer_line(rep) -> str:
    fired = sorted(((k, v) for k, v in rep.fired.items() if k), key=lambda kv: -kv[1])
    top = ", ".join(f"{k} {v}" for k, v in fired[:6])
    more = f" (+{len(fired) - 6} more)" if len(fired) > 6 else ""
    return (f"{rep.outcome}: {rep.nodes_in} -> {rep.nodes_out} nodes, {len(fired)} rules fired"
            + (f": {top}{more}" if top else ""))


def run(quick: bool = False, out_dir: str = "egopt-demo", progress: bool = True) -> int:
    """Train both models, print the report and write the pictures; returns the exit status."""
    # minibatches are small: one BLAS thread is faster than several (which spin on a busy machine)
    with _need("threadpoolctl").threadpool_limits(limits=1, user_api="blas"):
        return _run(quick, out_dir, progress)


def _run(quick: bool, out_dir: str, progress: bool) -> int:
    t_start = time.perf_counter()
    data = load_digits()
    (xt, _), (xv, _), (xs, _) = data
    epochs, patience = (8, 3) if quick else (60, 8)
    results = [
        train("softmax regression", softmax_regression, data, lr=0.1, epochs=epochs, patience=patience,
              progress=progress),
        train("LeNet convnet", lenet, data, lr=0.03, epochs=epochs, patience=patience, progress=progress),
    ]
    os.makedirs(out_dir, exist_ok=True)
    filters_png, curves_png = os.path.join(out_dir, "filters.png"), os.path.join(out_dir, "curves.png")
    plot_filters(results, filters_png)
    plot_curves(results, curves_png)

    print(f"egopt demo: handwritten digits (scikit-learn, 8x8): {len(xt)} train, {len(xv)} validation, "
          f"{len(xs)} test images" + (" [quick]" if quick else ""))
    for r in results:
        rep = r.report
        print(f"\n  {r.name}")
        print(f"    test error   {r.test_error:.2%}   (best validation error {r.best_valid:.2%}, "
              f"{r.epochs} epochs" + (", stopped early)" if r.stopped_early else ")"))
        print(f"    training     {r.train_s:.1f} s ({r.train_s / max(r.epochs, 1) * 1000:.0f} ms per epoch)")
        print(f"    compile      {r.compile_s:.2f} s (optimizer: " + ", ".join(
            f"{k} {v * 1000:.0f} ms" for k, v in rep.seconds.items()) + ")")
        print(f"    graph        {r.nodes_built} nodes built (forward, T.grad, updates)")
        print(f"    optimizer    {_optimizer_line(rep)}")
    print(f"\n  pictures     {filters_png} (first-layer filters), {curves_png} (training curves)")
    print(f"  total        {time.perf_counter() - t_start:.1f} s")
    return 0
