"""The graph IR: variables, constants and apply nodes, where each node records the user's line.

Nodes are immutable once built (names and tags are metadata outside identity). Identity is
object identity: merging equal subexpressions is the optimizer's job, not the frontend's.
"""
from __future__ import annotations

import linecache
import os
import sys
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from .tensor_ops import TensorOps
from .types import TensorType

if TYPE_CHECKING:
    from .ops import Op

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class SourceLoc:
    """Where a node was built: the first stack frame outside the egopt package."""
    filename: str
    lineno: int
    function: str

    @property
    def line(self) -> str:
        return linecache.getline(self.filename, self.lineno).strip()

    def __str__(self) -> str:
        text = self.line
        return f"{self.filename}:{self.lineno}" + (f"    {text}" if text else "")

    @staticmethod
    def capture() -> "SourceLoc | None":
        f = sys._getframe(1)
        while f is not None:
            fn = f.f_code.co_filename
            if not fn.startswith(_PKG_DIR) and not fn.startswith("<frozen"):
                return SourceLoc(fn, f.f_lineno, f.f_code.co_name)
            f = f.f_back
        return None


class Variable(TensorOps):
    """A symbolic tensor: the output of an apply node, an input, a constant or a shared variable."""

    __slots__ = ("type", "owner", "index", "name", "tag", "__weakref__")

    def __init__(self, type: TensorType, owner: "Apply | None" = None, index: int = 0,
                 name: str | None = None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = SimpleNamespace()

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    @property
    def static_shape(self) -> tuple[int | None, ...]:
        return self.type.shape

    def clone(self) -> "Variable":
        """A fresh input-like variable of the same type and name."""
        v = Variable(self.type, name=self.name)
        v.tag = SimpleNamespace(**vars(self.tag))
        return v

    def __repr__(self) -> str:
        from .printing import short_name
        return short_name(self)

    def __str__(self) -> str:
        return self.__repr__()

    def __bool__(self):
        """True (a variable exists: Theano's and PyTensor's ``if not W: W = shared(...)`` idiom),
        except for a boolean (a comparison's result), whose truth is unknown while building."""
        if self.type.dtype == "bool":
            raise TypeError(
                f"the truth value of a symbolic condition ({self!r}) is unknown while the graph is "
                "being built; use T.switch / T.where for a conditional, or egopt.function to compute it")
        return True

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError(f"{self!r} is a scalar and cannot be iterated")
        n = self.type.shape[0]
        if n is None:
            raise TypeError(f"cannot iterate over {self!r}: its length is not known statically")
        return (self[i] for i in range(n))

    def __len__(self):
        n = self.type.shape[0] if self.ndim else None
        if n is None:
            raise TypeError(f"len() of {self!r}: length not known statically; use x.shape[0]")
        return n


class Constant(Variable):
    """A variable with a fixed value, known when the graph is built."""

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray, name: str | None = None, dtype: str | None = None):
        data = np.asarray(data, dtype=dtype)
        data.setflags(write=False)
        super().__init__(TensorType(data.dtype.name, data.shape), None, 0, name)
        self.data = data

    def clone(self) -> "Constant":
        return self

    def __getstate__(self):
        return {"type": self.type, "name": self.name, "data": np.array(self.data), "tag": self.tag}

    def __setstate__(self, st):
        self.type, self.name, self.tag, self.owner, self.index = st["type"], st["name"], st["tag"], None, 0
        self.data = st["data"]
        self.data.setflags(write=False)


class Apply:
    """One application of an op to input variables, producing output variables."""

    __slots__ = ("op", "params", "inputs", "outputs", "loc")

    def __init__(self, op: "Op", params: dict[str, Any], inputs: Sequence[Variable],
                 out_types: Sequence[TensorType], loc: SourceLoc | None):
        self.op = op
        self.params = params
        self.inputs = list(inputs)
        self.outputs = [Variable(t, self, i) for i, t in enumerate(out_types)]
        self.loc = loc

    @property
    def out(self) -> Variable:
        return self.outputs[0]

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.op.name}{'{' + p + '}' if p else ''}({', '.join(map(repr, self.inputs))})"


def ancestors(outputs: Iterable[Variable], stop: Iterable[Variable] = ()) -> list[Variable]:
    """All variables the outputs depend on (outputs included), not looking above ``stop``."""
    stop_ids = {id(v) for v in stop}
    seen: dict[int, Variable] = {}
    todo = list(outputs)
    while todo:
        v = todo.pop()
        if id(v) in seen:
            continue
        seen[id(v)] = v
        if v.owner is not None and id(v) not in stop_ids:
            todo.extend(v.owner.inputs)
    return list(seen.values())


def toposort(outputs: Iterable[Variable], stop: Iterable[Variable] = ()) -> list[Apply]:
    """Apply nodes needed for ``outputs``, each after the nodes it reads; nothing above ``stop``."""
    stop_ids = {id(v) for v in stop}
    order: list[Apply] = []
    done: set[int] = set()
    for root in outputs:
        stack = [(root, False)]
        while stack:
            v, expanded = stack.pop()
            node = v.owner
            if node is None or id(v) in stop_ids or id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((v, True))
            for inp in reversed(node.inputs):
                if inp.owner is not None and id(inp.owner) not in done and id(inp) not in stop_ids:
                    stack.append((inp, False))
    return order


def graph_inputs(outputs: Iterable[Variable], stop: Iterable[Variable] = ()) -> list[Variable]:
    """The leaves (no owner, or in ``stop``) the outputs depend on, in first-seen order."""
    stop_ids = {id(v) for v in stop}
    out, seen = [], set()
    for node in toposort(outputs, stop):
        for v in node.inputs:
            if (v.owner is None or id(v) in stop_ids) and id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    for v in outputs:
        if (v.owner is None or id(v) in stop_ids) and id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def clone_replace(outputs: Sequence[Variable], replace: dict[Variable, Variable]) -> list[Variable]:
    """Copies of ``outputs`` with each key of ``replace`` swapped for its value.

    Nodes that do not depend on a replaced variable are shared, not copied. The replacement
    graphs are used as they are (a replacement may itself mention replaced variables: those
    mentions are not substituted again, as in Theano's givens).
    """
    memo: dict[int, Variable] = {id(k): v for k, v in replace.items()}
    for node in toposort(outputs, stop=replace.keys()):
        rebuild_node(node, [memo.get(id(v), v) for v in node.inputs], memo)
    return [memo.get(id(v), v) for v in outputs]


def rebuild_node(node: Apply, inputs: Sequence[Variable], memo: dict[int, Variable]) -> None:
    """Rebuild ``node`` on new ``inputs`` (unless they are its own) keeping its line and output
    names, and record old output id -> new output in ``memo``."""
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return
    from .ops import rebuilding
    with rebuilding():      # a copy of a built node: test values where its inputs have them, no error
        new = node.op.make_node(list(inputs), loc=node.loc, **node.params)
    for old, nv in zip(node.outputs, new.outputs):
        nv.name = old.name
        memo[id(old)] = nv
