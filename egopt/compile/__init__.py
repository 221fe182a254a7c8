"""Theano's ``theano.compile`` paths (``theano.compile.nanguardmode.NanGuardMode``,
``theano.compile.io.In``, ``theano.compile.function``): re-exports of ``egopt.runtime``."""
from ..runtime import Function, In, Mode, NanGuardMode, Out, function, get_mode  # noqa: F401
from . import io, nanguardmode  # noqa: F401
