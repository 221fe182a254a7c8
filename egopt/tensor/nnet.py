"""``T.nnet``: sigmoid, softplus, relu, softmax, log_softmax and the cross-entropies."""
from ..lang.nnet import *  # noqa: F401,F403
from ..lang.nnet import (binary_crossentropy, categorical_crossentropy, log_softmax, relu,  # noqa: F401
                         sigmoid, softmax, softplus)
