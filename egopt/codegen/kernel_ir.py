"""The kernel IR: target-neutral loop kernels over strided buffers (rendered to C, later CUDA).

A ``Kernel`` iterates over an ``ndim``-dimensional index space whose sizes, and every buffer's
strides, arrive at run time. Each input buffer is read at the current index (an axis it
broadcasts on statically has stride 0; ``Buffer.broadcast`` records which, so a renderer may
hoist loads), each output is written there. A scalar expression DAG (``Load``, ``Const``,
``Cast``, ``Call``) computes the outputs; ``Call`` names an op of the registry, whose
``c``/``cuda`` template the renderer picks. A kernel with a ``Reduce`` folds its single
expression over the reduced axes instead (output strides are 0 on them); one with a
``Normalize`` computes softmax or log_softmax of its expression along one axis.

Nodes are frozen dataclasses: equal subexpressions are equal values, so a renderer that
memoizes on them emits each once. The IR knows dtypes but no C: rendering owns syntax.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Buffer:
    """A kernel argument: ``index`` among the buffers (inputs first), dtype, and the axes of the
    index space it broadcasts on statically (absent leading axes included)."""
    index: int
    dtype: str
    broadcast: tuple[bool, ...]

    @property
    def invariant(self) -> bool:
        """Broadcast on every axis: one value for the whole kernel."""
        return all(self.broadcast)


class Expr:
    """A scalar expression node; ``dtype`` is the value's dtype."""
    dtype: str

    def __hash__(self) -> int:
        # computed once per node: a dataclass hash rehashes the whole sub-DAG on every lookup,
        # which made walking the deep bodies of big fused kernels quadratic
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((type(self).__name__,) + tuple(self.__dict__[f] for f in self.__dataclass_fields__))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}   # str hashes differ per process


@dataclass(frozen=True)
class Load(Expr):
    buffer: Buffer

    @property
    def dtype(self) -> str:
        return self.buffer.dtype


@dataclass(frozen=True)
class Const(Expr):
    value: object        # a Python bool, int or float (inf and NaN allowed)
    dtype: str


@dataclass(frozen=True)
class Cast(Expr):
    """NumPy ``astype`` of a scalar (to bool means ``!= 0``)."""
    arg: Expr
    dtype: str


@dataclass(frozen=True)
class Call(Expr):
    """Op ``op`` (a registry name) on ``args``, which are already in the dtypes the op computes
    in; the result has ``dtype``. ``params`` are the op's params as sorted (name, value) pairs."""
    op: str
    args: tuple[Expr, ...]
    dtype: str
    params: tuple[tuple[str, object], ...] = ()


for _node in (Load, Const, Cast, Call):     # the dataclass decorator gave each its own (uncached) hash
    _node.__hash__ = Expr.__hash__

REDUCTIONS = ("sum", "prod", "max", "min", "mean", "all", "any")


@dataclass(frozen=True)
class Reduce:
    """Fold ``Kernel.outputs[0]``'s expression over ``axes`` with ``kind`` in the dtype ``acc``
    (mean divides by the number of reduced elements at the end)."""
    kind: str
    axes: tuple[int, ...]
    acc: str


NORMALIZATIONS = ("softmax", "log_softmax")


@dataclass(frozen=True)
class Normalize:
    """``kind`` (softmax or log_softmax) of ``Kernel.outputs[0]``'s expression along ``axis``:
    per line along the axis a max, a sum of exponentials in the dtype ``acc``, then the output
    (the output buffer has the index space's full shape)."""
    kind: str
    axis: int
    acc: str


@dataclass(frozen=True)
class Kernel:
    """One loop nest: ``inputs`` (buffers 0..n-1), ``outputs`` as (buffer, expression) pairs."""
    ndim: int
    inputs: tuple[Buffer, ...]
    outputs: tuple[tuple[Buffer, Expr], ...]
    reduce: Reduce | None = None
    label: str = ""                 # what it computes, for profiles (not part of the identity)
    normalize: Normalize | None = None

    def _identity(self) -> tuple:
        ident = (self.ndim, self.inputs, self.outputs, self.reduce)
        return ident if self.normalize is None else ident + (self.normalize,)

    def __hash__(self) -> int:
        return hash(self._identity())

    def __eq__(self, other) -> bool:
        return isinstance(other, Kernel) and self._identity() == other._identity()

    @functools.cached_property
    def key(self) -> str:
        """A content hash of the structure: the kernel's name in rendered code (computed once)."""
        return hashlib.sha256(repr(self._identity()).encode()).hexdigest()[:16]

    @property
    def nbuffers(self) -> int:
        return len(self.inputs) + len(self.outputs)


def walk(roots) -> list[Expr]:
    """The expression nodes under ``roots``, each once, arguments before their users."""
    seen: dict[Expr, None] = {}
    stack = [(r, False) for r in reversed(list(roots))]
    while stack:
        e, done = stack.pop()
        if e in seen:
            continue
        if done:
            seen[e] = None
            continue
        stack.append((e, True))
        children = e.args if isinstance(e, Call) else (e.arg,) if isinstance(e, Cast) else ()
        stack.extend((c, False) for c in reversed(children) if c not in seen)
    return list(seen)
