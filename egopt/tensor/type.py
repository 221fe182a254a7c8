"""PyTensor's ``pytensor.tensor.type`` path: ``TensorType`` and the variable constructors."""
from ..lang.types import TensorType  # noqa: F401
from ..lang.frontend import *  # noqa: F401,F403
from ..lang.frontend import tensor  # noqa: F401
