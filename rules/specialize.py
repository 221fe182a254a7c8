"""Specialization (phase specialize): cheaper forms with the same rounding."""
from egopt import rules
import egopt.tensor as T

x, = rules.pattern_vars("x")

RULES = [
    rules.rewrite(x ** 2, T.sqr(x), name="pow-two", phase="specialize"),        # x**2 -> x*x
    rules.rewrite(x * x, T.sqr(x), name="mul-self", phase="specialize"),
    rules.rewrite(x ** 3, T.sqr(x) * x, name="pow-three", phase="specialize"),
    rules.rewrite(x ** -1, 1 / x, name="pow-minus-one", phase="specialize"),
    # division by a power of two is an exact multiplication
    rules.rewrite(x / 2, x * 0.5, name="div-two", phase="specialize"),
    rules.rewrite(x / 4, x * 0.25, name="div-four", phase="specialize"),
    rules.rewrite(x / 0.5, x * 2, name="div-half", phase="specialize"),
]
