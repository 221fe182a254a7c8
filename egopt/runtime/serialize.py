"""Graphs as flat data for pickling: leaves plus a list of nodes that refer to earlier entries.

Pickling the IR object by object recurses once per level of the graph and fails on deep graphs
(a chain of a few hundred ops); a flat list pickles at constant depth. Leaves (inputs, shared
variables, constants) stay objects, so a shared variable pickled beside a function remains the
same object after loading.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

from ..lang.graph import Apply, Variable, toposort

Ref = Union[int, tuple]          # a leaf index, or (node index, output index)


@dataclass
class FlatGraph:
    leaves: list                 # Variables without owners (cut inputs are replaced by clones)
    nodes: list                  # (op, params, input refs, output types, loc, output names)
    roots: list                  # one Ref per root

    def rebuild(self) -> list[Variable]:
        """The roots as fresh variables (the leaves are the pickled objects)."""
        outs: list[list[Variable]] = []
        for op, params, ins, types, loc, names in self.nodes:
            node = Apply(op, params, [self.get(r, outs) for r in ins], types, loc)
            for var, name in zip(node.outputs, names):
                var.name = name
            outs.append(node.outputs)
        return [self.get(r, outs) for r in self.roots]

    def get(self, ref: Ref, outs: list[list[Variable]]) -> Variable:
        return self.leaves[ref] if isinstance(ref, int) else outs[ref[0]][ref[1]]


def flatten(roots: Sequence[Variable], cut: Sequence[Variable] = ()) -> FlatGraph:
    """Flat data for ``roots``; the variables in ``cut`` come first among the leaves, in order."""
    refs: dict[int, Ref] = {}
    leaves: list[Variable] = []

    def leaf(v: Variable) -> int:
        if id(v) not in refs:
            refs[id(v)] = len(leaves)
            leaves.append(v if v.owner is None else v.clone())
        return refs[id(v)]  # type: ignore[return-value]

    for v in cut:
        leaf(v)
    nodes = []
    for k, node in enumerate(toposort(roots, stop=cut)):
        ins = [refs[id(v)] if id(v) in refs else leaf(v) for v in node.inputs]
        nodes.append((node.op, node.params, ins, [o.type for o in node.outputs], node.loc,
                      [o.name for o in node.outputs]))
        for j, out in enumerate(node.outputs):
            refs[id(out)] = (k, j)
    return FlatGraph(leaves, nodes, [refs[id(r)] if id(r) in refs else leaf(r) for r in roots])
