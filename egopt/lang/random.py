"""Random streams (``egopt.tensor.random.RandomStream``): draws whose state lives in shared variables.

Every draw is a pure function of a *key*: the ops run NumPy's counter-based Philox generator
keyed by a ``uint64[2]`` array, so the same key always gives the same numbers. Each call of a
stream method makes a fresh shared variable holding a new key (derived from the stream's seed
in call order), and gives it a ``default_update`` that replaces the key by its successor
(``random_next_key``). Hence:

- two draws never merge in the optimizer, however alike they look: each reads its own key,
  which the e-graph sees as a distinct leaf;
- a draw cannot move across an update: a function computes every output and update from the
  keys as they were at the call, and stores the new keys afterwards;
- a function (or, later, a scan body) that returns the update pairs advances the stream, and
  the stream is reproducible from its seed (``RandomStream(seed)`` or ``.seed(s)``).

``normal`` and ``uniform`` are affine maps of standard draws, so gradients flow to their
location and scale (the reparameterisation); the draws themselves have no gradient.
"""
from __future__ import annotations

import numpy as np

from .. import config
from . import dtypes
from . import frontend as F
from .graph import Variable
from .ops import Op, register
from .shared import SharedVariable
from .types import TensorType

_DEFINED = "egopt/lang/random.py"
DEFAULT_SEED = 12345       # MRG_RandomStreams' default: a stream without a seed is reproducible too
KEY_TYPE = TensorType("uint64", (2,))


def generator(key: np.ndarray) -> np.random.Generator:
    """The NumPy generator a key stands for (Philox, counter 0)."""
    return np.random.Generator(np.random.Philox(key=np.asarray(key, dtype=np.uint64)))


def next_key(key: np.ndarray) -> np.ndarray:
    """The successor of a key: a hash of it (independent of the numbers the key draws)."""
    return np.random.SeedSequence([int(k) for k in np.asarray(key, dtype=np.uint64)],
                                  spawn_key=(1,)).generate_state(2, np.uint64)


def _check_key(t: TensorType) -> None:
    if t.dtype != "uint64" or t.ndim != 1 or t.shape[0] not in (None, 2):
        raise TypeError(f"a random key is a uint64 vector of length 2, got {t}")


def _check_size(t: TensorType) -> None:
    if t.ndim != 1 or not dtypes.is_int(t.dtype):
        raise TypeError(f"a draw's size is an integer vector, got {t}")


def _size(v) -> tuple[int, ...]:
    return tuple(int(s) for s in np.asarray(v).ravel())


# ---- the ops: (key, size, params...) -> draw ---------------------------------------------------------------

def _draw_infer(dtype_of):
    def infer(params, key: TensorType, size: TensorType, *args: TensorType):
        _check_key(key)
        _check_size(size)
        n = size.shape[0]
        shape = params["shape"]
        if n is not None and len(shape) != n:
            raise ValueError(f"size has {n} entries but the static shape {shape} has {len(shape)}")
        return TensorType(dtype_of(params, *args), shape)
    return infer


def _param_dtype(params, *args):
    return params["dtype"]


def _draw_op(name: str, perform, infer=None, nin: int | None = 2) -> Op:
    return register(Op(name, infer or _draw_infer(_param_dtype), perform,
                       lambda node, g: [None] * len(node.inputs), kind="random", nin=nin, flops=20,
                       grad_inputs=(), defined_in=_DEFINED))


standard_normal_op = _draw_op("random_standard_normal",
                              lambda p, key, size: generator(key).standard_normal(_size(size)))
uniform01_op = _draw_op("random_uniform01", lambda p, key, size: generator(key).random(_size(size)))
binomial_op = _draw_op("random_binomial",
                       lambda p, key, size, n, prob: generator(key).binomial(n, prob, _size(size)), nin=4)


def _choice_perform(params, key, size, a, *p):
    pool = int(a) if np.ndim(a) == 0 else a
    return generator(key).choice(pool, _size(size), replace=params["replace"], p=p[0] if p else None)


def _choice_dtype(params, a: TensorType, *p: TensorType):
    if a.ndim > 1:
        raise ValueError(f"choice draws from an integer (a range) or a vector, got {a}")
    if p and p[0].ndim != 1:
        raise ValueError(f"choice's p must be a vector of probabilities, got {p[0]}")
    return "int64" if a.ndim == 0 else a.dtype


choice_op = _draw_op("random_choice", _choice_perform, _draw_infer(_choice_dtype), nin=None)


def _permutation_infer(params, key: TensorType, n: TensorType):
    _check_key(key)
    if n.ndim != 0 or not dtypes.is_int(n.dtype):
        raise TypeError(f"permutation's n is an integer scalar, got {n}")
    return TensorType("int64", (params["length"],))


permutation_op = register(Op("random_permutation", _permutation_infer,
                             lambda p, key, n: generator(key).permutation(int(n)),
                             lambda node, g: [None, None], kind="random", nin=2, flops=20, grad_inputs=(),
                             defined_in=_DEFINED))
def _next_key_infer(params, key: TensorType) -> TensorType:
    _check_key(key)
    return KEY_TYPE


next_key_op = register(Op("random_next_key", _next_key_infer,
                          lambda p, key: next_key(key), lambda node, g: [None], kind="random", nin=1,
                          flops=100, grad_inputs=(), defined_in=_DEFINED))


# ---- the stream --------------------------------------------------------------------------------------------

def _size_args(size, *params: Variable) -> tuple[Variable, tuple[int | None, ...]]:
    """The size as an int64 vector variable, and its static shape (None where symbolic)."""
    if size is None:
        shapes = [p.type.shape for p in params]
        from .types import broadcast_shapes
        static = broadcast_shapes(*shapes, op="random draw") if shapes else ()
        if all(s is not None for s in static):
            size = static
        else:
            size = F.shape(sum(params[1:], params[0]) if params else F.constant(0.0))
    if isinstance(size, (int, np.integer)):
        size = (int(size),)
    if isinstance(size, Variable):
        if size.ndim != 1 or size.type.shape[0] is None:
            raise TypeError(f"size must be a tuple, or an int vector of static length, got {size!r} ({size.type})")
        return F.cast(size, "int64"), (None,) * size.type.shape[0]
    items = list(size)
    if all(isinstance(s, (int, np.integer)) for s in items):
        return F.constant(np.array(items, dtype="int64")), tuple(int(s) for s in items)
    vec = F.stack([F.cast(F.as_tensor_variable(s), "int64") for s in items]) if items else \
        F.constant(np.zeros(0, dtype="int64"))
    return vec, tuple(int(s) if isinstance(s, (int, np.integer)) else None for s in items)


class KeyState:
    """A draw's key as Theano's tutorials handle a generator: ``seed(n)``, ``get_state()``,
    ``set_state(state)`` (the state is the key array)."""

    def __init__(self, key: np.ndarray):
        self.key = key

    def seed(self, seed: int) -> None:
        self.key[...] = np.random.SeedSequence(seed).generate_state(2, np.uint64)

    def get_state(self) -> np.ndarray:
        return self.key.copy()

    def set_state(self, state) -> None:
        self.key[...] = np.asarray(state, dtype=np.uint64)


class DrawRng:
    """``rv.rng`` of a draw: ``get_value()`` / ``set_value()`` on its key's shared variable."""

    def __init__(self, key: SharedVariable):
        self.key = key

    def get_value(self, borrow: bool = False) -> KeyState:
        return KeyState(self.key.get_value(borrow=borrow))

    def set_value(self, value, borrow: bool = False) -> None:
        self.key.set_value(np.asarray(value.key if isinstance(value, KeyState) else value, dtype=np.uint64),
                           borrow=borrow)


def _with_rng(out: Variable, key: SharedVariable) -> Variable:
    out.tag.rng = DrawRng(key)
    return out


def _looks_like_size(v) -> bool:
    """A shape: a tuple or list, a 1-d integer array or variable (never a distribution parameter)."""
    if isinstance(v, (tuple, list)):
        return True
    if isinstance(v, (np.ndarray, Variable)):
        return v.ndim == 1 and np.dtype(v.dtype).kind in "iu"
    return False


def _order(args: tuple, kw: dict, params: tuple[str, ...], pytensor: tuple[str, ...] | None = None) -> dict:
    """Positional arguments in Theano's order (``size`` first) or PyTensor's (``size`` after the
    distribution's parameters), told apart by the first one: a shape means Theano's
    (``srng.normal((2, 3), 0, 1)``), a parameter PyTensor's (``srng.normal(0, 1, size=(2, 3))``).
    A lone int with no ``size=`` is a size, as in NumPy and Theano (``srng.uniform(5)``)."""
    if not args:
        return kw
    first = args[0]
    lone_int = isinstance(first, (int, np.integer)) and len(args) == 1 and "size" not in kw
    names = ("size",) + params if _looks_like_size(first) or lone_int else (pytensor or params + ("size",))
    if len(args) > len(names):
        raise TypeError(f"too many positional arguments {args!r}: expected at most {names}")
    for name, v in zip(names, args):
        if name in kw:
            raise TypeError(f"got multiple values for argument {name!r}")
        kw[name] = v
    return kw


class RandomStream:
    """Random draws for graphs; each method returns a symbolic draw that changes at every call.

    Positional arguments follow Theano (``srng.normal((2, 3), 0., 1.)``: size first) or PyTensor
    (``srng.normal(0., 1., size=(2, 3))``: the parameters first), told apart by the first one.

    >>> import egopt, egopt.tensor as T
    >>> srng = T.random.RandomStream(seed=42)
    >>> u = srng.uniform((2,))
    >>> f = egopt.function([], u)
    >>> bool((f() != f()).all())
    True
    """

    def __init__(self, seed: int | None = None):
        self.state_updates: list[tuple[SharedVariable, Variable]] = []
        self._seed(seed)

    def _seed(self, seed) -> None:
        self._seeds = np.random.SeedSequence(seed if seed is not None else DEFAULT_SEED)
        self._count = 0

    def seed(self, seed: int) -> None:
        """Restart the stream: every key made so far is re-derived from ``seed``, in order."""
        self._seed(seed)
        for state, _ in self.state_updates:
            state.set_value(self._fresh_key())

    def _fresh_key(self) -> np.ndarray:
        key = np.random.SeedSequence(self._seeds.entropy, spawn_key=(self._count,)).generate_state(2, np.uint64)
        self._count += 1
        return key

    def _key(self) -> SharedVariable:
        state = SharedVariable(self._fresh_key(), KEY_TYPE, name=f"rng_key{self._count - 1}")
        state.default_update = next_key_op(state)
        self.state_updates.append((state, state.default_update))
        return state

    @property
    def rstate(self):
        """The stream's own state (what the next draws' keys are made from): MRG_RandomStreams'
        ``rstate``, which the tutorial's ``copy_random_state`` copies from one stream to another."""
        return (self._seeds.entropy, self._count)

    @rstate.setter
    def rstate(self, state) -> None:
        entropy, count = state
        self._seeds, self._count = np.random.SeedSequence(entropy), int(count)

    def updates(self) -> list[tuple[SharedVariable, Variable]]:
        """The (key, next key) pairs of every draw made so far (Theano's ``srng.updates()``)."""
        return list(self.state_updates)

    def _float(self, dtype) -> str:
        return dtypes.canonical(dtype or config.floatX)

    def normal(self, *args, **kw) -> Variable:
        """Normal draws of mean ``avg`` (``loc``) and standard deviation ``std`` (``scale``)."""
        return self._normal(**_order(args, kw, ("avg", "std")))

    def _normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, *, loc=None, scale=None) -> Variable:
        avg = loc if loc is not None else avg
        std = scale if scale is not None else std
        dt = self._float(dtype)
        avg, std = (F.cast(F.as_tensor_variable(v), dt) for v in (avg, std))
        vec, static = _size_args(size, avg, std)
        key = self._key()
        z = standard_normal_op(key, vec, shape=static, dtype=dt)
        return _with_rng(avg + std * z, key)

    def uniform(self, *args, **kw) -> Variable:
        """Uniform draws on [low, high)."""
        return self._uniform(**_order(args, kw, ("low", "high")))

    def _uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None) -> Variable:
        dt = self._float(dtype)
        low, high = (F.cast(F.as_tensor_variable(v), dt) for v in (low, high))
        vec, static = _size_args(size, low, high)
        key = self._key()
        u = uniform01_op(key, vec, shape=static, dtype=dt)
        return _with_rng(low + (high - low) * u, key)

    def binomial(self, *args, **kw) -> Variable:
        """Binomial draws: successes among ``n`` trials of probability ``p``."""
        return self._binomial(**_order(args, kw, ("n", "p")))

    def _binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64") -> Variable:
        n, p = F.as_tensor_variable(n), F.cast(F.as_tensor_variable(p), "float64")
        vec, static = _size_args(size, n, p)
        key = self._key()
        return _with_rng(binomial_op(key, vec, F.cast(n, "int64"), p, shape=static,
                                     dtype=dtypes.canonical(dtype)), key)

    def choice(self, *args, **kw) -> Variable:
        """Draws from ``a`` (a vector, or range(a) for an int), with probabilities ``p``."""
        return self._choice(**_order(args, kw, ("a", "replace", "p"), ("a", "size", "replace", "p")))

    def _choice(self, size=None, a=2, replace: bool = True, p=None, ndim=None, dtype=None) -> Variable:
        a = F.as_tensor_variable(a)
        vec, static = _size_args(() if size is None else size)
        extra = [F.cast(F.as_tensor_variable(p), "float64")] if p is not None else []
        key = self._key()
        out = choice_op(key, vec, a, *extra, shape=static, replace=bool(replace))
        return _with_rng(F.cast(out, dtype) if dtype else out, key)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64") -> Variable:
        """A random permutation of ``range(n)``."""
        if size not in (None, ()):
            raise NotImplementedError("permutation: only size=() (one permutation) is supported")
        length = int(n) if isinstance(n, (int, np.integer)) else None
        n = F.as_tensor_variable(n)
        return F.cast(permutation_op(self._key(), F.cast(n, "int64"), length=length), dtype)

    def shuffle_row_elements(self, x) -> Variable:
        """The rows of ``x`` in a random order (along the first axis)."""
        x = F.as_tensor_variable(x)
        return x[self.permutation(n=F.shape(x)[0])]


    # ---- compositions of the draws above (Theano's and PyTensor's other names) -------------------
    def integers(self, *args, **kw) -> Variable:
        """Integers on ``[low, high)`` (PyTensor's ``integers``; ``high=None``: ``[0, low)``)."""
        kw = _order(args, kw, ("low", "high"))
        low, high = kw.pop("low", 0), kw.pop("high", None)
        if high is None:
            low, high = 0, low
        dtype = kw.pop("dtype", "int64")
        low, high = F.as_tensor_variable(low), F.as_tensor_variable(high)
        u = self._uniform(low=F.cast(low, "float64"), high=F.cast(high, "float64"), dtype="float64", **kw)
        return F.cast(F.minimum(F.floor(u), F.cast(high, "float64") - 1), dtype)

    def random_integers(self, *args, **kw) -> Variable:
        """Integers on ``[low, high]``, both ends included (Theano's ``random_integers``)."""
        kw = _order(args, kw, ("low", "high"))
        return self.integers(low=kw.pop("low", 0), high=F.as_tensor_variable(kw.pop("high", 1)) + 1, **kw)

    def bernoulli(self, *args, **kw) -> Variable:
        """0/1 draws that are 1 with probability ``p``."""
        kw = _order(args, kw, ("p",))
        return self._binomial(n=1, **kw)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64") -> Variable:
        """One draw per row of ``pvals`` among its columns, one-hot (MRG's ``multinomial`` with
        ``n=1``; the rows' probabilities should sum to 1)."""
        if pvals is None:
            raise TypeError("multinomial: give pvals=(a matrix of probabilities, one row per draw)")
        if not (isinstance(n, (int, np.integer)) and n == 1):
            raise NotImplementedError("multinomial: only n=1 (one-hot draws) is supported by egopt")
        pvals = F.cast(F.as_tensor_variable(pvals), "float64")
        if pvals.ndim != 2:
            raise TypeError(f"multinomial: pvals must be a matrix (one row per draw), got {pvals.type}")
        u = self._uniform(size=(F.shape(pvals)[0], 1), dtype="float64")
        c = F.cumsum(pvals, axis=1)
        hot = F.gt(c, u) & F.le(c - pvals, u)
        return F.cast(hot, dtype)

    def poisson(self, *args, **kw) -> Variable:
        raise NotImplementedError("poisson draws are not supported by egopt")


RandomStreams = RandomStream
MRG_RandomStreams = RandomStream

__all__ = ["RandomStream", "RandomStreams", "MRG_RandomStreams", "generator", "next_key"]
