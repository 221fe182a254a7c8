"""PyTensor's ``pt.special`` path: ``softmax``, ``log_softmax``, ``logsumexp``; and the special
functions under their ``scipy.special`` names (``gammaln``, ``psi``/``digamma``, ``erfinv``,
``erfcinv``, ``erfcx``), re-exports only."""
from ..lang.frontend import digamma, erfcinv, erfcx, erfinv, gammaln, psi, tri_gamma  # noqa: F401
from ..lang.nnet import log_softmax, logsumexp, softmax  # noqa: F401
