"""Names a Theano tutorial reader types."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

import egopt as theano
import egopt.tensor as T


def test_pp_is_at_the_top_level():
    from egopt import pp
    x, y = T.dscalars("x", "y")
    assert pp(x + y) == theano.pp(x + y) == "(x + y)"


def test_rules_after_a_plain_import():
    code = "import egopt; print(type(egopt.rules.RuleSet).__name__, 'egopt.rules' in __import__('sys').modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["type", "True"]


def test_mode_takes_a_single_rule_set():
    from egopt import rules
    x, = rules.pattern_vars("x")
    rs = rules.RuleSet([rules.rewrite(T.cos(x) ** 2 + T.sin(x) ** 2, T.second(x, 1.0), name="pythagoras")])
    v = T.dvector("v")
    f = theano.function([v], T.cos(v) ** 2 + T.sin(v) ** 2, mode=theano.Mode(rules=rs))
    assert f.optimization_report().fired.get("pythagoras")
    np.testing.assert_allclose(f([0.3, 1.0]), [1.0, 1.0])


def test_tutorial_rop_with_w_as_an_input():
    W, V = T.dmatrices("W", "V")
    x = T.dvector("x")
    y = T.dot(x, W)
    JV = T.Rop(y, W, V)
    f = theano.function([W, V, x], JV)
    assert f.optimization_report().outcome == "optimized"
    np.testing.assert_allclose(f([[1, 1], [1, 1]], [[2, 2], [2, 2]], [0, 1]), [2.0, 2.0])
