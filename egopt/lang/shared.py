"""Shared variables: graph leaves whose value lives between calls and across functions."""
from __future__ import annotations

import numpy as np

from .. import config
from .graph import Variable
from .types import TensorType

# Moves values to and from a GPU: installed by egopt.runtime.cuda (lang cannot import the runtime).
# ``is_device(v)``, ``to_device(array)``, ``to_host(v)``, ``filter(type, value, name, borrow)``.
DEVICE = None


def _on_device(v) -> bool:
    return DEVICE is not None and not isinstance(v, np.ndarray) and DEVICE.is_device(v)


class SharedVariable(Variable):
    """A variable holding a value; functions read it implicitly and may update it.

    >>> import egopt
    >>> w = egopt.shared(np.zeros(3), name="w")
    >>> w.set_value(np.ones(3)); w.get_value()
    array([1., 1., 1.])
    """

    __slots__ = ("container", "default_update")

    def __init__(self, value: np.ndarray, type: TensorType, name: str | None = None):
        super().__init__(type, None, 0, name)
        self.container = [value]   # a one-slot box, shared by the compiled functions that use it
        self.default_update = None

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> np.ndarray:
        """The value, as NumPy; a value held on a GPU comes back as its CuPy array only with
        ``return_internal_type=True`` (a copy unless ``borrow``)."""
        v = self.container[0]
        if _on_device(v) and not return_internal_type:
            return DEVICE.to_host(v)
        return v if borrow else v.copy()

    def set_value(self, value, borrow: bool = False) -> None:
        if _on_device(self.container[0]) or _on_device(value):   # stays on (or moves to) the GPU
            self.container[0] = DEVICE.filter(self.type, value, f"set_value of shared variable "
                                              f"{self.name or '<unnamed>'}", borrow)
            return
        arr = self.type.filter(value, name=f"set_value of shared variable {self.name or '<unnamed>'}")
        if not borrow and arr is value:
            arr = arr.copy()
        self.container[0] = arr

    def clone(self) -> "SharedVariable":
        return self

    def __getstate__(self):
        return {"type": self.type, "name": self.name, "tag": self.tag, "value": self.container[0],
                "default_update": self.default_update}

    def __setstate__(self, st):
        self.type, self.name, self.tag = st["type"], st["name"], st["tag"]
        self.owner, self.index = None, 0
        self.container = [st["value"]]
        self.default_update = st["default_update"]


def shared(value, name: str | None = None, borrow: bool = False, strict: bool = False,
           allow_downcast: bool | None = None, shape=None, broadcastable=None) -> SharedVariable:
    """A shared variable holding ``value`` (copied unless ``borrow=True``).

    Python floats become floatX (as in Theano); arrays keep their dtype. Static sizes are
    unknown (None) unless ``shape=`` or ``broadcastable=`` says otherwise, so the value may
    later be replaced by one of another size.
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() takes a value, not a symbolic variable ({value!r})")
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        raise TypeError(f"shared({type(value).__name__}): egopt keeps random state as keys inside its random "
                        "streams, not as shared NumPy generators; draw with "
                        "egopt.tensor.random.RandomStream(seed) (or theano's RandomStreams) instead")
    if _on_device(value) and not config.device.startswith("cuda"):
        value = DEVICE.to_host(value)          # a CuPy array given while the device is the CPU
    if isinstance(value, float) and not isinstance(value, np.floating):
        arr = np.asarray(value, dtype=config.floatX)
    elif isinstance(value, (list, tuple)):
        arr = np.array(value)
        if arr.dtype.kind == "f":
            arr = arr.astype(config.floatX)
    else:
        arr = value if (borrow and isinstance(value, np.ndarray)) or _on_device(value) else np.array(value)
    if broadcastable is not None:
        shape = tuple(1 if b else None for b in broadcastable)
    static = tuple(shape) if shape is not None else (None,) * arr.ndim
    typ = TensorType(arr.dtype.name, static)
    if _on_device(value):                      # a CuPy array stays on its device
        return SharedVariable(DEVICE.filter(typ, value, "shared", borrow), typ, name)
    arr = typ.filter(arr, name="shared")
    if config.device.startswith("cuda") and DEVICE is not None:
        arr = DEVICE.to_device(arr)             # shared values live on the configured GPU
    return SharedVariable(arr, typ, name)
