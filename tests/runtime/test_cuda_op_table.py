"""Every op-table case (tests/cases/) compiled with ``device="cuda"`` against its NumPy reference,
on the fake cupy (kernels run by the CPU emulator): one g++ build per distinct module, so it is
slow (minutes) and runs under ``make test-slow``. Ops that run on the host say so with a
``HostFallbackWarning``; the list of them is checked so that a regression is visible."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import egopt
from egopt.runtime import cuda
from egopt.runtime.cuda_program import HostFallbackWarning
from tests import fake_cupy
from tests.cases import all_cases
from tests.lang.test_op_table import _tolerance, run_case

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("g++") is None, reason="the fake cupy compiles kernels with g++")]
CASES = all_cases()
# ops with neither a CUDA kernel nor a CuPy implementation yet (docs/gpu.md)
ON_THE_HOST = {"nonzero", "pool_2d", "pool_2d_grad", "pool_2d_grad_grad", "print", "repeat", "scan",
               "random_binomial", "random_choice", "random_next_key", "random_permutation",
               "random_standard_normal", "random_uniform01"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_op_case_on_the_device(case, monkeypatch):
    fake_cupy.install(monkeypatch)
    cuda._module.cache_clear()

    @settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(st.data())
    def check(data):
        values = [np.asarray(v) for v in case.gen(data.draw)]
        with egopt.config.change_flags(device="cuda"), warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always", HostFallbackWarning)
            out, got, want = run_case(case, values, "FAST_COMPILE")
        hosted = {str(w.message).split()[1].rstrip(",") for w in record if issubclass(w.category, HostFallbackWarning)}
        assert hosted <= ON_THE_HOST, f"unexpected host fallback: {hosted - ON_THE_HOST}"
        assert type(got) is np.ndarray and got.shape == want.shape and got.dtype.name == out.type.dtype
        if want.dtype.kind in "fc":
            r = _tolerance(case, values)
            np.testing.assert_allclose(got, want.astype(got.dtype) if got.dtype.kind in "fc" else want,
                                       rtol=r, atol=r, equal_nan=True)
        else:
            np.testing.assert_array_equal(got, want)
    check()
