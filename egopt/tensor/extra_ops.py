"""Theano's ``T.extra_ops`` path: ``cumsum``, ``cumprod``, ``repeat`` (re-exports only)."""
from ..lang.frontend import cumprod, cumsum, repeat  # noqa: F401
