"""``from theano.compile.io import In, Out`` (re-export only)."""
from ..runtime import In, Out  # noqa: F401
