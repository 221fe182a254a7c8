"""PyTensor's ``pytensor.compile.debug`` path: ``debugmode.DebugMode``, ``nanguardmode.NanGuardMode``."""
from . import debugmode, nanguardmode  # noqa: F401
