"""Neural-network functions (``T.nnet``): softmax and log_softmax are ops, so the optimizer
recognises ``log(softmax(x))``; the rest are graphs of other ops."""
from __future__ import annotations

import numpy as np

from . import dtypes
from . import frontend as F
from .frontend import sigmoid, softplus  # noqa: F401
from .ops import Op, register
from .reduce import normalize_axis
from .types import TensorType


def _float_infer(params, t: TensorType):
    if t.ndim == 0:
        raise ValueError("softmax needs at least one axis")
    return TensorType(dtypes.float_of(t.dtype), t.shape)


def _softmax(params, x):
    axis = params["axis"]
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _shifted_lse(x, axis):
    """(x - m, log(sum(exp(x - m)))) along axis, m the (finite) max, both with the axis kept.

    The sum holds one exact 1 (the max's own term): log(1 + rest) is computed as
    log1p(rest) with rest summed over the other entries, so an entry that dominates the
    others by 40 or more keeps its tiny log-probability -rest instead of rounding it to 0.
    """
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        z = x - m
        e = np.exp(z)
        first = np.argmax(x, axis=axis)
        top = np.zeros(x.shape, dtype=bool)
        np.put_along_axis(top, np.expand_dims(first, axis), True, axis=axis)
        rest = np.sum(np.where(top & (z == 0), 0, e), axis=axis, keepdims=True)
        has_one = np.any(top & (z == 0), axis=axis, keepdims=True)
        lse = np.where(has_one, np.log1p(rest), np.log(rest))
    return z, lse


def _log_softmax(params, x):
    z, lse = _shifted_lse(x, params["axis"])
    with np.errstate(all="ignore"):
        return z - lse


def _logsumexp(params, x):
    axis, keep = params["axis"], params["keepdims"]
    x = np.asarray(x)
    if x.ndim == 0 or not axis:
        return x.copy()
    # one axis at a time is not exact; move the reduced axes last and flatten them
    rest = [i for i in range(x.ndim) if i not in axis]
    moved = np.transpose(x, rest + list(axis))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    with np.errstate(all="ignore"):
        m = np.max(flat, axis=-1, keepdims=True)
        z, lse = _shifted_lse(flat, -1)
        out = (lse + np.where(np.isfinite(m), m, 0))[..., 0]
    from .reduce import reduced_shape
    return out.reshape(reduced_shape(x.shape, axis, keep)).astype(x.dtype, copy=False)


def _softmax_vjp(node, g):
    sm, axis = node.outputs[0], node.params["axis"]
    return [(g - F.sum(g * sm, axis=axis, keepdims=True)) * sm]


def _log_softmax_vjp(node, g):
    out, axis = node.outputs[0], node.params["axis"]
    return [g - F.exp(out) * F.sum(g, axis=axis, keepdims=True)]


def _logsumexp_infer(params, t: TensorType):
    from .reduce import reduced_shape
    return TensorType(dtypes.float_of(t.dtype), reduced_shape(t.shape, params["axis"], params["keepdims"]))


def _logsumexp_vjp(node, g):
    from .reduce import expand_reduced
    x, out = node.inputs[0], node.outputs[0]
    axis, keep = node.params["axis"], node.params["keepdims"]
    g = expand_reduced(g, x.ndim, axis, keep)
    out = expand_reduced(out, x.ndim, axis, keep)
    return [g * F.exp(x - out)]


def _sym_logsumexp(params, x):
    import sympy
    axis, keep = params["axis"], params["keepdims"]
    e = np.vectorize(sympy.exp, otypes=[object])(x)
    s = np.sum(e, axis=axis, keepdims=keep)
    return np.vectorize(sympy.log, otypes=[object])(np.asarray(s, dtype=object))


def _sym_softmax(params, x):
    import sympy
    e = np.vectorize(sympy.exp, otypes=[object])(x)
    return e / np.sum(e, axis=params["axis"], keepdims=True)


def _sym_log_softmax(params, x):
    import sympy
    e = np.vectorize(sympy.exp, otypes=[object])(x)
    return x - np.vectorize(sympy.log, otypes=[object])(np.sum(e, axis=params["axis"], keepdims=True))


softmax_op = register(Op("softmax", _float_infer, _softmax, _softmax_vjp, kind="nnet", nin=1, flops=30,
                         sympy=_sym_softmax, defined_in="egopt/lang/nnet.py"))
log_softmax_op = register(Op("log_softmax", _float_infer, _log_softmax, _log_softmax_vjp, kind="nnet",
                             nin=1, flops=30, sympy=_sym_log_softmax, defined_in="egopt/lang/nnet.py"))
logsumexp_op = register(Op("logsumexp", _logsumexp_infer, _logsumexp, _logsumexp_vjp, kind="nnet", nin=1,
                           flops=30, sympy=_sym_logsumexp, defined_in="egopt/lang/nnet.py"))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, without overflow, and exact where one entry dominates
    (the rest is summed apart and added with log1p)."""
    x = F.as_tensor_variable(x)
    return logsumexp_op(x, axis=normalize_axis(axis, x.ndim, "logsumexp"), keepdims=bool(keepdims))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (last by default), computed without overflow."""
    x = F.as_tensor_variable(x)
    return softmax_op(x, axis=normalize_axis(axis, x.ndim, "softmax")[0])


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` computed as ``x - max - log(sum(exp(x - max)))``."""
    x = F.as_tensor_variable(x)
    return log_softmax_op(x, axis=normalize_axis(axis, x.ndim, "log_softmax")[0])


def relu(x, alpha=0):
    """Rectifier ``max(x, 0)``, leaky with slope ``alpha`` below zero: ``x if x > 0 else alpha * x``.

    Not Theano's formula ``0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * |x|``, which is NaN at
    -inf and overflows to inf above half the largest float (docs/theano-differences.md)."""
    x = F.as_tensor_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return F.maximum(x, 0)
    return F.switch(x > 0, x, alpha * x)


def categorical_crossentropy(coding_dist, true_dist):
    """Cross-entropy per row: ``true_dist`` class indices (int vector) or a distribution."""
    p = F.as_tensor_variable(coding_dist)
    t = F.as_tensor_variable(true_dist)
    if t.ndim == p.ndim - 1 and (dtypes.is_int(t.dtype)):
        if p.ndim != 2:
            raise ValueError("categorical_crossentropy with class indices needs a matrix of probabilities")
        return -F.log(p[F.arange(F.shape(t)[0]), t])
    if t.ndim != p.ndim:
        raise ValueError(f"categorical_crossentropy: targets of ndim {t.ndim} for probabilities of ndim {p.ndim}")
    return -F.sum(t * F.log(p), axis=-1)


def binary_crossentropy(output, target):
    """``-(target * log(output) + (1 - target) * log(1 - output))``, elementwise."""
    output, target = F.as_tensor_variable(output), F.as_tensor_variable(target)
    return -(target * F.log(output) + (1 - target) * F.log(1 - output))


# ---- more activations (Theano's T.nnet names), compositions of existing ops -----------------------

def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)``."""
    x = F.as_tensor_variable(x)
    return F.clip(0.2 * x + 0.5, 0, 1)


def ultra_fast_sigmoid(x):
    """Theano's approximate sigmoid; here the exact ``sigmoid`` (no faster, never less accurate)."""
    return F.sigmoid(x)


def softsign(x):
    """``x / (1 + |x|)``."""
    x = F.as_tensor_variable(x)
    return x / (1 + abs(x))


def elu(x, alpha=1.0):
    """``x`` where positive, else ``alpha * expm1(x)``."""
    x = F.as_tensor_variable(x)
    return F.switch(x > 0, x, alpha * F.expm1(x))


def selu(x):
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""
    return 1.0507009873554805 * elu(x, 1.6732632423543772)
