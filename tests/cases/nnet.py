"""Cases for the neural-network ops (egopt/lang/nnet.py)."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T
from tests.cases import Case, array, dtype


def _mat(draw):
    return [array(draw, (draw(st.integers(1, 4)), draw(st.integers(1, 5))), dtype(draw), -20, 20)]


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _nd(vals):
    return [T.tensor(dtype=v.dtype.name, shape=(None,) * v.ndim) for v in vals]


def _xent_gen(draw):
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    p = _np_softmax(array(draw, (n, k), "float64"))
    y = np.array([draw(st.integers(0, k - 1)) for _ in range(n)], dtype="int64")
    return [p, y]


CASES = [
    Case("softmax", _mat, T.nnet.softmax, _np_softmax, symbolic=_nd),
    Case("softmax", _mat, lambda x: T.nnet.softmax(x, axis=0), lambda x: _np_softmax(x, 0), label="axis0",
         symbolic=_nd),
    Case("log_softmax", _mat, T.nnet.log_softmax, lambda x: np.log(_np_softmax(x)), symbolic=_nd),
    Case("log_softmax", lambda d: [np.array([[0.0, -40.0, -50.0], [3.0, 3.0, -1.0]])], T.nnet.log_softmax,
         lambda x: np.array([[-(math.exp(-40) + math.exp(-50)), -40.0, -50.0],
                             [3 - math.log(2 * math.exp(3) + math.exp(-1))] * 2
                             + [-1 - math.log(2 * math.exp(3) + math.exp(-1))]]),
         label="dominant", symbolic=_nd),
    Case("logsumexp", _mat, T.nnet.logsumexp, lambda x: np.log(np.exp(x).sum()), symbolic=_nd),
    Case("logsumexp", _mat, lambda x: T.nnet.logsumexp(x, axis=1, keepdims=True),
         lambda x: np.log(np.exp(x).sum(axis=1, keepdims=True)), label="axis1", symbolic=_nd),
    Case("logsumexp", lambda d: [np.array([[0.0, -40.0, -50.0], [-np.inf, -np.inf, -np.inf]])],
         lambda x: T.nnet.logsumexp(x, axis=-1), lambda x: np.array([math.exp(-40) + math.exp(-50), -np.inf]),
         label="dominant", symbolic=_nd, grad=False),
    Case("maximum", _mat, T.nnet.relu, lambda x: np.maximum(x, 0), label="relu", symbolic=_nd, grad=False),
    Case("log", _xent_gen, T.nnet.categorical_crossentropy,
         lambda p, y: -np.log(p[np.arange(len(y)), y]), label="xent-index", symbolic=_nd, grad_wrt=(0,),
         also_covers=("advanced_subtensor", "arange")),
    Case("log", lambda d: [_np_softmax(array(d, (3, 4), "float64")), _np_softmax(array(d, (3, 4), "float64"))],
         T.nnet.categorical_crossentropy, lambda p, t: -(t * np.log(p)).sum(axis=-1), label="xent-dist",
         symbolic=_nd),
    Case("log", lambda d: (lambda n: [array(d, (n,), "float64", 0.05, 0.95),
                                       array(d, (n,), "float64", 0, 1)])(d(st.integers(0, 5))),
         T.nnet.binary_crossentropy, lambda o, t: -(t * np.log(o) + (1 - t) * np.log(1 - o)),
         label="binary-xent", symbolic=_nd),
]
