"""The provenance rewriting of rule text: every built-in rule is instrumented, and egglog accepts
the result; the shapes of rewrite, birewrite (both directions named as egglog names them) and
rule forms."""
from __future__ import annotations

from egglog import bindings as b

from egopt.rules import PHASES, builtin
from egopt.rules.loader import load_egg_text
from egopt.rules.provenance import instrument, instrumented, schema_text
from egopt.rules.schema import schema_text as base_schema


def _egraph():
    eg = b.EGraph()
    eg.run_program(*eg.parse_program(base_schema() + "".join(f"(ruleset {p})\n" for p in PHASES)
                                     + schema_text()))
    return eg


def test_every_builtin_rule_is_instrumented_and_parses():
    eg = _egraph()
    for r in builtin():
        text = instrumented(r)
        assert text != r.egg() and '(prov_' in text, r.name
        eg.run_program(*eg.parse_program(text))


def test_rewrite_birewrite_and_rule_forms():
    rw = instrument('(rewrite (Mul a (Lit 1.0)) a :when ((NonNeg a)) :subsume :ruleset canonicalize '
                    ':name "m1")', "m1")
    assert rw.startswith("(rule ((= __prov_root (Mul a (Lit 1.0))) (NonNeg a))")
    assert "(subsume (Mul a (Lit 1.0)))" in rw and '(prov_S __prov_root "m1")' in rw and ':name "m1"' in rw
    nested = instrument('(rewrite (Exp (Log x)) (Add x (Mul x (Lit 0.0))) :ruleset canonicalize :name "n")', "n")
    for built in ('(prov_n_Add x (Mul x (Lit 0.0)) "n")', '(prov_n_Mul x (Lit 0.0) "n")', '(prov_n_Lit 0.0 "n")'):
        assert built in nested
    bi = instrument('(birewrite (Add a b) (Add b a) :ruleset canonicalize :name "c")', "c")
    assert ':name "c=>"' in bi and ':name "c<="' in bi and bi.count('(prov_S __prov_root "c")') == 2
    (rule,) = load_egg_text('(rule ((= e (Sum (Ew s) p))) ((union e (Fred s "Sum" p))) :ruleset fuse)')
    text = instrument(rule.egg(), rule.name)
    assert f'(prov_T e "{rule.name}")' in text and f'(prov_n_Fred s "Sum" p "{rule.name}")' in text
    eg = _egraph()
    eg.run_program(*eg.parse_program("(relation NN (S))\n" + rw.replace("NonNeg", "NN") + "\n" + bi + "\n" + text))
