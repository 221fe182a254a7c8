"""Sums of fractions over a common denominator, the numerator simplified (SymPy), as an
alternative form in the e-graph: 1/(x+1) - 2/x + 1/(x-1) is 2 / (x (x-1) (x+1)).

Each fraction of such a sum is accurate, but their sum cancels: the terms are nearly equal and
the result is orders of magnitude smaller (44 bits lost at x = 1e5). Over a common denominator
the numerator is a polynomial whose terms cancel symbolically, exactly, before any rounding.
Rewrite rules cannot do this (normalizing polynomials by rewriting blows up an e-graph), so
it is a pass over the encoded graph: a maximal region of +, -, *, / and negation that adds at
least two fractions with a sum or difference as a denominator is combined with
``sympy.together`` and ``cancel``, its numerator and denominator factored; the form is kept
only when the numerator lost terms (the cancellation happened symbolically). Where the
combined denominator overflows or underflows (its product can, where each factor does not),
a regime switch keeps the written sum, so the form is never less accurate.

The combined form is unioned with the region's root class and the written root node, with
the variants canonicalization makes of it, is retired (subsumed): the switch costs more than
the sum, and accuracy wins here.
"""
from __future__ import annotations

_RATIONAL = {"add": "Add", "sub": "Sub", "mul": "Mul", "true_div": "TrueDiv", "neg": "Neg"}
MAX_REGION = 40
MAX_REGIONS = 8


def _regions(enc):
    """(root var, region vars) for the maximal rational regions worth combining."""
    from .encode import weak_literal
    users: dict[int, list] = {}
    for v in enc.origin.values():
        if v.owner is not None:
            for u in v.owner.inputs:
                users.setdefault(id(u), []).append(v)

    def rational(v) -> bool:
        n = v.owner
        return (n is not None and n.op.kind == "elemwise" and n.op.name in _RATIONAL
                and v.dtype.startswith("float") and id(v) in enc.names)

    out = []
    for v in enc.origin.values():
        if not rational(v) or any(rational(u) for u in users.get(id(v), ())):
            continue
        region, stack, n_div, sum_den, inputs_only = [], [v], 0, False, True
        while stack and len(region) <= MAX_REGION:
            w = stack.pop()
            region.append(w)
            node = w.owner
            if node.op.name == "true_div":
                n_div += 1
                d = node.inputs[1]
                sum_den |= d.owner is not None and d.owner.op.name in ("add", "sub")
            for i, u in enumerate(node.inputs):
                if weak_literal(node.inputs, i) is None:
                    if rational(u):
                        stack.append(u)
                    else:
                        inputs_only &= u.owner is None
        # a rational function of the function's inputs (formulas as written; a training graph's
        # fractions of sigmoids and sums never pay for importing SymPy)
        if n_div >= 2 and sum_den and inputs_only and len(region) <= MAX_REGION:
            out.append(v)
        if len(out) >= MAX_REGIONS:
            break
    return out


def combined_fractions(enc) -> str:
    """egglog commands that add the combined form of each region (empty if none)."""
    roots = _regions(enc)
    if not roots:
        return ""
    import sympy
    from .encode import weak_literal
    cmds = []
    for root in roots:
        symbols: dict[int, tuple] = {}

        def to_sympy(v):
            node = v.owner
            if node is None or node.op.name not in _RATIONAL or id(v) not in enc.names \
                    or node.op.kind != "elemwise":
                if id(v) not in symbols:
                    symbols[id(v)] = (sympy.Symbol(f"s{len(symbols)}", real=True), enc.names[id(v)])
                return symbols[id(v)][0]
            args = []
            for i, u in enumerate(node.inputs):
                w = weak_literal(node.inputs, i)
                args.append(sympy.nsimplify(w[1]) if w else to_sympy(u))
            op = node.op.name
            if op == "neg":
                return -args[0]
            a, b = args
            return {"add": a + b, "sub": a - b, "mul": a * b, "true_div": a / b}[op]

        try:
            expr = to_sympy(root)
            n_fracs = sum(1 for t in sympy.Add.make_args(expr) if sympy.fraction(t)[1] != 1)
            num, den = sympy.fraction(sympy.cancel(sympy.together(expr)))
            if den == 1 or len(sympy.Add.make_args(sympy.expand(num))) >= max(n_fracs, 2):
                continue
            if (num.free_symbols | den.free_symbols) != expr.free_symbols:
                continue     # a variable cancelled away: its broadcast shape would be lost
            by_symbol = {s: name for s, name in symbols.values()}
            n_txt, d_txt = _egg(sympy.factor(num), by_symbol), _egg(sympy.factor(den), by_symbol)
        except (_NotRational, TypeError, ValueError, ZeroDivisionError):
            continue
        node = root.owner
        args = []
        for i, u in enumerate(node.inputs):
            w = weak_literal(node.inputs, i)
            args.append(f"({w[0]} {float(w[1])!r})" if w else f"(Ld {enc.names[id(u)]})")
        ctor = _RATIONAL[node.op.name]
        written = f"({ctor} {' '.join(args)})"
        kept = f"({ctor} {' '.join([f'(Identity {args[0]})'] + args[1:])})"
        new = (f"(Switch (Isinf {d_txt}) {kept} (Switch (Eq {d_txt} (Lit 0.0)) {kept} "
               f"(Switch (Isinf {n_txt}) {kept} (TrueDiv {n_txt} {d_txt}))))")
        name = enc.names[id(root)]
        cmds.append(f"(union (Ld {name}) {new})")
        cmds.append(f"(subsume {written})")
        # canonicalization makes variants of the written sum (commuted, regrouped): at the end
        # of each phase every arithmetic form of the root's class is retired (rules/retire.py)
        for c, arity in (("Add", 2), ("Sub", 2), ("Mul", 2), ("TrueDiv", 2), ("Neg", 1)):
            vs = " ".join("ab"[:arity])
            cmds.append(f"(rule ((= c (Ld {name})) (= c ({c} {vs}))) ((subsume ({c} {vs}))) "
                        f":ruleset retire :name \"fractions-{name}-{c}\")")
    return "\n".join(cmds) + ("\n" if cmds else "")


class _NotRational(Exception):
    pass


def _egg(e, names) -> str:
    """A SymPy rational expression as egglog text over the encoding's names."""
    import sympy
    if e.is_Symbol:
        return f"(Ld {names[e]})"
    if e.is_Number:
        if not e.is_real:
            raise _NotRational(e)
        return f"(Lit {float(e)!r})"
    if e.is_Add:
        terms = list(e.args)
        out = _egg(terms[0], names)
        for t in terms[1:]:
            c, rest = t.as_coeff_Mul()
            if c < 0:
                out = f"(Sub {out} {_egg(-t, names)})"
            else:
                out = f"(Add {out} {_egg(t, names)})"
        return out
    if e.is_Mul:
        c, rest = e.as_coeff_Mul()
        if c < 0:
            return f"(Neg {_egg(-e, names)})"
        num, den = sympy.fraction(e)
        if den != 1:
            return f"(TrueDiv {_egg(num, names)} {_egg(den, names)})"
        factors = list(e.args)
        out = _egg(factors[0], names)
        for f in factors[1:]:
            out = f"(Mul {out} {_egg(f, names)})"
        return out
    if e.is_Pow and e.exp.is_Integer:
        k = int(e.exp)
        if k < 0:
            return f"(TrueDiv (Lit 1.0) {_egg(e.base ** -k, names)})"
        if 1 <= k <= 4:
            b = _egg(e.base, names)
            out = b
            for _ in range(k - 1):
                out = f"(Mul {out} {b})"
            return out
    raise _NotRational(e)
