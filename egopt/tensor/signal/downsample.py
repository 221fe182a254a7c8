"""``T.signal.downsample``: Theano's old name for pooling."""
from ...lang.pool import max_pool_2d  # noqa: F401
