"""Theano's ``theano.tensor.nnet.nnet`` path (``from theano.tensor.nnet.nnet import softmax``)."""
from . import *  # noqa: F401,F403
from . import log_softmax, logsoftmax, softmax  # noqa: F401
