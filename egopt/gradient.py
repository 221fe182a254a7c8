"""``egopt.gradient`` (Theano's ``theano.gradient``): grad, Lop, Rop, jacobian, hessian, verify_grad,
and the gradient controls ``zero_grad``, ``disconnected_grad``, ``grad_clip``."""
from .grad import Lop, Rop, grad, hessian, jacobian, verify_grad  # noqa: F401
from .lang import frontend as _F
from .lang.errors import DisconnectedInputError  # noqa: F401
from .lang.ops import get_op as _get_op


def zero_grad(x):
    """``x`` itself, whose gradient is zero (the graph below ``x`` gets no gradient through it)."""
    return _get_op("zero_grad")(_F.as_tensor_variable(x))


def disconnected_grad(x):
    """``x`` itself, seen by ``grad`` as disconnected from what it is computed from (as a
    constant: a gradient with respect to a variable reached only through it raises
    ``DisconnectedInputError`` unless ``disconnected_inputs`` says otherwise)."""
    return _get_op("disconnected_grad")(_F.as_tensor_variable(x))


def grad_clip(x, lower_bound: float, upper_bound: float):
    """``x`` itself, whose incoming gradient is clipped to ``[lower_bound, upper_bound]``."""
    if not lower_bound <= upper_bound:
        raise ValueError(f"grad_clip: lower_bound {lower_bound} is above upper_bound {upper_bound}")
    return _get_op("grad_clip")(_F.as_tensor_variable(x), lower=float(lower_bound), upper=float(upper_bound))
