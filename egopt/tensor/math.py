"""Theano's PyTensor's ``pytensor.tensor.math`` path: the
names of ``egopt.tensor`` (re-exports only)."""
from . import *  # noqa: F401,F403
from . import abs, all, any, max, min, pow, round, sum  # noqa: F401
