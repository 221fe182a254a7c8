"""Identities that hold on part of the real line, under the range analysis
(egopt/rules/analysis.py: an interval for every e-class, seeded by op ranges and propagated by
interval arithmetic). Each is proved by ``egopt check-rules`` under its condition.

These fire on forms that arise in real graphs: relu of a positive quantity
(``maximum(softplus(x), 0)``), the sign or magnitude of a quantity whose sign the ops fix
(``abs(-exp(x))``, ``sgn(sigmoid(x))``), clamps that cannot bind.
"""
from egopt import rules
import egopt.tensor as T

x, = rules.pattern_vars("x")

RULES = [
    # |x| and sqrt(x^2) where x <= 0
    rules.rewrite(abs(x), -x, name="abs-nonpos", when=[rules.in_range(x, hi=0.0)]),
    rules.rewrite(T.sqrt(x * x), -x, name="sqrt-square-nonpos", when=[rules.in_range(x, hi=0.0)]),
    # the sign of a quantity of known sign
    rules.rewrite(T.sgn(x), T.second(x, 1.0), name="sgn-pos", when=[rules.positive(x)]),
    rules.rewrite(T.sgn(x), T.second(x, -1.0), name="sgn-neg", when=[rules.in_range(x, hi=0.0, strict=True)]),
    # a relu (or its mirror) that cannot bind
    rules.rewrite(T.maximum(x, 0.0), x, name="relu-nonneg", when=[rules.nonnegative(x)]),
    rules.rewrite(T.maximum(0.0, x), x, name="relu-nonneg-2", when=[rules.nonnegative(x)]),
    rules.rewrite(T.minimum(x, 0.0), x, name="min-zero-nonpos", when=[rules.in_range(x, hi=0.0)]),
    rules.rewrite(T.minimum(0.0, x), x, name="min-zero-nonpos-2", when=[rules.in_range(x, hi=0.0)]),
    # clamps whose bound lies beyond the operand's range: min(x, 1) of a value <= 1
    rules.rewrite(T.minimum(x, 1.0), x, name="min-one-below", when=[rules.in_range(x, hi=1.0)]),
    rules.rewrite(T.maximum(x, -1.0), x, name="max-minus-one-above", when=[rules.in_range(x, lo=-1.0)]),
]
