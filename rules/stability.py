"""Numerical stability (phase stabilize): each naive form as it is usually written, rewritten
to a form that is accurate where the naive one loses digits, overflows or returns -inf.
"""
from egopt import rules
import egopt.tensor as T

x, y, _w = rules.pattern_vars("x y w")

RULES = [
    # log(1 + x) loses all digits of x below 1e-16: log1p keeps them
    rules.rewrite(T.log(1 + x), T.log1p(x), name="log1p", phase="stabilize"),
    # exp(x) - 1 cancels for small x
    rules.rewrite(T.exp(x) - 1, T.expm1(x), name="expm1", phase="stabilize"),
    # log(1 + exp(x)) overflows for x > 709
    rules.rewrite(T.log1p(T.exp(x)), T.softplus(x), name="log1p-exp", phase="stabilize"),
    # the logistic function written out: exp(-x) overflows for x < -709
    rules.rewrite(1 / (1 + T.exp(-x)), T.sigmoid(x), name="sigmoid-form", phase="stabilize"),
    # log(sigmoid(x)) is -inf once sigmoid underflows (x < -745)
    rules.rewrite(T.log(T.sigmoid(x)), -T.softplus(-x), name="log-sigmoid", phase="stabilize"),
    # 1 - sigmoid(x) cancels for large x
    rules.rewrite(1 - T.sigmoid(x), T.sigmoid(-x), name="one-minus-sigmoid", phase="stabilize"),
    rules.rewrite(T.log(T.sigmoid(-x)), -T.softplus(x), name="log-sigmoid-neg", phase="stabilize"),
    # log(1 - exp(x)) for x < 0: cancellation near 0, underflow far from it
    rules.rewrite(T.log(1 - T.exp(x)), T.log1mexp(x), name="log1mexp", phase="stabilize"),
    rules.rewrite(T.log(-T.expm1(x)), T.log1mexp(x), name="log-neg-expm1", phase="stabilize"),
    # log(1 - x) rounds 1 - x first: log1p(-x) keeps the digits of a small x
    rules.rewrite(T.log(1 - x), T.log1p(-x), name="log1m", phase="stabilize"),
    # log1m and one-minus-sigmoid both match log(1 - sigmoid(x)); each subsumes what it matched,
    # so the log1p form needs its own way to softplus
    rules.rewrite(T.log1p(-T.sigmoid(x)), -T.softplus(x), name="log1p-neg-sigmoid", phase="stabilize"),
    rules.rewrite(T.log1p(-T.sigmoid(-x)), -T.softplus(-x), name="log1p-neg-sigmoid-neg", phase="stabilize"),
    # the logistic function as exp(x) / (1 + exp(x)) is inf / inf for x > 709
    rules.rewrite(T.exp(x) / (1 + T.exp(x)), T.sigmoid(x), name="exp-ratio-sigmoid", phase="stabilize"),
    # exp(x) / (exp(x) + exp(y)) is inf/inf or 0/0 once the exponentials overflow or underflow:
    # sigmoid(x - y) there (elsewhere the rounding of x - y would cost more than the quotient)
    rules.rewrite(T.exp(x) / (T.exp(x) + T.exp(y)),
                  T.switch(T.isinf(T.exp(x) + T.exp(y)), T.sigmoid(x - y),
                           T.switch(T.eq(T.exp(x) + T.exp(y), 0), T.sigmoid(x - y),
                                    T.identity(T.exp(x)) / (T.exp(x) + T.exp(y)))),
                  name="exp-ratio-regimes", phase="stabilize"),
    # 1 - erf(x) is 0 beyond x = 6; erfc keeps its value down to 1e-308
    rules.rewrite(1 - T.erf(x), T.erfc(x), name="erfc", phase="stabilize"),
    # 1 + erf(x) is 0 below x = -6 (the normal CDF 0.5 (1 + erf(x / sqrt(2))) in its lower
    # tail); erfc(-x) keeps its value; erf(x) - 1 likewise for x > 6
    rules.rewrite(1 + T.erf(x), T.erfc(-x), name="one-plus-erf", phase="stabilize"),
    rules.rewrite(T.erf(x) + 1, T.erfc(-x), name="erf-plus-one", phase="stabilize"),
    rules.rewrite(T.erf(x) - 1, -T.erfc(x), name="erf-minus-one", phase="stabilize"),
    rules.rewrite(T.log1p(T.erf(x)), T.log_erfc(-x), name="log1p-erf", phase="stabilize"),
    # sigmoid(x) - 1/2 and 2 sigmoid(x) - 1 cancel near x = 0: tanh(x / 2) keeps the digits
    # (2 sigmoid(x) matches sigmoid(x) 2 too: the product's orders share an e-class)
    rules.rewrite(T.sigmoid(x) - 0.5, 0.5 * T.tanh(x / 2), name="sigmoid-minus-half", phase="stabilize"),
    rules.rewrite(2 * T.sigmoid(x) - 1, T.tanh(x / 2), name="two-sigmoid-minus-one", phase="stabilize"),
    # log(sinh(x)) overflows with sinh beyond x = 710: x + log(-expm1(-2x) / 2) for x > 20
    rules.rewrite(T.log(T.sinh(x)),
                  T.switch(T.gt(x, 20), x + T.log(-0.5 * T.expm1(-2 * x)), T.log(T.identity(T.sinh(x)))),
                  name="log-sinh", phase="stabilize"),
    # the logistic density exp(x) / (1 + exp(x))^2: inf / inf beyond x = 355; sigmoid(x) sigmoid(-x)
    rules.rewrite(T.exp(x) / (1 + T.exp(x)) ** 2, T.sigmoid(x) * T.sigmoid(-x), name="logistic-density",
                  phase="stabilize"),
    rules.rewrite(T.exp(x) / ((1 + T.exp(x)) * (1 + T.exp(x))), T.sigmoid(x) * T.sigmoid(-x),
                  name="logistic-density-2", phase="stabilize"),
    # log(x**y) overflows or underflows with the power (x = 1e300, y = 3): y log(x) for x > 0
    rules.rewrite(T.log(x ** y),
                  T.switch(T.isinf(x), T.log(T.identity(x) ** y), T.switch(T.isinf(y), T.log(T.identity(x) ** y),
                           T.switch(T.gt(x, 0), y * T.log(x), T.log(T.identity(x) ** y)))),
                  name="log-power", phase="stabilize"),
    # exp(x^2) erfc(x) (Mills' ratio, the Faddeeva function on the real line) is inf * 0 for
    # x > 26.6, and exp(x^2) rounds x^2 first: erfcx
    rules.rewrite(T.exp(x * x) * T.erfc(x), T.erfcx(x), name="erfcx-form", phase="stabilize"),
    rules.rewrite(T.exp(x ** 2) * T.erfc(x), T.erfcx(x), name="erfcx-form-pow", phase="stabilize"),
    # (a rule subsumes the node it matched, not the product's other order: each needs its own)
    rules.rewrite(T.erfc(x) * T.exp(x * x), T.erfcx(x), name="erfcx-form-2", phase="stabilize"),
    rules.rewrite(T.erfc(x) * T.exp(x ** 2), T.erfcx(x), name="erfcx-form-pow-2", phase="stabilize"),
    # the inverses of erf near 1: 1 - x loses the digits of a small x, which erfcinv keeps
    rules.rewrite(T.erfinv(1 - x), T.erfcinv(x), name="erfinv-one-minus", phase="stabilize"),
    # (x - 1: the normal quantile sqrt(2) erfinv(2p - 1) for a small p)
    rules.rewrite(T.erfinv(x - 1), -T.erfcinv(x), name="erfinv-minus-one", phase="stabilize"),
    rules.rewrite(T.erfcinv(1 - x), T.erfinv(x), name="erfcinv-one-minus", phase="stabilize"),
    # log(erfc(x)) is -inf once erfc underflows (x > 26.5); log_erfc follows the asymptotic series
    rules.rewrite(T.log(T.erfc(x)), T.log_erfc(x), name="log-erfc", phase="stabilize"),
    rules.rewrite(T.log1p(-T.erf(x)), T.log_erfc(x), name="log1p-neg-erf", phase="stabilize"),
    # the normal CDF and survival function in logs, log(c erfc(x)) with c = 1/2, where c > 0
    rules.rewrite(T.log(y * T.erfc(x)),
                  T.switch(T.gt(y, 0), T.log(y) + T.log_erfc(x), T.log(T.identity(y) * T.erfc(x))),
                  name="log-scaled-erfc", phase="stabilize"),
    # x**2 overflows (|x| > 1e154) or underflows (|x| < 1e-162) before the square root
    rules.rewrite(T.sqrt(x ** 2), abs(x), name="sqrt-pow-two", phase="stabilize"),
    # x*x + y*y overflows (|x| > 1e154) or underflows before the square root: hypot scales
    rules.rewrite(T.sqrt(x * x + y * y), T.hypot(x, y), name="hypot", phase="stabilize"),
    rules.rewrite(T.sqrt(x ** 2 + y ** 2), T.hypot(x, y), name="hypot-pow", phase="stabilize"),
    rules.rewrite(T.sqrt(x * x + 1), T.hypot(x, 1.0), name="hypot-one", phase="stabilize"),
    rules.rewrite(T.sqrt(x ** 2 + 1), T.hypot(x, 1.0), name="hypot-one-pow", phase="stabilize"),
    # the inverse hyperbolic functions by their logarithms: x + sqrt(x*x + 1) cancels for x < 0
    # (and overflows), x*x - 1 loses the digits of x near 1, log((1 + x) / (1 - x)) of x near 0
    rules.rewrite(T.log(x + T.sqrt(x * x + 1)), T.arcsinh(x), name="asinh-log", phase="stabilize"),
    rules.rewrite(T.log(T.sqrt(x * x + 1) + x), T.arcsinh(x), name="asinh-log-2", phase="stabilize"),
    rules.rewrite(T.log(x + T.sqrt(x * x - 1)), T.arccosh(x), name="acosh-log", phase="stabilize"),
    rules.rewrite(T.log(T.sqrt(x * x - 1) + x), T.arccosh(x), name="acosh-log-2", phase="stabilize"),
    rules.rewrite(T.log((1 + x) / (1 - x)), 2 * T.arctanh(x), name="atanh-log", phase="stabilize"),
    rules.rewrite(T.log((1 - x) / (1 + x)), -2 * T.arctanh(x), name="atanh-log-neg", phase="stabilize"),
    # log(cosh(x)) (the log-cosh loss): cosh(x) = 1 + x^2/2 loses x^2 below 1e-8 and overflows
    # beyond 710; log1p(2 sinh(x/2)^2) near 0, |x| + log1p(expm1(-2|x|) / 2) far from it
    rules.rewrite(T.log(T.cosh(x)),
                  T.switch(T.lt(abs(x), 20), T.log1p(2 * T.sqr(T.sinh(x / 2))),
                           abs(x) + T.log1p(T.expm1(-2 * abs(x)) / 2)),
                  name="log-cosh", phase="stabilize"),
    # the logit of a sigmoid: 1 - sigmoid(x) (now sigmoid(-x)) underflows for x > 37
    rules.rewrite(T.log(T.sigmoid(x) / T.sigmoid(-x)), x, name="logit-sigmoid", phase="stabilize"),
    # log(x*y) of signs unknown: the product overflows or underflows long before its log does;
    # there, log|x| + log|y| (+ log of the sign product: 0, or NaN where the product is < 0)
    rules.rewrite(T.log(x * y),
                  T.switch(T.isinf(x * y), T.log(abs(x)) + T.log(abs(y)) + T.log(T.sgn(x) * T.sgn(y)),
                           T.switch(T.eq(x * y, 0), T.log(abs(x)) + T.log(abs(y)) + T.log(T.sgn(x) * T.sgn(y)),
                                    T.log(T.identity(x) * y))),
                  name="log-product-regimes", phase="stabilize"),
    # log(exp(x) + exp(y)): max subtraction, and log1p for the smaller term
    rules.rewrite(T.log(T.exp(x) + T.exp(y)),
                  T.switch(T.isinf(T.maximum(x, y)), T.maximum(x, y),
                           T.maximum(x, y) + T.log1p(T.exp(T.minimum(x, y) - T.maximum(x, y)))),
                  name="logaddexp", phase="stabilize"),
    # log(exp(x) - exp(y)) for x > y: x + log(1 - exp(y - x))
    rules.rewrite(T.log(T.exp(x) - T.exp(y)), T.switch(T.isinf(x), x, x + T.log1mexp(y - x)),
                  name="logdiffexp", phase="stabilize"),
]

# softmax written by hand, log(exp(z) / sum(exp(z))) = z - log(sum(exp(z))): both factors are
# positive, so the quotient rule for log holds (it does not for a general denominator). Along
# one axis it is the log_softmax op (max-subtracted, exact for a dominant entry).
_BY_HAND = [(1, None, False), (2, None, False), (2, 1, True), (2, 0, True), (3, 2, True)]
for _nd, _axis, _keep in _BY_HAND:
    _z, = rules.pattern_vars("z", ndim=_nd)
    _den = T.sum(T.exp(_z), axis=_axis, keepdims=_keep)
    _one_axis = 0 if _nd == 1 else _axis
    _lsm = _z - T.log(_den) if _one_axis is None else T.nnet.log_softmax(_z, axis=_one_axis)
    RULES.append(rules.rewrite(T.log(T.exp(_z) / _den), _lsm,
                               name=f"log-softmax-by-hand-{_nd}d-axis{_axis}", phase="stabilize"))
    if _one_axis is not None:
        # exp(z) / sum(exp(z)) overflows for z > 709: the softmax op subtracts the max
        RULES.append(rules.rewrite(T.exp(_z) / _den, T.nnet.softmax(_z, axis=_one_axis),
                                   name=f"softmax-by-hand-{_nd}d-axis{_axis}", phase="stabilize"))

# log(sum(exp(v))): the logsumexp op subtracts the max and adds the other terms with log1p
for _nd in (1, 2, 3):
    _v, = rules.pattern_vars("v", ndim=_nd)
    for _axis, _keep in [(None, False)] + ([(_nd - 1, False), (_nd - 1, True)] if _nd > 1 else []):
        RULES.append(rules.rewrite(
            T.log(T.sum(T.exp(_v), axis=_axis, keepdims=_keep)), T.nnet.logsumexp(_v, axis=_axis, keepdims=_keep),
            name=f"logsumexp-{_nd}d-axis{_axis}-keep{int(_keep)}", phase="stabilize"))

# log(prod(sigmoid(z))) underflows to -inf once the product does: -sum(softplus(-z))
for _nd, _axis, _keep in [(1, None, False), (2, None, False), (2, 1, False), (2, 1, True), (2, 0, False)]:
    _z, = rules.pattern_vars("z", ndim=_nd)
    RULES.append(rules.rewrite(T.log(T.prod(T.sigmoid(_z), axis=_axis, keepdims=_keep)),
                               -T.sum(T.softplus(-_z), axis=_axis, keepdims=_keep),
                               name=f"log-prod-sigmoid-{_nd}d-axis{_axis}-keep{int(_keep)}", phase="stabilize"))

# log(softmax(z)) is -inf once a probability underflows; log_softmax is z - max - log(sum(exp))
for _nd in (1, 2, 3):
    _z, = rules.pattern_vars("z", ndim=_nd)
    RULES.append(rules.rewrite(T.log(T.nnet.softmax(_z)), T.nnet.log_softmax(_z),
                               name=f"log-softmax-{_nd}d", phase="stabilize"))

# log(a / b) for a near b (log((1 - x) / (1 + x)), p log(p / q) with q near p): log1p of the
# relative difference (a - b is exact there, or simplifies); the quotient is kept elsewhere
# (also where a / b <= 0: the switch is false). The numerator is a sum or difference, or the
# element of a tensor (an input, a stored value): a literal numerator (log(1 / (1 + exp(-z))),
# the logistic regression's cost) has no cancellation to repair, and matching it would only
# grow the e-graph.
def _log_quotient(num, den):
    return T.switch(T.lt(abs(num - den), 0.5 * abs(den)), T.log1p((num - den) / den), T.log(T.identity(num) / den))


RULES += [
    rules.rewrite(T.log((x + y) / _w), _log_quotient(x + y, _w), name="log-quotient-sum", phase="stabilize"),
    rules.rewrite(T.log((x - y) / _w), _log_quotient(x - y, _w), name="log-quotient-difference", phase="stabilize"),
]
_LOG_QUOTIENT = ("(Switch (Lt (Abs (Sub (Ld a) (Ld b))) (Mul (Lit 0.5) (Abs (Ld b)))) "
                 "(Log1p (TrueDiv (Sub (Ld a) (Ld b)) (Ld b))) (Log (TrueDiv (Identity (Ld a)) (Ld b))))")
RULES.append(rules.Rule("log-quotient-elements", "stabilize",
                        text=f'(rewrite (Log (TrueDiv (Ld a) (Ld b))) {_LOG_QUOTIENT} :subsume :ruleset stabilize '
                             f':name "log-quotient-elements")', loc=f"{__file__}:log-quotient-elements"))

# c / (1 + exp(y)) for a literal c other than 1 (the logistic scaled, 2 / (1 + exp(-2x)) - 1): exp overflows
# for y > 709, and the sigmoid forms then see the cancellation. A literal numerator only: over a
# pattern variable the rule matches every quotient by 1 + exp in a logistic regression's
# gradient, and the e-graph grows five-fold for no repair (c = 1 is sigmoid-form's).
for _i, _den in enumerate(("(Add (Lit 1.0) (Exp y))", "(Add (Exp y) (Lit 1.0))")):
    _name = "scaled-sigmoid-form" + ("-2" if _i else "")
    RULES.append(rules.Rule(_name, "stabilize",
                            text=f'(rewrite (TrueDiv (Lit c) {_den}) (Mul (Lit c) (Sigmoid (Neg y))) '
                                 f':when ((!= c 1.0)) :subsume :ruleset stabilize :name "{_name}")', loc=f"{__file__}:{_name}"))

# (1 + x)**n rounds 1 + x first (the digits of a small x are lost, then raised to a large n:
# (1 + 1/n)**n): exp(n log1p(x)) keeps them, where |x| < 1/2 (beyond, the rounding of
# n log1p(x) costs more). The exponent is a tensor's element: a literal exponent ((1 + x)**2)
# is left to the cheaper specializations.
_POW1P_KEPT = "(Pow (Identity (Add (Lit 1.0) x)) (Ld t))"
_POW1P = (f"(Switch (Isinf (Ld t)) {_POW1P_KEPT} (Switch (Lt (Abs x) (Lit 0.5)) (Exp (Mul (Ld t) (Log1p x))) "
          f"{_POW1P_KEPT}))")
RULES.append(rules.Rule("pow1p", "stabilize",
                        text=f'(rewrite (Pow (Add (Lit 1.0) x) (Ld t)) {_POW1P} :subsume :ruleset stabilize '
                             f':name "pow1p")', loc=f"{__file__}:pow1p"))
