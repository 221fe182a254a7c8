"""The cost model: memory traffic and flops of one e-node, sized by the shapes known at compile time.

Costs are additive over the chosen nodes of a DAG (each e-class paid once). An elementwise
tensor ``(Ew s)`` pays one store per element; each scalar node in its body pays its flops per
element, each ``(Ld t)`` one load per element, and the tensor ``t`` itself is paid once
wherever it is loaded. Unknown sizes count as ``UNKNOWN_DIM`` elements per axis.
"""
from __future__ import annotations

import ast
import math

from ..lang.ops import REGISTRY
from ..lang.types import TensorType
from ..rules.decode import EGraphView, ENode

UNKNOWN_DIM = 32
LOAD = 1.0
STORE = 1.0
_FREE = {"Input", "Lit", "Int", "Bool", "TNil", "TCons"}


def type_size(t: TensorType) -> float:
    return float(math.prod(UNKNOWN_DIM if s is None else s for s in t.shape))


def _dims(t: TensorType) -> tuple[int, ...]:
    return tuple(UNKNOWN_DIM if s is None else s for s in t.shape)


def op_flops(op, params, in_types, out_type) -> float | None:
    """Flops from the op record's own ``extra["cost"](params, input shapes, output shape)`` (ops
    whose work is not proportional to their sizes, e.g. convolutions), or None."""
    est = op.extra.get("cost")
    if est is None or out_type is None or any(t is None for t in in_types):
        return None
    return float(est(params, [_dims(t) for t in in_types], _dims(out_type)))


class CostModel:
    """Per-node costs for one e-graph; ``size[c]`` is the element count of class c (estimated)."""

    def __init__(self, view: EGraphView):
        from ..rules.decode import by_name   # the constructor table, as the view hands it
        self.view = view
        self.ctors = by_name()
        self.size = self._sizes()

    def _sizes(self) -> dict[int, float]:
        v = self.view
        size = {c: type_size(t) for c, t in v.types.items()}
        for _ in range(50):   # a fixpoint: a new class takes the size of what it reads
            changed = False
            for c, nodes in v.classes.items():
                if c in v.types:
                    continue
                best = size.get(c, 0.0)
                for n in nodes:
                    kid_sizes = [size.get(k, 1.0) for k in n.children if v.sort.get(k) != "TL"]
                    s = max(kid_sizes, default=1.0)
                    if n.op == "Ld":
                        s = size.get(n.children[0], 1.0)
                    if s > best:
                        best = s
                if best != size.get(c):
                    size[c] = best
                    changed = True
            if not changed:
                break
        return size

    def node_cost(self, c: int, n: ENode) -> float:
        if n.op in _FREE:
            return 0.0
        size = self.size.get(c, 1.0)
        if n.op == "Ld":
            return LOAD * size
        if n.op == "Ew":
            return STORE * size
        op = REGISTRY[self.ctors[n.op].op]
        if op.kind == "elemwise":
            return op.flops * size
        if op.kind == "blas":
            a, b = (self.size.get(k, 1.0) for k in n.children[:2])
            return 2.0 * math.sqrt(a * b * size) + size
        kids = sum(self.size.get(k, 1.0) for k in n.children if self.view.sort.get(k) == "T")
        own = None
        if op.extra.get("cost") is not None:
            own = op_flops(op, dict(ast.literal_eval(n.payload[-1])),
                           [self.view.types.get(k) for k in n.children], self.view.types.get(c))
        if own is not None:
            return own + STORE * size + LOAD * kids
        return op.flops * max(size, kids) + STORE * size + LOAD * kids


def ir_cost(outputs, stop=()) -> float:
    """The same model over an IR graph (unfused: every elementwise node loads and stores)."""
    from ..lang.graph import toposort
    total = 0.0
    for node in toposort(outputs, stop=stop):
        out = type_size(node.outputs[0].type)
        ins = [type_size(v.type) for v in node.inputs]
        op = node.op
        if op.kind == "elemwise":
            total += op.flops * out + STORE * out + LOAD * out * len(node.inputs)
        elif op.extra.get("cost") is not None:
            own = op_flops(op, node.params, [v.type for v in node.inputs], node.outputs[0].type)
            total += own + STORE * out + LOAD * sum(ins)
        elif op.kind == "blas" and len(ins) >= 2:
            total += 2.0 * math.sqrt(ins[0] * ins[1] * out) + out
        else:
            total += op.flops * max(out, sum(ins)) + STORE * out + LOAD * sum(ins)
    return total
