"""PyTensor's ``pytensor.graph`` path: graph variables, traversal and replacement."""
from ..lang.graph import Constant, Variable, ancestors, graph_inputs, toposort  # noqa: F401
from ..lang.pyop import Apply, Op  # noqa: F401
from .replace import clone_replace, graph_replace, rewrite_graph  # noqa: F401
from . import basic, op, replace  # noqa: F401
