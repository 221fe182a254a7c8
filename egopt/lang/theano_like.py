"""Theano/PyTensor functions that are compositions of existing ops (no new op: gradients,
kernels and rewrites come from the parts): nonzero, flatnonzero, nonzero_values, split, roll,
stacklists, max_and_argmax, norm, fill_diagonal, identity_like, mgrid/ogrid, xlogx/xlogy0,
inv, iround."""
from __future__ import annotations

import numpy as np

from . import frontend as F
from .errors import EgoptTypeError
from .graph import Variable
from .sorting import gather_index
from .subtensor import nonzero_op


def nonzero(a, return_matrix: bool = False):
    """The indices of ``a``'s non-zero elements, one int64 vector per axis (``np.nonzero``);
    ``return_matrix=True`` stacks them into an ``(a.ndim, nnz)`` matrix (Theano's option)."""
    a = F.as_tensor_variable(a)
    if a.ndim == 0:
        raise EgoptTypeError("nonzero: needs a tensor of at least one dimension, got a scalar")
    idx = tuple(nonzero_op(a, axis=k) for k in range(a.ndim))
    return F.stack(list(idx)) if return_matrix else idx


def flatnonzero(a) -> Variable:
    """The indices of the non-zero elements of ``a.flatten()`` (``np.flatnonzero``)."""
    a = F.as_tensor_variable(a)
    return nonzero_op(a.flatten() if a.ndim != 1 else a, axis=0)


def nonzero_values(a) -> Variable:
    """The non-zero elements of ``a``, flattened in C order (Theano's ``nonzero_values``)."""
    a = F.as_tensor_variable(a)
    flat = a.flatten() if a.ndim != 1 else a
    return flat[flatnonzero(flat)]


def split(x, splits_size, n_splits: int, axis: int = 0) -> list[Variable]:
    """``x`` cut along ``axis`` into ``n_splits`` pieces of the sizes in ``splits_size`` (which may be
    symbolic; they must add up to ``x``'s length there), as Theano's ``T.split``."""
    x = F.as_tensor_variable(x)
    n_splits = int(n_splits)
    if x.ndim == 0:
        raise EgoptTypeError("split: cannot split a scalar")
    axis = axis % x.ndim
    sizes = F.as_tensor_variable(splits_size)
    if sizes.ndim != 1:
        raise EgoptTypeError(f"split: splits_size must be a vector of sizes, got {sizes.type}")
    static = getattr(sizes, "data", None)
    if static is not None and len(static) != n_splits:
        raise ValueError(f"split: n_splits={n_splits} but splits_size has {len(static)} entries")
    head = (slice(None),) * axis
    out, start = [], 0
    for i in range(n_splits):
        stop = start + sizes[i] if static is None else start + int(static[i])
        out.append(x[head + (slice(start, stop),)])
        start = stop
    if static is not None and x.type.shape[axis] is not None and start != x.type.shape[axis]:
        raise ValueError(f"split: the sizes {list(static)} add up to {start}, not to the length "
                         f"{x.type.shape[axis]} of axis {axis}")
    return out


def roll(x, shift, axis=None) -> Variable:
    """``x`` rotated by ``shift`` positions along ``axis`` (None: the flattened tensor, reshaped
    back), as ``np.roll``; ``shift`` may be symbolic."""
    x = F.as_tensor_variable(x)
    if axis is None:
        if x.ndim == 1:
            return roll(x, shift, 0)
        return F.reshape(roll(x.flatten(), shift, 0), F.shape(x), ndim=x.ndim)
    axis = axis % x.ndim
    n = F.shape(x)[axis]
    s = F.mod(F.as_tensor_variable(shift), F.maximum(n, 1))
    head = (slice(None),) * axis
    return F.concatenate([x[head + (slice(n - s, None),)], x[head + (slice(0, n - s),)]], axis=axis)


def stacklists(arg):
    """Nested lists of scalars (or tensors) stacked into one tensor, as Theano's ``stacklists``:
    ``stacklists([[a, b], [c, d]])`` is a 2x2 matrix."""
    if isinstance(arg, (list, tuple)):
        return F.stack([stacklists(a) for a in arg])
    return F.as_tensor_variable(arg)


def max_and_argmax(a, axis=None, keepdims: bool = False) -> tuple[Variable, Variable]:
    """``(max(a, axis), argmax(a, axis))`` (Theano's ``T.max_and_argmax``)."""
    return F.max(a, axis, keepdims), F.argmax(a, axis, keepdims)


def norm(x, L=2, axis=None) -> Variable:
    """``(|x| ** L).sum(axis) ** (1 / L)`` (Theano's ``x.norm(L, axis)``); ``L`` may be ``inf``."""
    x = F.as_tensor_variable(x)
    if L == 0:
        raise ValueError("norm: L=0 is not a norm (Theano refuses it too)")
    if L == np.inf:
        return F.max(abs(x), axis)
    if L == 1:
        return F.sum(abs(x), axis)
    if L == 2:
        return F.sqrt(F.sum(F.sqr(x), axis))
    return F.sum(abs(x) ** L, axis) ** (1.0 / L)


def fill_diagonal(a, val) -> Variable:
    """A copy of matrix ``a`` with its main diagonal set to the scalar ``val`` (``np.fill_diagonal``)."""
    a = F.as_tensor_variable(a)
    if a.ndim != 2:
        raise EgoptTypeError(f"fill_diagonal: needs a matrix, got {a.type}")
    i = F.arange(F.minimum(F.shape(a)[0], F.shape(a)[1]))
    return F.set_subtensor(a[i, i], F.cast(F.as_tensor_variable(val), a.dtype))


def identity_like(x) -> Variable:
    """The identity matrix of ``x``'s shape and dtype (Theano's ``identity_like``)."""
    x = F.as_tensor_variable(x)
    return F.eye(F.shape(x)[0], F.shape(x)[1], dtype=x.dtype)


class _Grid:
    """``T.mgrid[0:5, 0:3]`` (dense) and ``T.ogrid[...]`` (open): lists of tensors, as NumPy's;
    slice bounds may be symbolic scalars."""

    def __init__(self, sparse: bool):
        self.sparse = sparse

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if not all(isinstance(k, slice) for k in key):
            raise TypeError(f"{'ogrid' if self.sparse else 'mgrid'}[...] takes slices, got {key!r}")
        n = len(key)
        axes = [F.arange(k.start or 0, k.stop, 1 if k.step is None else k.step) for k in key]
        patterns = [["x" if e != d else 0 for e in range(n)] for d in range(n)]
        opened = [v.dimshuffle(*p) for v, p in zip(axes, patterns)]
        if self.sparse:
            return opened
        zero = opened[0] * 0
        for v in opened[1:]:
            zero = zero + v * 0         # zeros of the full grid's shape
        out = [v + zero for v in opened]
        return out


mgrid, ogrid = _Grid(sparse=False), _Grid(sparse=True)


def xlogx(x) -> Variable:
    """``x * log(x)``, 0 at ``x == 0`` (Theano's ``T.xlogx.xlogx``)."""
    x = F.as_tensor_variable(x)
    return F.switch(F.eq(x, 0), F.zeros_like(x * F.log(x)), x * F.log(x))


def xlogy0(x, y) -> Variable:
    """``x * log(y)``, 0 where ``x == 0`` (Theano's ``T.xlogx.xlogy0``)."""
    x, y = F.as_args([x, y])
    v = x * F.log(y)
    return F.switch(F.eq(x, 0), F.zeros_like(v), v)


def inv(x) -> Variable:
    """``1 / x`` (Theano's ``T.inv``; PyTensor's ``reciprocal``)."""
    return 1 / F.as_tensor_variable(x)


def iround(x) -> Variable:
    """``round(x)`` as int64 (Theano's ``T.iround``; halves to even, as ``T.round``)."""
    return F.cast(F.round(x), "int64")


def to_one_hot(y, nb_class: int, dtype=None) -> Variable:
    """The one-hot matrix of the integer vector ``y`` (Theano's ``extra_ops.to_one_hot``)."""
    from .. import config
    y = F.as_tensor_variable(y)
    hot = F.eq(y.dimshuffle(0, "x"), F.arange(nb_class).dimshuffle("x", 0))
    return F.cast(hot, dtype or config.floatX)


def bincount(x, weights=None, minlength=None) -> Variable:
    """How many times each value of the non-negative int vector ``x`` occurs (``np.bincount``;
    with ``weights``, their sums). An empty ``x`` gives ``minlength`` zeros."""
    x = F.as_tensor_variable(x)
    if x.ndim != 1 or not x.dtype.startswith(("int", "uint")):
        raise EgoptTypeError(f"bincount: needs a vector of non-negative ints, got {x.type}")
    n = F.max(F.concatenate([F.cast(x, "int64"), F.constant(np.array([-1], dtype="int64"))])) + 1
    if minlength is not None:
        n = F.maximum(n, minlength)
    w = F.constant(1, dtype="int64") if weights is None else F.as_tensor_variable(weights)
    return F.inc_subtensor(F.zeros((n,), dtype=w.dtype)[x], w)


def sigmoid_binary_crossentropy(output, target) -> Variable:
    """``binary_crossentropy(sigmoid(output), target)`` from the pre-sigmoid ``output``, computed as
    ``softplus(output) - target * output`` (finite for large ``|output|``), as Theano's."""
    output, target = F.as_args([output, target])
    return F.softplus(output) - target * output


def crossentropy_softmax_1hot(x, y_idx, axis=-1) -> tuple[Variable, Variable]:
    """``(nll, softmax(x))`` for integer labels ``y_idx`` (Theano's ``crossentropy_softmax_1hot``):
    ``nll[i] = -log softmax(x)[i, y_idx[i]]``."""
    from .nnet import log_softmax, softmax
    x, y = F.as_tensor_variable(x), F.as_tensor_variable(y_idx)
    nll = -log_softmax(x)[F.arange(F.shape(x)[0]), y]
    return nll, softmax(x)


def batch_normalization(inputs, gamma, beta, mean, std, mode: str = "low_mem") -> Variable:
    """``(inputs - mean) * (gamma / std) + beta`` (Theano's ``nnet.bn.batch_normalization``; both
    ``mode`` values compute the same)."""
    inputs, gamma, beta, mean, std = F.as_args([inputs, gamma, beta, mean, std])
    return (inputs - mean) * (gamma / std) + beta


def trunc(x) -> Variable:
    """``x`` rounded toward zero (``np.trunc``)."""
    x = F.as_tensor_variable(x)
    return F.switch(F.lt(x, 0), F.ceil(x), F.floor(x))


# ---- more NumPy names (compositions) -----------------------------------------------------------------------

def allclose(a, b, rtol: float = 1e-5, atol: float = 1e-8) -> Variable:
    """Whether every element is close (``np.allclose``): a bool scalar."""
    from .numpy_like import isclose
    return F.all(isclose(a, b, rtol, atol))


def broadcast_arrays(*xs) -> list[Variable]:
    """The operands broadcast against each other (copies, not views)."""
    xs = [F.as_tensor_variable(x) for x in xs]
    zero = xs[0] * 0
    for x in xs[1:]:
        zero = zero + x * 0
    return [F.cast(x + F.cast(zero, x.dtype), x.dtype) for x in xs]


def take_along_axis(arr, indices, axis: int) -> Variable:
    """``np.take_along_axis``: ``arr`` read at ``indices`` along ``axis`` (same ndim)."""
    arr, idx = F.as_tensor_variable(arr), F.as_tensor_variable(indices)
    if arr.ndim != idx.ndim:
        raise EgoptTypeError(f"take_along_axis: indices must have arr's ndim {arr.ndim}, got {idx.type}")
    return arr[gather_index(idx, idx, axis % arr.ndim)]


def dstack(tensors) -> Variable:
    """Along the third axis, vectors and matrices first made 3-d (``np.dstack``)."""
    xs = []
    for t in tensors:
        t = F.as_tensor_variable(t)
        if t.ndim == 1:
            t = t.dimshuffle("x", 0, "x")
        elif t.ndim == 2:
            t = t.dimshuffle(0, 1, "x")
        xs.append(t)
    return F.concatenate(xs, axis=2)


def argwhere(a) -> Variable:
    """The indices of the non-zero elements, one row each (``np.argwhere``)."""
    return nonzero(a, return_matrix=True).T


def logspace(start, stop, num: int = 50, endpoint: bool = True, base: float = 10.0, dtype=None) -> Variable:
    from .numpy_like import linspace
    return F.as_tensor_variable(base) ** linspace(start, stop, num, endpoint, dtype)


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None) -> Variable:
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (both positive)."""
    from .numpy_like import linspace
    return F.exp(linspace(F.log(start), F.log(stop), num, endpoint, dtype))


def deg2rad(x) -> Variable:
    return F.as_tensor_variable(x) * (np.pi / 180)


def rad2deg(x) -> Variable:
    return F.as_tensor_variable(x) * (180 / np.pi)


def empty(shape, dtype=None) -> Variable:
    """Zeros (egopt never hands out uninitialised memory)."""
    return F.zeros(shape, dtype=dtype)


def empty_like(x, dtype=None) -> Variable:
    return F.zeros_like(x, dtype=dtype)


def ptp(x, axis=None, keepdims: bool = False) -> Variable:
    return F.max(x, axis, keepdims) - F.min(x, axis, keepdims)


def inner(a, b) -> Variable:
    """The sum product over the last axes (``np.inner``)."""
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return F.tensordot(a, b, axes=[[a.ndim - 1], [b.ndim - 1]])


def kron(a, b) -> Variable:
    """The Kronecker product of two matrices (or vectors) (``np.kron``)."""
    a, b = F.as_tensor_variable(a), F.as_tensor_variable(b)
    if a.ndim != b.ndim or a.ndim not in (1, 2):
        raise EgoptTypeError(f"kron: needs two vectors or two matrices, got {a.type} and {b.type}")
    if a.ndim == 1:
        return (a.dimshuffle(0, "x") * b.dimshuffle("x", 0)).flatten()
    prod = a.dimshuffle(0, "x", 1, "x") * b.dimshuffle("x", 0, "x", 1)
    sa, sb = F.shape(a), F.shape(b)
    return F.reshape(prod, (sa[0] * sb[0], sa[1] * sb[1]), ndim=2)


def tri(N, M=None, k: int = 0, dtype=None) -> Variable:
    """Ones at and below diagonal ``k`` (``np.tri``)."""
    from .. import config
    M = N if M is None else M
    i, j = F.arange(N), F.arange(M)
    return F.cast(F.ge(i.dimshuffle(0, "x") + k, j.dimshuffle("x", 0)), dtype or config.floatX)


def nan_to_num(x, nan: float = 0.0, posinf=None, neginf=None) -> Variable:
    """NaN, +inf and -inf replaced by ``nan`` and the dtype's largest finite values (``np.nan_to_num``)."""
    x = F.as_tensor_variable(x)
    if not x.dtype.startswith("float"):
        return x
    big = float(np.finfo(x.dtype).max)
    x = F.switch(F.isnan(x), F.cast(nan, x.dtype), x)
    x = F.switch(F.eq(x, np.inf), F.cast(big if posinf is None else posinf, x.dtype), x)
    return F.switch(F.eq(x, -np.inf), F.cast(-big if neginf is None else neginf, x.dtype), x)


def logaddexp(a, b) -> Variable:
    """``log(exp(a) + exp(b))`` without overflow (``np.logaddexp``)."""
    a, b = F.as_args([a, b])
    m = F.maximum(a, b)
    return F.switch(F.eq(a, b), a + np.log(2.0), m + F.log1p(F.exp(-abs(a - b))))


def logical_and(a, b) -> Variable:
    return F.and_(F.neq(a, 0), F.neq(b, 0))


def logical_or(a, b) -> Variable:
    return F.or_(F.neq(a, 0), F.neq(b, 0))


def logical_xor(a, b) -> Variable:
    return F.xor(F.neq(a, 0), F.neq(b, 0))


def logical_not(a) -> Variable:
    return F.eq(a, 0)


def heaviside(x, h0) -> Variable:
    """0 below zero, ``h0`` at zero, 1 above (``np.heaviside``)."""
    x, h0 = F.as_args([x, h0])
    return F.switch(F.lt(x, 0), F.zeros_like(x), F.switch(F.gt(x, 0), F.ones_like(x), h0 + x * 0))


def arctan2(y, x) -> Variable:
    """The angle of the point ``(x, y)`` in ``(-pi, pi]`` (``np.arctan2``; a signed zero ``y`` is
    treated as +0: ``arctan2(-0.0, -1.0)`` is pi here, -pi in NumPy)."""
    y, x = F.as_args([y, x])
    base = F.arctan(y / x)
    pi = np.pi
    out = F.switch(F.gt(x, 0), base,
                   F.switch(F.lt(x, 0), F.switch(F.ge(y, 0), base + pi, base - pi),
                            F.switch(F.gt(y, 0), base * 0 + pi / 2,
                                     F.switch(F.lt(y, 0), base * 0 - pi / 2, base * 0))))
    return out


def median(x, axis=None, keepdims: bool = False) -> Variable:
    """The median along ``axis`` (None: of all elements), as ``np.median``."""
    from .sorting import sort
    x = F.as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    axis = axis % x.ndim
    s = sort(x, axis=axis)
    n = F.shape(x)[axis]
    head = (slice(None),) * axis
    lo, hi = s[head + ((n - 1) // 2,)], s[head + (n // 2,)]
    out = (lo + hi) / 2
    return F.expand_dims(out, axis) if keepdims else out


_NO_AXIS = object()


def nnet_softmax(c, axis=_NO_AXIS):
    """Theano's ``T.nnet.softmax``: a vector becomes a one-row matrix first, as Theano's ``Softmax``
    op did (``softmax(v)`` is ``(1, n)``; code indexes it as ``p[0]`` or ``s[:, 0, :]`` in scan);
    with ``axis=`` it is ``softmax(c, axis)``, which keeps the ndim (PyTensor's ``pt.special.softmax``)."""
    from .nnet import softmax
    c = F.as_tensor_variable(c)
    if axis is _NO_AXIS:
        return softmax(c.dimshuffle("x", 0) if c.ndim == 1 else c)
    return softmax(c, axis)


def nnet_log_softmax(c, axis=_NO_AXIS):
    """Theano's ``T.nnet.logsoftmax``/``log_softmax``: a vector becomes a one-row matrix first, as
    ``nnet_softmax``."""
    from .nnet import log_softmax
    c = F.as_tensor_variable(c)
    if axis is _NO_AXIS:
        return log_softmax(c.dimshuffle("x", 0) if c.ndim == 1 else c)
    return log_softmax(c, axis)


def images2neibs(ten4, neib_shape, neib_step=None, mode: str = "valid") -> Variable:
    """Theano's ``nnet.neighbours.images2neibs``: the ``neib_shape`` patches of each image of
    ``ten4`` (batch, channels, rows, cols), taken every ``neib_step`` (default: the patch size),
    one flattened patch per row, in (batch, channel, patch row, patch col) order. Modes 'valid'
    (the image must be covered exactly) and 'ignore_borders' (leftover rows and columns dropped)."""
    from .types import int_pair
    x = F.as_tensor_variable(ten4)
    if x.ndim != 4:
        raise EgoptTypeError(f"images2neibs: needs a 4-d tensor (batch, channels, rows, cols), got {x.type}")
    if mode not in ("valid", "ignore_borders"):
        raise NotImplementedError(f"images2neibs: mode={mode!r} is not supported by egopt "
                                  "(use 'valid' or 'ignore_borders')")
    h, w = int_pair(neib_shape, "images2neibs: neib_shape")
    sh, sw = int_pair(neib_step if neib_step is not None else (h, w), "images2neibs: neib_step")
    rows, cols = F.shape(x)[2], F.shape(x)[3]
    nh, nw = (rows - h) // sh + 1, (cols - w) // sw + 1
    r = (F.arange(nh) * sh).dimshuffle(0, "x") + F.arange(h).dimshuffle("x", 0)      # (nh, h)
    c = (F.arange(nw) * sw).dimshuffle(0, "x") + F.arange(w).dimshuffle("x", 0)      # (nw, w)
    patches = x[:, :, r.dimshuffle(0, "x", 1, "x"), c.dimshuffle("x", 0, "x", 1)]    # (b, ch, nh, nw, h, w)
    return F.reshape(patches, (-1, h * w), ndim=2)


def neibs2images(neibs, neib_shape, original_shape, mode: str = "valid") -> Variable:
    """The inverse of ``images2neibs`` for non-overlapping patches (``neib_step`` = ``neib_shape``)."""
    from .types import int_pair
    neibs = F.as_tensor_variable(neibs)
    h, w = int_pair(neib_shape, "neibs2images: neib_shape")
    b, ch, rows, cols = (original_shape[i] for i in range(4))
    t = F.reshape(neibs, (b, ch, rows // h, cols // w, h, w), ndim=6)
    return F.reshape(t.dimshuffle(0, 1, 2, 4, 3, 5), (b, ch, rows, cols), ndim=4)


def _bn_axes(axes, ndim: int):
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0,) + tuple(range(2, ndim))
    return tuple(int(a) for a in axes)


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon: float = 1e-4,
                              running_average_factor: float = 0.1, running_mean=None, running_var=None):
    """Theano's ``bn.batch_normalization_train``: ``(out, mean, invstd)`` from the batch statistics
    over ``axes`` ('per-activation': axis 0; 'spatial': 0 and 2...), and with ``running_mean`` and
    ``running_var`` also their updated values (``var`` unbiased, as Theano)."""
    x = F.as_tensor_variable(inputs)
    ax = _bn_axes(axes, x.ndim)
    mean = F.mean(x, ax, keepdims=True)
    var = F.mean(F.sqr(x - mean), ax, keepdims=True)
    invstd = 1 / F.sqrt(var + epsilon)
    out = (x - mean) * invstd * gamma + beta
    res = [out, mean, invstd]
    if running_mean is not None:
        res.append(running_mean * (1 - running_average_factor) + mean * running_average_factor)
    if running_var is not None:
        n = F.cast(F.prod(F.stack([F.shape(x)[a] for a in ax])), var.dtype)
        res.append(running_var * (1 - running_average_factor) + var * (n / (n - 1)) * running_average_factor)
    return tuple(res)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon: float = 1e-4):
    """Theano's ``bn.batch_normalization_test``: normalization with given statistics."""
    x = F.as_tensor_variable(inputs)
    return (x - mean) * (gamma / F.sqrt(var + epsilon)) + beta


def round(x, mode: str | None = None) -> Variable:   # noqa: A001  (T.round)
    """``x`` rounded to the nearest integer: halves to even (NumPy's, the default), or
    ``mode='half_away_from_zero'`` (Theano's default, which warned) as ``sign(x) * floor(|x| + 0.5)``."""
    x = F.as_tensor_variable(x)
    if mode in (None, "half_to_even"):
        return F.round(x)
    if mode == "half_away_from_zero":
        return F.sgn(x) * F.floor(abs(x) + 0.5) if x.dtype.startswith(("float", "complex")) else x
    raise ValueError(f"round: mode must be 'half_to_even' or 'half_away_from_zero', not {mode!r}")


def where(condition, x=None, y=None):
    """``switch(condition, x, y)``; with the condition alone, its ``nonzero`` indices (``np.where``)."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither")
    return F.switch(condition, x, y)
