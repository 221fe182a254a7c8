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

# dot followed by a scaled add is one BLAS call: C + c*op(A)@op(B) -> gemm(A, B, C) with
# alpha = c, beta = 1 and a transposed operand passed as it is stored, with a flag. Written in
# egglog text: the literal c goes into gemm's params string (to-string). Decoding keeps the
# ordinary ops where BLAS does not apply (integer dtypes, ranks other than matrix/vector).
_T = "(('pattern', (1, 0)),)"
_A, _B = rules.pattern_vars("A B", ndim=2)
_MATRICES = _A + _B


def _operand(name, transposed):
    return f'(Dimshuffle (TCons {name} (TNil)) "{_T}")' if transposed else name


def _gemm_params(alpha, ta, tb):
    flags = f"), ('beta', 1.0), ('trans_a', {ta}), ('trans_b', {tb}))"
    return f'(+ "((\'alpha\', " (to-string {alpha}) "{flags}")'


for _ta in (False, True):
    for _tb in (False, True):
        _dot = f'(Dot {_operand("A", _ta)} {_operand("B", _tb)} "()")'
        _gemm = "(Gemm (TCons A (TCons B (TCons C (TNil)))) {})"
        _sfx = f"{'t' if _ta else 'n'}{'t' if _tb else 'n'}"
        for _form, _lhs, _alpha in [
            ("add-scaled", f"(Ew (Add (Ld C) (Mul (Lit c) (Ld {_dot}))))", "c"),
            ("sub-scaled", f"(Ew (Sub (Ld C) (Mul (Lit c) (Ld {_dot}))))", "(neg c)"),
            ("add", f"(Ew (Add (Ld C) (Ld {_dot})))", "1.0"),
            ("sub", f"(Ew (Sub (Ld C) (Ld {_dot})))", "-1.0"),
        ]:
            RULES.append(rules.Rule(
                f"gemm-{_form}-{_sfx}", "specialize", lhs=_MATRICES,   # (lhs: the ranks to check)
                text=f'(rewrite {_lhs} {_gemm.format(_gemm_params(_alpha, _ta, _tb))} '
                     f':ruleset specialize :name "gemm-{_form}-{_sfx}")',
                loc=f"{__file__}:gemm"))
