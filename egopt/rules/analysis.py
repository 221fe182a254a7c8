"""Sign analysis over the e-graph: ``(Pos e)`` says every value of class e is > 0, ``(NonNeg e)``
that it is >= 0 (as real numbers; in floating point a positive value may underflow to 0).

Both are egglog relations, filled by rules in the ``core`` ruleset (run to saturation before
and after every iteration of every phase; loaded only when a rule has a sign condition), seeded by op ranges (exp, sigmoid, softplus, cosh,
erfc > 0; abs, sqr, sqrt, x*x >= 0; positive literals) and propagated through +, *, /, sqrt,
pow, maximum, sums and products. Because the facts live on e-classes, a fact proved for one
form holds for every equivalent form. Rules use them as conditions:

    rules.rewrite(T.exp(-T.log(x)), 1 / x, when=[rules.positive(x)])

``egopt check-rules`` proves such a rule under its condition (x a positive symbol; sampled
points restricted to x > 0); tests/property/test_sign_analysis.py checks that the analysis
never claims a sign that a random input contradicts.
"""
from __future__ import annotations

_POS_SEEDS = ("Exp", "Sigmoid", "Softplus", "Cosh", "Erfc")
_NONNEG_SEEDS = ("Abs", "Sqr", "Sqrt")


RELATIONS = "(relation Pos (S))\n(relation NonNeg (S))\n"


def needed(rule_texts) -> bool:
    """Does any rule read the analysis (a ``(Pos x)`` or ``(NonNeg x)`` condition)?"""
    return any("(Pos " in t or "(NonNeg " in t for t in rule_texts)


def analysis_text() -> str:
    """The rules that fill Pos and NonNeg (the relations are part of the schema)."""
    rules = []
    r = rules.append
    for op in _POS_SEEDS:
        r(f"(rule ((= e ({op} a))) ((Pos e)) :ruleset core)")
    for op in _NONNEG_SEEDS:
        r(f"(rule ((= e ({op} a))) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Lit c)) (> c 0.0)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Lit c)) (>= c 0.0)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Mul a a))) ((NonNeg e)) :ruleset core)")
    r("(rule ((Pos e)) ((NonNeg e)) :ruleset core)")
    # propagation
    r("(rule ((= e (Add a b)) (Pos a) (NonNeg b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Add a b)) (NonNeg a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Add a b)) (NonNeg a) (NonNeg b)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Mul a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Mul a b)) (NonNeg a) (NonNeg b)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (TrueDiv a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (TrueDiv a b)) (NonNeg a) (Pos b)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Sqrt a)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Pow a b)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (NonNeg a)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (NonNeg b)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Minimum a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Minimum a b)) (NonNeg a) (NonNeg b)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Second a b)) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Second a b)) (NonNeg b)) ((NonNeg e)) :ruleset core)")
    # reductions: a sum of non-negative elements is >= 0 (an empty sum is 0, so not > 0); an
    # (empty or not) product of positive elements is > 0
    r("(rule ((= e (Ld (Sum (Ew s) p))) (NonNeg s)) ((NonNeg e)) :ruleset core)")
    r("(rule ((= e (Ld (Prod (Ew s) p))) (Pos s)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Ld (Softmax t p)))) ((NonNeg e)) :ruleset core)")
    # named, so that the optimization report lists them by what they derive
    named = [r[:-1] + f' :name "sign-{i}")' for i, r in enumerate(rules)]
    return "\n".join(named) + "\n"
