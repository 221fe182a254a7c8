"""Algebraic identities (phase canonicalize), written with the tensor API.

Identities that hold for real numbers; where IEEE special values differ (x*0 with x = inf),
the right side is the real-number value, as PyTensor's canonicalizer does.
"""
from egopt import rules
import egopt.tensor as T

x, y, z, w = rules.pattern_vars("x y z w")
A, B = rules.pattern_vars("A B", ndim=2)

RULES = [
    rules.rewrite(x + 0, x, name="add-zero"),                       # x + 0 -> x
    rules.rewrite(x - 0, x, name="sub-zero"),                       # x - 0 -> x
    rules.rewrite(0 - x, -x, name="zero-sub"),                      # 0 - x -> -x
    rules.rewrite(x * 1, x, name="mul-one"),                        # x * 1 -> x
    rules.rewrite(x * 0, T.second(x, 0.0), name="mul-zero"),        # x * 0 -> 0, shape of x
    rules.rewrite(x / 1, x, name="div-one"),                        # x / 1 -> x
    rules.rewrite(-(-x), x, name="neg-neg"),                        # --x -> x
    rules.rewrite(x - (-y), x + y, name="sub-neg"),                 # x - -y -> x + y
    rules.rewrite(x + (-y), x - y, name="add-neg"),                 # x + -y -> x - y
    rules.rewrite(x * -1, -x, name="mul-minus-one"),                # x * -1 -> -x
    rules.rewrite(-x - y, -(x + y), name="neg-sub"),                # -x - y -> -(x + y)
    rules.rewrite(x * y + x * z, x * (y + z), name="factor"),       # a*b + a*c -> a*(b + c)
    rules.rewrite(x * y - x * z, x * (y - z), name="factor-sub"),   # a*b - a*c -> a*(b - c)
    rules.rewrite(x ** 1, x, name="pow-one"),                       # x**1 -> x
    # x**2 is x*x (exact): the rules written with products see the power too (b**2 - 4ac);
    # specialize makes the cheaper one sqr(x) either way
    rules.rewrite(x ** 2, x * x, name="pow-two-product"),
    rules.rewrite(x ** 0, T.second(x, 1.0), name="pow-zero"),       # x**0 -> 1 (NumPy: 0**0 = 1)
    rules.rewrite(T.log(T.exp(x)), x, name="log-exp"),              # log(exp(x)) -> x
    # exp(x)exp(y) -> exp(x+y), for float x (int8 100 + 100 wraps to -56)
    rules.rewrite(T.exp(x) * T.exp(y), T.exp(x + y), name="exp-mul", when=[rules.real(x)]),
    rules.rewrite(T.sqrt(x * x), abs(x), name="sqrt-square"),       # sqrt(x^2) = |x| for real x
    rules.rewrite(T.sqrt(T.sqr(x)), abs(x), name="sqrt-sqr"),
    rules.rewrite(abs(-x), abs(x), name="abs-neg"),
    rules.rewrite(abs(abs(x)), abs(x), name="abs-abs"),
    rules.rewrite(A.T.T, A, name="transpose-transpose"),            # (A^T)^T -> A
    rules.rewrite(T.sum(T.sum(A, axis=1), axis=0), T.sum(A), name="sum-sum"),
    rules.rewrite(T.sum(T.sum(A, axis=0), axis=0), T.sum(A), name="sum-sum-0"),
]

# second(a, b) only needs a's shape: look through elementwise ops to their operands
RULES += [
    rules.rewrite(T.second(x * y, z), T.second(x, T.second(y, z)), name="second-mul"),
    rules.rewrite(T.second(x + y, z), T.second(x, T.second(y, z)), name="second-add"),
    rules.rewrite(T.second(x - y, z), T.second(x, T.second(y, z)), name="second-sub"),
    rules.rewrite(T.second(x / y, z), T.second(x, T.second(y, z)), name="second-div"),
    rules.rewrite(T.second(-x, z), T.second(x, z), name="second-neg"),
    rules.rewrite(T.second(T.exp(x), z), T.second(x, z), name="second-exp"),
    rules.rewrite(T.second(x, T.second(x, z)), T.second(x, z), name="second-second"),
]

# transposes compose: x.dimshuffle(p).dimshuffle(q) -> x.dimshuffle(p o q) (3-D permutations)
from itertools import permutations as _perms

X3, = rules.pattern_vars("X3", ndim=3)
for _p in _perms(range(3)):
    for _q in _perms(range(3)):
        if _p == (0, 1, 2) or _q == (0, 1, 2):
            continue
        _pq = tuple(_p[i] for i in _q)
        RULES.append(rules.rewrite(X3.dimshuffle(*_p).dimshuffle(*_q),
                                   X3 if _pq == (0, 1, 2) else X3.dimshuffle(*_pq),
                                   name=f"dimshuffle-compose-{''.join(map(str, _p))}-{''.join(map(str, _q))}"))

# (phase stabilize, away from "factor": expanding and factoring in one phase would loop)
# (in stabilize, away from "factor": expanding and factoring in one phase would loop)
# cancellation across the forward/backward boundary: the gradient of log(f(x)) divides by f(x)
# and the VJP of f multiplies by it again (sigmoid: g / s * (s * (1 - s))); at s = 0 the
# unsimplified form is 0/0. These refine: the right side is defined where the left is 0/0.
RULES += [
    rules.rewrite(x / y * (y * z), x * z, name="div-mul-cancel", phase="stabilize"),
    rules.rewrite(-(x / y) * (y * z), -(x * z), name="neg-div-mul-cancel", phase="stabilize"),
    rules.rewrite(x / y * y, x, name="div-mul-cancel-1", phase="stabilize"),
]
# the same through a sum, as in the gradient of a cross-entropy (a/s + b/(1-s)) * s * (1-s)
RULES += [
    rules.rewrite((x / y + z) * y, x + z * y, name="div-add-mul-cancel", phase="stabilize"),
    rules.rewrite((x / y - z) * y, x - z * y, name="div-sub-mul-cancel", phase="stabilize"),
    rules.rewrite((z - x / y) * y, z * y - x, name="sub-div-mul-cancel", phase="stabilize"),
    rules.rewrite((z + x / y * w) * y, z * y + x * w, name="add-div-mul-cancel", phase="stabilize"),
    rules.rewrite((z - x / y * w) * y, z * y - x * w, name="sub-divmul-mul-cancel", phase="stabilize"),
]

# products with transposes: A^T B^T = (B A)^T, one transpose instead of two
RULES.append(rules.rewrite(T.dot(A.T, B.T), T.dot(B, A).T, name="dot-transposes"))

# identities that hold only on part of the real line, under the sign analysis
# (egopt/rules/analysis.py): each is proved by check-rules under its condition.
# x - x and x / x only where the range analysis bounds x (and keeps it off 0): at inf (an
# overflowed exp, a huge input) both sides differ, NaN against 0 or 1, and NumPy says NaN.
# (A NaN input reaching a bounded x, tanh(NaN), is still refined to 0 or 1.)
_FINITE = dict(lo=-1e300, hi=1e300)
RULES += [
    rules.rewrite(x - x, T.second(x, 0.0), name="sub-self", when=[rules.in_range(x, **_FINITE)]),
    rules.rewrite(x / x, T.second(x, 1.0), name="div-self", when=[rules.in_range(x, **_FINITE), rules.nonzero(x)]),
    rules.rewrite(T.exp(-T.log(x)), 1 / x, name="exp-neg-log", when=[rules.positive(x)]),
    rules.rewrite(T.exp(T.log(x)), x, name="exp-log", when=[rules.positive(x)]),
    rules.rewrite(T.sqrt(x * x), x, name="sqrt-square-nonneg", when=[rules.nonnegative(x)]),
    rules.rewrite(abs(x), x, name="abs-nonneg", when=[rules.nonnegative(x)]),
    rules.rewrite(T.sqrt(x) * T.sqrt(x), x, name="sqrt-times-sqrt", when=[rules.nonnegative(x)]),
    rules.rewrite(T.log(x * y), T.log(x) + T.log(y), name="log-product",
                  when=[rules.positive(x), rules.positive(y)]),
]
