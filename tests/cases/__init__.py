"""The op-table test cases: each op in the registry has at least one ``Case``.

A case draws input values with Hypothesis, builds the op's graph from symbolic inputs of the
same dtypes (size-1 axes typed broadcastable), and gives an independent NumPy reference.
``tests/lang/test_op_table.py`` runs every case and fails for a registered op without one;
``tests/grad/test_op_grads.py`` checks gradients of the cases marked ``grad=True``.

Add cases for new ops to ``tests/cases/<module>.py`` in a list named ``CASES``.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T


@dataclass
class Case:
    op: str                                         # registry name of the op this case covers
    gen: Callable[[Any], Sequence[np.ndarray]]      # draw -> input values
    build: Callable[..., Any]                       # symbolic inputs -> output variable
    ref: Callable[..., Any]                         # input values -> expected value (plain NumPy)
    grad: bool = True                               # verify_grad over the float inputs
    grad_wrt: tuple[int, ...] | None = None         # inputs to differentiate (default: float ones)
    rtol: float | None = None
    label: str = ""
    also_covers: tuple[str, ...] = ()               # other ops the built graph exercises on purpose
    symbolic: Callable[[Sequence[np.ndarray]], list] | None = None   # custom input types

    @property
    def id(self) -> str:
        return self.op + (f"-{self.label}" if self.label else "")


def symbolic_like(value: np.ndarray, name: str | None = None):
    """A symbolic input of the value's dtype; axes of size 1 are typed broadcastable."""
    return T.tensor(dtype=value.dtype.name, shape=tuple(1 if s == 1 else None for s in value.shape),
                    name=name)


# ---- strategies --------------------------------------------------------------------------------------

FLOATS = ("float64", "float32")


def shape(draw, ndim: int | None = None, min_side: int = 0, max_side: int = 4, max_dims: int = 3):
    nd = draw(st.integers(0, max_dims)) if ndim is None else ndim
    return tuple(draw(st.integers(min_side, max_side)) for _ in range(nd))


def array(draw, shp, dtype="float64", lo=-3.0, hi=3.0, edge=True):
    """An array of the given shape with values in [lo, hi] (ints: rounded; bool: random)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shp, dtype=np.int64))
    if dtype.kind == "b":
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return np.array(vals, dtype=bool).reshape(shp)
    if dtype.kind in "iu":
        vals = draw(st.lists(st.integers(int(np.ceil(lo)), int(np.floor(hi))), min_size=n, max_size=n))
        return np.array(vals, dtype=dtype).reshape(shp)
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    vals = draw(st.lists(elems, min_size=n, max_size=n))
    return np.array(vals, dtype=dtype).reshape(shp)


def broadcast_shapes(draw, n: int, max_dims: int = 3, max_side: int = 4, min_side: int = 0):
    """n shapes that broadcast together (some axes 1, some missing)."""
    full = shape(draw, None, min_side, max_side, max_dims)
    out = []
    for _ in range(n):
        nd = draw(st.integers(0, len(full)))
        sub = full[len(full) - nd:]
        out.append(tuple(1 if draw(st.booleans()) and draw(st.booleans()) else s for s in sub))
    return out


def dtype(draw, choices=FLOATS):
    return draw(st.sampled_from(choices))


def _i(v) -> np.ndarray:
    return np.asarray(v, dtype="int64")


def _stash(gen):
    """gen(draw) -> (values, params); the case's build and ref read ``gen.p`` (set per example)."""
    def values(draw):
        vals, values.p = gen(draw)
        return vals
    return values


def all_cases() -> list[Case]:
    """Every ``CASES`` list in ``tests/cases/*.py``."""
    import tests.cases as pkg
    out: list[Case] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"tests.cases.{info.name}")
        out.extend(getattr(mod, "CASES", []))
    return out
