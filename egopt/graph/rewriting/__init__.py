"""PyTensor's ``pytensor.graph.rewriting`` path: ``utils.rewrite_graph`` (egopt's rewrites are the
e-graph rule library; PyTensor's node rewriters and databases do not exist here)."""
from . import utils  # noqa: F401
