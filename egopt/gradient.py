"""``egopt.gradient`` (Theano's ``theano.gradient``): grad, Lop, Rop, jacobian, hessian, verify_grad,
and the gradient controls ``zero_grad``, ``disconnected_grad``, ``grad_clip``."""
from .grad import Lop, Rop, grad, hessian, jacobian, verify_grad  # noqa: F401
from .lang.errors import EgoptError as _EgoptError
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


def pullback(f, wrt, eval_points=None, cotangents=None, **kwargs):
    """PyTensor's name for ``Lop``: the vector-Jacobian product ``cotangents^T J``."""
    return Lop(f, wrt, cotangents if eval_points is None else eval_points, **kwargs)


def pushforward(f, wrt, eval_points=None, tangents=None, **kwargs):
    """PyTensor's name for ``Rop``: the Jacobian-vector product ``J tangents``
    (``use_op_pushforward`` is accepted: egopt has one way to compute it)."""
    kwargs.pop("use_op_pushforward", None)
    return Rop(f, wrt, tangents if eval_points is None else eval_points, **kwargs)


def hessian_vector_product(cost, wrt, p):
    """``H p`` for the Hessian of the scalar ``cost`` (PyTensor's): the gradient of ``grad(cost) . p``."""
    single = not isinstance(wrt, (list, tuple))
    ws, ps = ([wrt], [p]) if single else (list(wrt), list(p))
    gs = grad(cost, ws)
    dot = sum((_F.sum(g * v) for g, v in zip(gs, ps)), _F.constant(0.0))
    out = grad(dot, ws)
    return out[0] if single else out


def grad_not_implemented(op, x_pos, x, comment: str = ""):
    """Theano's marker for a gradient an op does not define: raises when the gradient is built."""
    raise _EgoptError(f"{op}: the gradient with respect to input {x_pos} is not implemented. {comment}")


grad_undefined = grad_not_implemented


class DisconnectedType:
    """Theano's type of a gradient that does not exist. egopt gives an op's ``grad`` zeros for the
    outputs a cost does not read (never this type), so ``isinstance(g.type, DisconnectedType)``
    is always False."""
