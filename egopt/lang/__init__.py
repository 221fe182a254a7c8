"""The graph IR, the op table and the NumPy-like frontend. Imports nothing above itself."""
from . import frontend  # noqa: F401  (first: op modules import it back)
from . import fused  # noqa: F401  (fused_elemwise, fused_reduce, gemm: the optimizer's output ops)
from . import pyop  # noqa: F401  (python_op: the user's Python ops, theano.Op and as_op)
from . import linalg  # noqa: F401  (matrix_inverse, det, solve, cholesky, eigvalsh: NumPy performs, VJPs)
from . import fft  # noqa: F401  (rfft, irfft in Theano's layout)
from .errors import (DisconnectedInputError, EgoptError, EgoptTypeError, MissingField,  # noqa: F401
                     MissingInputError, OpRuntimeError, ShapeError, UnusedInputError)
from .graph import Apply, Constant, SourceLoc, Variable, ancestors, clone_replace, toposort  # noqa: F401
from .ops import REGISTRY, Op, get_op, register  # noqa: F401
from .types import TensorType  # noqa: F401
