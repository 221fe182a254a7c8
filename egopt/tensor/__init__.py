"""``egopt.tensor`` (import it as ``T``): the NumPy-like API for building graphs.

Theano-compatible names: ``T.matrix``, ``T.dot``, ``T.nnet.softmax``, ``T.grad``, ...
"""
from ..lang.frontend import *  # noqa: F401,F403
from ..lang.frontend import (  # noqa: F401  (names starting with an underscore-free builtin clash)
    abs, all, any, max, min, pow, round, sum,
)
from ..lang.graph import Constant, Variable  # noqa: F401
from ..lang.types import TensorType  # noqa: F401
from ..lang.shared import SharedVariable  # noqa: F401
from . import nnet  # noqa: F401
from . import signal  # noqa: F401
from . import random, shared_randomstreams  # noqa: F401
from ..lang.numpy_like import (  # noqa: F401  (compositions of existing ops)
    broadcast_to, diagonal, diff, exp2, expit, full, full_like, hstack, isclose, linspace, logit, moveaxis,
    reciprocal, swapaxes, trace, vstack,
)
from ..lang.theano_like import (  # noqa: F401  (Theano's compositions)
    fill_diagonal, flatnonzero, identity_like, inv, iround, max_and_argmax, mgrid, nonzero, nonzero_values,
    norm, ogrid, roll, split, stacklists, trunc,
    allclose, arctan2, argwhere, bincount, broadcast_arrays, deg2rad, dstack, empty, empty_like, geomspace, heaviside,
    inner, kron, logaddexp, logical_and, logical_not, logical_or, logical_xor, logspace, median, nan_to_num, ptp,
    rad2deg, take_along_axis, tri,
)
from ..lang.frontend import softplus as log1pexp, flatten as ravel, int_div as floor_div  # noqa: F401
from ..lang.linalg import diag  # noqa: F401
from .elemwise import CAReduce, DimShuffle, Elemwise  # noqa: F401  (isinstance checks on node.op)
from ..grad import verify_grad  # noqa: F401  (T.verify_grad)
from ..lang.frontend import abs as abs_  # noqa: F401  (Theano's name)
from . import xlogx  # noqa: F401  (T.xlogx.xlogy0)
from . import nlinalg, slinalg, linalg  # noqa: F401  (T.nlinalg.matrix_inverse, pt.linalg.solve)
from . import fft  # noqa: F401  (T.fft.rfft)
from ..lang.linalg import tril, triu  # noqa: F401
from ..lang.einsum import einsum  # noqa: F401
from ..lang.sorting import unique  # noqa: F401
from . import extra_ops, special  # noqa: F401  (T.extra_ops.cumsum; PyTensor's pt.special.softmax)
from ..lang.nnet import log_softmax, logsumexp, softmax  # noqa: F401  (PyTensor: pt.softmax, pt.logsumexp)
from ..grad import grad, Lop, Rop, jacobian, hessian  # noqa: F401

from numpy import e, inf, nan, pi  # noqa: F401,E402  (pt.pi, pt.e)
from ..lang.theano_like import round, where  # noqa: F401,E402  (T.round(x, mode=...), T.where(cond))

TensorVariable = Variable
TensorConstant = Constant
