"""Cases for the neural-network ops (egopt/lang/nnet.py)."""
from __future__ import annotations

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
    Case("abs", _mat, T.nnet.relu, lambda x: np.maximum(x, 0), label="relu", symbolic=_nd, grad=False),
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
