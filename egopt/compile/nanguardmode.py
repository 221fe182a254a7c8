"""``from theano.compile.nanguardmode import NanGuardMode`` (re-export only)."""
from ..runtime import NanGuardError, NanGuardMode  # noqa: F401
