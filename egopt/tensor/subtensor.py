"""PyTensor's ``pytensor.tensor.subtensor`` path."""
from ..lang.frontend import inc_subtensor, set_subtensor, take  # noqa: F401
