"""``from theano.sandbox.rng_mrg import MRG_RandomStreams`` (the tutorials' random streams):
the same ``RandomStream`` as ``egopt.tensor.random`` (re-export only)."""
from ..lang.random import MRG_RandomStreams, RandomStream  # noqa: F401
