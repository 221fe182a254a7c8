"""PyTensor's ``pytensor.compile.debug.nanguardmode`` path."""
from ..nanguardmode import *  # noqa: F401,F403
from ...runtime import NanGuardMode  # noqa: F401
