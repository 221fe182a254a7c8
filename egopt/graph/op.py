"""PyTensor's ``pytensor.graph.op`` path: ``Op``, the base class of a user's Python op."""
from ..lang.pyop import Op  # noqa: F401
