"""Cases for python_op (egopt/lang/pyop.py): a user's Python op, with and without a gradient."""
from __future__ import annotations

import numpy as np

import egopt.tensor as T
from egopt.lang.pyop import Apply, Op, as_op
from tests.cases import Case, array, dtype, shape


class _Cube(Op):
    """x ** 3 with its gradient 3 x**2 g: a Theano-style op (make_node, perform, grad)."""
    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] ** 3

    def grad(self, inputs, output_grads):
        return [3 * inputs[0] ** 2 * output_grads[0]]


@as_op(itypes=[T.dvector], otypes=[T.dvector])
def _reverse_cumsum(v):
    return np.cumsum(v[::-1])[::-1]


def _gen(draw):
    return [array(draw, shape(draw, min_side=0, max_dims=3), dtype(draw), -2, 2)]


def _vec(draw):
    return [array(draw, shape(draw, ndim=1), "float64")]


CASES = [
    Case("python_op", _gen, lambda x: _Cube()(x), lambda x: x ** 3, label="theano-op"),
    Case("python_op", _vec, lambda v: _reverse_cumsum(v), lambda v: np.cumsum(v[::-1])[::-1], grad=False,
         label="as_op"),
]
