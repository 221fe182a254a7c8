"""Theano's ``T.nnet.bn``: ``batch_normalization``, ``batch_normalization_train`` and
``batch_normalization_test`` (compositions of elementwise ops and reductions)."""
from ...lang.theano_like import (batch_normalization, batch_normalization_test,  # noqa: F401
                                 batch_normalization_train)
