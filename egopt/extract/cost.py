"""The cost model: bytes moved plus flops, sized by the shapes known at compile time.

One unit is one byte read or written, or one flop. Costs are additive over the chosen nodes of
a DAG (each e-class paid once). An elementwise tensor ``(Ew s)`` pays the store of its
elements; each scalar node in its body pays its flops per element and each ``(Ld t)`` the
bytes it reads, so a fused region pays for its inputs and outputs only, not for the
intermediates between its ops: the extractor fuses because that saves memory traffic. A
reduction over an elementwise body, ``(Fred s op p)``, likewise pays no store and load of the
reduced tensor. Unknown sizes count as ``UNKNOWN_DIM`` elements per axis; a class whose dtype
is unknown counts ``DEFAULT_ITEMSIZE`` bytes per element.

The e-graph counts a shared scalar subterm once; whether a region boundary then recomputes or
stores it is decided at decode (``egopt.extract.fusion``) with the same prices.
"""
from __future__ import annotations

import math

import numpy as np

from ..lang.ops import REGISTRY
from ..lang.types import TensorType
from ..rules.decode import EGraphView, ENode

UNKNOWN_DIM = 32
DEFAULT_ITEMSIZE = 8
LOAD = 1.0            # per byte read
STORE = 1.0           # per byte written
_FREE = {"Input", "Lit", "Int", "Bool", "TNil", "TCons"}


def type_size(t: TensorType) -> float:
    """Elements of a type (unknown axes count UNKNOWN_DIM)."""
    return float(math.prod(UNKNOWN_DIM if s is None else s for s in t.shape))


def type_bytes(t: TensorType) -> float:
    return type_size(t) * np.dtype(t.dtype).itemsize


class CostModel:
    """Per-node costs for one e-graph; ``size[c]`` is the element count of class c and
    ``width[c]`` its bytes per element (both estimated where the class is new)."""

    def __init__(self, view: EGraphView):
        from ..rules.decode import by_name   # the constructor table, as the view hands it
        self.view = view
        self.ctors = by_name()
        self.size = self._propagate({c: type_size(t) for c, t in view.types.items()}, 1.0)
        self.width = self._propagate({c: float(np.dtype(t.dtype).itemsize) for c, t in view.types.items()},
                                     float(DEFAULT_ITEMSIZE), through_ld=True)

    def _propagate(self, known: dict[int, float], default: float, through_ld: bool = False) -> dict[int, float]:
        """A fixpoint: a new class takes the largest value among the classes it reads."""
        v = self.view
        val = dict(known)
        for _ in range(50):
            changed = False
            for c, nodes in v.classes.items():
                if c in known:
                    continue
                best = val.get(c, 0.0)
                for n in nodes:
                    kids = [val.get(k, default) for k in n.children if v.sort.get(k) != "TL"]
                    s = max(kids, default=default)
                    if n.op == "Ld":
                        s = val.get(n.children[0], default)
                    if s > best:
                        best = s
                if best != val.get(c):
                    val[c] = best
                    changed = True
            if not changed:
                break
        return val

    def tensor_args(self, n: ENode) -> list[int]:
        """The tensor classes a node reads (a list argument ``TL`` read through its first cons)."""
        out = []
        for k in n.children:
            while self.view.sort.get(k) == "TL":
                cons = next((m for m in self.view.classes.get(k, ()) if m.op == "TCons"), None)
                if cons is None:
                    break
                out.append(cons.children[0])
                k = cons.children[1]
            else:
                out.append(k)
        return out

    def bytes(self, c: int) -> float:
        return self.size.get(c, 1.0) * self.width.get(c, DEFAULT_ITEMSIZE)

    def node_cost(self, c: int, n: ENode) -> float:
        if n.op in _FREE:
            return 0.0
        size = self.size.get(c, 1.0)
        if n.op == "Ld":
            return LOAD * self.bytes(n.children[0]) if n.children else 0.0
        if n.op == "Ew":
            return STORE * self.bytes(c)
        if n.op == "Fred":       # reduce(body): the body's flops are its own nodes'; one store
            red = REGISTRY[self.ctors[n.payload[0]].op]
            return red.flops * self.size.get(n.children[0], size) + STORE * self.bytes(c)
        op = REGISTRY[self.ctors[n.op].op]
        if op.kind == "elemwise":
            return op.flops * size
        args = self.tensor_args(n)
        if op.kind == "blas":
            a, b = (self.size.get(k, 1.0) for k in args[:2])
            flops = 2.0 * math.sqrt(a * b * size)
            return flops + LOAD * sum(self.bytes(k) for k in args) + STORE * self.bytes(c)
        kids = sum(self.size.get(k, 1.0) for k in args)
        return (op.flops * max(size, kids) + STORE * self.bytes(c)
                + LOAD * sum(self.bytes(k) for k in args))


# ---- the same model over IR graphs ---------------------------------------------------------------

def node_ir_cost(node) -> float:
    """One IR node: the bytes it reads and writes and its flops (a fused node: its body's)."""
    op = node.op
    out_b = sum(type_bytes(o.type) for o in node.outputs)
    in_b = sum(type_bytes(v.type) for v in node.inputs)
    out = type_size(node.outputs[0].type)
    if op.kind == "elemwise":
        return op.flops * out + STORE * out_b + LOAD * in_b
    if op.name == "fused_elemwise":
        return node.params["body"].flops * out + STORE * out_b + LOAD * in_b
    if op.name == "fused_reduce":
        body = node.params["body"]
        n = type_size(body.output_types([v.type for v in node.inputs])[0])
        return (body.flops + REGISTRY[node.params["reduce"]].flops) * n + STORE * out_b + LOAD * in_b
    if op.kind == "blas" and len(node.inputs) >= 2:
        a, b = type_size(node.inputs[0].type), type_size(node.inputs[1].type)
        return 2.0 * math.sqrt(a * b * out) + STORE * out_b + LOAD * in_b
    ins = sum(type_size(v.type) for v in node.inputs)
    return op.flops * max(out, ins) + STORE * out_b + LOAD * in_b


def ir_cost(outputs, stop=()) -> float:
    """The model over an IR graph: each node pays what it reads, writes and computes."""
    from ..lang.graph import toposort
    return float(sum(node_ir_cost(n) for n in toposort(outputs, stop=stop)))
