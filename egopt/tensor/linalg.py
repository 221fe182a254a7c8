"""PyTensor's ``pt.linalg``: the dense linear algebra of ``nlinalg`` and ``slinalg`` together."""
from .nlinalg import *  # noqa: F401,F403
from .nlinalg import inv  # noqa: F401
from .slinalg import *  # noqa: F401,F403
