"""``T.nnet``: sigmoid, softplus, relu, softmax, log_softmax, the cross-entropies and conv2d."""
from ..lang.nnet import *  # noqa: F401,F403
from ..lang.nnet import (binary_crossentropy, categorical_crossentropy, log_softmax, relu,  # noqa: F401
                         sigmoid, softmax, softplus)
from ..lang.conv import conv2d  # noqa: F401
from . import conv  # noqa: F401
