"""Theano's ``T.extra_ops`` path: ``cumsum``, ``cumprod``, ``repeat``, ``fill_diagonal``,
``to_one_hot``, ``bincount``, ``diff``, ``squeeze``, ``unique``/``Unique`` (re-exports only)."""
from ..lang.frontend import cumprod, cumsum, repeat, squeeze  # noqa: F401
from ..lang.numpy_like import diff  # noqa: F401
from ..lang.theano_like import bincount, fill_diagonal, to_one_hot  # noqa: F401
from ..lang.sorting import Unique, unique  # noqa: F401
