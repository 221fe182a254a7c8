"""A stand-in for ``cupy`` on machines without a GPU (tests only): the small subset egopt's CUDA
runtime uses, on top of NumPy, strict where CuPy is strict.

"Device memory" is a NumPy array wrapped in ``ndarray``; it refuses implicit conversion to NumPy
(``np.asarray`` raises, as CuPy's does) and refuses to be mixed with NumPy arrays in an
operation, so a host/device mix-up in the runtime fails here as it would on a card. NumPy
functions and ufuncs dispatch on it (NEP 18/13), as they do on CuPy arrays.

``RawModule`` builds the rendered CUDA source with the CPU emulator
(tests/codegen/cuda_emulator.py) and ``RawKernel.__call__`` runs a kernel on the arrays' buffers
with each block's threads as real threads. It launches at most ``GRID_CAP`` blocks: every
egopt kernel is grid-stride, so any grid computes the same result (a small grid also exercises
the stride loops), and fewer threads keep the tests fast. ``stats`` counts host<->device copies,
kernel launches and module builds, for tests that check transfers.
"""
from __future__ import annotations

import types

import numpy as np

GRID_CAP = 4
stats = {"to_device": 0, "to_host": 0, "launches": 0, "modules": 0}
_LIBS: dict[str, object] = {}
sources: list[str] = []          # every source given to RawModule since install()


def _unwrap(x):
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError("fake cupy: a NumPy array was mixed with device arrays (CuPy refuses this: "
                        "move it with cupy.asarray first)")
    if isinstance(x, (tuple, list)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(r):
    if isinstance(r, np.ndarray):
        return ndarray(r)
    if isinstance(r, np.generic):           # CuPy returns 0-d arrays, not scalars
        return ndarray(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    return r


def _device_call(f):
    def call(*args, **kwargs):
        return _wrap(f(*_unwrap(args), **_unwrap(kwargs)))
    return call


class ndarray:
    """A device array: its NumPy buffer stands for device memory."""
    __slots__ = ("_a",)

    def __init__(self, a: np.ndarray):
        self._a = a

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: ndarray(self._a.T))
    data = property(lambda self: types.SimpleNamespace(ptr=self._a.ctypes.data))

    def get(self) -> np.ndarray:
        stats["to_host"] += 1
        return self._a.copy()

    def copy(self) -> "ndarray":
        return ndarray(self._a.copy())

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` "
                        "to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs)))

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        attr = getattr(self._a, name)
        return _device_call(attr) if callable(attr) else _wrap(attr)

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap(index)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return f"fake_cupy.ndarray({self._a!r})"


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
                   ("floordiv", np.floor_divide), ("pow", np.power), ("matmul", np.matmul)]:
    setattr(ndarray, f"__{_name}__", lambda self, o, _f=_uf: _wrap(_f(self._a, _unwrap(o))))
    setattr(ndarray, f"__r{_name}__", lambda self, o, _f=_uf: _wrap(_f(_unwrap(o), self._a)))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
                   ("eq", np.equal), ("ne", np.not_equal), ("and", np.logical_and)]:
    setattr(ndarray, f"__{_name}__", lambda self, o, _f=_uf: _wrap(_f(self._a, _unwrap(o))))
for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide)]:
    setattr(ndarray, f"__i{_name}__", lambda self, o, _f=_uf: (_f(self._a, _unwrap(o), out=self._a), self)[1])
ndarray.__neg__ = lambda self: ndarray(-self._a)
ndarray.__abs__ = lambda self: ndarray(abs(self._a))
ndarray.__hash__ = None


def asarray(a, dtype=None) -> ndarray:
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else ndarray(a._a.astype(dtype))
    stats["to_device"] += 1
    return ndarray(np.array(a, dtype=dtype, copy=True))


def asnumpy(a) -> np.ndarray:
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def empty(shape, dtype=float) -> ndarray:
    return ndarray(np.empty(shape, dtype))


def get_array_module(*args):
    import sys
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


class RawKernel:
    def __init__(self, lib, name: str, nbuffers: int, nints: int):
        self.lib, self.name, self.nbuffers, self.nints = lib, name, nbuffers, nints

    def __call__(self, grid, block, args):
        from tests.codegen import cuda_emulator as emu
        ptrs = [a for a in args if isinstance(a, ndarray)]
        ints = [a for a in args if not isinstance(a, ndarray)]
        if len(ptrs) != self.nbuffers or len(ints) != self.nints or list(args) != ptrs + ints:
            raise TypeError(f"{self.name}: launched with {len(ptrs)} arrays and {len(ints)} integers, "
                            f"the kernel takes {self.nbuffers} pointers then {self.nints} integers")
        if not all(isinstance(v, np.int64) for v in ints):
            raise TypeError(f"{self.name}: integer arguments must be numpy.int64 (C long long)")
        (gx,), (bx,) = grid, block
        stats["launches"] += 1
        emu.launch(self.lib, self.name, min(int(gx), GRID_CAP), int(bx), [a._a.ctypes.data for a in ptrs], ints)


class RawModule:
    def __init__(self, code: str, options=(), **kwargs):
        from tests.codegen import cuda_emulator as emu
        self.code = code
        sources.append(code)
        if code not in _LIBS:
            stats["modules"] += 1
            _LIBS[code] = emu.build_source(code)
        self.lib = _LIBS[code]
        self.sigs = {name: (nb, ni) for name, nb, ni in emu.signatures(code)}

    def get_function(self, name: str) -> RawKernel:
        return RawKernel(self.lib, name, *self.sigs[name])


class _Device:
    """``cupy.cuda.Device(i)``: a context manager making device ``i`` current (one device here)."""

    def __init__(self, index: int = 0):
        if index != 0:
            raise RuntimeError(f"fake cupy: no CUDA device {index}")
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1), Device=_Device)


def __getattr__(name):
    """Anything else: NumPy's function of that name, on device arrays (CuPy mirrors NumPy)."""
    f = getattr(np, name)
    return _device_call(f) if callable(f) and not isinstance(f, type) else f


def install(monkeypatch) -> types.ModuleType:
    """Put this module (and a ``cupyx`` with ``scatter_add``) in ``sys.modules`` as ``cupy``."""
    import sys
    mod = sys.modules[__name__]
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = lambda a, index, v: np.add.at(a._a, _unwrap(index), _unwrap(v))
    monkeypatch.setitem(sys.modules, "cupy", mod)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    for k in stats:
        stats[k] = 0
    sources.clear()
    return mod
