"""The sign analysis is sound: a class it marks Pos or NonNeg never takes a negative value on
random inputs (checked on every node of random graphs, after saturation with the library)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings

import egopt
from egopt.lang.graph import toposort
from egopt.rules import builtin
from egopt.rules.encode import encode
from egopt.rules.engine import saturate
from egopt.testing import graph_and_arrays

_RULES = builtin()


def _holds(eg, fact: str, name: str) -> bool:
    """The fact on the scalar class of a tensor: its elementwise body, or its load."""
    for query in (f"(check (= {name} (Ew s)) ({fact} s))", f"(check (= s (Ld {name})) ({fact} s))"):
        try:
            eg.run_program(*eg.parse_program(query))
            return True
        except Exception:
            continue
    return False


def signs(outputs, inputs):
    """IR variable -> (Pos, NonNeg) as the analysis says after saturation."""
    enc = encode(outputs, inputs)
    sat = saturate(enc, _RULES)
    out = {}
    for name, v in enc.origin.items():
        if v.owner is not None:
            out[v] = (_holds(sat.egraph, "Pos", name), _holds(sat.egraph, "NonNeg", name))
    return out


@settings(max_examples=60)
@given(graph_and_arrays())
def test_signs_are_never_contradicted(case):
    g, arrays = case
    claims = signs(g.outputs, g.inputs)
    claimed = [v for v, (pos, nn) in claims.items() if pos or nn]
    if not claimed:
        return
    f = egopt.function(g.inputs, claimed, mode="FAST_COMPILE", on_unused_input="ignore")
    with np.errstate(all="ignore"):
        values = f(*arrays)
    for v, val in zip(claimed, values):
        val = np.asarray(val, dtype=np.float64)
        assert not np.any(val < 0), (v, claims[v], val)


@settings(max_examples=150)
@given(graph_and_arrays(dtypes=("int8", "int16"), mixed=True, max_steps=6))
def test_signs_of_wrapping_integers_are_never_contradicted(case):
    """Integer graphs (sqr, abs, *, + wrap around at the dtype's range): the same property."""
    test_signs_are_never_contradicted.hypothesis.inner_test(case)


def test_seeds_and_propagation():
    import egopt.tensor as T
    x = T.dvector("x")
    pos = [T.exp(x), T.nnet.sigmoid(x) + T.sqr(x), T.exp(x) / (1 + T.abs(x)), T.sqrt(T.exp(x)), T.maximum(x, 2.0)]
    nonneg = [T.abs(x), x * x, T.sqrt(x), T.sum(T.sqr(x)) * 2.0]
    neither = [x, T.log(T.exp(x)), T.exp(x) - 1, T.sum(x)]
    claims = signs(pos + nonneg + neither, [x])
    assert all(claims[v][0] for v in pos), [claims[v] for v in pos]
    assert all(claims[v][1] for v in nonneg), [claims[v] for v in nonneg]
    assert not any(claims.get(v, (False, False))[1] for v in neither if v.owner is not None)


def test_conditional_rules_fire_only_when_proved():
    import egopt.tensor as T
    x = T.dvector("x")
    f = egopt.function([x], T.exp(-T.log(T.exp(x) + 1)))
    assert "exp-neg-log" in f.optimization_report().fired
    g = egopt.function([x], T.exp(-T.log(x)))
    assert "exp-neg-log" not in g.optimization_report().fired
    v = np.array([-2.0, 0.5, 3.0])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(g(v), np.exp(-np.log(v)))           # NaN for x < 0 stays NaN
    np.testing.assert_allclose(f(v), 1 / (np.exp(v) + 1))
    h = egopt.function([x], abs(T.sqr(x)) + T.sqrt(T.abs(x) * T.abs(x)))
    assert {"abs-nonneg", "sqrt-square-nonneg"} <= set(h.optimization_report().fired)
    np.testing.assert_allclose(h(v), v * v + np.abs(v))
