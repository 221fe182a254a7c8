"""Rule soundness: prove each rule with SymPy, look for counterexamples with mpmath.

Both sides of a rule (its egglog text) are evaluated by one small interpreter over the
schema, on arrays whose elements are SymPy expressions: elementwise ops use the op
record's ``sympy`` translation, other ops their ``sympy`` callable or their NumPy ``perform``
on object arrays (sum, dot, dimshuffle, reshape and indexing work that way), on small
arrays of several concrete shapes. Then:

- ``proved``: SymPy reduces lhs - rhs to 0 for every element, and no sampled point disagrees;
- ``proved (refines)``: as proved, but at some edge value (0, inf, ...) the left side is
  undefined (NaN) where the right side has a value, e.g. ``x / x -> 1`` at x = 0;
- ``refuted``: a point (found by sampling at 50 digits) where the sides differ, or where the
  right side is undefined and the left is not, or a right side that loses the left's shape;
- ``unknown``: SymPy cannot decide and sampling found no counterexample.
Stability rules must also be at least as accurate as the naive form in float64.
"""
from __future__ import annotations

import ast
import math
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import sympy

from ..lang.ops import REGISTRY, Op
from .dsl import Rule, RuleSet
from .schema import by_name
from .sexpr import Str, rule_parts

DIGITS = 50
_PRIMS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b, "neg": lambda a: -a}
_SYMPY_NAMES = {"floor_div": lambda a, b: sympy.floor(a / b), "Eq": sympy.Eq, "Ne": sympy.Ne,
                "Lt": sympy.Lt, "Le": sympy.Le, "Gt": sympy.Gt, "Ge": sympy.Ge}


class NoTranslation(Exception):
    """An op without a SymPy translation (the rule cannot be checked symbolically)."""


class ShapeMismatch(Exception):
    pass


@dataclass
class RuleCheck:
    name: str
    phase: str
    loc: str
    status: str
    method: str
    counterexample: dict | None = None
    seconds: float = 0.0
    note: str = ""


@dataclass
class CheckReport:
    results: list[RuleCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(r.status == "refuted" for r in self.results)

    def __iter__(self):
        return iter(self.results)

    def __str__(self) -> str:
        rows = [f"{'rule':<34}{'phase':<13}{'status':<18}{'method':<34}{'ms':>7}"]
        for r in self.results:
            rows.append(f"{r.name[:33]:<34}{r.phase:<13}{r.status:<18}{r.method[:33]:<34}{r.seconds * 1000:>7.0f}")
            if r.counterexample is not None:
                rows.append(f"    counterexample: {r.counterexample}  {r.note}")
            elif r.note:
                rows.append(f"    {r.note}")
        counts = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        rows.append("summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        return "\n".join(rows)


# ---- the interpreter --------------------------------------------------------------------------------

class Interp:
    """Evaluates a rule side over ``env`` (pattern variable -> object array).

    With ``numeric=True`` it runs the ops' NumPy ``perform`` on float64 arrays instead, to
    measure the rounding error of each side.
    """

    def __init__(self, env: dict, numeric: bool = False):
        self.env = env
        self.numeric = numeric
        self.ctors = by_name()

    def __call__(self, e):
        if isinstance(e, str):
            if e not in self.env:
                raise KeyError(f"unbound pattern variable {e}")
            return self.env[e]
        if not isinstance(e, list):
            return e
        head, args = e[0], e[1:]
        if head in _PRIMS:
            return _PRIMS[head](*[self.prim(a) for a in args])
        if head in ("Lit", "Int", "Bool"):
            v = self.prim(args[0])
            return np.float64(float(v)) if self.numeric else _obj(v)
        if head in ("Ld", "Ew"):
            return self(args[0])
        if head == "TNil":
            return ()
        if head == "TCons":
            return (self(args[0]),) + tuple(self(args[1]))
        if head == "Input":
            raise NoTranslation("Input leaves in a rule")
        ctor = self.ctors.get(head)
        if ctor is None:
            raise NoTranslation(f"unknown constructor {head}")
        op = REGISTRY[ctor.op]
        vals = [self(a) for a in (args[:-1] if ctor.has_params else args)]
        params = {}
        if ctor.has_params:
            p = args[-1]
            if isinstance(p, list):
                params = self.built_params(p)
            else:
                params = dict(ast.literal_eval(p.value if isinstance(p, Str) else self.env[p]))
        if ctor.sort == "T" and op.nin is None:
            vals = list(vals[0])
        if self.numeric:
            with np.errstate(all="ignore"):
                return np.asarray(op.perform(params, *vals), dtype=np.float64)
        return apply_op(op, params, vals)

    def built_params(self, e) -> dict:
        """Params a rule builds as a string, ``(+ "(('alpha', " (to-string c) "),)")``: the
        ``to-string`` parts keep their (symbolic) values."""
        parts, values = [], {}

        def walk(x):
            if isinstance(x, Str):
                parts.append(x.value)
            elif isinstance(x, list) and x and x[0] == "+":
                for a in x[1:]:
                    walk(a)
            elif isinstance(x, list) and x and x[0] == "to-string":
                key = f"__value{len(values)}__"
                values[key] = self.prim(x[1])
                parts.append(repr(key))
            else:
                raise NoTranslation(f"params built from {x!r}")
        walk(e)
        return {k: values.get(v, v) if isinstance(v, str) else v
                for k, v in ast.literal_eval("".join(parts))}

    def prim(self, a):
        if isinstance(a, bool):
            return sympy.Integer(int(a))
        if isinstance(a, int):
            return sympy.Integer(a)
        if isinstance(a, float):
            if math.isinf(a) or math.isnan(a):
                return {math.inf: sympy.oo, -math.inf: -sympy.oo}.get(a, sympy.nan)
            return sympy.Rational(a)
        if isinstance(a, str):
            return self.env[a].item() if isinstance(self.env[a], np.ndarray) else self.env[a]
        v = self(a)
        return v.item() if isinstance(v, np.ndarray) else v


def _obj(x) -> np.ndarray:
    arr = np.empty((), dtype=object)
    arr[()] = x
    return arr


def scalar_fn(op: Op, params: dict):
    """The op's SymPy translation, building *unevaluated* expressions: SymPy would otherwise
    turn sqrt(x)**2 into x or exp(-log(x)) into 1/x and hide the real domain of each step."""
    tr = op.sympy
    if tr is None:
        raise NoTranslation(f"op {op.name} has no sympy translation (add sympy=... in {op.defined_in})")
    if isinstance(tr, str):
        fn = _SYMPY_NAMES.get(tr) or getattr(sympy, tr, None)
        if fn is None:
            raise NoTranslation(f"op {op.name}: sympy has no {tr!r}")
    else:
        fn = (lambda *a: tr(*a, **params)) if params else tr

    def unevaluated(*a):
        with sympy.evaluate(False):
            return fn(*a)
    return unevaluated


def apply_op(op: Op, params: dict, vals: list):
    if op.kind == "elemwise":
        fn = scalar_fn(op, params)
        arrs = np.broadcast_arrays(*[np.asarray(v, dtype=object) for v in vals])
        out = np.empty(arrs[0].shape if arrs else (), dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = fn(*[a[idx] for a in arrs])
        return out
    if callable(op.sympy):
        return np.asarray(op.sympy(params, *vals), dtype=object)
    try:
        return np.asarray(op.perform(params, *vals), dtype=object)
    except (TypeError, ValueError) as e:
        raise NoTranslation(f"op {op.name} has no sympy translation and its perform "
                            f"does not run on symbols ({e})") from None


# ---- checking ---------------------------------------------------------------------------------------------

def _vars(e, out):
    if isinstance(e, str) and not e.startswith(":") and e not in _PRIMS:
        out.add(e)
    elif isinstance(e, list):
        for a in (e[1:] if e and isinstance(e[0], str) else e):
            _vars(a, out)
    return out


def _var_sorts(e, sorts, ctors, parent_sort="S"):
    """Which variables stand for tensors (T), scalars (S) or literals (f64/i64)."""
    if isinstance(e, str):
        if e not in _PRIMS:
            sorts.setdefault(e, parent_sort)
        return
    if not isinstance(e, list) or not e:
        return
    head = e[0]
    if head in ("Lit", "Int", "Bool"):
        _var_sorts(e[1], sorts, ctors, "lit")
        return
    if head in _PRIMS:
        for a in e[1:]:
            _var_sorts(a, sorts, ctors, "lit")
        return
    if head == "Ld" or head == "TCons":
        for a in e[1:]:
            _var_sorts(a, sorts, ctors, "T" if head == "Ld" or a is e[1] else "TL")
        return
    if head == "Ew":
        _var_sorts(e[1], sorts, ctors, "S")
        return
    c = ctors.get(head)
    arg_sorts = c.args if c else ()
    for a, s in zip(e[1:], arg_sorts):
        _var_sorts(a, sorts, ctors, s)


def _param_candidates(pvars, owners, ndim: int, size: int):
    """Params for rules whose params are pattern variables, by the op that reads them:
    reductions get every axis set (with and without keepdims), reshape every 1-D/2-D shape
    of the same size (with a -1 too)."""
    import itertools
    per_var = []
    for v in pvars:
        op = owners.get(v)
        if op == "reshape":
            shapes = [(size,), (-1,)] + [(a, size // a) for a in range(1, size + 1) if size % a == 0] \
                + [(a, -1) for a in range(1, size + 1) if size % a == 0]
            per_var.append([repr((("shape", s),)) for s in shapes])
        else:
            per_var.append([repr(tuple(sorted({"axis": ax, "keepdims": k}.items())))
                            for r in range(1, ndim + 1) for ax in itertools.combinations(range(ndim), r)
                            for k in (False, True)] or [repr((("axis", ()), ("keepdims", False)))])
    return itertools.product(*per_var)


def _param_owners(e, ctors, out):
    """pattern variable in a params position -> the op it parametrizes."""
    if isinstance(e, list) and e and isinstance(e[0], str):
        c = ctors.get(e[0])
        if c is not None and c.has_params and c.op is not None and isinstance(e[-1], str):
            out[e[-1]] = c.op
        for a in e[1:]:
            _param_owners(a, ctors, out)
    return out


def _symbols(names, sorts, shapes):
    env = {}
    for n in sorted(names):
        shape = shapes.get(n, ())
        if sorts.get(n) == "String":
            env[n] = shape
            continue
        if sorts.get(n) == "TL":
            env[n] = ()          # a list of symbolic shape inputs: none (all sizes constant)
            continue
        if sorts.get(n) == "lit":
            env[n] = sympy.Symbol(n, real=True)
            continue
        arr = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            arr[idx] = sympy.Symbol(n + ("_" + "_".join(map(str, idx)) if idx else ""), real=True)
        env[n] = arr
    return env


def _shape_options(tvars, ndims):
    """Shape assignments with distinct sizes per axis (so axis mix-ups show); with several
    variables, also every mix of (2, 3), (3, 2) and (3, 3) for 2-D ones."""
    import itertools
    options = [{v: (2, 3, 4)[:nd] for v in tvars} for nd in ndims]
    if 1 < len(tvars) <= 3 and 2 in ndims:
        for combo in itertools.product([(2, 3), (3, 2), (3, 3)], repeat=len(tvars)):
            options.append(dict(zip(tvars, combo)))
    return options


def _evaluate(lhs, rhs, env):
    left = np.asarray(Interp(env)(lhs), dtype=object)
    right = np.asarray(Interp(env)(rhs), dtype=object)
    if left.shape != right.shape:
        raise ShapeMismatch(f"left side has shape {left.shape}, right side {right.shape}")
    return left, right


def _prove(left, right, budget: float) -> bool:
    t0 = time.perf_counter()
    for l, r in zip(left.flat, right.flat):
        d = sympy.expand(sympy.sympify(l) - sympy.sympify(r))
        if d == 0:
            continue
        if time.perf_counter() - t0 > budget:
            return False
        if not all(_zero(c) for c in _cases(d)):
            try:
                if sympy.simplify(sympy.sympify(l) / sympy.sympify(r)) != 1:
                    return False
            except (ZeroDivisionError, TypeError):
                return False
    return True


def _zero(d) -> bool:
    """d == 0 by simplification, or after combining and expanding logs as for positive
    arguments (log a - log b = log(a/b)); where an argument is not positive, the sampling at
    50 digits checks that both sides are undefined together."""
    if sympy.simplify(d) == 0:
        return True
    # erfinv is odd (SymPy does not apply it): the argument with its sign taken out
    if d.has(sympy.erfinv):
        d = d.replace(lambda e: isinstance(e, sympy.erfinv) and e.args[0].could_extract_minus_sign(),
                      lambda e: -sympy.erfinv(-e.args[0]))
        if sympy.simplify(d) == 0:
            return True
    # special functions in terms of one basis: erfc as 1 - erf, hyperbolic and circular
    # functions as exponentials
    if d.has(sympy.erfc):
        d = d.rewrite(sympy.erf)
        if sympy.simplify(d) == 0:
            return True
    # the inverse hyperbolic functions as logarithms (asinh(x) = log(x + sqrt(x^2 + 1)))
    # (acosh(u) = log(u + sqrt(u^2 - 1)) for u >= 1, where it is defined; SymPy's own rewrite
    # splits the root into sqrt(u - 1) sqrt(u + 1), which it cannot recombine)
    inverse = (sympy.asinh, sympy.acosh, sympy.atanh)
    if d.has(*inverse):
        d = d.replace(sympy.acosh, lambda u: sympy.log(u + sympy.sqrt(u ** 2 - 1))).rewrite(sympy.log)
        if sympy.simplify(d) == 0:
            return True
    trig = (sympy.sinh, sympy.cosh, sympy.tanh, sympy.sin, sympy.cos, sympy.tan)
    if d.has(*trig):
        e = sympy.expand(d.rewrite(sympy.exp))
        if e == 0 or sympy.simplify(e) == 0:
            return True
        if e.has(sympy.log) and sympy.simplify(sympy.logcombine(e, force=True)) == 0:
            return True
    if d.has(sympy.log):
        for e in (sympy.logcombine(d, force=True), sympy.expand_log(d, force=True)):
            if sympy.simplify(e) == 0:
                return True
    return _by_signs(d) or _locally_constant(d) or _positive_powers(d)


def _positive_powers(d) -> bool:
    """d == 0 with every symbol positive, where d has a power with a symbolic exponent
    (a^y - b^y = b^y (exp(y log(a/b)) - 1)): powers are combined as for positive bases, as logs
    are; the sampling at 50 digits checks the other signs (a negative base with a fractional
    exponent is NaN on both sides or a counterexample)."""
    if not any(p.exp.free_symbols for p in d.atoms(sympy.Pow)):
        return False
    syms = sorted(d.free_symbols, key=lambda s: s.name)
    pos = {s: sympy.Symbol(s.name + "_pos", positive=True) for s in syms}
    try:
        return sympy.simplify(d.xreplace(pos)) == 0
    except (TypeError, ValueError):
        return False


def _by_signs(d) -> bool:
    """d == 0 in every sign case of its symbols (x = p or x = -p, p > 0; x = 0 is left to the
    sampling): what log(|x|) + log(|y|) + log(sgn(x) sgn(y)) = log(x y) needs."""
    if not d.has(sympy.Abs, sympy.sign) or not d.has(sympy.log):
        return False
    syms = sorted(d.free_symbols, key=lambda s: s.name)
    if not syms or len(syms) > 3:
        return False
    from itertools import product
    pos = [sympy.Symbol(s.name + "_mag", positive=True) for s in syms]
    for signs in product((1, -1), repeat=len(syms)):
        e = d.xreplace({s: k * p for s, k, p in zip(syms, signs, pos)})
        if sympy.simplify(sympy.expand_log(e, force=True)) == 0:
            continue
        # log(cosh(x)) = |x| + log((1 + exp(-2|x|)) / 2): in exponentials, logs combined
        trig = (sympy.sinh, sympy.cosh, sympy.tanh)
        if not e.has(*trig) or sympy.simplify(sympy.logcombine(sympy.expand(e.rewrite(sympy.exp)), force=True)) != 0:
            return False
    return True


def _locally_constant(d) -> bool:
    """Every partial derivative of d is 0 (an inverse-function identity such as
    atan(a) - atan(b) = atan((a - b) / (1 + a b))): d is constant on each connected region
    where it is smooth, and the sampling, which runs before any proof, found d = 0 at every
    point it drew inside the rule's condition (a wrong branch, e.g. a b < -1, is refuted there)."""
    if not d.has(sympy.atan, sympy.asin, sympy.acos):
        return False
    syms = sorted(d.free_symbols, key=lambda s: s.name)
    return bool(syms) and all(sympy.simplify(sympy.diff(d, s)) == 0 for s in syms)


def _cases(d):
    """d split into expressions that must all be zero: one per ordering of Max/Min arguments,
    and one per branch of a Piecewise (a switch). A branch must be zero everywhere, except
    that under a condition ``Eq(u, v)`` one of its symbols is replaced by its solution."""
    out = []
    for c in _ordered_cases(d):
        f = sympy.piecewise_fold(c) if c.has(sympy.Piecewise) else c
        if not isinstance(f, sympy.Piecewise):
            out.append(f)
            continue
        for expr, cond in f.args:
            e = _under(expr, cond)
            # under Eq(u, v) both sides may be infinite at the solution (log(0 * y) against
            # log|0| + ...): oo - oo is NaN there, and the sampling (edge points 0, inf)
            # compares the two sides' values instead
            if e is sympy.nan and isinstance(cond, sympy.Eq):
                continue
            out.append(e)
    return out


def _under(expr, cond):
    """expr where cond holds, as far as a substitution can say it: under Eq(u, v) a symbol is
    replaced by its solution; under x > 0 (x >= 0, x < 0, x <= 0) x becomes a positive
    (non-negative, ...) symbol, so that |x| and sqrt(x^2) simplify."""
    conds = cond.args if isinstance(cond, sympy.And) else (cond,)
    for c in conds:
        if isinstance(c, sympy.Eq):
            diff = c.lhs - c.rhs
            for s in sorted(diff.free_symbols, key=lambda v: v.name):
                try:
                    sol = sympy.solve(diff, s)
                except NotImplementedError:
                    continue
                if len(sol) == 1:
                    expr = expr.subs(s, sol[0])
                    break
        elif isinstance(c, (sympy.StrictGreaterThan, sympy.GreaterThan, sympy.StrictLessThan,
                            sympy.LessThan)) and c.rhs == 0 and c.lhs.is_Symbol:
            strict = isinstance(c, (sympy.StrictGreaterThan, sympy.StrictLessThan))
            p = sympy.Symbol(c.lhs.name + "_pos", positive=True) if strict else \
                sympy.Symbol(c.lhs.name + "_nn", nonnegative=True)
            up = isinstance(c, (sympy.StrictGreaterThan, sympy.GreaterThan))
            expr = expr.subs(c.lhs, p if up else -p)
    return expr


def _ordered_cases(d):
    """[d] if d has no two-argument Max/Min, else d in each ordering of each pair of arguments
    (a >= b: Max(a, b) = a, Min(a, b) = b; a < b: the other way round). The orderings cover
    the reals, so d is zero everywhere if it is zero in every case."""
    pairs = []
    for m in d.atoms(sympy.Max, sympy.Min):
        if len(m.args) == 2:
            key = tuple(sorted(m.args, key=sympy.default_sort_key))
            if key not in pairs:
                pairs.append(key)
    if not pairs or len(pairs) > 3:
        return [d]
    import itertools
    cases = []
    for order in itertools.product((True, False), repeat=len(pairs)):
        sub = {}
        for (a, b), a_ge_b in zip(pairs, order):
            hi, lo = (a, b) if a_ge_b else (b, a)
            sub[sympy.Max(a, b, evaluate=False)] = hi
            sub[sympy.Max(b, a, evaluate=False)] = hi
            sub[sympy.Min(a, b, evaluate=False)] = lo
            sub[sympy.Min(b, a, evaluate=False)] = lo
        cases.append(d.xreplace(sub))
    return cases


EDGE = [0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, -1e-300, 1e-17, -1e-17, 800.0, -800.0, 1e300, -1e300,
        math.inf, -math.inf]


def _mp(v):
    import mpmath
    return mpmath.mpf(v)


def _undefined(v) -> bool:
    import mpmath
    if v is None:
        return True
    if isinstance(v, (bool, np.bool_)):
        return False
    try:
        if isinstance(v, mpmath.mpc) or isinstance(v, complex):
            if mpmath.isnan(mpmath.re(v)) or mpmath.isnan(mpmath.im(v)):   # (-2)**inf in mpmath
                return True
            return abs(mpmath.im(v)) > mpmath.mpf(10) ** (-DIGITS + 10) * max(1, abs(mpmath.re(v)))
        return mpmath.isnan(v)
    except TypeError:
        return True


def _close(a, b) -> bool:
    import mpmath
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    a, b = mpmath.re(a), mpmath.re(b)
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= mpmath.mpf(10) ** (-DIGITS + 15) * max(1, abs(a), abs(b))


def _sample(left, right, symbols, conds, rng, n_random=40):
    """(refuted point or None, refines point or None) from random and edge points."""
    import mpmath
    syms = sorted(symbols, key=lambda s: s.name)
    mpmath.mp.dps = DIGITS
    fl = [_real_fn(syms, l) for l in left.flat]
    fr = [_real_fn(syms, r) for r in right.flat]
    refines = None
    points = []
    for _ in range(n_random):
        scale = rng.choice([1.0, 10.0, 1e-3, 100.0])
        points.append(("random", [float(rng.normal() * scale) for _ in syms]))
    for _ in range(n_random):
        points.append(("edge", [float(rng.choice(EDGE)) for _ in syms]))
    for kind, pt in points:
        env = dict(zip([s.name for s in syms], pt))
        if not all(c(env) for c in conds):     # a sign or range condition: try the magnitudes,
            for cand in ([abs(v) for v in pt], [-abs(v) for v in pt]):   # then their negations
                env = dict(zip([s.name for s in syms], cand))
                if all(c(env) for c in conds):
                    pt = cand
                    break
            else:
                continue
        args = [_mp(v) for v in pt]
        for f, g in zip(fl, fr):
            try:
                a = f(*args)
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                a = None
            try:
                b = g(*args)
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                b = None
            ua, ub = _undefined(a), _undefined(b)
            if not (ua or ub) and not _close(a, b):
                a, b = _precise(f, g, pt)      # inputs like 1 + 1e300 need more digits
                ua, ub = _undefined(a), _undefined(b)
            if ua and ub:
                continue
            if ua and not ub:
                if kind == "random":
                    return env, None   # the rule changes a result on a region, not at a point
                refines = refines or env
                continue
            if ub or not _close(a, b):
                return env, None
    return None, refines


def _real_fn(syms, expr):
    expr = sympy.sympify(expr)
    names = [s.name for s in syms]
    return lambda *args: real_eval(expr, dict(zip(names, args)))


def _erfc(v):
    import mpmath
    # mpmath's erfc overflows on |v| ~ 1e300; the value is below 1e-10^12 (or 2 minus it) there
    return mpmath.erfc(v) if abs(v) < 1e6 else mpmath.mpf(0 if v > 0 else 2)


def real_eval(expr, env):
    """Evaluate a SymPy expression with mpmath in *real* arithmetic: log of a negative number,
    sqrt of one, asin(2), ... are NaN (as in floating point), never a complex detour."""
    import mpmath
    nan, inf = mpmath.mpf("nan"), mpmath.mpf("inf")
    memo = {}

    def ev(e):
        if e in memo:
            return memo[e]
        memo[e] = r = _ev(e)
        return r

    def _ev(e):
        if e.is_Symbol:
            return mpmath.mpf(env[e.name])
        if e is sympy.oo:
            return inf
        if e is sympy.S.NegativeInfinity:
            return -inf
        if e is sympy.nan or e is sympy.zoo:
            return nan
        if e.is_Number:
            return mpmath.mpf(sympy.Rational(e).p) / sympy.Rational(e).q if e.is_Rational else mpmath.mpf(float(e))
        if e is sympy.true:
            return mpmath.mpf(1)
        if e is sympy.false:
            return mpmath.mpf(0)
        if isinstance(e, sympy.Piecewise):
            for val, cond in e.args:
                if cond is sympy.true or ev(cond) != 0:
                    return ev(val)
            return nan
        args = [ev(a) for a in e.args]
        if any(mpmath.isnan(a) for a in args):
            return nan
        if e.is_Add:
            return mpmath.fsum(args) if all(mpmath.isfinite(a) for a in args) else sum(args)
        if e.is_Mul:
            out = mpmath.mpf(1)
            for a in args:
                out = out * a
            return out
        if e.is_Pow:
            b, x = args
            if b < 0 and not (x == mpmath.floor(x)):
                return nan
            if b == 0 and x < 0:
                return inf
            return b ** x
        if isinstance(e, sympy.core.relational.Relational):
            a, b = args
            op = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e.rel_op]
            return mpmath.mpf(1 if op else 0)
        name = type(e).__name__
        a = args[0] if args else None
        if name == "log":
            if len(args) == 2:
                return ev(sympy.log(e.args[0])) / ev(sympy.log(e.args[1]))
            return nan if a < 0 else (-inf if a == 0 else mpmath.log(a))
        if name in ("asin", "acos", "atanh") and abs(a) > 1 or name == "acosh" and a < 1:
            return nan
        if name == "atanh" and abs(a) == 1:
            return a * inf
        table = {"exp": mpmath.exp, "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
                 "asin": mpmath.asin, "acos": mpmath.acos, "atan": mpmath.atan, "sinh": mpmath.sinh,
                 "cosh": mpmath.cosh, "tanh": mpmath.tanh, "asinh": mpmath.asinh,
                 "acosh": mpmath.acosh, "atanh": mpmath.atanh, "erf": mpmath.erf, "erfc": _erfc, "Abs": abs,
                 "sign": mpmath.sign, "floor": mpmath.floor, "ceiling": mpmath.ceil,
                 "Max": lambda *v: max(v), "Min": lambda *v: min(v),
                 "And": lambda *v: mpmath.mpf(all(x != 0 for x in v)),
                 "Or": lambda *v: mpmath.mpf(any(x != 0 for x in v)),
                 "Not": lambda v: mpmath.mpf(v == 0)}
        if name == "exp" and a == -inf:
            return mpmath.mpf(0)
        fn = table.get(name)
        if fn is None:
            raise TypeError(f"no real evaluation for {name}")
        return fn(*args)

    return ev(expr)


def _accuracy(lhs, rhs, names, sorts, rng, conds=(), n=400):
    """A point where the right side in float64 is less accurate than the left, or None."""
    import mpmath
    mpmath.mp.dps = DIGITS
    scalars = sorted(v for v in names if sorts.get(v) in ("S", "T", "lit"))   # (a literal variable is a real too)
    syms = [sympy.Symbol(v, real=True) for v in scalars]
    env = {v: _obj(s) for v, s in zip(scalars, syms)}
    try:
        exact = sympy.sympify(Interp(env)(lhs).item())
    except (NoTranslation, ValueError, TypeError):
        return None
    eps = np.finfo(np.float64).eps
    for _ in range(n):
        pt = [float(rng.choice([-1, 1]) * 10.0 ** rng.uniform(-20, 3)) for _ in scalars]
        if not all(c(dict(zip(scalars, pt))) for c in conds):
            pt = [abs(v) for v in pt]
            if not all(c(dict(zip(scalars, pt))) for c in conds):
                continue
        fenv = {v: np.float64(x) for v, x in zip(scalars, pt)}
        try:
            with mpmath.workdps(600):        # e^-1000 next to 1 needs ~450 digits
                ref = +real_eval(exact, dict(zip(scalars, pt)))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if _undefined(ref) or mpmath.isinf(ref) or abs(ref) > 1e300:
            continue
        a = float(Interp(fenv, numeric=True)(lhs))
        b = float(Interp(fenv, numeric=True)(rhs))
        scale = max(abs(float(ref)), 1e-300)
        err_a = abs(a - ref) / scale if np.isfinite(a) else math.inf
        err_b = abs(b - ref) / scale if np.isfinite(b) else math.inf
        if err_b > max(err_a, 8 * eps):
            return {**dict(zip(scalars, pt)), "naive": a, "rewritten": b, "exact": float(ref)}
    return None


def _precise(f, g, pt, dps: int = 800):
    import mpmath
    with mpmath.workdps(dps):
        args = [_mp(v) for v in pt]
        out = []
        for fn in (f, g):
            try:
                out.append(+fn(*args))
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                out.append(None)
        a, b = out
        if a is not None and b is not None and not (_undefined(a) or _undefined(b)):
            if abs(mpmath.re(a) - mpmath.re(b)) <= mpmath.mpf(10) ** (-dps + 30) * max(1, abs(a), abs(b)):
                return a, a
        return a, b


_SIGNS = {"Pos": (lambda v: v > 0, {"positive": True}), "NonNeg": (lambda v: v >= 0, {"nonnegative": True}),
          "NonZero": (lambda v: v != 0, {"nonzero": True})}
_BOUND_TESTS = {">": lambda v, c: v > c, ">=": lambda v, c: v >= c, "<": lambda v, c: v < c,
                "<=": lambda v, c: v <= c}


def _range_fact(f):
    """(var, op, bound) for a range condition ``(>= (Lo x) c)`` / ``(< (Hi x) c)``, else None."""
    if (isinstance(f, list) and len(f) == 3 and f[0] in _BOUND_TESTS and isinstance(f[1], list)
            and len(f[1]) == 2 and f[1][0] in ("Lo", "Hi") and isinstance(f[1][1], str)):
        lower = f[1][0] == "Lo" and f[0] in (">", ">=")
        upper = f[1][0] == "Hi" and f[0] in ("<", "<=")
        if lower or upper:
            return f[1][1], f[0], float(f[2])
    return None


def _sign_facts(when) -> dict:
    """pattern variable -> the symbol that stands for it under the conditions: a symbol with
    sympy assumptions for (Pos x) / (NonNeg x) / (NonZero x); for a range condition x >= c
    (x > c) it is c + p, x <= c (x < c) it is c - p, with p non-negative (positive). Proving
    an identity for the larger domain a one-sided bound allows proves it for the interval."""
    out = {}
    for f in when:
        if isinstance(f, list) and len(f) == 2 and f[0] in _SIGNS and isinstance(f[1], str):
            out.setdefault(f[1], _SIGNS[f[0]][1])
    for f in when:
        rf = _range_fact(f)
        if rf is None or isinstance(out.get(rf[0]), tuple):
            continue
        v, op, c = rf
        assumptions = {"positive": True} if op in (">", "<") else {"nonnegative": True}
        out[v] = (c, 1 if op in (">", ">=") else -1, assumptions)
    return out


def _assume(arr, facts: dict):
    """Replace the symbols of conditioned variables by symbols with those assumptions (or by
    the shifted symbol of a range condition)."""
    if not facts:
        return arr
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        e = sympy.sympify(arr[idx])
        sub = {}
        for s in e.free_symbols:
            for n, fact in facts.items():
                if s.name == n or s.name.startswith(n + "_"):
                    if isinstance(fact, tuple):
                        c, sign, assumptions = fact
                        p = sympy.Symbol(s.name + "_off", **assumptions)
                        sub[s] = sympy.nsimplify(c) + sign * p
                    else:
                        sub[s] = sympy.Symbol(s.name, **fact)
        out[idx] = e.xreplace(sub) if sub else e
    return out


def _conditions(when):
    conds = []
    for f in when:
        if isinstance(f, list) and len(f) == 2 and f[0] in _SIGNS and isinstance(f[1], str):
            test = _SIGNS[f[0]][0]
            conds.append(lambda env, v=f[1], test=test: all(
                test(val) for k, val in env.items() if k == v or k.startswith(v + "_")))
            continue
        rf = _range_fact(f)
        if rf is not None:
            v, op, c = rf
            test = _BOUND_TESTS[op]
            conds.append(lambda env, v=v, c=c, test=test: all(
                test(val, c) for k, val in env.items() if k == v or k.startswith(v + "_")))
            continue
        if isinstance(f, list) and f[0] == "!=" and isinstance(f[1], str):
            v, c = f[1], float(f[2])
            conds.append(lambda env, v=v, c=c: env.get(v) != c)
        elif isinstance(f, list) and f[0] in (">", "<", ">=", "<=") and isinstance(f[1], str):
            import operator
            fn = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}[f[0]]
            v, c = f[1], float(f[2])
            conds.append(lambda env, v=v, c=c, fn=fn: fn(env.get(v, 0.0), c))
    return conds


def check_rule(rule: Rule, seed: int = 0, proof_budget: float = 2.0) -> RuleCheck:
    t0 = time.perf_counter()
    res = _check(rule, seed, proof_budget)
    res.seconds = time.perf_counter() - t0
    return res


def _known_ndims(rule: Rule):
    if rule.lhs is None:
        return (0, 1, 2, 3)
    from ..lang.graph import ancestors
    nds = {v.ndim for v in ancestors([rule.lhs]) if getattr(v.tag, "pattern", None)}
    return tuple(sorted(nds)) or (0,)


def _check(rule: Rule, seed: int, proof_budget: float) -> RuleCheck:
    base = dict(name=rule.name, phase=rule.phase, loc=rule.loc)
    kind, lhs, rhs, when, _ = rule_parts(rule.egg())
    ctors = by_name()
    sorts: dict = {}
    _var_sorts(lhs, sorts, ctors, "T" if _root_sort(lhs, ctors) == "T" else "S")
    _var_sorts(rhs, sorts, ctors, "T" if _root_sort(rhs, ctors) == "T" else "S")
    names = _vars(lhs, set()) | _vars(rhs, set())
    lhs_vars, rhs_vars = _vars(lhs, set()), _vars(rhs, set())
    if rhs_vars - lhs_vars:
        return RuleCheck(**base, status="refuted", method="structure",
                         note=f"right side uses unbound {sorted(rhs_vars - lhs_vars)}")
    scalar_rule = not (_tensor_ops(lhs, ctors) or _tensor_ops(rhs, ctors))
    if scalar_rule and lhs_vars - rhs_vars - {v for v in lhs_vars if sorts.get(v) == "lit"}:
        dropped = sorted(lhs_vars - rhs_vars)
        return RuleCheck(**base, status="refuted", method="structure",
                         note=f"right side drops {dropped}: the result loses their broadcast shape "
                              f"(wrap it as (Second {dropped[0]} ...))")
    tvars = [v for v in names if sorts.get(v) in ("S", "T")]
    pvars = [v for v in names if sorts.get(v) == "String"]
    options = [{v: () for v in tvars}] if scalar_rule else _shape_options(tvars, _known_ndims(rule))
    if pvars:
        owners = _param_owners(rhs, ctors, _param_owners(lhs, ctors, {}))
        limit = 48   # an evenly spread subset of the (shape, params) instances keeps checks fast
        options = [dict(o, **dict(zip(pvars, ps))) for o in options
                   for ps in _param_candidates(
                       pvars, owners, max((len(s) for s in o.values() if isinstance(s, tuple)), default=0),
                       max((int(np.prod(s)) for s in o.values() if isinstance(s, tuple)), default=1))]
        if len(options) > limit:
            options = [options[i * len(options) // limit] for i in range(limit)]
    rng = np.random.default_rng(seed)
    conds = _conditions(when)
    proved_all, tried, refines = True, 0, None
    for shapes in options:
        env = _symbols(names, sorts, shapes)
        try:
            left, right = _evaluate(lhs, rhs, env)
        except NoTranslation as e:
            return RuleCheck(**base, status="unknown", method="no translation", note=str(e))
        except ShapeMismatch as e:
            try:
                Interp(env)(lhs)
            except Exception:
                continue
            return RuleCheck(**base, status="refuted", method=f"shapes {shapes}", note=str(e))
        except Exception:
            continue    # the left side does not apply at these shapes
        tried += 1
        symbols = set()
        for x in list(left.flat) + list(right.flat):
            symbols |= sympy.sympify(x).free_symbols
        bad, ref = _sample(left, right, symbols, conds, rng)
        if bad is not None:
            return RuleCheck(**base, status="refuted", method=f"sampling ({DIGITS} digits)",
                             counterexample=bad, note=f"at shapes {shapes}" if not scalar_rule else "")
        refines = refines or ref
        facts = _sign_facts(when)
        if proved_all and not _prove(_assume(left, facts), _assume(right, facts), proof_budget):
            proved_all = False
    if not tried:
        return RuleCheck(**base, status="unknown", method="no shape fits the left side")
    if not proved_all:
        return RuleCheck(**base, status="unknown", method=f"sampling ({DIGITS} digits), no proof",
                         note="SymPy could not reduce lhs - rhs to 0; no counterexample found")
    method = "sympy" + ("" if scalar_rule else f" on {tried} shape(s)")
    if rule.phase == "stabilize" and scalar_rule:
        worse = _accuracy(lhs, rhs, names, sorts, rng, conds)
        if worse is not None:
            return RuleCheck(**base, status="refuted", method="float64 accuracy", counterexample=worse,
                             note="the rewritten form is less accurate than the naive one here")
        method += " + float64 accuracy"
    if refines is not None:
        return RuleCheck(**base, status="proved (refines)", method=method,
                         note=f"left side undefined, right side defined at {refines}")
    return RuleCheck(**base, status="proved", method=method)


def _tensor_ops(e, ctors) -> bool:
    """Does the side use a tensor-level op (one whose result depends on shapes)?"""
    if not isinstance(e, list) or not e:
        return False
    c = ctors.get(e[0]) if isinstance(e[0], str) else None
    if c is not None and c.sort in ("T", "TL") and c.op is not None:
        return True
    return any(_tensor_ops(a, ctors) for a in e[1:])


def _root_sort(e, ctors) -> str:
    if isinstance(e, list) and e:
        if e[0] in ("Ew", "Input"):
            return "T"
        c = ctors.get(e[0])
        if c is not None:
            return c.sort
    return "S"


def check(ruleset: RuleSet | Iterable[Rule]) -> CheckReport:
    """Check every rule; see the module docstring for what each status means."""
    return CheckReport([check_rule(r) for r in ruleset])
