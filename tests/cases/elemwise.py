"""Cases for the elementwise ops (egopt/lang/elemwise.py)."""
from __future__ import annotations

import math

import mpmath
import numpy as np

import egopt.gradient as G
import egopt.tensor as T
from tests.cases import Case, array, broadcast_shapes, dtype, shape

def _mp(f):
    """A NumPy reference from an mpmath function (independent of egopt/lang/special_math.py)."""
    return np.vectorize(lambda v: float(f(mpmath.mpf(float(v)))), otypes=[float])


# (name, T function, NumPy reference, value range of each input)
UNARY = [
    ("neg", T.neg, np.negative, (-3, 3)), ("abs", T.abs, np.abs, (-3, 3)),
    ("sgn", T.sgn, np.sign, (-3, 3)), ("sqr", T.sqr, np.square, (-3, 3)),
    ("exp", T.exp, np.exp, (-3, 3)), ("log", T.log, np.log, (0.1, 5)),
    ("log1p", T.log1p, np.log1p, (-0.9, 5)), ("expm1", T.expm1, np.expm1, (-3, 3)),
    ("log2", T.log2, np.log2, (0.1, 5)), ("log10", T.log10, np.log10, (0.1, 5)),
    ("sqrt", T.sqrt, np.sqrt, (0.1, 5)), ("sin", T.sin, np.sin, (-3, 3)),
    ("cos", T.cos, np.cos, (-3, 3)), ("tan", T.tan, np.tan, (-1.2, 1.2)),
    ("arcsin", T.arcsin, np.arcsin, (-0.9, 0.9)), ("arccos", T.arccos, np.arccos, (-0.9, 0.9)),
    ("arctan", T.arctan, np.arctan, (-3, 3)), ("sinh", T.sinh, np.sinh, (-3, 3)),
    ("cosh", T.cosh, np.cosh, (-3, 3)), ("tanh", T.tanh, np.tanh, (-3, 3)),
    ("arcsinh", T.arcsinh, np.arcsinh, (-3, 3)), ("arccosh", T.arccosh, np.arccosh, (1.1, 5)),
    ("arctanh", T.arctanh, np.arctanh, (-0.9, 0.9)),
    ("erf", T.erf, np.vectorize(math.erf, otypes=[float]), (-3, 3)),
    ("erfc", T.erfc, np.vectorize(math.erfc, otypes=[float]), (-3, 3)),
    ("log_erfc", T.log_erfc, np.vectorize(lambda v: math.log(math.erfc(v)), otypes=[float]), (-3, 3)),
    ("sigmoid", T.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (-10, 10)),
    ("softplus", T.softplus, lambda x: np.log1p(np.exp(x)), (-10, 10)),
    ("log1mexp", T.log1mexp, lambda x: np.log(1 - np.exp(x)), (-5, -0.05)),
    ("gammaln", T.gammaln, np.vectorize(math.lgamma, otypes=[float]), (0.1, 5)),
    ("psi", T.psi, _mp(mpmath.digamma), (0.1, 5)),
    ("tri_gamma", T.tri_gamma, _mp(lambda v: mpmath.psi(1, v)), (0.1, 5)),
    ("erfinv", T.erfinv, _mp(mpmath.erfinv), (-0.9, 0.9)),
    ("erfcinv", T.erfcinv, _mp(lambda v: mpmath.erfinv(1 - v)), (0.1, 1.9)),
    ("erfcx", T.erfcx, _mp(lambda v: mpmath.exp(v * v) * mpmath.erfc(v)), (-3, 3)),
    ("floor", T.floor, np.floor, (-3, 3)), ("ceil", T.ceil, np.ceil, (-3, 3)),
    ("round", T.round, np.round, (-3, 3)), ("identity", T.identity, lambda x: x, (-3, 3)),
    ("isnan", T.isnan, np.isnan, (-3, 3)), ("isinf", T.isinf, np.isinf, (-3, 3)),
]
NONSMOOTH = {"sgn", "floor", "ceil", "round", "abs", "isnan", "isinf",
             "tri_gamma"}      # (no VJP: tests/lang/test_special_functions.py)

BINARY = [
    ("add", T.add, np.add, (-3, 3), (-3, 3)), ("sub", T.sub, np.subtract, (-3, 3), (-3, 3)),
    ("mul", T.mul, np.multiply, (-3, 3), (-3, 3)),
    ("true_div", T.true_div, np.true_divide, (-3, 3), (0.5, 3)),
    ("int_div", T.int_div, np.floor_divide, (-3, 3), (0.5, 3)),
    ("mod", T.mod, np.mod, (-3, 3), (0.5, 3)),
    ("pow", T.pow, np.power, (0.5, 3), (-2, 2)),
    ("hypot", T.hypot, np.hypot, (0.5, 3), (-3, -0.5)),
    ("maximum", T.maximum, np.maximum, (-3, 3), (-3, 3)),
    ("minimum", T.minimum, np.minimum, (-3, 3), (-3, 3)),
    ("eq", T.eq, np.equal, (-2, 2), (-2, 2)), ("neq", T.neq, np.not_equal, (-2, 2), (-2, 2)),
    ("lt", T.lt, np.less, (-2, 2), (-2, 2)), ("le", T.le, np.less_equal, (-2, 2), (-2, 2)),
    ("gt", T.gt, np.greater, (-2, 2), (-2, 2)), ("ge", T.ge, np.greater_equal, (-2, 2), (-2, 2)),
    ("second", T.second, lambda a, b: np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)),
     (-3, 3), (-3, 3)),
]
NOGRAD = {"int_div", "eq", "neq", "lt", "le", "gt", "ge", "mod", "maximum", "minimum"}


def _unary(name, fn, ref, rng):
    def gen(draw):
        return [array(draw, shape(draw), dtype(draw), *rng)]
    return Case(name, gen, fn, ref, grad=name not in NONSMOOTH)


def _binary(name, fn, ref, r1, r2):
    def gen(draw):
        s1, s2 = broadcast_shapes(draw, 2)
        dt = dtype(draw)
        return [array(draw, s1, dt, *r1), array(draw, s2, dt, *r2)]
    return Case(name, gen, fn, ref, grad=name not in NOGRAD)


def _ints(name, fn, ref, dtypes=("int32", "int64", "int8")):
    def gen(draw):
        s1, s2 = broadcast_shapes(draw, 2)
        dt = dtype(draw, dtypes)
        return [array(draw, s1, dt, -50, 50), array(draw, s2, dt, -50, 50)]
    return Case(name, gen, fn, ref, grad=False, label="int")


def _clip_gen(draw):
    s = shape(draw)
    dt = dtype(draw)
    return [array(draw, s, dt, -3, 3), np.asarray(-1.0, dt), np.asarray(1.5, dt)]


def _switch_gen(draw):
    s1, s2, s3 = broadcast_shapes(draw, 3)
    dt = dtype(draw)
    return [array(draw, s1, "bool"), array(draw, s2, dt), array(draw, s3, dt)]


def _cast_gen(draw):
    return [array(draw, shape(draw), dtype(draw), -100, 100)]


CASES = (
    [_unary(*u) for u in UNARY]
    + [_binary(*b) for b in BINARY]
    + [_ints("and_", T.and_, np.bitwise_and), _ints("or_", T.or_, np.bitwise_or),
       _ints("xor", T.xor, np.bitwise_xor),
       _ints("int_div", T.int_div, np.floor_divide, ("int32", "int64")),
       Case("invert", lambda d: [array(d, shape(d), dtype(d, ("int16", "int64", "bool")), -9, 9)],
            T.invert, np.invert, grad=False),
       Case("and_", lambda d: [array(d, s, "bool") for s in broadcast_shapes(d, 2)],
            lambda a, b: a & b, np.logical_and, grad=False, label="bool"),
       Case("clip", _clip_gen, T.clip, np.clip, grad_wrt=(0,)),
       Case("switch", _switch_gen, T.switch, np.where),
       Case("cast", _cast_gen, lambda x: T.cast(x, "int32"), lambda x: x.astype("int32"), grad=False),
       Case("cast", _cast_gen, lambda x: T.cast(x, "float32"), lambda x: x.astype("float32"),
            label="float32"),
       # gradient controls: the identity forward (their VJPs: tests/grad/test_grad.py)
       Case("zero_grad", _cast_gen, G.zero_grad, lambda x: x, grad=False),
       Case("disconnected_grad", _cast_gen, G.disconnected_grad, lambda x: x, grad=False),
       Case("grad_clip", _cast_gen, lambda x: G.grad_clip(x, -1, 1), lambda x: x, grad=False),
       Case("grad_clip", lambda d: [array(d, shape(d), dtype(d), -3, 3)], lambda x: G.grad_clip(x, -1e9, 1e9) ** 2,
            np.square, label="wide", also_covers=("sqr",)),     # within the bounds: the true derivative
       Case("add", lambda d: [array(d, shape(d), "float32")], lambda x: x * 0.5 + 1,
            lambda x: x * np.float32(0.5) + np.float32(1), label="weak-scalar", also_covers=("mul",))]
)
