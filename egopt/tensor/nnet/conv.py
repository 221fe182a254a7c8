"""``T.nnet.conv``: Theano's older convolution module (``T.nnet.conv.conv2d``)."""
from ...lang.conv import conv2d  # noqa: F401
