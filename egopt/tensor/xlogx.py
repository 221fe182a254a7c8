"""Theano's ``T.xlogx`` module: ``xlogx(x)`` and ``xlogy0(x, y)``, 0 where ``x == 0``."""
from ..lang.theano_like import xlogx, xlogy0  # noqa: F401
