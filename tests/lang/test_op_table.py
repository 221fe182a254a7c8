"""Every op in the registry is run against an independent NumPy reference, with static types checked."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import egopt
from egopt.lang import REGISTRY
from tests.cases import all_cases, symbolic_like

CASES = all_cases()


def test_every_op_has_a_case():
    covered = {c.op for c in CASES} | {o for c in CASES for o in c.also_covers}
    missing = sorted(set(REGISTRY) - covered)
    assert not missing, f"ops without a test case in tests/cases/: {missing}"


def _tolerance(case, values):
    if case.rtol is not None:
        return case.rtol
    low = any(getattr(v, "dtype", None) == np.float32 for v in values)
    return 1e-4 if low else 1e-10


def run_case(case, values, mode="FAST_COMPILE"):
    syms = case.symbolic(values) if case.symbolic else [symbolic_like(v, f"in{i}") for i, v in enumerate(values)]
    out = case.build(*syms)
    f = egopt.function(syms, out, mode=mode, on_unused_input="ignore")
    got = f(*values)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # NumPy's "Degrees of freedom <= 0" (var, ddof=n)
        want = np.asarray(case.ref(*values))
    return out, got, want


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "FAST_RUN"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_op_against_numpy(case, mode):
    """Each op against NumPy, unoptimized and through the e-graph optimizer."""
    @settings(max_examples=25 if mode == "FAST_COMPILE" else 8, deadline=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.data())
    def check(data):
        values = [np.asarray(v) for v in case.gen(data.draw)]
        out, got, want = run_case(case, values, mode)
        assert got.shape == want.shape, f"shape {got.shape} != reference {want.shape}"
        assert out.type.ndim == got.ndim
        for s, g in zip(out.type.shape, got.shape):
            assert s is None or s == g, f"static shape {out.type.shape} contradicts run-time {got.shape}"
        assert got.dtype.name == out.type.dtype
        if want.dtype.kind in "fc":
            rtol = _tolerance(case, values)
            np.testing.assert_allclose(got, want.astype(got.dtype) if got.dtype.kind in "fc" else want,
                                       rtol=rtol, atol=rtol, equal_nan=True)
        else:
            np.testing.assert_array_equal(got, want)
    check()
