"""PyTensor's ``pt.special`` path: ``softmax``, ``log_softmax``, ``logsumexp`` (re-exports only)."""
from ..lang.nnet import log_softmax, logsumexp, softmax  # noqa: F401
