"""The soundness checker: the built-in library is clean, and plausible-looking wrong rules are caught."""
from __future__ import annotations

import subprocess
import sys

import pytest

import egopt.tensor as T
from egopt import rules
from egopt.rules.loader import load_egg_text
from egopt.rules.soundness import check, check_rule

x, y, z = rules.pattern_vars("x y z")
A, B = rules.pattern_vars("A B", ndim=2)
C, = rules.pattern_vars("C", ndim=3)


def broken_rules():
    r = rules.rewrite
    py = [
        r(T.sqrt(x * x), x, name="sqrt-square-to-x"),
        r(T.exp(T.log(x)), x, name="exp-log-no-domain"),
        r(T.log(x * y), T.log(x) + T.log(y), name="log-product-no-positivity"),
        r(T.sum(A, axis=0), T.sum(A.T, axis=0), name="sum-wrong-axis"),
        r(C.dimshuffle(0, 2, 1), C.dimshuffle(1, 0, 2), name="dimshuffle-mixup"),
        r(A.T.T, A.T, name="transpose-twice-wrong"),
        r(T.mean(A, axis=1), T.sum(A, axis=1), name="mean-is-sum"),
        r((x + y) ** 2, x ** 2 + y ** 2, name="freshman-square"),
        r(x / (y + z), x / y + x / z, name="split-denominator"),
        r(T.log(1 + x), x, name="log1p-first-order"),
        r(T.sin(x) ** 2, 1 - T.cos(x), name="sin-square"),
        r(abs(x + y), abs(x) + abs(y), name="abs-additive"),
        r(T.exp(x + y), T.exp(x) + T.exp(y), name="exp-additive"),
        r(T.sqrt(x + y), T.sqrt(x) + T.sqrt(y), name="sqrt-additive"),
        r(x - (y - z), x - y - z, name="sub-assoc"),
        r(T.tanh(x), T.sigmoid(2 * x), name="tanh-sigmoid"),
        r(T.log(T.sigmoid(x)), -T.softplus(x), name="log-sigmoid-sign"),
        r(T.exp(x) - 1, T.expm1(-x), name="expm1-sign"),
        r(x ** y * x ** z, x ** (y * z), name="pow-product"),
        r(x / y * z, x / (y * z), name="div-mul-assoc"),
        r(T.maximum(x, y), x, name="max-first"),
        r(T.log(x ** 2), 2 * T.log(x), name="log-square"),
        r(T.sqrt(x) ** 2, x, name="sqrt-squared"),
        r(1 / (1 + T.exp(x)), T.sigmoid(x), name="sigmoid-sign"),
    ]
    egg = load_egg_text(
        '(rewrite (Mul a (Lit 0.0)) (Lit 0.0) :ruleset canonicalize :name "mul-zero-loses-shape")\n'
        '(rewrite (Add (Lit a) (Lit b)) (Lit (* a b)) :ruleset canonicalize :name "fold-add-wrong")\n',
        "broken.egg")
    return py + egg


def test_builtin_library_is_clean():
    report = check(rules.builtin())
    bad = [(r.name, r.status, r.note) for r in report if not r.status.startswith("proved")]
    assert not bad, bad


def test_broken_rules_are_refuted():
    results = [check_rule(rule) for rule in broken_rules()]
    assert len(results) >= 20
    proved = [r.name for r in results if r.status.startswith("proved")]
    assert not proved, f"unsound rules reported proved: {proved}"
    refuted = [r for r in results if r.status == "refuted"]
    assert len(refuted) >= 0.95 * len(results), [(r.name, r.status, r.method) for r in results]
    for r in refuted:
        assert r.counterexample is not None or r.method in ("structure",) or r.method.startswith("shapes"), r


def test_refinement_is_reported_not_hidden():
    res = check_rule(rules.rewrite(x / x, T.second(x, 1.0), name="div-self"))
    assert res.status == "proved (refines)"
    assert "left side undefined" in res.note


def test_counterexample_is_real():
    res = check_rule(rules.rewrite(T.exp(T.log(x)), x, name="exp-log"))
    assert res.status == "refuted"
    assert res.counterexample["x"] < 0          # log of a negative number is NaN, x is not


def test_check_rules_command(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("from egopt import rules\nimport egopt.tensor as T\nx, = rules.pattern_vars('x')\n"
                    "rules.rewrite(T.log(T.exp(x)), x, name='log-exp')\n")
    bad = tmp_path / "bad.egg"
    bad.write_text('(rewrite (Exp (Log a)) a :ruleset canonicalize :name "exp-log")\n')
    run = lambda *p: subprocess.run([sys.executable, "-m", "egopt", "check-rules", *map(str, p)],
                                    capture_output=True, text=True)
    ok = run(good)
    assert ok.returncode == 0 and "proved" in ok.stdout
    ko = run(good, bad)
    assert ko.returncode == 1 and "refuted" in ko.stdout and "exp-log" in ko.stdout


def test_egg_parse_errors_name_file_and_line(tmp_path):
    p = tmp_path / "typo.egg"
    p.write_text('; comment\n(rewrite (Lgo a) a :ruleset canonicalize)\n')
    with pytest.raises(rules.RuleFileError, match=r"typo.egg:2.*Lgo"):
        rules.load(p)
    q = tmp_path / "phase.egg"
    q.write_text('(rewrite (Log a) a :ruleset nowhere)\n')
    with pytest.raises(rules.RuleFileError, match=r"phase.egg:1.*ruleset"):
        rules.load(q)


def test_orderings_switches_and_log_laws_are_proved():
    """Max/Min are proved per ordering, switches per branch, logs combined as for positive
    arguments (the sampling checks the rest)."""
    r = rules.rewrite
    good = [
        r(T.log(T.exp(x) + T.exp(y)),
          T.switch(T.isinf(x + y), T.maximum(x, y),
                   T.maximum(x, y) + T.log1p(T.exp(T.minimum(x, y) - T.maximum(x, y)))),
          name="logaddexp-max", phase="stabilize"),
        r(T.log(x) - T.log(y), T.switch(T.lt(abs(x - y), 0.5 * y), T.log1p((x - y) / y),
                                         T.identity(T.log(x)) - T.log(y)), name="log-difference-regimes"),
        r(T.sqrt(x * x + y) - x,
          T.switch(T.isinf(y), y, T.switch(T.gt(x, 0), y / (abs(x) + T.sqrt(x * x + y)), T.sqrt(x * x + y) - x)),
          name="conjugate-positive-branch"),
        r(1 - T.cos(x), 2 * T.sin(x / 2) ** 2, name="half-angle"),
    ]
    for rule in good:
        res = check_rule(rule)
        assert res.status.startswith("proved"), (rule.name, res.status, res.note, res.counterexample)


def test_wrong_branches_are_refuted():
    r = rules.rewrite
    bad = [
        # the conjugate without its guard is 0/0 at x = y = 0, where the difference is 0
        r(T.sqrt(x) - T.sqrt(y), (x - y) / (T.sqrt(x) + T.sqrt(y)), name="conjugate-unguarded"),
        # |x| is x only for x > 0: the branch is taken for all x
        r(T.sqrt(x * x + y) - x, y / (abs(x) + T.sqrt(x * x + y)), name="conjugate-no-regime"),
        # a sum-to-product with the wrong sign
        r(T.cos(x) - T.cos(y), 2 * T.sin((x + y) / 2) * T.sin((x - y) / 2), name="cos-difference-sign"),
        # log1p of the quotient, not of the difference
        r(T.log(x) - T.log(y), T.switch(T.lt(abs(x - y), 0.5 * y), T.log1p(x - y), T.log(x / y)),
          name="log-difference-wrong-branch"),
    ]
    for rule in bad:
        res = check_rule(rule)
        assert res.status == "refuted", (rule.name, res.status)
