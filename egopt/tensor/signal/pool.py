"""``T.signal.pool``: Theano's pooling module."""
from ...lang.pool import max_pool_2d, pool_2d  # noqa: F401
