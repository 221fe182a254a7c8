"""Theano's ``theano.tensor.nnet.sigm`` path (``from theano.tensor.nnet.sigm import sigmoid``)."""
from . import *  # noqa: F401,F403
from . import log_softmax, logsoftmax, softmax  # noqa: F401
