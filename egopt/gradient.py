"""``egopt.gradient`` (Theano's ``theano.gradient``): grad, Lop, Rop, jacobian, hessian, verify_grad."""
from .grad import Lop, Rop, grad, hessian, jacobian, verify_grad  # noqa: F401
