"""Range analysis over the e-graph: an interval for every e-class, with the sign facts derived
from it (one analysis, so the two can never disagree).

- ``(Lo e)`` and ``(Hi e)`` are egglog functions to f64, merged by ``max`` and ``min``: every
  form of a class narrows the class's interval, and a fact proved for one form holds for every
  equivalent one. A missing ``Lo`` (``Hi``) is -inf (+inf). Bounds are real-number bounds on
  every value the class takes (NaN aside: a NaN has no range).
- ``(Pos e)`` marks the lower bound as strict at 0 (``e > 0``): exp, sigmoid and softplus are
  in (0, ...), which a closed bound cannot say. ``(NonNeg e)`` is derived only from
  ``Lo >= 0``, ``(NonZero e)`` from ``Pos``, ``Hi < 0`` and the negation of a positive class.

- ``(Real e)`` marks a float-valued class (the encoder states it for every float elementwise
  operand and result; float-only ops and float operands propagate it). Integer arithmetic
  wraps around (``abs(int8(-128))`` is -128, ``sqr(int8(31))`` is -63), so the facts that
  only real arithmetic gives (abs and squares are >= 0, sums and products of non-negatives
  are, interval arithmetic of +, -, *) are derived for Real classes only.

Seeds are op ranges (exp > 0, sigmoid in (0, 1), tanh and erf in [-1, 1], cos and sin in
[-1, 1], atan in [-pi/2, pi/2], softplus > 0, cosh >= 1, sqr, abs, sqrt, hypot, acosh >= 0, literals) and
propagation is interval arithmetic over +, -, *, /, neg, abs, sqr, maximum, minimum, switch,
clip and monotone functions where the bound is a literal fact (log >= 0 above 1, exp <= 1
below 0). Computed bounds are widened outward (relatively by 1e-15, absolutely by 1e-300) so
that egglog's round-to-nearest f64 arithmetic never narrows an interval, and a bound beyond
1e300 is dropped (unbounded); exact sign rules (a sum or product of non-negatives is >= 0)
restore the bounds that widening would blur at 0.

Rules use the analysis as conditions (``rules.positive``, ``rules.nonnegative``,
``rules.nonzero``, ``rules.in_range(x, lo, hi)``), e.g.

    rules.rewrite(T.exp(-T.log(x)), 1 / x, when=[rules.positive(x)])
    rules.rewrite(T.arctan(T.tan(x)), x, when=[rules.in_range(x, -1.5, 1.5)])

``egopt check-rules`` proves such a rule under its condition; tests/property/
test_sign_analysis.py checks that no interval or sign ever excludes a value the expression
takes on random inputs.
"""
from __future__ import annotations

import functools
import math
import re

# (op, lo, hi, strictly positive): the range of an op's values for any input
_SEEDS = (
    ("Exp", 0.0, None, True),
    ("Sigmoid", 0.0, 1.0, True),
    ("Softplus", 0.0, None, True),
    ("Erfc", 0.0, 2.0, True),
    ("Cosh", 1.0, None, True),
    ("Tanh", -1.0, 1.0, False),
    ("Erf", -1.0, 1.0, False),
    ("Cos", -1.0, 1.0, False),
    ("Sin", -1.0, 1.0, False),
    ("Arctan", -math.pi / 2 - 1e-15, math.pi / 2 + 1e-15, False),
    ("Arccos", 0.0, math.pi + 1e-15, False),
    ("Arcsin", -math.pi / 2 - 1e-15, math.pi / 2 + 1e-15, False),
    ("Abs", 0.0, None, False),
    ("Sqr", 0.0, None, False),
    ("Sqrt", 0.0, None, False),
    ("Arccosh", 0.0, None, False),
    ("Expm1", -1.0, None, False),
    ("Sgn", -1.0, 1.0, False),
    ("Log1mexp", None, 0.0, False),
    ("LogErfc", None, math.log(2) + 1e-15, False),
)

# ops whose integer results wrap around where the real result is out of range
_WRAPPING = ("Abs", "Sqr")


def _float_valued() -> list[tuple[str, int]]:
    """The elementwise ops whose result is a float whatever their operands (exp, log, true_div):
    each op's type rule asked about int8 operands."""
    from ..lang import REGISTRY, dtypes
    from ..lang.types import TensorType
    out = []
    for op in sorted(REGISTRY.values(), key=lambda o: o.name):
        if op.kind != "elemwise" or not op.nin or op.extra.get("params"):
            continue
        try:
            t = op.infer({}, *[TensorType("int8", ())] * op.nin)
        except Exception:
            continue
        if dtypes.is_float(t.dtype):
            out.append((op.egraph, op.nin))
    return out


RELATIONS = ("(relation Pos (S))\n(relation NonNeg (S))\n(relation NonZero (S))\n(relation Real (S))\n"
             "(function Lo (S) f64 :merge (max old new))\n(function Hi (S) f64 :merge (min old new))\n")

_FACTS = ("(Pos ", "(NonNeg ", "(NonZero ", "(Lo ", "(Hi ", "(Real ")


def needed(rule_texts) -> bool:
    """Does any rule read the analysis (a sign or range condition)?"""
    return any(f in t for t in rule_texts for f in _FACTS)


def _down(r: str) -> str:
    return f"(- {r} (+ (* (abs {r}) 1e-15) 1e-300))"


def _up(r: str) -> str:
    return f"(+ {r} (+ (* (abs {r}) 1e-15) 1e-300))"


_FINITE = "(< (abs r) 1e300)"


def _lo(query: str, value: str) -> str:
    """Set Lo e from value (a primitive expression over the query's variables), widened down."""
    return f"(rule ({query} (= r {value}) {_FINITE}) ((set (Lo e) {_down('r')})) :ruleset core)"


def _hi(query: str, value: str) -> str:
    return f"(rule ({query} (= r {value}) {_FINITE}) ((set (Hi e) {_up('r')})) :ruleset core)"


def _both(a: str) -> str:
    return f"(= l{a} (Lo {a})) (= h{a} (Hi {a}))"


_TOKEN = re.compile(r"\(([A-Z][A-Za-z0-9]*)")
_ALWAYS = frozenset({"Lo", "Hi", "Pos", "NonNeg", "NonZero", "Real", "Lit", "Ld", "Ew"})


def constructors(pairs, rule_texts) -> set[str]:
    """Every constructor that can appear in the e-graph: those of the encoded graph (its
    constructor ``pairs``) and those the rules' texts mention (a rule's right side is the only
    way a new constructor enters)."""
    out = {c for pair in pairs for c in pair}
    for t in rule_texts:
        out.update(_TOKEN.findall(t))
    return out


def _sexpr_at(text: str, start: int) -> str:
    """The balanced s-expression starting at ``text[start]`` (quote-aware)."""
    depth, i, quoted = 0, start, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    raise ValueError(f"unbalanced rule text: {text[:80]}")


def condition_queries(rule_texts) -> list[str]:
    """``(check LHS)`` for each rule with a sign or range condition: the analysis is loaded
    only once one of them matches (see ``needed_now``)."""
    out = []
    for t in rule_texts:
        if t.startswith("(rewrite ") and any(f in t for f in _FACTS):
            out.append(f"(check {_sexpr_at(t, len('(rewrite '))})")
    return out


def needed_now(eg, queries: list[str]) -> bool:
    """Does a conditional rule's left side match in the e-graph now? Training graphs make the
    conservative relevance closure keep conditional rules that never match; the analysis (up
    to ~100 rules run to saturation in every iteration) then costs them compile time."""
    for q in queries:
        try:
            eg.run_program(*eg.parse_program(q))
            return True
        except Exception:        # egglog reports a failed check as an error
            continue
    return False


def needs_intervals(rule_texts) -> bool:
    """Does any rule read a bound (a range condition), not only a sign?"""
    return any("(Lo " in t or "(Hi " in t or "(NonZero " in t for t in rule_texts)


def analysis_text(ctors: set[str] | None = None, intervals: bool = True) -> str:
    """The rules that fill Lo, Hi, Pos, NonNeg and NonZero (declared in the schema); with
    ``ctors``, only those whose query can match (egglog matches every rule it is given in
    every iteration of the core ruleset, so this is compile time for every graph). Without
    ``intervals`` (the loaded rules read signs only), the interval arithmetic is left out:
    the seeds and the exact sign rules still derive every Pos and NonNeg fact they did."""
    text = _all_rules()
    lines = text.splitlines()
    if not intervals:
        lines = [x for x in lines if "(= r " not in _query(x) and "(Hi " not in _query(x)
                 and "NonZero" not in x]
    if ctors is not None:
        ok = _ALWAYS | set(ctors)
        lines = [x for x in lines if set(_TOKEN.findall(_query(x))) <= ok]
    return "\n".join(lines) + "\n"


def _query(rule: str) -> str:
    """The query (first list) of a ``(rule (...) (...))`` line."""
    start = rule.index("((")
    depth = 0
    for i in range(start, len(rule)):
        depth += {"(": 1, ")": -1}.get(rule[i], 0)
        if depth == 0:
            return rule[start:i + 1]
    return rule


_WRAPS = tuple(f"(= e ({op} " for op in ("Add", "Sub", "Mul", "Abs", "Sqr", "Pow"))


def _real_only(rule: str) -> str:
    """``rule`` restricted to float classes where integer wrap-around would make it false: a
    fact about +, -, *, abs, sqr or ** (or a sum or product reduction) of integers."""
    query = _query(rule)
    if "((Real e))" in rule:          # the rules that derive Real itself
        return rule
    if "(Sum (Ew s)" in query or "(Prod (Ew s)" in query:
        return rule.replace("(rule (", "(rule ((Real s) ", 1)
    if any(w in query for w in _WRAPS) and "(Real e)" not in query:
        return rule.replace("(rule (", "(rule ((Real e) ", 1)
    return rule


@functools.lru_cache(maxsize=1)
def _all_rules() -> str:
    rules: list[str] = []
    r = rules.append
    # ---- seeds ----------------------------------------------------------------------------------
    for op, lo, hi, pos in _SEEDS:
        acts = []
        if lo is not None:
            acts.append(f"(set (Lo e) {lo!r})")
        if hi is not None:
            acts.append(f"(set (Hi e) {hi!r})")
        if pos:
            acts.append("(Pos e)")
        real = " (Real e)" if op in _WRAPPING else ""
        r(f"(rule ((= e ({op} a)){real}) ({' '.join(acts)}) :ruleset core)")
    r("(rule ((= e (Lit c)) (< (abs c) 1e300)) ((set (Lo e) c) (set (Hi e) c)) :ruleset core)")
    r("(rule ((= e (Mul a a)) (Real e)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Hypot a b))) ((set (Lo e) 0.0)) :ruleset core)")
    # ---- float-valued classes (Real) ----------------------------------------------------------------
    r("(rule ((= e (Lit c))) ((Real e)) :ruleset core)")
    for op, nin in _float_valued():
        args = " ".join("abc"[:nin])
        r(f"(rule ((= e ({op} {args}))) ((Real e)) :ruleset core)")
    for op in ("Neg", "Abs", "Sqr", "Identity"):
        r(f"(rule ((= e ({op} a)) (Real a)) ((Real e)) :ruleset core)")
    for op in ("Add", "Sub", "Mul", "TrueDiv", "Pow", "Maximum", "Minimum", "IntDiv", "Mod"):
        r(f"(rule ((= e ({op} a b)) (Real a)) ((Real e)) :ruleset core)")
        r(f"(rule ((= e ({op} a b)) (Real b)) ((Real e)) :ruleset core)")
    r("(rule ((= e (Switch c a b)) (Real a)) ((Real e)) :ruleset core)")
    r("(rule ((= e (Switch c a b)) (Real b)) ((Real e)) :ruleset core)")
    r("(rule ((= e (Clip x a b)) (Real x)) ((Real e)) :ruleset core)")
    r("(rule ((= e (Second a b)) (Real b)) ((Real e)) :ruleset core)")
    # ---- signs from the interval ------------------------------------------------------------------
    r("(rule ((= l (Lo e)) (> l 0.0)) ((Pos e)) :ruleset core)")
    r("(rule ((Pos e)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= l (Lo e)) (>= l 0.0)) ((NonNeg e)) :ruleset core)")
    r("(rule ((Pos e)) ((NonZero e)) :ruleset core)")
    r("(rule ((= h (Hi e)) (< h 0.0)) ((NonZero e)) :ruleset core)")
    r("(rule ((= e (Neg a)) (Pos a)) ((NonZero e)) :ruleset core)")
    r("(rule ((= e (Mul a b)) (NonZero a) (NonZero b)) ((NonZero e)) :ruleset core)")
    # ---- interval arithmetic --------------------------------------------------------------------
    add, sub = "(= e (Add a b))", "(= e (Sub a b))"
    r(_lo(f"{add} (= la (Lo a)) (= lb (Lo b))", "(+ la lb)"))
    r(_hi(f"{add} (= ha (Hi a)) (= hb (Hi b))", "(+ ha hb)"))
    r(_lo(f"{sub} (= la (Lo a)) (= hb (Hi b))", "(- la hb)"))
    r(_hi(f"{sub} (= ha (Hi a)) (= lb (Lo b))", "(- ha lb)"))
    # an exactly representable sum or difference needs no widening (Fast2Sum: when r - a == b
    # and r - b == a, the rounding error of r = a + b is 0); 1 + sqr(x) keeps its bound 1
    exact = "(= r {v}) (< (abs r) 1e300) (= (- r {a}) {b}) (= (- r {b}) {a})"
    r(f"(rule ({add} (= la (Lo a)) (= lb (Lo b)) {exact.format(v='(+ la lb)', a='la', b='lb')}) "
      "((set (Lo e) r)) :ruleset core)")
    r(f"(rule ({add} (= ha (Hi a)) (= hb (Hi b)) {exact.format(v='(+ ha hb)', a='ha', b='hb')}) "
      "((set (Hi e) r)) :ruleset core)")
    r(f"(rule ({sub} (= la (Lo a)) (= hb (Hi b)) (= nb (neg hb)) {exact.format(v='(- la hb)', a='la', b='nb')}) "
      "((set (Lo e) r)) :ruleset core)")
    r(f"(rule ({sub} (= ha (Hi a)) (= lb (Lo b)) (= nb (neg lb)) {exact.format(v='(- ha lb)', a='ha', b='nb')}) "
      "((set (Hi e) r)) :ruleset core)")
    r("(rule ((= e (Neg a)) (= la (Lo a))) ((set (Hi e) (neg la))) :ruleset core)")
    r("(rule ((= e (Neg a)) (= ha (Hi a))) ((set (Lo e) (neg ha))) :ruleset core)")
    mul = f"(= e (Mul a b)) {_both('a')} {_both('b')}"
    p4 = ["(* la lb)", "(* la hb)", "(* ha lb)", "(* ha hb)"]
    r(_lo(mul, f"(min (min {p4[0]} {p4[1]}) (min {p4[2]} {p4[3]}))"))
    r(_hi(mul, f"(max (max {p4[0]} {p4[1]}) (max {p4[2]} {p4[3]}))"))
    # half-bounded non-negative factors: the lower bound is the product of the lower bounds
    r(_lo("(= e (Mul a b)) (= la (Lo a)) (>= la 0.0) (= lb (Lo b)) (>= lb 0.0)", "(* la lb)"))
    # a / b with b of one sign: a * [1/hb, 1/lb]
    div = f"(= e (TrueDiv a b)) {_both('a')} {_both('b')}"
    for sign in ("(> lb 0.0)", "(< hb 0.0)"):
        q4 = ["(/ la lb)", "(/ la hb)", "(/ ha lb)", "(/ ha hb)"]
        r(_lo(f"{div} {sign}", f"(min (min {q4[0]} {q4[1]}) (min {q4[2]} {q4[3]}))"))
        r(_hi(f"{div} {sign}", f"(max (max {q4[0]} {q4[1]}) (max {q4[2]} {q4[3]}))"))
    # a non-negative numerator over a positive denominator with a lower bound: [0, ha / lb]
    r(_hi("(= e (TrueDiv a b)) (= la (Lo a)) (>= la 0.0) (= ha (Hi a)) (= lb (Lo b)) (> lb 0.0)",
          "(/ ha lb)"))
    for op in ("Abs", "Sqr"):
        sq = "(* m m)" if op == "Sqr" else "m"
        r(_hi(f"(= e ({op} a)) {_both('a')} (= m (max (abs la) (abs ha)))", sq))
    r(_lo("(= e (Sqr a)) (= la (Lo a)) (> la 0.0)", "(* la la)"))
    r(_lo("(= e (Sqr a)) (= ha (Hi a)) (< ha 0.0)", "(* ha ha)"))
    r(_lo("(= e (Abs a)) (= la (Lo a)) (> la 0.0)", "la"))
    r(_lo("(= e (Abs a)) (= ha (Hi a)) (< ha 0.0)", "(neg ha)"))
    r(_hi(f"(= e (Mul a a)) {_both('a')} (= m (max (abs la) (abs ha)))", "(* m m)"))
    # order and selection
    r("(rule ((= e (Maximum a b)) (= la (Lo a))) ((set (Lo e) la)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (= lb (Lo b))) ((set (Lo e) lb)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (= ha (Hi a)) (= hb (Hi b))) ((set (Hi e) (max ha hb))) :ruleset core)")
    r("(rule ((= e (Minimum a b)) (= ha (Hi a))) ((set (Hi e) ha)) :ruleset core)")
    r("(rule ((= e (Minimum a b)) (= hb (Hi b))) ((set (Hi e) hb)) :ruleset core)")
    r("(rule ((= e (Minimum a b)) (= la (Lo a)) (= lb (Lo b))) ((set (Lo e) (min la lb))) :ruleset core)")
    r("(rule ((= e (Switch c a b)) (= la (Lo a)) (= lb (Lo b))) ((set (Lo e) (min la lb))) :ruleset core)")
    r("(rule ((= e (Switch c a b)) (= ha (Hi a)) (= hb (Hi b))) ((set (Hi e) (max ha hb))) :ruleset core)")
    # clip(x, a, b) is min(max(x, a), b): in [min(a, b), max(a, b)] whatever x is
    r("(rule ((= e (Clip x a b)) (= la (Lo a)) (= lb (Lo b))) ((set (Lo e) (min la lb))) :ruleset core)")
    r("(rule ((= e (Clip x a b)) (= ha (Hi a)) (= hb (Hi b))) ((set (Hi e) (max ha hb))) :ruleset core)")
    for op in ("Identity", "Second"):
        arg = "a" if op == "Identity" else "b"
        args = "a" if op == "Identity" else "a b"
        r(f"(rule ((= e ({op} {args})) (= l (Lo {arg}))) ((set (Lo e) l)) :ruleset core)")
        r(f"(rule ((= e ({op} {args})) (= h (Hi {arg}))) ((set (Hi e) h)) :ruleset core)")
        r(f"(rule ((= e ({op} {args})) (Pos {arg})) ((Pos e)) :ruleset core)")
    # monotone functions at literal thresholds
    r("(rule ((= e (Log a)) (= la (Lo a)) (>= la 1.0)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Log a)) (= ha (Hi a)) (<= ha 1.0)) ((set (Hi e) 0.0)) :ruleset core)")
    r("(rule ((= e (Log1p a)) (= la (Lo a)) (>= la 0.0)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Log1p a)) (= ha (Hi a)) (<= ha 0.0)) ((set (Hi e) 0.0)) :ruleset core)")
    r("(rule ((= e (Exp a)) (= ha (Hi a)) (<= ha 0.0)) ((set (Hi e) 1.0)) :ruleset core)")
    r("(rule ((= e (Exp a)) (= la (Lo a)) (>= la 0.0)) ((set (Lo e) 1.0)) :ruleset core)")
    r("(rule ((= e (Expm1 a)) (= la (Lo a)) (>= la 0.0)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Expm1 a)) (= ha (Hi a)) (<= ha 0.0)) ((set (Hi e) 0.0)) :ruleset core)")
    for op in ("Sqrt", "Tanh", "Sinh", "Arctan", "Erf"):    # odd or increasing through 0
        r(f"(rule ((= e ({op} a)) (= la (Lo a)) (>= la 0.0)) ((set (Lo e) 0.0)) :ruleset core)")
        r(f"(rule ((= e ({op} a)) (= ha (Hi a)) (<= ha 0.0)) ((set (Hi e) 0.0)) :ruleset core)")
        r(f"(rule ((= e ({op} a)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Sigmoid a)) (= la (Lo a)) (>= la 0.0)) ((set (Lo e) 0.5)) :ruleset core)")
    r("(rule ((= e (Sigmoid a)) (= ha (Hi a)) (<= ha 0.0)) ((set (Hi e) 0.5)) :ruleset core)")
    # ---- exact signs (widening would blur a bound of exactly 0) and strictness ----------------
    r("(rule ((= e (Add a b)) (Pos a) (NonNeg b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Add a b)) (NonNeg a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Add a b)) (NonNeg a) (NonNeg b)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Mul a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Mul a b)) (NonNeg a) (NonNeg b)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (TrueDiv a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (TrueDiv a b)) (NonNeg a) (Pos b)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Sqrt a)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Pow a b)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (Pos a)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Maximum a b)) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Minimum a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Switch c a b)) (Pos a) (Pos b)) ((Pos e)) :ruleset core)")
    # reductions: a sum of non-negative elements is >= 0 (an empty sum is 0, so not > 0); an
    # (empty or not) product of positive elements is > 0; max/min of elements keep their bounds
    r("(rule ((= e (Ld (Sum (Ew s) p))) (NonNeg s)) ((set (Lo e) 0.0)) :ruleset core)")
    r("(rule ((= e (Ld (Prod (Ew s) p))) (Pos s)) ((Pos e)) :ruleset core)")
    r("(rule ((= e (Ld (Softmax t p)))) ((set (Lo e) 0.0) (set (Hi e) 1.0)) :ruleset core)")
    r("(rule ((= e (Ld (LogSoftmax t p)))) ((set (Hi e) 0.0)) :ruleset core)")
    rules = [_real_only(x) for x in rules]
    # named, so that the optimization report lists them by what they derive
    named = [x[:-1] + f' :name "range-{i}")' for i, x in enumerate(rules)]
    return "\n".join(named) + "\n"
