"""Rule files: nothing is accepted silently, nothing panics. Every bad file is a RuleFileError
with the file (and line where there is one); user names that clash with the library get a prefix."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules import RuleFileError

GOOD = '(rewrite (Neg (Neg x)) x :ruleset canonicalize :name "{name}")\n'


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


@pytest.mark.parametrize("text, message", [
    ("", "no rules"),
    ("; only a comment\n\n", "no rules"),
    ("hello world\n", "'hello' is outside"),
    (GOOD.format(name="a") + "stray\n", "line 2: 'stray'"),
    ("(rewrite (Neg x) x :ruleset canonicalize\n", "unclosed"),
    (")(", "unbalanced"),
    ("(rewrite (Frobnicate x) x :ruleset canonicalize)", "Frobnicate"),
    ("(rewrite (Neg x) x)", ":ruleset"),
    ("(print-size)", "expected (rewrite"),
])
def test_bad_egg_files_are_errors(tmp_path, text, message):
    p = _write(tmp_path, "r.egg", text)
    with pytest.raises(RuleFileError, match="r.egg") as e:
        rules.load(p)
    assert message in str(e.value)


def test_a_rule_name_used_twice_is_an_error_with_both_lines(tmp_path):
    p = _write(tmp_path, "dup.egg", GOOD.format(name="a") + "\n" + GOOD.format(name="a"))
    with pytest.raises(RuleFileError, match=r"dup.egg:3: rule name 'a' is used twice .*dup.egg:1"):
        rules.load(p)


def test_a_python_rule_file_with_an_error_names_its_line(tmp_path):
    p = _write(tmp_path, "bad.py", "from egopt import rules\nx, = rules.pattern_vars('x')\nundefined_name\n")
    with pytest.raises(RuleFileError, match=r"bad.py:3: NameError"):
        rules.load(p)
    with pytest.raises(RuleFileError, match="no rules"):
        rules.load(_write(tmp_path, "empty.py", "x = 1\n"))
    with pytest.raises(RuleFileError, match="not a text file"):
        rules.load(_write(tmp_path, "bin.egg", b"\xff\xfe(\x00"))


def test_user_rules_named_like_builtin_ones_get_a_namespace(tmp_path):
    p = _write(tmp_path, "my_rules.egg",
               '(rewrite (Log (Add (Lit 1.0) x)) (Log1p x) :ruleset stabilize :name "log1p")\n')
    x = T.dvector("x")
    for mode in (egopt.Mode(rules=[str(p)]), egopt.Mode(rules=rules.load(p)), egopt.Mode(rules=str(p))):
        f = egopt.function([x], T.log(1 + x), mode=mode)
        rep = f.optimization_report()
        assert rep.outcome == "optimized" and "my_rules.log1p" in rep.fired
        np.testing.assert_allclose(f([1e-20]), [1e-20])


_TOKENS = st.sampled_from(["(", ")", "rewrite", "birewrite", "rule", "Neg", "Add", "Ld", "Ew", "Lit",
                           "Frob", "x", "y", "1.0", "3", '"s"', ":ruleset", "canonicalize", "nophase",
                           ":name", '"n"', ":when", "!=", ";", "\n", " ", '"', "\\"])


@settings(max_examples=120)
@given(st.one_of(st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                 st.lists(_TOKENS, max_size=40).map(" ".join),
                 st.lists(st.sampled_from([GOOD.format(name="a"), GOOD.format(name="b"), "(", ")",
                                           '(rewrite (Frob x) x :ruleset canonicalize)']),
                          max_size=5).map("".join)))
def test_fuzzed_egg_text_loads_or_is_a_rule_file_error(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fuzz") / "f.egg"
    p.write_text(text, encoding="utf-8")
    try:
        rs = rules.load(p)
    except RuleFileError as e:
        assert "f.egg" in str(e)
        return
    assert len(rs) > 0
    names = [r.name for r in rs]
    assert len(set(names)) == len(names)
