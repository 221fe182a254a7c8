"""Tensor types: a dtype and a static shape whose entries are an int where known, None where not.

A static size of 1 means broadcastable (Theano's ``broadcastable=True``). Sizes other than
what the type states may change from call to call; ndim and dtype may not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dtypes
from .errors import ShapeError

_NAMES = {0: "scalar", 1: "vector", 2: "matrix", 3: "tensor3", 4: "tensor4"}


@dataclass(frozen=True, init=False)
class TensorType:
    """``TensorType(dtype, shape)``; Theano's ``TensorType(dtype, broadcastable)`` (a pattern of
    bools, True for a static size of 1) and PyTensor's ``shape=``/``broadcastable=`` keywords work
    too. Calling a type makes a variable of it: ``TensorType('float64', (False,) * 5)('x')``."""
    dtype: str
    shape: tuple[int | None, ...]

    def __init__(self, dtype, shape=None, name=None, broadcastable=None, sparse_grad=False):
        if shape is None:
            shape = broadcastable
        if shape is None:
            raise TypeError("TensorType: give shape=(...) (or Theano's broadcastable=(...))")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "shape", tuple(shape))
        self.__post_init__()

    def __post_init__(self):
        object.__setattr__(self, "dtype", dtypes.canonical(self.dtype))
        # Theano's broadcastable flags: True is a static size of 1, False an unknown size
        shape = tuple(None if s is None or s is False or s is np.False_ else 1 if s is True or s is np.True_
                      else int(s) for s in self.shape)
        if any(s is not None and s < 0 for s in shape):
            raise ValueError(f"negative static size in shape {shape}")
        object.__setattr__(self, "shape", shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(s == 1 for s in self.shape)

    def __call__(self, name: str | None = None):
        """A new symbolic variable of this type (Theano's ``x.type()``, ``dmatrix_type('x')``)."""
        from .graph import Variable
        return Variable(self, name=name)

    def make_variable(self, name: str | None = None):
        return self(name)

    def value_zeros(self, shape) -> np.ndarray:
        """Zeros of this dtype and the given shape (Theano's ``TensorType.value_zeros``)."""
        return np.zeros(shape, dtype=self.dtype)

    def with_shape(self, shape) -> "TensorType":
        return TensorType(self.dtype, tuple(shape))

    def with_dtype(self, dtype) -> "TensorType":
        return TensorType(dtype, self.shape)

    def accepts(self, value: np.ndarray) -> bool:
        return value.ndim == self.ndim and all(
            s is None or s == v for s, v in zip(self.shape, value.shape))

    def filter(self, value, name: str = "input", allow_downcast: bool = False) -> np.ndarray:
        """Convert a user value to this type, or raise a TypeError naming ``name``.

        Safe casts are done silently (int data into a float input, Python floats into float32);
        casts that lose information are refused unless ``allow_downcast``.
        """
        arr = np.asarray(value)
        if arr.dtype.name != self.dtype:
            python_data = not isinstance(value, (np.ndarray, np.generic))
            ok = (allow_downcast or np.can_cast(arr.dtype, self.dtype, casting="safe")
                  or (python_data and np.can_cast(arr.dtype, self.dtype, casting="same_kind")))
            if not ok:
                raise TypeError(
                    f"{name}: expected {self}, got an array of dtype {arr.dtype.name}; casting "
                    f"would lose information: cast it yourself with .astype({self.dtype!r}) "
                    f"or pass allow_input_downcast=True")
            cast = arr.astype(self.dtype)
            if python_data and not allow_downcast and arr.dtype.kind in "iu" and not np.array_equal(cast, arr):
                raise TypeError(f"{name}: expected {self}, got Python integers that do not fit in "
                                f"{self.dtype} (they would wrap around)")
            arr = cast
        if arr.ndim != self.ndim:
            raise TypeError(f"{name}: expected {self} (ndim={self.ndim}), got an array of shape "
                            f"{arr.shape} (ndim={arr.ndim})")
        for i, (s, v) in enumerate(zip(self.shape, arr.shape)):
            if s is not None and s != v:
                raise TypeError(f"{name}: expected {self}, got shape {arr.shape} "
                                f"(size {v} on axis {i}, the type says {s})")
        return arr

    def __str__(self) -> str:
        kind = _NAMES.get(self.ndim, f"tensor{self.ndim}")
        if not self.shape:
            return f"{kind}[{self.dtype}]"
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        return f"{kind}[{self.dtype}]({dims})"

    __repr__ = __str__


def broadcast_shapes(*shapes: tuple[int | None, ...], op: str = "elemwise") -> tuple[int | None, ...]:
    """Static result shape of NumPy broadcasting, with None for sizes unknown until run time.

    Raises ShapeError when two known sizes conflict. A None size may turn out to be 1 at
    run time and broadcast then, as in NumPy.
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis in range(ndim):
        sizes = {p[axis] for p in padded}
        known = {s for s in sizes if s is not None and s != 1}
        if len(known) > 1:
            raise ShapeError(f"{op}: shapes {' and '.join(map(_fmt, shapes))} do not broadcast "
                             f"(sizes {sorted(known)} on axis {axis})")
        if known:
            out.append(known.pop())
        elif None in sizes:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def _fmt(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def int_pair(v, what: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair (window sizes, strides, paddings); ``what`` names the
    argument in the error, e.g. "conv2d: subsample"."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    try:
        a, b = v
        return int(a), int(b)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be an int or a pair of ints, got {v!r}") from None
