"""``egopt.tensor.random``: ``RandomStream(seed)`` (normal, uniform, binomial, bernoulli, integers,
choice, permutation, multinomial), and PyTensor's module-level draws (``pt.random.normal(0, 1,
size=3)``), which come from one module stream (reseed it with ``pt.random.seed(n)``).

PyTensor's ``rng=`` argument (a shared NumPy Generator) is not supported: a draw's state is a key
in a shared variable (``egopt/lang/random.py``); pass ``rng=None`` or use a ``RandomStream``."""
from ...lang.random import MRG_RandomStreams, RandomStream, RandomStreams  # noqa: F401
from . import utils  # noqa: F401

_STREAM = RandomStream()


def seed(n: int) -> None:
    """Restart the module stream that ``pt.random.normal`` & co. draw from."""
    _STREAM.seed(n)


def _module_draw(method: str):
    def draw(*args, rng=None, name=None, **kw):
        if rng is not None:
            raise NotImplementedError(f"pt.random.{method}(rng=...): egopt keeps random state in keys, not in "
                                      "shared Generators; drop rng= or use egopt.tensor.random.RandomStream(seed)")
        out = getattr(_STREAM, method)(*args, **kw)
        if name is not None:
            out.name = name
        return out
    draw.__name__ = method
    draw.__doc__ = f"``RandomStream.{method}`` on the module stream (PyTensor's ``pt.random.{method}``)."
    return draw


normal = _module_draw("normal")
uniform = _module_draw("uniform")
binomial = _module_draw("binomial")
bernoulli = _module_draw("bernoulli")
integers = _module_draw("integers")
choice = _module_draw("choice")
permutation = _module_draw("permutation")
