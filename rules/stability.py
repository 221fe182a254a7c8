"""Numerical stability (phase stabilize): each naive form as it is usually written, rewritten
to a form that is accurate where the naive one loses digits, overflows or returns -inf.
"""
from egopt import rules
import egopt.tensor as T

x, y = rules.pattern_vars("x y")

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
]

# softmax written by hand, log(exp(z) / sum(exp(z))) = z - log(sum(exp(z))): both factors are
# positive, so the quotient rule for log holds (it does not for a general denominator)
for _nd, _axis, _keep in [(1, None, False), (2, None, False), (2, 1, True), (2, 0, True)]:
    _z, = rules.pattern_vars("z", ndim=_nd)
    _den = T.sum(T.exp(_z), axis=_axis, keepdims=_keep)
    RULES.append(rules.rewrite(T.log(T.exp(_z) / _den), _z - T.log(_den),
                               name=f"log-softmax-by-hand-{_nd}d-axis{_axis}", phase="stabilize"))


def _logsumexp(v, axis, keepdims):
    # max subtraction; a non-finite max (all -inf, or +inf) is not subtracted, as scipy does
    m = T.max(v, axis=axis, keepdims=True)
    m = T.switch(T.isinf(m), 0.0, m)
    s = T.log(T.sum(T.exp(v - m), axis=axis, keepdims=keepdims))
    return s + (m if keepdims else T.max(m, axis=axis))


for _nd in (1, 2):
    _v, = rules.pattern_vars("v", ndim=_nd)
    for _axis, _keep in [(None, False)] + ([(_nd - 1, False), (_nd - 1, True)] if _nd > 1 else []):
        RULES.append(rules.rewrite(
            T.log(T.sum(T.exp(_v), axis=_axis, keepdims=_keep)), _logsumexp(_v, _axis, _keep),
            name=f"logsumexp-{_nd}d-axis{_axis}-keep{int(_keep)}", phase="stabilize"))

# log(softmax(z)) is -inf once a probability underflows; log_softmax is z - max - log(sum(exp))
for _nd in (1, 2, 3):
    _z, = rules.pattern_vars("z", ndim=_nd)
    RULES.append(rules.rewrite(T.log(T.nnet.softmax(_z)), T.nnet.log_softmax(_z),
                               name=f"log-softmax-{_nd}d", phase="stabilize"))
