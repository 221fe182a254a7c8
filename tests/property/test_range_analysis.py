"""The range analysis is sound: no interval (Lo, Hi) or sign fact excludes a value that the
expression takes on random inputs. Random elementwise expressions over ops with known ranges
(tanh, sigmoid, sin, exp, abs, ...) and arithmetic, evaluated by NumPy (the reference)."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

import egopt
import egopt.tensor as T
from egopt.rules.analysis import analysis_text
from egopt.rules.dsl import PHASES
from egopt.rules.encode import encode
from egopt.rules.schema import schema_text

_UNARY = ["tanh", "exp", "abs", "sqr", "sqrt", "log", "log1p", "expm1", "arctan", "cos", "sin",
          "erf", "erfc", "cosh", "sinh", "neg", "sgn"]
_NNET = ["sigmoid", "softplus"]
_BINARY = ["add", "sub", "mul", "true_div", "maximum", "minimum"]


def _fact(eg, fact: str) -> bool:
    try:
        eg.run_program(*eg.parse_program(f"(check {fact})"))
        return True
    except Exception:
        return False


def _bound(eg, fn: str, name: str):
    try:
        (out,) = eg.run_program(*eg.parse_program(f"(extract ({fn} (Ld {name})))"))
    except Exception:
        return None
    return float(str(out.termdag.to_string(out.term)) if hasattr(out, "termdag") else str(out))


def ranges(outputs, inputs):
    """IR variable -> (lo, hi, pos, nonneg, nonzero) as the analysis alone derives them."""
    from egopt.rules.egglog_bindings import bindings
    b = bindings()
    enc = encode(outputs, inputs)
    eg = b.EGraph()
    eg.run_program(*eg.parse_program(schema_text() + "".join(f"(ruleset {p})\n" for p in PHASES)))
    eg.run_program(*eg.parse_program(analysis_text()))
    eg.run_program(*enc.commands)
    for name in enc.origin:     # a scalar class for every tensor, as the rules see it
        eg.run_program(*eg.parse_program(f"(let $probe_{name} (Ld {name}))"))
    eg.run_program(*eg.parse_program("(run-schedule (saturate (run core)))"))
    out = {}
    for name, v in enc.origin.items():
        s = f"$probe_{name}"
        out[v] = (_bound(eg, "Lo", name), _bound(eg, "Hi", name), _fact(eg, f"(Pos {s})"),
                  _fact(eg, f"(NonNeg {s})"), _fact(eg, f"(NonZero {s})"))
    return out


@st.composite
def expressions(draw):
    x, y = T.dvector("x"), T.dvector("y")
    pool = [x, y]
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["unary", "nnet", "binary", "binary", "const", "switch", "clip"]))
        a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        if kind == "unary":
            op = draw(st.sampled_from(_UNARY))
            v = -a if op == "neg" else getattr(T, op)(a)
        elif kind == "nnet":
            v = getattr(T.nnet, draw(st.sampled_from(_NNET)))(a)
        elif kind == "binary":
            v = getattr(T, draw(st.sampled_from(_BINARY)))(a, b)
        elif kind == "const":
            c = draw(st.sampled_from([0.0, 0.5, -1.0, 2.0, 1e-300, -3.25, 1e10]))
            v = draw(st.sampled_from([lambda: a + c, lambda: a * c, lambda: c - a, lambda: c / a]))()
        elif kind == "switch":
            v = T.switch(T.gt(a, 0.5), a, b)
        else:
            v = T.clip(a, -2.0, draw(st.sampled_from([3.0, 0.25])))
        pool.append(v)
    return [x, y], pool[2:]


_VALUES = st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 1.0, -1.0, 3.0, -7.5, 1e5, -1e5, 1e300,
                           -1e300, 700.0, -750.0, math.pi / 2, 1e-8])


@settings(max_examples=80, deadline=None)
@given(expressions(), st.lists(_VALUES, min_size=12, max_size=12),
       st.lists(st.floats(-20, 20), min_size=12, max_size=12))
def test_intervals_never_exclude_a_value(case, special, normal):
    inputs, nodes = case
    claims = ranges(nodes, inputs)
    xs = np.array(special[:6] + normal[:6])
    ys = np.array(special[6:] + normal[6:])
    f = egopt.function(inputs, nodes, mode="FAST_COMPILE", on_unused_input="ignore")
    with np.errstate(all="ignore"):
        values = f(xs, ys)
    for v, val in zip(nodes, values):
        lo, hi, pos, nonneg, _ = claims[v]
        val = np.asarray(val, dtype=np.float64)
        val = val[~np.isnan(val)]          # a NaN has no range
        if lo is not None:
            assert np.all(val >= lo), (v, lo, val)
        if hi is not None:
            assert np.all(val <= hi), (v, hi, val)
        if nonneg:
            assert np.all(val >= 0), (v, val)
        # strict facts hold for real numbers; a positive value may underflow to 0 in floats
        if pos:
            assert np.all(val >= 0), (v, val)
        # NonZero is a real-number fact (exp(-1e10 x) underflows to 0 in floats); where it
        # comes from Hi < 0 the Hi check above covers it, from Pos the sign check

def test_seeded_and_propagated_intervals():
    x = T.dvector("x")
    cases = {
        T.tanh(x) * 0.5 + 2: (1.5, 2.5),
        T.nnet.sigmoid(x) - 1: (-1.0, 0.0),
        T.sin(x) * T.cos(x): (-1.0, 1.0),
        abs(T.tanh(x)) + T.sqr(T.sin(x)): (0.0, 2.0),
        1 / (2 + T.sqr(x)): (0.0, 0.5),
        T.clip(x, -2.0, 3.0): (-2.0, 3.0),
        T.maximum(T.exp(x), 3.0): (3.0, None),
        -T.nnet.sigmoid(x): (-1.0, 0.0),
        T.log(1 + T.sqr(x)): (0.0, None),
        T.switch(T.gt(x, 0), T.tanh(x), 4.0): (-1.0, 4.0),
    }
    claims = ranges(list(cases), [x])
    for v, (lo, hi) in cases.items():
        got_lo, got_hi = claims[v][:2]
        assert got_lo is not None and math.isclose(got_lo, lo, abs_tol=1e-12) and got_lo <= lo, (v, got_lo, lo)
        if hi is None:
            assert got_hi is None, (v, got_hi)
        else:
            assert got_hi is not None and math.isclose(got_hi, hi, abs_tol=1e-12) and got_hi >= hi, (v, got_hi, hi)
    # signs derive from the interval (one analysis): Pos from strict seeds or Lo > 0
    pos = claims[list(cases)[6]]
    assert pos[2] and pos[3] and pos[4]
    neg = claims[list(cases)[7]]
    assert not neg[3] and neg[1] <= 0.0
    assert claims[x][0] is None and claims[x][1] is None      # an input: unbounded
