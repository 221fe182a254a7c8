"""log_erfc in float32 with the C linker: computed in double (the float overloads of erfc
underflow near x = 9.2, where log(erfc(x)) is only -87)."""
from __future__ import annotations

import mpmath
import numpy as np

import egopt
import egopt.tensor as T


def test_log_erfc_float32_tail():
    x = T.fvector("x")
    f = egopt.function([x], T.log_erfc(x))
    a = np.array([-3.0, 0.3, 5.0, 10.0, 20.0, 25.9, 40.0], dtype=np.float32)
    ref = np.array([float(mpmath.log(mpmath.erfc(mpmath.mpf(float(v))))) for v in a])
    got = f(a)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-7)
