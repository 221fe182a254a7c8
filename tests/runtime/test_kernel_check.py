"""DebugMode also runs the optimized graph on the C linker and compares every kernel's outputs
with the NumPy run of the same graph: a faulty kernel is reported as a kernel bug (BadKernel,
naming the kernel, its ops and the user's line), not as a rewrite bug."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.render_c import CRenderer
from egopt.runtime import schedule

pytestmark = pytest.mark.skipif(not schedule.c_available(), reason="needs a C compiler")


def test_debugmode_passes_when_the_kernels_agree():
    a, b = T.dvectors("a", "b")
    f = egopt.function([a, b], T.tanh(a * b) + T.exp(a), mode="DebugMode")
    av, bv = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5])
    np.testing.assert_allclose(f(av, bv), np.tanh(av * bv) + np.exp(av), rtol=1e-12)
    assert f._checked._cprog is not None and f._checked._cprog.kernel_count >= 1


def test_debugmode_names_a_faulty_kernel(monkeypatch):
    right = CRenderer.template

    def wrong(self, call):             # tanh's C template off by a factor of 1.5
        t = right(self, call)
        return f"(1.5 * {t})" if call.op == "tanh" else t

    monkeypatch.setattr(CRenderer, "template", wrong)
    monkeypatch.setattr(schedule, "_LOADED", {})        # compile the kernels anew, with the fault
    a, b = T.dvectors("a", "b")
    out = T.tanh(a * b) + T.exp(a)
    f = egopt.function([a, b], out, mode="DebugMode")
    with pytest.raises(egopt.BadKernel) as e:
        f(np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5]))
    assert not isinstance(e.value, egopt.BadOptimization)
    assert "tanh" in e.value.ops and e.value.kernel
    msg = str(e.value)
    assert "code generation bug" in msg and "test_kernel_check.py" in msg and e.value.kernel in msg
