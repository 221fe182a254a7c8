"""PyTensor's ``pytensor.tensor.random.utils`` path: ``RandomStream``."""
from ...lang.random import RandomStream  # noqa: F401
