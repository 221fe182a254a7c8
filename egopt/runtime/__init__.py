"""Compiled functions: the compile pipeline, modes and linkers. Imports every package below it."""
from ..lang import tensor_ops as _tensor_ops
from .function import Function, In, Out, function, eval_variable
from .mode import Mode, get_mode
from .debugmode import BadOptimization
from .kernel_check import BadKernel
from .nanguard import NanGuardError, NanGuardMode
from . import cuda as _cuda  # noqa: F401  (installs host<->GPU moves for shared variables; no cupy import)
from . import scan_exec as _scan_exec  # noqa: F401  (installs the loop runner of the scan op)

_tensor_ops.EVALUATOR = eval_variable

__all__ = ["Function", "In", "Out", "Mode", "function", "get_mode", "BadOptimization", "BadKernel", "NanGuardError",
           "NanGuardMode"]
