"""``T.signal``: pooling (``T.signal.pool.pool_2d``), the old ``downsample.max_pool_2d``, and
``conv.conv2d`` of images without channels."""
from . import conv, downsample, pool  # noqa: F401
