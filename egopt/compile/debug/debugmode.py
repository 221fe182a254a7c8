"""PyTensor's ``pytensor.compile.debug.debugmode`` path."""
from ..debugmode import BadOptimization, DebugMode  # noqa: F401
