"""e-graph -> plain Python: ``EGraphView`` (classes and nodes, for the extractor) and the
rebuilding of an extracted choice of nodes as IR.

``extract`` sees only ``EGraphView``; it never touches egglog.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from ..lang import frontend as F
from ..lang.fused import gemm_or_unfused
from ..lang.graph import SourceLoc, Variable
from ..lang.ops import get_op
from ..lang.types import TensorType
from .encode import Encoding
from .schema import by_name


@dataclass(frozen=True)
class ENode:
    op: str                       # constructor name
    children: tuple[int, ...]     # e-class ids
    payload: tuple = ()           # primitive arguments (ints, floats, strings), in order


@dataclass
class EGraphView:
    """A frozen e-graph as plain data: class id -> its nodes, and the sort of each class."""
    classes: dict[int, list[ENode]] = field(default_factory=dict)
    sort: dict[int, str] = field(default_factory=dict)
    roots: dict[str, int] = field(default_factory=dict)      # let name -> class id
    types: dict[int, TensorType] = field(default_factory=dict)   # class id -> IR type where known
    subsumed: dict[int, list[ENode]] = field(default_factory=dict)   # retired nodes (not to extract)
    ids: dict = field(default_factory=dict, repr=False)   # (sort, egglog value) -> class id

    @property
    def n_nodes(self) -> int:
        return sum(len(v) for v in self.classes.values())


def view_of(eg, enc: Encoding) -> EGraphView:
    """Read a low-level egglog e-graph into an ``EGraphView``."""
    ctors = by_name()
    frozen = eg.freeze()
    ids: dict = {}

    def cid(value, sort) -> int:
        key = (sort, value)
        if key not in ids:
            ids[key] = len(ids)
        return ids[key]

    conv = {"i64": eg.value_to_i64, "f64": eg.value_to_f64, "String": eg.value_to_string}
    view = EGraphView(ids=ids)
    for name, fn in frozen.functions.items():
        if name.startswith("$"):
            for row in fn.rows:
                view.roots[name] = cid(row.output, fn.output_sort)
            continue
        ctor = ctors.get(name)
        if ctor is None:
            continue   # relations and analyses from rule files
        for row in fn.rows:
            kids, payload = [], []
            for sort, val in zip(fn.input_sorts, row.inputs):
                if sort in conv:
                    payload.append(conv[sort](val))
                else:
                    kids.append(cid(val, sort))
            c = cid(row.output, fn.output_sort)
            view.sort[c] = fn.output_sort
            into = view.subsumed if row.subsumed else view.classes
            into.setdefault(c, []).append(ENode(name, tuple(kids), tuple(payload)))
    for name, c in view.roots.items():
        view.types[c] = enc.types[name]
    return view


class DecodeError(Exception):
    """The extracted graph could not be rebuilt as IR (a rule produced an ill-typed term)."""


def rebuild(view: EGraphView, choice: dict[int, ENode], enc: Encoding,
            locs: dict[int, SourceLoc | None], memo: dict[int, object] | None = None) -> dict[int, Variable]:
    """IR variables for the chosen nodes, built children first; returns class id -> variable.
    ``memo`` (if given) receives every class decoded, with its value (a Variable or a weak scalar)."""
    ctors = by_name()
    memo = {} if memo is None else memo

    def build(c: int):
        stack = [(c, False)]
        while stack:
            k, ready = stack.pop()
            if k in memo:
                continue
            node = choice[k]
            if not ready:
                stack.append((k, True))
                for ch in node.children:   # nodes new to the graph point at their user's line
                    if locs.get(ch) is None:
                        locs[ch] = locs.get(k)
                stack.extend((ch, False) for ch in node.children if ch not in memo)
                continue
            memo[k] = make(k, node)
        return memo[c]

    def make(k: int, node: ENode):
        args = [memo[ch] for ch in node.children]
        loc = locs.get(k)
        name = node.op
        if name == "Input":
            return enc.leaves[node.payload[0]]
        if name == "Lit":
            return float(node.payload[0])
        if name == "Int":
            return int(node.payload[0])
        if name == "Bool":
            return bool(node.payload[0])
        if name == "Ld":
            return args[0]
        if name == "TNil":
            return ()
        if name == "TCons":
            return (args[0],) + tuple(args[1])
        if name == "Ew":
            v = args[0]
            if not isinstance(v, Variable):
                t = view.types.get(k)
                if t is None or t.ndim:
                    raise DecodeError(f"an elementwise body without tensor leaves: {v!r}")
                v = F.constant(v, dtype=t.dtype)
            return v
        if name == "Fred":     # a reduction of an elementwise body: fused later, on the IR
            op = get_op(ctors[node.payload[0]].op)
            if not isinstance(args[0], Variable):
                raise DecodeError(f"{op.name} of a body without tensor leaves: {args[0]!r}")
            return op.make_node([args[0]], loc=loc, **dict(ast.literal_eval(node.payload[1]))).outputs[0]
        ctor = ctors[name]
        op = get_op(ctor.op)
        params = dict(ast.literal_eval(node.payload[-1])) if ctor.has_params else {}
        if op.kind == "elemwise":
            if all(not isinstance(a, Variable) for a in args):   # all weak: fold in Python
                import numpy as np
                return np.asarray(op.perform(params, *[np.asarray(a) for a in args])).item()
            inputs = F.as_args(args)
        elif op.nin is None:
            inputs = list(args[0])
        else:
            inputs = list(args)
        for a in inputs:
            if not isinstance(a, Variable):
                raise DecodeError(f"{op.name}: a weak scalar where a tensor was expected")
        if op.name == "gemm" and len(inputs) == 3:   # BLAS where ranks and dtypes allow
            return gemm_or_unfused(*inputs, loc=loc, **params)
        return op.make_node(inputs, loc=loc, **params).outputs[0]

    out = {}
    for c in {view.roots[r] for r in enc.roots}:
        v = build(c)
        if not isinstance(v, Variable):
            t = view.types[c]
            if t.ndim:
                raise DecodeError(f"output decoded to the scalar {v!r}, but its type is {t}")
            v = F.constant(v, dtype=t.dtype)
        out[c] = v
    return out


# ---- the worklist of the bottom-up fixpoints over a view (typed extraction, greedy extraction):
# a class is looked at again only when one of its children's results changed
def parents_of(classes: Mapping[int, Iterable]) -> dict[int, set[int]]:
    """e-class -> the classes that hold a node with it as a child (``classes``: class -> nodes)."""
    parents: dict[int, set[int]] = {}
    for c, nodes in classes.items():
        for n in nodes:
            for k in n.children:
                parents.setdefault(k, set()).add(c)
    return parents


class Worklist:
    """Classes still to (re)visit, each queued at most once at a time; popped last-in first-out."""

    __slots__ = ("_todo", "_queued", "_parents")

    def __init__(self, classes: Iterable[int], parents: Mapping[int, set[int]]):
        self._todo = list(classes)
        self._queued = set(self._todo)
        self._parents = parents

    def __bool__(self) -> bool:
        return bool(self._todo)

    def pop(self) -> int:
        c = self._todo.pop()
        self._queued.discard(c)
        return c

    def changed(self, c: int) -> None:
        """``c``'s result changed: queue its parents again."""
        for p in self._parents.get(c, ()):
            if p not in self._queued:
                self._queued.add(p)
                self._todo.append(p)
