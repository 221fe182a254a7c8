"""PyTensor's ``pytensor.graph.rewriting.utils.rewrite_graph``."""
from ..replace import rewrite_graph  # noqa: F401
