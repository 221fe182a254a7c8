"""PyTensor's ``pytensor.graph.basic`` path."""
from ..lang.graph import Constant, Variable, ancestors, graph_inputs, toposort  # noqa: F401
from ..lang.pyop import Apply  # noqa: F401  (make_node returns it)
from .replace import clone_replace  # noqa: F401

inputs = graph_inputs          # Theano's gof.graph.inputs
def io_toposort(inputs, outputs):
    """The apply nodes between ``inputs`` and ``outputs``, in an order that computes each after its inputs."""
    return toposort(outputs, stop=inputs)
