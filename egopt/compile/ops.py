"""Theano's ``theano.compile.ops`` path: ``as_op`` (a NumPy function as an op)."""
from ..lang.pyop import FromFunctionOp, as_op  # noqa: F401
