"""Theano's ``T.nnet.bn``: ``batch_normalization`` (a composition of elementwise ops)."""
from ...lang.theano_like import batch_normalization  # noqa: F401
