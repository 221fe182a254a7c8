"""Every differentiable op's VJP against finite differences, over the op-table cases.

For each case with ``grad=True`` (and the piecewise-smooth ops listed in ``KINKS`` whose cases
say ``grad=False`` only because of their kinks), Hypothesis draws input values, the case's
graph is built, and:
- ``check_grads`` (the engine of ``verify_grad``) compares the reverse-mode gradient of a
  random projection of the output with central differences, element by element;
- ``Rop`` along a random direction is compared with central differences of the whole output.

Draws too near a point where the function is not differentiable are skipped, by a rule per
op: every node of the built graph whose op is in ``KINKS`` is evaluated at the drawn values
and must be at least ``margin`` away from its kinks (``margin`` is 10x the finite-difference
step of the dtype, so the step never crosses one).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import egopt
import egopt.tensor as T
from egopt.grad import GradientError, Rop, check_grads
from egopt.grad.verify import EPS, TOL
from egopt.lang import REGISTRY, TensorType, dtypes, toposort
from egopt.lang.errors import MissingField
from egopt.lang.ops import Op, get_op
from tests.cases import all_cases, array, shape, symbolic_like

SLOW = os.environ.get("EGOPT_HYPOTHESIS_PROFILE") == "slow"
MODE = "FAST_COMPILE"


def _frac_dist(r):
    return np.abs(r - np.round(r))


def _top_gap(params, x, sign=1.0):
    """Per reduced group, the gap between the extreme and the next value (0 for ties)."""
    axis = params["axis"]
    if x.size == 0 or not axis:
        return np.inf
    rest = [i for i in range(x.ndim) if i not in axis]
    flat = np.transpose(sign * x, rest + list(axis)).reshape([x.shape[i] for i in rest] + [-1])
    if flat.shape[-1] < 2:
        return np.inf
    top2 = -np.sort(-flat, axis=-1)[..., :2]
    return top2[..., 0] - top2[..., 1]


def _sort_gap(params, x):
    """The smallest gap between neighbours after sorting along the axis (0 for ties)."""
    s = np.sort(x, axis=params["axis"])
    s = s.reshape(-1) if params["axis"] is None else s
    d = np.diff(s, axis=-1 if params["axis"] is None else params["axis"])
    return np.abs(d) if d.size else np.inf


# op -> distance of its inputs to the points where it is not differentiable: (params, *inputs)
KINKS = {
    "maximum": lambda p, x, y: np.abs(x - y),
    "minimum": lambda p, x, y: np.abs(x - y),
    "clip": lambda p, x, lo, hi: np.minimum(np.abs(x - lo), np.abs(x - hi)),
    "abs": lambda p, x: np.abs(x),
    "sgn": lambda p, x: np.abs(x),
    "sqrt": lambda p, x: np.abs(x),                             # sqrt'(0) is infinite
    "floor": lambda p, x: _frac_dist(x),                        # jumps at integers
    "ceil": lambda p, x: _frac_dist(x),
    "round": lambda p, x: _frac_dist(x - 0.5),                  # jumps at half-integers
    "mod": lambda p, x, y: _frac_dist(x / y) * np.abs(y),       # jumps where x/y is an integer
    "int_div": lambda p, x, y: _frac_dist(x / y) * np.abs(y),
    "max": lambda p, x: _top_gap(p, x),                         # ties at the maximum
    "min": lambda p, x: _top_gap(p, x, -1.0),
    "sort": _sort_gap,                                          # ties swap places
}
GRAD_CASES = [c for c in all_cases() if c.grad or (c.op in KINKS and c.label != "int")]


def _wrt(case, values) -> list[int]:
    if case.grad_wrt is not None:
        return list(case.grad_wrt)
    return [i for i, v in enumerate(values) if v.dtype.name in dtypes.FLOATS]


def _draw(case, data):
    """Values, symbolic inputs, output and the inputs to differentiate, for one draw."""
    values = [np.asarray(v) for v in case.gen(data.draw)]
    syms = case.symbolic(values) if case.symbolic else [symbolic_like(v, f"in{i}") for i, v in enumerate(values)]
    out = case.build(*syms)
    wrt = _wrt(case, values)
    assume(wrt and dtypes.is_float(out.dtype))
    assume(all(values[i].size for i in wrt))                   # nothing to differentiate
    low = "float32" if any(values[i].dtype == np.float32 for i in wrt) or out.dtype == "float32" else "float64"
    assume(_kink_distance(syms, out, values) > 10 * EPS[low])
    return values, syms, out, wrt, low


def _kink_distance(syms, out, values) -> float:
    """How far the draw is from the kinks of the graph's ops (0 where the output is not finite)."""
    nodes = [n for n in toposort([out]) if n.op.name in KINKS]
    ins = [v for n in nodes for v in n.inputs]
    f = egopt.function(syms, [out] + ins, mode=MODE, on_unused_input="ignore")
    got = iter(f(*values))
    if not np.all(np.isfinite(next(got))):                     # e.g. var(ddof=1) of one element
        return 0.0
    dist = np.inf
    for n in nodes:
        args = [np.asarray(next(got), np.float64) for _ in n.inputs]
        with np.errstate(all="ignore"):
            d = np.asarray(KINKS[n.op.name](n.params, *args), np.float64)
        dist = min(dist, float(np.min(d)) if d.size else np.inf)
    return dist


def _settings(n):
    return settings(max_examples=200 if SLOW else n, deadline=None, derandomize=not SLOW,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_vjp_against_finite_differences(case):
    @_settings(8)
    @given(st.data())
    def check(data):
        values, syms, out, wrt, _ = _draw(case, data)
        check_grads(syms, out, values, wrt=wrt, n_tests=1, rng=np.random.default_rng(1), mode=MODE)
    check()


def rop_check(syms, out, values, wrt, low, rng):
    """Rop(out, wrt, v) against (f(x + eps v) - f(x - eps v)) / 2 eps, v random."""
    eps, tol = EPS[low], TOL[low]
    vs = [s.clone() for s in (syms[i] for i in wrt)]
    jv = Rop(out, [syms[i] for i in wrt], vs)
    f = egopt.function(syms, out, mode=MODE, on_unused_input="ignore")
    fj = egopt.function(syms + vs, jv, mode=MODE, on_unused_input="ignore")
    plus, minus, steps = list(values), list(values), []
    for i in wrt:
        d = rng.standard_normal(values[i].shape)
        plus[i] = (values[i] + eps * d).astype(values[i].dtype)
        minus[i] = (values[i] - eps * d).astype(values[i].dtype)
        steps.append(((plus[i].astype(np.float64) - minus[i]) / (2 * eps)).astype(values[i].dtype))
    numeric = (np.asarray(f(*plus), np.float64) - f(*minus)) / (2 * eps)
    analytic = np.asarray(fj(*values, *steps), np.float64)     # J times the step actually taken
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_rop_against_finite_differences(case):
    @_settings(5)
    @given(st.data())
    def check(data):
        values, syms, out, wrt, low = _draw(case, data)
        rop_check(syms, out, values, wrt, low, np.random.default_rng(2))
    check()


# ---- the checks catch wrong and missing rules ------------------------------------------------------------

def _fake_exp(vjp):
    exp = get_op("exp")     # exp's type rule and NumPy reference, another gradient; not registered
    return Op("fake_exp", exp.infer, exp.perform, vjp, kind="elemwise", nin=1,
              defined_in="tests/grad/test_op_grads.py")


@pytest.mark.parametrize("vjp", [
    lambda node, g, off: [g],                                      # d exp = 1: wrong
    lambda node, g, off: [g * node.outputs[0] * off],              # off by 1% (float32: 10%)
    lambda node, g, off: [g * T.exp(T.sum(node.inputs[0]))],       # right only for one element
], ids=["wrong", "slightly-off", "mixes-elements"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_wrong_vjps_fail(vjp, dtype):
    off = 1.01 if dtype == "float64" else 1.1                      # float32 tolerances are 1e-2
    op = _fake_exp(lambda node, g: vjp(node, g, off))
    x = T.tensor(dtype, shape=(None,), name="x")
    values = [np.array([0.3, -1.2, 2.0], dtype)]
    with pytest.raises(GradientError, match="analytic"):
        check_grads([x], op(x), values, mode=MODE)
    with pytest.raises(AssertionError):
        rop_check([x], op(x), values, [0], dtype, np.random.default_rng(0))


def test_right_vjp_of_the_fake_passes():
    op = _fake_exp(lambda node, g: [g * node.outputs[0]])
    x = T.dvector("x")
    check_grads([x], op(x), [np.array([0.3, -1.2, 2.0])], mode=MODE)
    rop_check([x], op(x), [np.array([0.3, -1.2, 2.0])], [0], "float64", np.random.default_rng(0))


def test_missing_vjp_names_the_op_and_the_file():
    x = T.dvector("x")
    y = _fake_exp(None)(x)
    with pytest.raises(MissingField, match=r"fake_exp.*tests/grad/test_op_grads.py"):
        T.grad(y.sum(), x)


def _float_to_float(op) -> bool:
    """Whether an elementwise op or reduction maps float inputs to a float output."""
    params = {"axis": (0,), "keepdims": False} if op.kind == "reduce" else {}
    try:
        t = op.infer(params, *[TensorType("float64", (None,))] * (op.nin or 1))
    except Exception:
        return False
    return dtypes.is_float((t if isinstance(t, TensorType) else t[0]).dtype)


# ops whose VJP is not the derivative on purpose (theano.gradient's controls; their gradients
# are checked against their definitions in tests/grad/test_grad.py)
NOT_DERIVATIVES = {"zero_grad", "disconnected_grad"}
# ops with no VJP on purpose (tri_gamma: its derivative, tetragamma, is not an op; grad through it
# raises, tests/lang/test_special_functions.py)
NO_VJP = {"tri_gamma"}


def test_every_differentiable_op_is_checked():
    """Each elementwise op and reduction from floats to floats is in a gradient-checked case."""
    assert all(REGISTRY[n].vjp is None for n in NO_VJP)
    covered = {c.op for c in GRAD_CASES} | {o for c in GRAD_CASES for o in c.also_covers} | NOT_DERIVATIVES | NO_VJP
    missing = sorted(n for n, op in REGISTRY.items()
                     if op.kind in ("elemwise", "reduce") and _float_to_float(op) and n not in covered)
    assert not missing, f"differentiable ops without a gradient-checked case: {missing}"


def test_gradient_error_reports_the_worst_element():
    op = _fake_exp(lambda node, g: [g * node.outputs[0] * T.constant([1.0, 1.0, 1.5])])
    x = T.dvector("x")
    with pytest.raises(GradientError) as e:
        check_grads([x], op(x), [np.array([0.1, 0.2, 0.3])], mode=MODE)
    assert e.value.err_pos == (2,) and e.value.arg == 0
    assert "element (2,)" in str(e.value)


def test_kink_rule_skips_ties():
    x = T.dmatrix("x")
    out = T.max(x, axis=1)
    assert _kink_distance([x], out, [np.array([[1.0, 1.0], [0.0, 2.0]])]) == 0
    assert _kink_distance([x], out, [np.array([[1.0, 0.5], [0.0, 2.0]])]) == 0.5


@given(st.data())
@_settings(10)
def test_verify_grad_public_signature(data):
    """verify_grad(fun, pt) on a composite of several ops, float64 and float32."""
    dt = data.draw(st.sampled_from(["float64", "float32"]))
    shp = shape(data.draw, ndim=2, min_side=1)
    a, b = array(data.draw, shp, dt, -2, 2), array(data.draw, shp[1:], dt, 0.5, 2)
    from egopt.gradient import verify_grad
    verify_grad(lambda x, y: T.tanh(x * y + T.exp(-x)).sum(axis=0) / y, [a, b],
                rng=np.random.default_rng(0), mode=MODE)


@pytest.mark.slow   # e-graph compiles for every draw: make test-slow
@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_vjp_through_the_optimizer(case):
    """The same check with the gradient graph optimized by the e-graph (FAST_RUN)."""
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data):
        values, syms, out, wrt, _ = _draw(case, data)
        check_grads(syms, out, values, wrt=wrt, n_tests=1, rng=np.random.default_rng(1), mode="FAST_RUN")
    check()
