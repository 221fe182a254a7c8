"""Cancellation repairs (phase stabilize): the mechanisms behind Hamming's and Herbie's
rewrites, written over pattern variables so that they apply to formulas named nowhere here.

- cleanup: (a + b) - a = b and its kin, so that the difference a - b the other rules expose
  simplifies when a and b share a term (sqrt(x + 1) - sqrt(x) -> 1 / (sqrt(x + 1) + sqrt(x)));
- conjugates: sqrt(a) - sqrt(b) = (a - b) / (sqrt(a) + sqrt(b)), sqrt(x*x + y) - x;
- reciprocal differences combined: 1/a - 1/b = (b - a) / a / b;
- sum-to-product for sin, cos, tan, sinh, cosh differences, where a - b is small;
- half-angle forms: 1 - cos(x) = 2 sin(x/2)^2, cosh(x) - 1 = 2 sinh(x/2)^2;
- log differences as log1p of a quotient, where the quotient is near 1;
- exponentials as sinh, cosh, tanh.

Where the better form depends on the range of the inputs, the rule emits a switch on the
regime (Herbie's regimes), so the naive form keeps the inputs where it is accurate. Guards on
isinf/eq keep the right side defined wherever the left side is (egopt check-rules checks it).
"""
from egopt import rules
import egopt.tensor as T

a, b, x, y = rules.pattern_vars("a b x y")


def _near(u, v):
    """u and v close enough that a product form beats the difference: |u - v| (|u| + 1) < 1
    (the product form's error grows with |u|, the difference's with 1 / |u - v|)."""
    return T.lt(abs(u - v) * (abs(u) + 1), 1)


def _kept(u, v):
    """u - v as written, for the regime where it is accurate. The identity keeps the stability
    rules from matching it again: they subsume the node they match, and a switch whose branch
    is its own subsumed left side would leave no finite form to extract."""
    return T.identity(u) - v


def _root_variants(lhs):
    """(form, negated) for lhs and the forms canonicalize puts in the same e-class at its root
    (a + b and b + a, a - b and a + -b), or in the class of its negation (-a - b becomes
    -(a + b)): a stability rule subsumes only the node it matched, so each naive variant needs
    a rule of its own, or the extractor would pick it (it is cheaper)."""
    node = lhs.owner
    if node is None:
        return [(lhs, False)]
    u = node.inputs
    if node.op.name == "add":
        return [(lhs, False), (u[1] + u[0], False), ((-u[0]) - u[1], True), ((-u[1]) - u[0], True)]
    if node.op.name == "mul":
        return [(lhs, False), (u[1] * u[0], False)]
    if node.op.name == "sub":
        return [(lhs, False), (u[0] + (-u[1]), False), ((-u[1]) + u[0], False)]
    return [(lhs, False)]


def _stab(lhs, rhs, name, variants=True, **kw):
    forms = _root_variants(lhs) if variants else [(lhs, False)]
    return [rules.rewrite(v, -rhs if neg else rhs, name=name if i == 0 else f"{name}~{i}", phase="stabilize", **kw)
            for i, (v, neg) in enumerate(forms)]


# The repairs added with the ML formulas (sqrt(a) - 1, powers, exp(a) - exp(b), 1 - exp(x),
# softplus(x) - x, 1 +- tanh) match the difference as written (a - b), not the a + -b spellings:
# each variant is one more rule that egglog compiles and matches for every graph that might
# contain it (the relevance closure is conservative), for a spelling few programs use.


def _exact(lhs, rhs, name):
    """A simplification: the right side is cheaper, so the extractor takes it over every
    variant of the left side; no variants and no subsumption needed."""
    return _stab(lhs, rhs, name, variants=False, subsume=False)


RULES = [r for group in [
    # ---- cleanup: differences that share a term (exact) --------------------------------------
    _exact((a + b) - a, b, "cancel-add-sub"),
    _exact((b + a) - a, b, "cancel-add-sub-2"),
    _exact(a - (a + b), -b, "cancel-sub-add"),
    _exact(a - (b + a), -b, "cancel-sub-add-2"),
    _exact((a - b) - a, -b, "cancel-sub-sub"),
    _exact(a - (a - b), b, "cancel-sub-sub-2"),
    # the same with a term on each side: (1 - x) - (1 + x) = -(x + x), the quotient of
    # log((1 - x) / (1 + x)) taken apart by log-quotient below
    _exact((a - b) - (a + y), -(b + y), "cancel-sub-add-shared"),
    _exact((a + b) - (a - y), b + y, "cancel-add-sub-shared"),
    _exact((a + b) - (a + y), b - y, "cancel-add-add-shared"),
    _exact((a - b) - (a - y), y - b, "cancel-sub-sub-shared"),
    # differences of negations, as exp-difference writes them for exp(-x) - exp(-y): the
    # shared term then cancels exactly ((-x) - (-(x + e)) -> e, -x*x - -y*y -> (y - x)(y + x))
    _exact((-a) - (-b), b - a, "cancel-neg-neg"),
    # -x * x is (-x) * x in Python: the negated square (a negation out of every product would
    # match all over a gradient, and grow its e-graph by a tenth)
    _exact((-a) * a, -(a * a), "neg-out-of-square"),

    # ---- conjugates ---------------------------------------------------------------------------
    # sqrt(a) - sqrt(b) cancels for a close to b; (a - b) is exact there, and often simplifies
    _stab(T.sqrt(a) - T.sqrt(b),
          T.switch(T.isinf(a), T.sqrt(a), T.switch(T.isinf(b), -T.sqrt(b), T.switch(
              T.eq(a - b, 0), 0.0, (a - b) / (T.sqrt(a) + T.sqrt(b))))),
          "conjugate-sqrt"),
    # sqrt(x*x + y) - x and sqrt(x*x - y) - x for x > 0 (the roots of a quadratic); for x < 0
    # the sum cancels instead: the switch keeps the difference there
    _stab(T.sqrt(x * x + y) - x,
          T.switch(T.isinf(y), y, T.switch(T.gt(x, 0), y / (abs(x) + T.sqrt(x * x + y)), _kept(T.sqrt(x * x + y), x))),
          "conjugate-hypot-sub"),
    # (the denominators use |x|, which is x, resp. -x, in their branch: written with x, each
    # rule would match the other's right side, undo it, and leave no finite form to extract)
    _stab(T.sqrt(x * x - y) - x,
          T.switch(T.isinf(y), -y, T.switch(T.gt(x, 0), -y / (abs(x) + T.sqrt(x * x - y)), _kept(T.sqrt(x * x - y), x))),
          "conjugate-disc-sub"),
    _stab(T.sqrt(x * x - y) + x,
          T.switch(T.isinf(y), -y, T.switch(T.lt(x, 0), -y / (T.sqrt(x * x - y) + abs(x)), T.identity(x) + T.sqrt(x * x - y))),
          "conjugate-disc-add"),
    # sqrt(x*x + y) + x for x < 0 (the real part of a complex square root, sqrt(|z| + re))
    _stab(T.sqrt(x * x + y) + x,
          T.switch(T.isinf(y), y, T.switch(T.lt(x, 0), y / (T.sqrt(x * x + y) + abs(x)), T.identity(x) + T.sqrt(x * x + y))),
          "conjugate-hypot-add"),

    # the same conjugates subtracted the other way: x - sqrt(x*x -+ y) for x > 0; with y = 1 the
    # square x*x - 1 may have become (x - 1)(x + 1) first (square-minus-one)
    _stab(x - T.sqrt(x * x - y),
          T.switch(T.isinf(y), y, T.switch(T.gt(x, 0), y / (abs(x) + T.sqrt(x * x - y)), _kept(x, T.sqrt(x * x - y)))),
          "conjugate-sub-disc", variants=False),
    _stab(x - T.sqrt(x * x + y),
          T.switch(T.isinf(y), -y, T.switch(T.gt(x, 0), -y / (abs(x) + T.sqrt(x * x + y)),
                                            _kept(x, T.sqrt(x * x + y)))),
          "conjugate-sub-hypot", variants=False),
    _stab(x - T.sqrt((x - 1) * (x + 1)),
          T.switch(T.gt(x, 0), 1 / (abs(x) + T.sqrt((x - 1) * (x + 1))), _kept(x, T.sqrt((x - 1) * (x + 1)))),
          "conjugate-sub-square-minus-one", variants=False),
    _stab(T.sqrt((x - 1) * (x + 1)) - x,
          T.switch(T.gt(x, 0), -1 / (abs(x) + T.sqrt((x - 1) * (x + 1))), _kept(T.sqrt((x - 1) * (x + 1)), x)),
          "conjugate-square-minus-one-sub", variants=False),

    # ---- quotients near 1: 1 / (1 + x) - 1 = -x / (1 + x) (exact; a / b - 1 for tensor
    # elements, below: over pattern variables it would match all over a gradient, and its
    # right side would bring a dozen more rules into every graph)
    _stab(1 / (1 + x) - 1, T.switch(T.isinf(x), _kept(1 / (1 + x), 1), -x / (1 + x)), "reciprocal-1p-minus-one",
          variants=False),
    # (1 - a/b for tensor elements, below: over pattern variables it would match 1 - 1/(1 + exp(-z))
    # in every logistic regression's gradient, and grow the e-graph for nothing)

    # a / (1 -+ x) - a = +-a x / (1 -+ x) (x0 / (1 - x1) - x0 for a small x1): exact, and no
    # cancellation left (a general a / b - a would match all over a gradient)
    _stab(a / (1 - x) - a, T.switch(T.isinf(x), _kept(a / (1 - x), a), a * x / (1 - x)),
          "quotient-minus-numerator", variants=False),
    _stab(a / (1 + x) - a, T.switch(T.isinf(x), _kept(a / (1 + x), a), -(a * x) / (1 + x)),
          "quotient-minus-numerator-2", variants=False),
    # 1 - tanh(y)^2 (sech^2, written with a power: the gradient's 1 - z*z is left as it is,
    # see below) cancels where tanh is near +-1: (1 - tanh)(1 + tanh) = 4 sigmoid(2y) sigmoid(-2y)
    _stab(1 - T.tanh(y) ** 2, 4 * T.sigmoid(2 * y) * T.sigmoid(-2 * y), "one-minus-tanh-squared", variants=False),
    # cosh(x) - sinh(x) = exp(-x): the difference cancels (and is inf - inf beyond 710)
    _stab(T.cosh(x) - T.sinh(x), T.exp(-x), "cosh-minus-sinh", variants=False),
    _stab(T.sinh(x) - T.cosh(x), -T.exp(-x), "sinh-minus-cosh", variants=False),

    # sqrt(a) - 1 for a near 1 (sqrt(1 + x) - 1): a - 1 is exact there, and often simplifies
    _stab(T.sqrt(a) - 1, T.switch(T.isinf(a), T.sqrt(a), (a - 1) / (T.sqrt(a) + 1)), "conjugate-sqrt-one", variants=False),
    _stab(1 - T.sqrt(a), T.switch(T.isinf(a), -T.sqrt(a), (1 - a) / (1 + T.sqrt(a))), "conjugate-one-sqrt", variants=False),

    # ---- powers: a**p - b**p = b**p (exp(p log(a / b)) - 1), where a / b is near 1 ------------
    # the quotient's log is log1p((a - b) / b), and a - b is exact there (Sterbenz) or
    # simplifies: (x + 1)**(1/n) - x**(1/n) -> x**(1/n) expm1(log1p(1 / x) / n)
    _stab(a ** y - b ** y,
          T.switch(T.isinf(a), _kept(a ** y, b ** y), T.switch(T.isinf(y), _kept(a ** y, b ** y),
                   T.switch(T.lt(abs(a - b), 0.5 * abs(b)), b ** y * T.expm1(y * T.log1p((a - b) / b)),
                            _kept(a ** y, b ** y)))),
          "pow-difference", variants=False),
    # (1 + x)**y - 1 (compound growth) for small x: expm1(y log1p(x)) (for |x| >= 1/2 the
    # rounding of y log1p(x) would cost more than the subtraction)
    _stab((1 + x) ** y - 1, T.switch(T.lt(abs(x), 0.5), T.expm1(y * T.log1p(x)), _kept((1 + x) ** y, 1)),
          "pow1p-minus-one", variants=False),

    # ---- exponential differences: exp(a) - exp(b) = exp(b) expm1(a - b), where a - b is small -
    # (|a - b| < 1: a - b is exact, or both are below 1 in magnitude; beyond, nothing cancels)
    _stab(T.exp(a) - T.exp(b),
          T.switch(T.lt(abs(a - b), 1), T.exp(b) * T.expm1(a - b), _kept(T.exp(a), T.exp(b))),
          "exp-difference", variants=False),

    # 1 - exp(x) cancels for small x (the mirror of the expm1 rule)
    _stab(1 - T.exp(x), -T.expm1(x), "one-minus-exp", variants=False),
    # softplus(x) - x = softplus(-x): log(1 + exp(x)) - x cancels for large x
    _stab(T.softplus(x) - x, T.softplus(-x), "softplus-minus-identity", variants=False),
    _stab(x - T.softplus(x), -T.softplus(-x), "identity-minus-softplus", variants=False),

    # ---- 1 +- tanh(y) = 2 sigmoid(+-2y): cancels where tanh(y) is near -+1 (gelu's tanh form) --
    # (a literal 1 has no negated forms, and the sum's two orders are all canonicalize makes)
    _stab(1 + T.tanh(y), T.switch(T.lt(y, 0), 2 * T.sigmoid(2 * y), 1 + T.identity(T.tanh(y))), "one-plus-tanh",
          variants=False),
    _stab(T.tanh(y) + 1, T.switch(T.lt(y, 0), 2 * T.sigmoid(2 * y), 1 + T.identity(T.tanh(y))), "one-plus-tanh-2",
          variants=False),
    _stab(1 - T.tanh(y), T.switch(T.gt(y, 0), 2 * T.sigmoid(-2 * y), 1 - T.identity(T.tanh(y))), "one-minus-tanh", variants=False),

    # ---- reciprocal differences ---------------------------------------------------------------
    _stab(1 / a - 1 / b,
          T.switch(T.isinf(a), -1 / b, T.switch(T.isinf(b), 1 / a, (b - a) / a / b)),
          "reciprocal-difference"),

    # ---- half-angle forms ---------------------------------------------------------------------
    _stab(1 - T.cos(x), 2 * T.sqr(T.sin(x / 2)), "half-angle-cos"),
    _stab(T.cos(x) - 1, -2 * T.sqr(T.sin(x / 2)), "half-angle-cos-neg"),
    _stab(T.cosh(x) - 1, 2 * T.sqr(T.sinh(x / 2)), "half-angle-cosh"),
    # tan(x) - sin(x) = tan(x) (1 - cos(x))
    _stab(T.tan(x) - T.sin(x), T.tan(x) * (2 * T.sqr(T.sin(x / 2))), "tan-minus-sin"),

    # ---- sum-to-product, where a - b is small -------------------------------------------------
    _stab(T.cos(a) - T.cos(b),
          T.switch(_near(a, b), -2 * T.sin((a + b) / 2) * T.sin((a - b) / 2), _kept(T.cos(a), T.cos(b))),
          "cos-difference"),
    _stab(T.sin(a) - T.sin(b),
          T.switch(_near(a, b), 2 * T.cos((a + b) / 2) * T.sin((a - b) / 2), _kept(T.sin(a), T.sin(b))),
          "sin-difference"),
    _stab(T.tan(a) - T.tan(b),
          T.switch(_near(a, b), T.sin(a - b) / (T.cos(a) * T.cos(b)), _kept(T.tan(a), T.tan(b))),
          "tan-difference"),
    _stab(T.cosh(a) - T.cosh(b),
          T.switch(_near(a, b), 2 * T.sinh((a + b) / 2) * T.sinh((a - b) / 2), _kept(T.cosh(a), T.cosh(b))),
          "cosh-difference"),
    _stab(T.sinh(a) - T.sinh(b),
          T.switch(_near(a, b), 2 * T.cosh((a + b) / 2) * T.sinh((a - b) / 2), _kept(T.sinh(a), T.sinh(b))),
          "sinh-difference"),

    # ---- log differences: log1p of the relative difference, where the quotient is near 1 -------
    _stab(T.log(a) - T.log(b),
          T.switch(T.lt(abs(a - b), 0.5 * b), T.log1p((a - b) / b), _kept(T.log(a), T.log(b))),
          "log-difference"),
    # log(x + 1) has become log1p(x) by now: log1p(a) - log(b) = log((1 + a) / b)
    _stab(T.log1p(a) - T.log(b),
          T.switch(T.lt(abs((1 + a) - b), 0.5 * b), T.log1p(((1 + a) - b) / b), _kept(T.log1p(a), T.log(b))),
          "log1p-difference"),
    _stab(T.log(a) - T.log1p(b),
          T.switch(T.lt(abs(a - (1 + b)), 0.5 * (1 + b)), T.log1p((a - (1 + b)) / (1 + b)),
                   _kept(T.log(a), T.log1p(b))),
          "log-log1p-difference"),

    # ---- inverse tangents: the difference identity, where it holds (a*b > -1) ------------------
    # atan(a) - atan(b) = atan((a - b) / (1 + a b)) for a b > -1; a - b is often exact (or
    # simplifies: atan(x + 1) - atan(x) -> atan(1 / (1 + x (x + 1)))); elsewhere (the branch
    # cut, or 1 + a b overflowing) the difference is kept
    _stab(T.arctan(a) - T.arctan(b),
          T.switch(T.gt(a * b, -1), T.switch(T.lt(abs(a * b), 1e300), T.arctan((a - b) / (1 + a * b)),
                                             _kept(T.arctan(a), T.arctan(b))),
                   _kept(T.arctan(a), T.arctan(b))),
          "atan-difference"),

    # ---- differences of squares: x*x - y*y = (x - y)(x + y), where x - y is exact (x near y);
    # no more operations than the squares, so the product is taken everywhere
    _stab(x * x - y * y, (x - y) * (x + y), "difference-of-squares", variants=False),
    # (1 - x*x alone is left as it is: it is tanh's derivative, 1 - tanh(y)^2, in every tanh
    # network's gradient, where the product would cost an operation and bring the 1 +- tanh
    # repairs' sigmoids; under a square root, as in asin's derivative, it is repaired)
    _stab(T.sqrt(1 - x * x), T.sqrt((1 - x) * (1 + x)), "sqrt-one-minus-square", variants=False),
    _stab(T.sqrt(1 - x ** 2), T.sqrt((1 - x) * (1 + x)), "sqrt-one-minus-square-pow", variants=False),
    _stab(x * x - 1, (x - 1) * (x + 1), "square-minus-one", variants=False),
    # (x**2 is still a power here: it becomes x*x in specialize, after this phase)
    _stab(x ** 2 - y ** 2, (x - y) * (x + y), "difference-of-squares-pow", variants=False),
    _stab(x ** 2 - 1, (x - 1) * (x + 1), "square-minus-one-pow", variants=False),

    # ---- a shared factor taken out: (a + b) p - a q = b p + a (p - q), where p is near q -------
    # ((n + 1) log(n + 1) - n log(n): the difference p - q is then repaired on its own)
    _stab((a + b) * x - a * y,
          T.switch(T.lt(abs(x - y), 0.5 * abs(x)), b * x + a * (x - y), _kept((a + b) * x, a * y)),
          "shared-factor-difference", variants=False),

    # ---- exponentials as hyperbolic functions -------------------------------------------------
    _stab(T.exp(x) - T.exp(-x), 2 * T.sinh(x), "exp-difference-sinh"),
    _stab((T.exp(x) - T.exp(-x)) / (T.exp(x) + T.exp(-x)), T.tanh(x), "exp-ratio-tanh"),
    _stab((T.exp(x) - T.exp(-x)) / 2, T.sinh(x), "exp-half-difference-sinh"),
    _stab(T.exp(x) + T.exp(-x), 2 * T.cosh(x), "exp-sum-cosh", variants=False, subsume=False),
    # (exp(x) - 1) / (exp(x) + 1), with exp(x) - 1 already expm1(x): inf / inf for x > 709
    _stab(T.expm1(x) / (T.exp(x) + 1), T.tanh(x / 2), "expm1-ratio-tanh"),
    # exp(x) - 2 + exp(-x) = 2 (cosh(x) - 1) = 4 sinh(x/2)^2
    _stab((T.exp(x) - 2) + T.exp(-x), 4 * T.sqr(T.sinh(x / 2)), "exp-sum-minus-two"),
    # the same summed first, exp(x) + exp(-x) - 2, which exp-sum-cosh makes 2 cosh(x) - 2
    _stab(2 * T.cosh(x) - 2, 4 * T.sqr(T.sinh(x / 2)), "two-cosh-minus-two", variants=False),
] for r in group]


def _near_quotient_rule(name: str, lhs: str, near: str, far: str) -> rules.Rule:
    """``lhs`` over tensor elements a, b: ``near`` where |a - b| < |b|/2 (a - b is exact there,
    Sterbenz), ``far`` (lhs as written) elsewhere. Egglog text, as log-quotient-elements."""
    rhs = f"(Switch (Lt (Abs (Sub (Ld a) (Ld b))) (Mul (Lit 0.5) (Abs (Ld b)))) {near} {far})"
    return rules.Rule(name, "stabilize", text=f'(rewrite {lhs} {rhs} :subsume :ruleset stabilize :name "{name}")',
                      loc=f"{__file__}:{name}")


RULES += [
    # 1 - a/b for tensor elements a, b (1 - x/y with x near y)
    _near_quotient_rule("one-minus-quotient-elements", "(Sub (Lit 1.0) (TrueDiv (Ld a) (Ld b)))",
                        "(TrueDiv (Sub (Ld b) (Ld a)) (Ld b))",
                        "(Sub (Lit 1.0) (Identity (TrueDiv (Ld a) (Ld b))))"),
    # a / b - 1 = (a - b) / b for tensor elements a near b (x / y - 1)
    _near_quotient_rule("quotient-minus-one-elements", "(Sub (TrueDiv (Ld a) (Ld b)) (Lit 1.0))",
                        "(TrueDiv (Sub (Ld a) (Ld b)) (Ld b))",
                        "(Sub (Identity (TrueDiv (Ld a) (Ld b))) (Lit 1.0))"),
]

# (x**y - 1 = expm1(y log(x)) is left out: even over a tensor element exponent, its relevance
# closure brings ~20 log and expm1 rules into a tanh MLP's gradient, +20% compile time there)
