"""Theano's ``T.nnet.neighbours``: ``images2neibs`` and ``neibs2images`` (advanced indexing and
reshapes; gradients through them)."""
from ...lang.theano_like import images2neibs, neibs2images  # noqa: F401
