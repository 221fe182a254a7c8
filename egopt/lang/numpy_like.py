"""NumPy functions users reach for that are compositions of existing ops (no new op, so the
gradients, kernels and rewrites come from the parts): full, full_like, broadcast_to, swapaxes,
moveaxis, hstack, vstack, diff, diagonal, trace, linspace, reciprocal, exp2, expit, logit, isclose."""
from __future__ import annotations

from typing import Sequence

from . import dtypes
from . import frontend as F
from .errors import EgoptTypeError
from .graph import Variable


def full(shape, fill_value, dtype=None) -> Variable:
    """An array of ``shape`` filled with ``fill_value`` (``np.full``)."""
    shape = (shape,) if not isinstance(shape, (list, tuple)) else tuple(shape)
    v = F.as_tensor_variable(fill_value)
    return F.alloc(F.cast(v, dtype) if dtype else v, *shape)


def full_like(x, fill_value, dtype=None) -> Variable:
    """An array of ``x``'s shape filled with ``fill_value`` (``x``'s dtype unless given)."""
    x = F.as_tensor_variable(x)
    return F.second(x, F.cast(F.as_tensor_variable(fill_value), dtype or x.dtype))


def broadcast_to(x, shape) -> Variable:
    """``x`` broadcast to ``shape`` (``np.broadcast_to``; a copy, not a view)."""
    return F.alloc(F.as_tensor_variable(x), *(shape if isinstance(shape, (list, tuple)) else (shape,)))


def swapaxes(x, axis1: int, axis2: int) -> Variable:
    x = F.as_tensor_variable(x)
    perm = list(range(x.ndim))
    a, b = axis1 % x.ndim, axis2 % x.ndim
    perm[a], perm[b] = perm[b], perm[a]
    return F.transpose(x, perm)


def moveaxis(x, source: int, destination: int) -> Variable:
    x = F.as_tensor_variable(x)
    perm = [a for a in range(x.ndim) if a != source % x.ndim]
    perm.insert(destination % x.ndim, source % x.ndim)
    return F.transpose(x, perm)


def hstack(tensors: Sequence) -> Variable:
    """Along the second axis, or the first for vectors (``np.hstack``)."""
    xs = [F.as_tensor_variable(t) for t in tensors]
    return F.concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def vstack(tensors: Sequence) -> Variable:
    """Along the first axis, vectors as rows (``np.vstack``)."""
    xs = [F.as_tensor_variable(t) for t in tensors]
    return F.concatenate([x.dimshuffle("x", 0) if x.ndim == 1 else x for x in xs], axis=0)


def diff(x, n: int = 1, axis: int = -1) -> Variable:
    """The ``n``-th forward difference along ``axis`` (``np.diff``)."""
    x = F.as_tensor_variable(x)
    a = axis % x.ndim
    for _ in range(n):
        head = (slice(None),) * a
        x = x[head + (slice(1, None),)] - x[head + (slice(None, -1),)]
    return x


def diagonal(x) -> Variable:
    """The main diagonal of a matrix (``np.diagonal`` with its defaults)."""
    x = F.as_tensor_variable(x)
    if x.ndim != 2:
        raise EgoptTypeError(f"diagonal: needs a matrix, got {x.type}")
    i = F.arange(F.minimum(F.shape(x)[0], F.shape(x)[1]))
    return x[i, i]


def trace(x) -> Variable:
    """The sum of a matrix's main diagonal (``np.trace``)."""
    return F.sum(diagonal(x))


def linspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None) -> Variable:
    """``num`` evenly spaced values from ``start`` to ``stop`` (``np.linspace``; ``num`` an int)."""
    num = int(num)
    div = (num - 1) if endpoint else num
    start, stop = F.as_tensor_variable(start), F.as_tensor_variable(stop)
    dt = dtype or dtypes.upcast(start.dtype, stop.dtype)
    dt = dt if dtypes.is_float(dt) else "float64"
    start, stop = F.cast(start, dt), F.cast(stop, dt)
    steps = F.cast(F.arange(num), dt)
    out = start + steps * ((stop - start) / div) if div > 0 else start + steps * 0
    if endpoint and num > 1:
        out = F.set_subtensor(out[-1], stop)
    return out


def reciprocal(x) -> Variable:
    return 1 / F.as_tensor_variable(x)


def exp2(x) -> Variable:
    return 2.0 ** F.as_tensor_variable(x)


def expit(x) -> Variable:
    return F.sigmoid(x)


def logit(x) -> Variable:
    x = F.as_tensor_variable(x)
    return F.log(x / (1 - x))


def isclose(a, b, rtol: float = 1e-5, atol: float = 1e-8) -> Variable:
    """``|a - b| <= atol + rtol * |b|``, equal infinities included (``np.isclose``, NaN never close)."""
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    return F.or_(F.le(abs(a - b), atol + rtol * abs(b)), F.eq(a, b))
