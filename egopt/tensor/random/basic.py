"""PyTensor's ``pytensor.tensor.random.basic`` path: the module-level draws."""
from . import bernoulli, binomial, choice, integers, normal, permutation, uniform  # noqa: F401
