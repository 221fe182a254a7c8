"""``egopt.tensor.random``: ``RandomStream(seed)`` with normal, uniform, binomial, choice, permutation."""
from ..lang.random import MRG_RandomStreams, RandomStream, RandomStreams  # noqa: F401
