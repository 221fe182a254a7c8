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


def test_module_paths_of_theano_tutorials():
    """``from theano.sandbox.rng_mrg import MRG_RandomStreams`` (the LSTM and dropout tutorials),
    ``from theano.compile.nanguardmode import NanGuardMode``, ``theano.compile.io.In``."""
    from egopt.compile.io import In
    from egopt.compile.nanguardmode import NanGuardMode
    from egopt.sandbox.rng_mrg import MRG_RandomStreams
    x = T.dvector("x")
    srng = MRG_RandomStreams(1234)
    mask = srng.binomial(x.shape, p=0.5, n=1, dtype=x.dtype)
    s = T.dscalar("s")
    f = theano.compile.function([x, In(s, value=1.0)], x * mask * s)
    out = f(np.ones(50))
    assert set(np.unique(out)) == {0.0, 1.0}
    g = theano.function([x], T.log(x), mode=NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=False))
    np.testing.assert_allclose(g(np.array([1.0, np.e])), [0.0, 1.0])
    try:
        g(np.array([-1.0]))
    except theano.NanGuardError as e:
        assert "log" in str(e)
    else:
        raise AssertionError("NanGuardMode let a NaN through")


def test_dimshuffle_function_takes_the_pattern_as_arguments_or_one_sequence():
    m = T.dmatrix("m")
    v = np.arange(6.0).reshape(2, 3)
    f = theano.function([m], [T.dimshuffle(m, 1, "x", 0), T.dimshuffle(m, (1, 0))])
    a, b = f(v)
    np.testing.assert_array_equal(a, v.T[:, None, :])
    np.testing.assert_array_equal(b, v.T)


def test_the_tutorials_ifelse_and_switch_with_a_vm_linker():
    """The tutorial on conditions: ``from theano.ifelse import ifelse`` and ``Mode(linker='vm')``."""
    from egopt.ifelse import ifelse
    a, b = T.scalars("a", "b")
    x, y = T.matrices("x", "y")
    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    z_lazy = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
    f_switch = theano.function([a, b, x, y], z_switch, mode=theano.Mode(linker="vm"))
    f_lazy = theano.function([a, b, x, y], z_lazy, mode=theano.Mode(linker="vm"))
    m1, m2 = np.full((5, 5), 3.0), np.arange(25.0).reshape(5, 5)
    for f in (f_switch, f_lazy):
        assert f(0.0, 1.0, m1, m2) == 3.0 and f(1.0, 0.0, m1, m2) == 12.0
    s, v = ifelse(T.gt(a, 0), [a * 2, x.sum(axis=0)], [a - 1, x.max(axis=0)])
    out = theano.function([a, x], [s, v])(-1.0, m2)
    np.testing.assert_allclose(out[0], -2.0)
    np.testing.assert_allclose(out[1], m2.max(axis=0))
    g = theano.function([a, x], T.grad(ifelse(T.gt(a, 0), a ** 2, 3 * a), a), on_unused_input="ignore")
    assert g(2.0, m1) == 4.0 and g(-2.0, m1) == 3.0


def test_theano_and_pytensor_linker_and_mode_names():
    a = T.dscalar("a")
    assert theano.Mode(linker="cvm").linker == "c" and theano.Mode(linker="c|py").linker == "c"
    assert theano.Mode(linker="vm", optimizer="fast_run").optimizer == "egraph"
    for mode in ("C", "CVM", "NUMBA", "JAX", theano.Mode(linker="vm_nogc")):
        assert theano.function([a], a * 2, mode=mode)(2.0) == 4.0


def test_extra_ops_and_pytensor_special_paths():
    x = T.dmatrix("x")
    v = np.arange(6.0).reshape(2, 3) - 2
    e = np.exp(v - v.max(axis=1, keepdims=True))
    f = theano.function([x], [T.extra_ops.cumsum(x, axis=1), T.special.softmax(x, axis=-1),
                              T.log_softmax(x, axis=1), T.logsumexp(x, axis=1), T.cumprod(x)])
    cs, sm, lsm, lse, cp = f(v)
    np.testing.assert_allclose(cs, np.cumsum(v, axis=1))
    np.testing.assert_allclose(sm, e / e.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(lsm, np.log(e / e.sum(axis=1, keepdims=True)))
    np.testing.assert_allclose(lse, np.log(np.exp(v).sum(axis=1)))
    np.testing.assert_allclose(cp, np.cumprod(v))
