"""The dtype table: which NumPy dtypes egopt knows, their C names, and promotion.

Promotion follows NumPy 2 (NEP 50): a Python scalar is "weak" and takes the dtype of the
tensor it meets (``float32_tensor * 0.5`` stays float32), tensors promote as ``np.result_type``.
"""
from __future__ import annotations

import functools

import numpy as np

C_TYPES = {
    "bool": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int",
    "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
    "uint32": "unsigned int", "uint64": "unsigned long long",
    "float16": None, "float32": "float", "float64": "double",
    "complex64": None, "complex128": None,
}
ALL = tuple(C_TYPES)
FLOATS = ("float16", "float32", "float64")
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
COMPLEX = ("complex64", "complex128")


def canonical(dtype) -> str:
    """The canonical name of a dtype-like (``'float64'``, ``np.float32``, ``float``)."""
    try:
        return _canonical_cached(dtype)
    except TypeError:          # unhashable, or not a dtype: the uncached path says which
        return _canonical(dtype)


def _canonical(dtype) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError as e:
        raise TypeError(f"not a dtype: {dtype!r}") from e
    if name not in C_TYPES:
        raise TypeError(f"egopt does not support dtype {name!r}; supported: {', '.join(ALL)}")
    return name


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_int(dtype: str) -> bool:
    return dtype in INTS


def is_bool(dtype: str) -> bool:
    return dtype == "bool"


def is_complex(dtype: str) -> bool:
    return dtype in COMPLEX


def is_differentiable(dtype: str) -> bool:
    return dtype in FLOATS or dtype in COMPLEX


def upcast(*dtypes: str) -> str:
    """NumPy's promotion of several tensor dtypes."""
    try:
        return _upcast_cached(dtypes)
    except TypeError:
        return _upcast(dtypes)


def _upcast(dtypes: tuple) -> str:
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


# type inference asks these thousands of times per compile, about a handful of dtypes
_canonical_cached = functools.lru_cache(maxsize=1024)(_canonical)
_upcast_cached = functools.lru_cache(maxsize=1024)(_upcast)


def weak_scalar_dtype(value, other: str) -> str:
    """The dtype a Python scalar takes when it meets a tensor of dtype ``other`` (NEP 50)."""
    return np.result_type(np.dtype(other), value).name


def default_scalar_dtype(value, floatX: str) -> str:
    """The dtype of a Python scalar on its own: bool, int64, floatX, complex128."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int64"
    if isinstance(value, (float, np.floating)):
        return floatX
    if isinstance(value, (complex, np.complexfloating)):
        return "complex128"
    raise TypeError(f"not a scalar: {value!r}")


def float_of(dtype: str) -> str:
    """The float dtype a transcendental function of ``dtype`` returns.

    NumPy's choice, except that small ints and bool give float32 rather than float16
    (float16 has no C type here; Theano made the same choice).
    """
    if dtype in FLOATS or dtype in COMPLEX:
        return dtype
    out = np.result_type(np.dtype(dtype), np.float16).name
    return "float32" if out == "float16" else out
