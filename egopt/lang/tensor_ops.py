"""Python operators and methods of symbolic tensors, shared by variables and pattern variables.

Every method builds graph through the frontend (``egopt.lang.frontend``); nothing computes.
``==`` stays identity (variables are dict keys); use ``T.eq`` for elementwise equality.
"""
from __future__ import annotations

from typing import Any, Callable

EVALUATOR: Callable[..., Any] | None = None   # set by egopt.runtime: compiles for .eval()


def _F():
    from . import frontend
    return frontend


def _theano_like():
    from . import theano_like
    return theano_like


class TensorOps:
    __slots__ = ()
    # ``ndarray * variable`` builds a graph: NumPy's operators defer to ours (Theano's
    # __array_priority__); NumPy functions on variables (np.add(a, x)) raise a TypeError
    __array_ufunc__ = None

    # arithmetic
    def __add__(self, o): return _F().add(self, o)
    def __radd__(self, o): return _F().add(o, self)
    def __sub__(self, o): return _F().sub(self, o)
    def __rsub__(self, o): return _F().sub(o, self)
    def __mul__(self, o): return _F().mul(self, o)
    def __rmul__(self, o): return _F().mul(o, self)
    def __truediv__(self, o): return _F().true_div(self, o)
    def __rtruediv__(self, o): return _F().true_div(o, self)
    def __floordiv__(self, o): return _F().int_div(self, o)
    def __rfloordiv__(self, o): return _F().int_div(o, self)
    def __mod__(self, o): return _F().mod(self, o)
    def __rmod__(self, o): return _F().mod(o, self)
    def __pow__(self, o): return _F().pow(self, o)
    def __rpow__(self, o): return _F().pow(o, self)
    def __matmul__(self, o): return _F().matmul(self, o)
    def __rmatmul__(self, o): return _F().matmul(o, self)
    def __neg__(self): return _F().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _F().abs(self)

    # comparisons and logic (elementwise; == is identity, see module docstring)
    def __lt__(self, o): return _F().lt(self, o)
    def __le__(self, o): return _F().le(self, o)
    def __gt__(self, o): return _F().gt(self, o)
    def __ge__(self, o): return _F().ge(self, o)
    def __and__(self, o): return _F().and_(self, o)
    def __rand__(self, o): return _F().and_(o, self)
    def __or__(self, o): return _F().or_(self, o)
    def __ror__(self, o): return _F().or_(o, self)
    def __xor__(self, o): return _F().xor(self, o)
    def __rxor__(self, o): return _F().xor(o, self)
    def __invert__(self): return _F().invert(self)
    __hash__ = object.__hash__

    # indexing and shape
    def __getitem__(self, idx): return _F().getitem(self, idx)

    @property
    def T(self): return _F().transpose(self)

    @property
    def shape(self): return _F().shape(self)

    @property
    def size(self): return _F().prod(_F().shape(self))

    def reshape(self, *shape, ndim=None):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return _F().reshape(self, shape, ndim=ndim)

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = pattern[0]
        return _F().dimshuffle(self, pattern)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return _F().transpose(self, axes or None)

    def flatten(self, ndim=1): return _F().flatten(self, ndim)
    def squeeze(self): return _F().squeeze(self)
    def astype(self, dtype): return _F().cast(self, dtype)
    def set(self, y):
        """PyTensor's ``x[idx].set(y)``: ``T.set_subtensor(x[idx], y)``."""
        return _F().set_subtensor(self, y)

    def inc(self, y):
        """PyTensor's ``x[idx].inc(y)``: ``T.inc_subtensor(x[idx], y)``."""
        return _F().inc_subtensor(self, y)

    def __setitem__(self, key, value):
        raise TypeError(f"{self!r} does not support item assignment: graphs are immutable; use "
                        f"T.set_subtensor(x[idx], value) (or x[idx].set(value)) and use its result")

    def sort(self, axis=-1): return _F().sort(self, axis)
    def argsort(self, axis=-1): return _F().argsort(self, axis)
    def cumsum(self, axis=None): return _F().cumsum(self, axis)
    def cumprod(self, axis=None): return _F().cumprod(self, axis)

    @property
    def rng(self):
        """A random draw's generator state (Theano's ``rv.rng``: ``.get_value()`` gives an object
        with ``.seed(n)``, ``.get_state()``, ``.set_state(s)``; ``.set_value()`` puts it back)."""
        state = getattr(self.tag, "rng", None)
        if state is None:
            raise AttributeError(f"{self!r} is not a random draw: it has no rng")
        return state
    def dot(self, o): return _F().dot(self, o)
    def norm(self, L=2, axis=None): return _theano_like().norm(self, L, axis)
    def nonzero(self, return_matrix=False): return _theano_like().nonzero(self, return_matrix)
    def nonzero_values(self): return _theano_like().nonzero_values(self)
    def ravel(self): return _F().flatten(self, 1)

    def transfer(self, target):
        """Theano's ``x.transfer('cpu' | 'gpu' | 'dev0')``: ``x`` itself (egopt places a whole
        function on ``config.device``; values come back as NumPy arrays)."""
        return self

    def dprint(self, **kwargs):
        """PyTensor's ``x.dprint()``: ``debugprint(x)``."""
        from .printing import debugprint
        return debugprint(self, **kwargs)
    def round(self, mode=None): return _theano_like().round(self, mode)
    def clip(self, lo, hi): return _F().clip(self, lo, hi)
    def copy(self): return _F().identity(self)

    # reductions
    def sum(self, axis=None, keepdims=False, dtype=None, acc_dtype=None):
        return _F().sum(self, axis, keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False, dtype=None, acc_dtype=None):
        return _F().prod(self, axis, keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False, dtype=None, acc_dtype=None): return _F().mean(self, axis, keepdims, dtype)
    def max(self, axis=None, keepdims=False): return _F().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _F().min(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return _F().var(self, axis, keepdims, ddof=ddof)
    def std(self, axis=None, keepdims=False, ddof=0): return _F().std(self, axis, keepdims, ddof=ddof)
    def argmax(self, axis=None, keepdims=False): return _F().argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return _F().argmin(self, axis, keepdims)
    def all(self, axis=None, keepdims=False): return _F().all(self, axis, keepdims)
    def any(self, axis=None, keepdims=False): return _F().any(self, axis, keepdims)

    def eval(self, inputs_to_values: dict | None = None):
        """Compute this variable's value: ``(x + 1).eval({x: 2.0})``."""
        if EVALUATOR is None:
            raise RuntimeError("eval() needs the runtime: import egopt first")
        return EVALUATOR(self, inputs_to_values or {})
