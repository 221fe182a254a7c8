"""A device without a backend is a clear error, not a silent CPU run."""
import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.runtime.backends import BackendUnavailableError


def test_cuda_device_without_a_cuda_backend_is_an_error():
    x = T.dvector("x")
    with egopt.config.change_flags(device="cuda"):
        with pytest.raises(BackendUnavailableError, match="no CUDA backend.*device='cpu'"):
            egopt.function([x], x + 1)
    with pytest.raises(BackendUnavailableError, match="linker='cuda'"):
        egopt.function([x], x + 1, mode=egopt.Mode(linker="cuda"))
    np.testing.assert_allclose(egopt.function([x], x + 1)([1.0]), [2.0])    # cpu still works
