"""Theano's ``theano.compile`` paths (``theano.compile.nanguardmode.NanGuardMode``,
``theano.compile.io.In``, ``theano.compile.function``): re-exports of ``egopt.runtime``."""
from ..runtime import Function, In, Mode, NanGuardMode, Out, function, get_mode  # noqa: F401
from ..runtime.mode import get_default_mode  # noqa: F401
from ..lang.shared import SharedVariable, shared  # noqa: F401
from . import io, nanguardmode, mode, ops, builders, sharedvalue, debugmode  # noqa: F401
from .builders import OpFromGraph  # noqa: F401
from .debugmode import DebugMode  # noqa: F401
from .ops import as_op  # noqa: F401
from ..runtime.monitor import MonitorMode  # noqa: F401  (theano.compile.MonitorMode)
from . import monitormode  # noqa: F401
