"""Theano's names for random streams (``T.shared_randomstreams.RandomStreams``, and
``MRG_RandomStreams`` from ``theano.sandbox.rng_mrg``): both are ``RandomStream``."""
from ..lang.random import MRG_RandomStreams, RandomStream, RandomStreams  # noqa: F401
