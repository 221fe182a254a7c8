"""``T.signal``: pooling (``T.signal.pool.pool_2d``) and the old ``downsample.max_pool_2d``."""
from . import downsample, pool  # noqa: F401
