"""Theano's ``theano.scalar`` path: the dtype helpers programs call (``upcast``)."""
from .lang.dtypes import upcast as _upcast


def upcast(*dtypes: str) -> str:
    """The dtype NumPy gives an operation on arrays of these dtypes (``theano.scalar.upcast``)."""
    return _upcast(*[str(d) for d in dtypes])
