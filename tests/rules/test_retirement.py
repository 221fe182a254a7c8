"""Deferred retirement (egopt/rules/retire.py): a stability rule that retires a node does not
hide it from another rule that matches the same node one iteration later."""
from __future__ import annotations


import numpy as np

import egopt
import egopt.tensor as T
from egopt.rules.retire import deferred



_PROGRAM = """
(datatype S (Lit f64) (F S) (G S) (H S) (K S))
(ruleset stabilize)
(ruleset retire)
{rules}
(let $x (F (Lit 1.0)))
(run-schedule (repeat 4 (run stabilize)) (run retire))
"""
# A repairs F(1) and retires it; D gives 1's class the form H(2) in the same iteration; B
# repairs F(H(.)), which is the very node A retired, one iteration later
_RULES = [
    '(rewrite (F (Lit 1.0)) (G (Lit 1.0)) :subsume :ruleset stabilize :name "A")',
    '(rewrite (Lit 1.0) (H (Lit 2.0)) :ruleset stabilize :name "D")',
    '(rewrite (F (H y)) (K y) :subsume :ruleset stabilize :name "B")',
]


def _forms(text: str) -> str:
    from egopt.rules.egglog_bindings import bindings
    b = bindings()
    eg = b.EGraph()
    eg.run_program(*eg.parse_program(_PROGRAM.format(rules=text)))
    out = []
    for q in ("(check (= $x (G (Lit 1.0))))", "(check (= $x (K (Lit 2.0))))"):
        try:
            eg.run_program(*eg.parse_program(q))
            out.append(q.split("(")[-2].split()[0])
        except Exception:
            pass
    return " ".join(out)


def test_two_repairs_of_one_node_both_apply():
    assert _forms("\n".join(_RULES)) == "G"            # egglog's own :subsume: B never sees F(1)
    assert _forms(deferred(_RULES)) == "G K"            # retired at the end of the phase


def test_the_retired_form_is_not_extracted():
    v = T.dvector("v")
    f = egopt.function([v], T.log(1 - T.erf(v)))
    a = np.array([30.0, 5.0, -3.0])
    with np.errstate(all="ignore"):
        got = f(a)
    assert np.all(np.isfinite(got)), got          # naive: log(1 - 1) = -inf at 5 and 30
    assert abs(got[0] - (-903.974117)) < 1e-3 * 903


def test_deferred_text():
    t = '(rewrite (Log (Sub (Lit 1.0) x)) (Log1p (Neg x)) :subsume :ruleset stabilize :name "log1m")'
    plain, retire = deferred([t]).splitlines()
    assert plain == '(rewrite (Log (Sub (Lit 1.0) x)) (Log1p (Neg x)) :ruleset stabilize :name "log1m")'
    assert retire == '(rewrite (Log (Sub (Lit 1.0) x)) (Log1p (Neg x)) :subsume :ruleset retire :name "log1m!retire")'
    other = '(rewrite (Add x (Lit 0.0)) x :ruleset canonicalize :name "add-zero")'
    assert deferred([other]) == other


def test_split_keeps_the_subsuming_copies_by_rule_name():
    from egopt.rules.retire import split
    t = '(rewrite (Log (Sub (Lit 1.0) x)) (Log1p (Neg x)) :subsume :ruleset stabilize :name "log1m")'
    other = '(rewrite (Add x (Lit 0.0)) x :ruleset canonicalize :name "add-zero")'
    text, copies = split([t, other])
    assert text.splitlines() == [t.replace(" :subsume", ""), other]
    assert copies == {"log1m": '(rewrite (Log (Sub (Lit 1.0) x)) (Log1p (Neg x)) :subsume :ruleset retire '
                               ':name "log1m!retire")'}
