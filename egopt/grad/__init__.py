"""Graph-to-graph differentiation: grad / Lop (reverse), Rop (forward), jacobian, hessian,
and verify_grad (finite-difference checks)."""
from __future__ import annotations

from .derived import hessian, jacobian
from .forward import Rop
from .reverse import Lop, grad
from . import scan_grad  # noqa: F401  (installs the VJP of the scan op)
from .verify import GradientError, check_grads, verify_grad

__all__ = ["grad", "Lop", "Rop", "jacobian", "hessian", "verify_grad", "check_grads", "GradientError"]
