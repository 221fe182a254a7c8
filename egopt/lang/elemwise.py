"""Elementwise ops: one entry each, holding NumPy reference, dtype rule, gradient, C template,
SymPy name and cost. Broadcasting is static: an axis broadcasts only where its static size is
1 (``T.row()``, ``dimshuffle('x', 0)``, constants); other sizes must match at run time.

A ``vjp`` here is ``vjp(g, out, *inputs)`` returning one gradient per input in the *output's*
shape; ``elemwise`` sums each back to its input's shape (once, here) and casts it.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import dtypes
from . import frontend as F
from . import special_math as _S
from .errors import EgoptTypeError
from .ops import Op, register
from .types import TensorType, broadcast_shapes


def _upcast(params, *dts):
    return dtypes.upcast(*dts)


def _float(params, *dts):
    return dtypes.float_of(dtypes.upcast(*dts))


def _bool(params, *dts):
    return "bool"


def _intlike(params, *dts):
    dt = dtypes.upcast(*dts)
    if not (dtypes.is_int(dt) or dtypes.is_bool(dt)):
        raise EgoptTypeError(f"needs integer or bool inputs, got {', '.join(dts)}")
    return dt


def _real(params, *dts):
    dt = dtypes.upcast(*dts)
    if dtypes.is_complex(dt):
        raise EgoptTypeError(f"is not defined for complex inputs ({dt})")
    return dt


def _no_bool(params, *dts):
    dt = dtypes.upcast(*dts)
    if dt == "bool":
        raise EgoptTypeError("is not defined for bool inputs; cast them first")
    return dt


def _cast_dtype(params, *dts):
    return params["dtype"]


def _second_dtype(params, a, b):
    return b


def _switch_dtype(params, c, a, b):
    return dtypes.upcast(a, b)


def unbroadcast(g, in_type: TensorType, out_type: TensorType):
    """Sum a gradient of the output's shape back to an input's shape, and cast it."""
    nlead = out_type.ndim - in_type.ndim
    keep = tuple(nlead + i for i, s in enumerate(in_type.shape)
                 if s == 1 and out_type.shape[nlead + i] != 1)
    if keep:
        g = F.sum(g, axis=keep, keepdims=True)
    if nlead:
        g = F.sum(g, axis=tuple(range(nlead)))
    if g.dtype != in_type.dtype and dtypes.is_differentiable(in_type.dtype):
        g = F.cast(g, in_type.dtype)
    return g


def elemwise(name: str, numpy: Callable, nin: int, dtype: Callable = _upcast, *,
             vjp: Callable | None = None, c: str | None = None, cuda: str | None = None,
             sympy=None, flops: float = 1.0, fmt: str | None = None,
             grad_inputs: tuple[int, ...] | None = None, params: tuple[str, ...] = ()) -> Op:
    """Define and register an elementwise op."""

    def infer(params, *types):
        if len(types) != nin:
            raise TypeError(f"takes {nin} input(s), got {len(types)}")
        shape = broadcast_shapes(*(t.shape for t in types), op=name)
        return TensorType(dtype(params, *(t.dtype for t in types)), shape)

    def perform(params, *xs):
        if dtype is _float:
            xs = [_widen_small(x) for x in xs]
        return numpy(*xs, **params) if params else numpy(*xs)

    def node_vjp(node, g):
        out = node.outputs[0]
        grads = vjp(g, out, *node.inputs, **node.params)
        return [None if gi is None else unbroadcast(gi, x.type, out.type)
                for gi, x in zip(grads, node.inputs)]

    return register(Op(name, infer, perform, node_vjp if vjp else None, kind="elemwise", nin=nin,
                       c=c, cuda=cuda, sympy=sympy, flops=flops, fmt=fmt,
                       grad_inputs=grad_inputs, defined_in="egopt/lang/elemwise.py",
                       extra={"params": params,
                              # the ufunc itself, where the NumPy reference is one: fused
                              # bodies call it with out= buffers
                              "ufunc": numpy if isinstance(numpy, np.ufunc) and not params else None}))


_SMALL = (np.dtype("bool"), np.dtype("int8"), np.dtype("uint8"))


def _widen_small(x):
    """bool, int8 and uint8 as float32 for a float-valued op: NumPy would compute in float16
    (and cannot negate a bool), where the op's type (``float_of``) and the C kernels say float32."""
    return x.astype(np.float32) if getattr(x, "dtype", None) in _SMALL else x


def _none(*_args, **_kw):
    return None


def _zeros(g, out, *xs, **_kw):
    # in the output's shape, as every elementwise vjp (node_vjp sums it back to the input's)
    return [F.zeros_like(out, dtype=x.dtype) if dtypes.is_differentiable(x.dtype) else None for x in xs]


def _no_grad(g, out, *xs, **_kw):
    return [None for _ in xs]


def _diff(x) -> bool:
    return dtypes.is_differentiable(x.dtype)


def _cast_perform(x, dtype):
    return np.asarray(x).astype(dtype)


def _second(a, b):
    return np.broadcast_to(b, np.broadcast_shapes(np.shape(a), np.shape(b))).copy()


def _softplus(x):
    # log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    # 1 / (1 + exp(-x)) without overflow: exp(-|x|) never exceeds 1
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))


def _log1mexp(x):
    # log(1 - exp(x)) for x <= 0, accurate on both sides of -log(2)
    x = np.asarray(x)
    return np.where(x > -math.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x)


_LOG_SQRT_PI = 0.5 * math.log(math.pi)


def _log_erfc(x):
    # log(erfc(x)) finite far into the tail, in float64 whatever the input dtype:
    # |x| < 0.5: log1p(-erf(x)) (erfc(x) is near 1 there, and log(1 - d) would lose d);
    # x < 26: log(erfc(x)) (erfc is accurate until it underflows near 26.5);
    # beyond: the asymptotic series -x^2 - log(x sqrt(pi)) + log1p(sum_n (-1)^n (2n-1)!!/(2x^2)^n)
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        small = np.log1p(-_erf(x))
        mid = np.log(_erfc(x))
        t = 1.0 / (2.0 * x * x)
        series = t * (-1 + t * (3 + t * (-15 + t * (105 + t * -945))))
        tail = -(x * x) - np.log(x) - _LOG_SQRT_PI + np.log1p(series)
    return np.where(np.abs(x) < 0.5, small, np.where(x < 26.0, mid, tail))


# the same three regimes as _log_erfc, in C (erfc of a float is computed in double)
_LOG_ERFC_C = ("(fabs({0}) < 0.5 ? log1p(-erf({0})) : ({0} < 26.0 ? log(erfc({0})) : "
               "(-({0}) * ({0}) - log({0}) - 0.5723649429247001 + log1p((0.5 / (({0}) * ({0}))) * (-1.0 + "
               "(0.5 / (({0}) * ({0}))) * (3.0 + (0.5 / (({0}) * ({0}))) * (-15.0 + (0.5 / (({0}) * ({0}))) * "
               "(105.0 - 945.0 * (0.5 / (({0}) * ({0})))))))))))").replace("{0}", "((double)({0}))")
# (in double for a float32 input too: the float overloads of erfc/log underflow near x = 9.2)


def _int_div(x, y):
    return np.floor_divide(x, y)


def _switch(c, a, b):
    return np.where(c, a, b)


# ---- arithmetic -------------------------------------------------------------------------------
add = elemwise("add", np.add, 2, _no_bool, vjp=lambda g, z, x, y: [g, g],
               c="({0} + {1})", sympy="Add", fmt="({0} + {1})")
sub = elemwise("sub", np.subtract, 2, _no_bool, vjp=lambda g, z, x, y: [g, -g],
               c="({0} - {1})", sympy=lambda a, b: a - b, fmt="({0} - {1})")
mul = elemwise("mul", np.multiply, 2, vjp=lambda g, z, x, y: [g * y, g * x],
               c="({0} * {1})", sympy="Mul", fmt="({0} * {1})")
true_div = elemwise("true_div", np.true_divide, 2, _float,
                    vjp=lambda g, z, x, y: [g / y, -g * z / y],
                    c="({0} / {1})", sympy=lambda a, b: a / b, flops=4, fmt="({0} / {1})")
int_div = elemwise("int_div", _int_div, 2, _real, vjp=_zeros,
                   c="egopt_floordiv({0}, {1})", sympy="floor_div", flops=4, fmt="({0} // {1})")
mod = elemwise("mod", np.mod, 2, _real,
               vjp=lambda g, z, x, y: [g, -g * F.int_div(x, y) if _diff(y) else None],
               c="egopt_mod({0}, {1})", sympy="Mod", flops=4, fmt="({0} % {1})")
pow = elemwise("pow", np.power, 2, _no_bool,
               vjp=lambda g, z, x, y: [g * y * x ** (y - 1),
                                         g * z * F.log(x) if _diff(y) else None],
               c="pow({0}, {1})", sympy="Pow", flops=20, fmt="({0} ** {1})")
neg = elemwise("neg", np.negative, 1, _no_bool, vjp=lambda g, z, x: [-g],
               c="(-{0})", sympy=lambda a: -a, fmt="-{0}")
abs = elemwise("abs", np.abs, 1, _no_bool, vjp=lambda g, z, x: [g * F.sgn(x)],
               c="fabs({0})", sympy="Abs", fmt="|{0}|")
sgn = elemwise("sgn", np.sign, 1, _no_bool, vjp=_zeros, c="egopt_sgn({0})", sympy="sign")
sqr = elemwise("sqr", np.square, 1, _no_bool, vjp=lambda g, z, x: [g * 2 * x],
               c="({0} * {0})", sympy=lambda a: a ** 2, fmt="sqr({0})")
maximum = elemwise("maximum", np.maximum, 2, _real,
                   vjp=lambda g, z, x, y: [g * (x >= y), g * (x < y)],
                   c="egopt_max({0}, {1})", sympy="Max")
minimum = elemwise("minimum", np.minimum, 2, _real,
                   vjp=lambda g, z, x, y: [g * (x <= y), g * (x > y)],
                   c="egopt_min({0}, {1})", sympy="Min")
clip = elemwise("clip", np.clip, 3, lambda p, x, lo, hi: _real(p, x, lo, hi),
                vjp=lambda g, z, x, lo, hi: [g * ((x >= lo) & (x <= hi)), g * (x < lo), g * (x > hi)],
                c="egopt_min(egopt_max({0}, {1}), {2})",
                sympy=lambda x, lo, hi: __import__("sympy").Min(__import__("sympy").Max(x, lo), hi))

# ---- transcendental (float results) -------------------------------------------------------------
def _unary_float(name, fn, vjp, c, sympy, flops=20):
    return elemwise(name, fn, 1, _float, vjp=vjp, c=c, sympy=sympy, flops=flops)


exp = _unary_float("exp", np.exp, lambda g, z, x: [g * z], "exp({0})", "exp")
log = _unary_float("log", np.log, lambda g, z, x: [g / x], "log({0})", "log")
log1p = _unary_float("log1p", np.log1p, lambda g, z, x: [g / (1 + x)], "log1p({0})",
                     lambda a: __import__("sympy").log(1 + a))
expm1 = _unary_float("expm1", np.expm1, lambda g, z, x: [g * (z + 1)], "expm1({0})",
                     lambda a: __import__("sympy").exp(a) - 1)
log2 = _unary_float("log2", np.log2, lambda g, z, x: [g / (x * math.log(2))], "log2({0})",
                    lambda a: __import__("sympy").log(a, 2))
log10 = _unary_float("log10", np.log10, lambda g, z, x: [g / (x * math.log(10))], "log10({0})",
                     lambda a: __import__("sympy").log(a, 10))
sqrt = _unary_float("sqrt", np.sqrt, lambda g, z, x: [g * 0.5 / z], "sqrt({0})", "sqrt", flops=4)
sin = _unary_float("sin", np.sin, lambda g, z, x: [g * F.cos(x)], "sin({0})", "sin")
cos = _unary_float("cos", np.cos, lambda g, z, x: [-g * F.sin(x)], "cos({0})", "cos")
tan = _unary_float("tan", np.tan, lambda g, z, x: [g * (1 + z * z)], "tan({0})", "tan")
arcsin = _unary_float("arcsin", np.arcsin, lambda g, z, x: [g / F.sqrt(1 - x * x)], "asin({0})", "asin")
arccos = _unary_float("arccos", np.arccos, lambda g, z, x: [-g / F.sqrt(1 - x * x)], "acos({0})", "acos")
arctan = _unary_float("arctan", np.arctan, lambda g, z, x: [g / (1 + x * x)], "atan({0})", "atan")
arcsinh = _unary_float("arcsinh", np.arcsinh, lambda g, z, x: [g / F.sqrt(x * x + 1)], "asinh({0})", "asinh")
arccosh = _unary_float("arccosh", np.arccosh, lambda g, z, x: [g / F.sqrt(x * x - 1)], "acosh({0})", "acosh")
arctanh = _unary_float("arctanh", np.arctanh, lambda g, z, x: [g / (1 - x * x)], "atanh({0})", "atanh")
# sqrt(x^2 + y^2) without overflow or underflow of the squares (C99 hypot)
hypot = elemwise("hypot", np.hypot, 2, _float, vjp=lambda g, z, x, y: [g * x / z, g * y / z],
                 c="hypot({0}, {1})", sympy=lambda a, b: __import__("sympy").sqrt(a ** 2 + b ** 2), flops=20)
sinh = _unary_float("sinh", np.sinh, lambda g, z, x: [g * F.cosh(x)], "sinh({0})", "sinh")
cosh = _unary_float("cosh", np.cosh, lambda g, z, x: [g * F.sinh(x)], "cosh({0})", "cosh")
tanh = _unary_float("tanh", np.tanh, lambda g, z, x: [g * (1 - z * z)], "tanh({0})", "tanh")
erf = _unary_float("erf", _erf, lambda g, z, x: [g * (2 / math.sqrt(math.pi)) * F.exp(-(x * x))],
                   "erf({0})", "erf")
erfc = _unary_float("erfc", _erfc, lambda g, z, x: [g * (-2 / math.sqrt(math.pi)) * F.exp(-(x * x))],
                    "erfc({0})", "erfc")
# d/dx log(erfc(x)) = -2/sqrt(pi) exp(-x^2) / erfc(x) = -2/sqrt(pi) exp(-x^2 - log_erfc(x)): finite in the tail
log_erfc = _unary_float("log_erfc", _log_erfc,
                        lambda g, z, x: [g * (-2 / math.sqrt(math.pi)) * F.exp(-(x * x) - z)],
                        _LOG_ERFC_C, lambda a: __import__("sympy").log(__import__("sympy").erfc(a)), flops=40)
sigmoid = _unary_float("sigmoid", _sigmoid, lambda g, z, x: [g * z * (1 - z)],
                       "egopt_sigmoid({0})", lambda a: 1 / (1 + __import__("sympy").exp(-a)))
softplus = _unary_float("softplus", _softplus, lambda g, z, x: [g * F.sigmoid(x)],
                        "egopt_softplus({0})", lambda a: __import__("sympy").log(1 + __import__("sympy").exp(a)))
log1mexp = _unary_float("log1mexp", _log1mexp, lambda g, z, x: [g * (-1 / F.expm1(-x))],
                        "egopt_log1mexp({0})", lambda a: __import__("sympy").log(1 - __import__("sympy").exp(a)))

# special functions (NumPy references in special_math.py, C in egopt/codegen/special_c.py;
# gammaln is C99's lgamma): float64 inside, for a float32 input too
gammaln = _unary_float("gammaln", _S.gammaln, lambda g, z, x: [g * F.psi(x)], "lgamma({0})",
                       lambda a: __import__("sympy").loggamma(a), flops=40)
psi = _unary_float("psi", _S.psi, lambda g, z, x: [g * F.tri_gamma(x)], "egopt_psi({0})",
                   lambda a: __import__("sympy").polygamma(0, a), flops=60)
# (no VJP: the tetragamma function is not an op; grad through tri_gamma says so)
tri_gamma = elemwise("tri_gamma", _S.tri_gamma, 1, _float, vjp=None, c="egopt_tri_gamma({0})",
                     sympy=lambda a: __import__("sympy").polygamma(1, a), flops=60)
# d/dx erfinv(x) = sqrt(pi)/2 exp(erfinv(x)^2); d/dx erfcinv(x) = -sqrt(pi)/2 exp(erfcinv(x)^2)
erfinv = _unary_float("erfinv", _S.erfinv, lambda g, z, x: [g * (math.sqrt(math.pi) / 2) * F.exp(z * z)],
                      "egopt_erfinv({0})", lambda a: __import__("sympy").erfinv(a), flops=100)
erfcinv = _unary_float("erfcinv", _S.erfcinv, lambda g, z, x: [g * (-math.sqrt(math.pi) / 2) * F.exp(z * z)],
                       "egopt_erfcinv({0})", lambda a: __import__("sympy").erfinv(1 - a), flops=100)
# (SymPy by the definition erfcinv(a) = erfinv(1 - a): its erfcinv does not simplify against erfinv)
# erfcx(x) = exp(x^2) erfc(x), finite where erfc underflows; d/dx = 2 x erfcx(x) - 2/sqrt(pi)
erfcx = _unary_float("erfcx", _S.erfcx, lambda g, z, x: [g * (2 * x * z - 2 / math.sqrt(math.pi))],
                     "egopt_erfcx({0})",
                     lambda a: __import__("sympy").exp(a ** 2) * __import__("sympy").erfc(a), flops=80)

# ---- rounding (zero gradient) -----------------------------------------------------------------------
floor = elemwise("floor", np.floor, 1, _real, vjp=_zeros, c="floor({0})", sympy="floor")
ceil = elemwise("ceil", np.ceil, 1, _real, vjp=_zeros, c="ceil({0})", sympy="ceiling")
round = elemwise("round", np.round, 1, _real, vjp=_zeros, c="nearbyint({0})", sympy="round")

# ---- comparisons and logic (no gradient) --------------------------------------------------------
eq = elemwise("eq", np.equal, 2, _bool, vjp=_no_grad, c="({0} == {1})", sympy="Eq", fmt="eq({0}, {1})")
neq = elemwise("neq", np.not_equal, 2, _bool, vjp=_no_grad, c="({0} != {1})", sympy="Ne")
lt = elemwise("lt", np.less, 2, _bool, vjp=_no_grad, c="({0} < {1})", sympy="Lt", fmt="({0} < {1})")
le = elemwise("le", np.less_equal, 2, _bool, vjp=_no_grad, c="({0} <= {1})", sympy="Le", fmt="({0} <= {1})")
gt = elemwise("gt", np.greater, 2, _bool, vjp=_no_grad, c="({0} > {1})", sympy="Gt", fmt="({0} > {1})")
ge = elemwise("ge", np.greater_equal, 2, _bool, vjp=_no_grad, c="({0} >= {1})", sympy="Ge", fmt="({0} >= {1})")
and_ = elemwise("and_", np.bitwise_and, 2, _intlike, vjp=_no_grad, c="({0} & {1})", sympy="And", fmt="({0} & {1})")
or_ = elemwise("or_", np.bitwise_or, 2, _intlike, vjp=_no_grad, c="({0} | {1})", sympy="Or", fmt="({0} | {1})")
xor = elemwise("xor", np.bitwise_xor, 2, _intlike, vjp=_no_grad, c="({0} ^ {1})", sympy="Xor", fmt="({0} ^ {1})")
invert = elemwise("invert", np.invert, 1, _intlike, vjp=_no_grad, c="egopt_invert({0})", sympy="Not", fmt="~{0}")
isnan = elemwise("isnan", np.isnan, 1, _bool, vjp=_no_grad, c="isnan({0})",
                 sympy=lambda a: __import__("sympy").false)     # a real number is never NaN
isinf = elemwise("isinf", np.isinf, 1, _bool, vjp=_no_grad, c="isinf({0})",
                 sympy=lambda a: __import__("sympy").Eq(__import__("sympy").Abs(a), __import__("sympy").oo,
                                                        evaluate=False))
switch = elemwise("switch", _switch, 3, _switch_dtype,
                  vjp=lambda g, z, c, a, b: [None, F.switch(c, g, 0), F.switch(c, 0, g)],
                  c="({0} ? {1} : {2})",
                  sympy=lambda c, a, b: __import__("sympy").Piecewise((a, c), (b, True), evaluate=False))

# ---- dtype and broadcasting helpers ---------------------------------------------------------------
cast = elemwise("cast", _cast_perform, 1, _cast_dtype,
                vjp=lambda g, z, x, dtype: [F.cast(g, x.dtype) if dtypes.is_differentiable(x.dtype) else None],
                c="(({dtype}){0})", sympy=lambda a, dtype=None: a, flops=0.5, fmt="cast({0})",
                params=("dtype",))
second = elemwise("second", _second, 2, _second_dtype,
                  vjp=lambda g, z, a, b: [None, g], c="{1}", sympy=lambda a, b: b, flops=0)
identity = elemwise("identity", lambda x: x, 1, vjp=lambda g, z, x: [g], c="{0}",
                    sympy=lambda a: a, flops=0)

# ---- gradient control (theano.gradient): the identity forward, a changed VJP -----------------------
zero_grad = elemwise("zero_grad", lambda x: x, 1, vjp=lambda g, z, x: [F.zeros_like(g)], c="{0}",
                     sympy=lambda a: a, flops=0)
disconnected_grad = elemwise("disconnected_grad", lambda x: x, 1, vjp=_no_grad, c="{0}",
                             sympy=lambda a: a, flops=0)
grad_clip = elemwise("grad_clip", lambda x, lower=None, upper=None: x, 1,
                     vjp=lambda g, z, x, lower, upper: [F.clip(g, lower, upper)], c="{0}",
                     sympy=lambda a, lower=None, upper=None: a, flops=0, fmt="grad_clip({0})",
                     params=("lower", "upper"))
