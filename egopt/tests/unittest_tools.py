"""Theano's ``theano.tests.unittest_tools`` (``utt``): ``verify_grad``, ``seed_rng``,
``assert_allclose`` and ``InferShapeTester`` for tests of a user's ops."""
from __future__ import annotations

import unittest

import numpy as np

from ..grad import verify_grad  # noqa: F401

SEED = 9574


def fetch_seed(pseed=None) -> int:
    """The seed tests use (Theano's default, or ``pseed``)."""
    return SEED if pseed is None else int(pseed)


def seed_rng(pseed=None) -> int:
    """Seed NumPy's global generator with ``fetch_seed()``; returns the seed."""
    seed = fetch_seed(pseed)
    np.random.seed(seed)
    return seed


def assert_allclose(expected, value, rtol=None, atol=None) -> None:
    """``np.testing.assert_allclose`` with tolerances by dtype (float32 looser)."""
    value = np.asarray(value)
    low = value.dtype == np.float32 or np.asarray(expected).dtype == np.float32
    tol = 1e-4 if low else 1e-7
    np.testing.assert_allclose(value, expected, rtol=tol if rtol is None else rtol,
                               atol=tol if atol is None else atol)


class InferShapeTester(unittest.TestCase):
    """``self._compile_and_check(inputs, outputs, numeric_inputs, cls)`` checks that the symbolic
    shapes of ``outputs`` equal the shapes of their computed values."""

    def setUp(self):
        seed_rng()

    def _compile_and_check(self, inputs, outputs, numeric_inputs, cls, excluding=None, warn=True,
                           check_topo=True):
        from ..runtime import function
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        values = function(inputs, outputs, on_unused_input="ignore")(*numeric_inputs)
        shapes = function(inputs, [o.shape for o in outputs], on_unused_input="ignore")(*numeric_inputs)
        for v, s in zip(values, shapes):
            assert tuple(np.asarray(v).shape) == tuple(int(d) for d in s), \
                f"infer_shape: computed shape {tuple(s)} != the output's shape {np.shape(v)}"
