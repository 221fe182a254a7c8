"""DOT text of a saturated e-graph, for teaching what the optimizer saw.

Each e-class is a cluster holding its e-nodes (the equivalent forms found); an edge goes from
an e-node to the cluster of each child class. The node the extractor chose in each class of
the extracted graph is filled green and its edges are bold; classes outside that graph are
drawn faded. Output classes have a double blue border.
"""
from __future__ import annotations

import ast

from .decode import EGraphView, ENode


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(node: ENode, leaf_names: list[str]) -> str:
    if node.op == "Input":
        i = node.payload[0]
        return leaf_names[i] if i < len(leaf_names) else f"Input {i}"
    if node.op in ("Lit", "Int", "Bool"):
        v = node.payload[0]
        return repr(float(v)).removesuffix(".0") if node.op == "Lit" else str(v)
    strings = [p for p in node.payload if isinstance(p, str)]
    extra = ""
    if strings:
        try:
            params = dict(ast.literal_eval(strings[-1]))
            extra = ", ".join(f"{k}={v!r}" for k, v in params.items())
        except (ValueError, SyntaxError, TypeError):
            extra = strings[-1]
    if len(extra) > 40:
        extra = extra[:37] + "..."
    return node.op + (f"\n{{{extra}}}" if extra else "")


def chosen_classes(choice: dict[int, ENode], roots: list[int]) -> set[int]:
    """The classes of the extracted graph: reachable from the roots through chosen nodes."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        c = todo.pop()
        if c in seen or c not in choice:
            continue
        seen.add(c)
        todo.extend(choice[c].children)
    return seen


def egraph_dot(view: EGraphView, choice: dict[int, ENode], leaf_names: list[str], roots: list[int],
               max_nodes: int = 400) -> str:
    """Graphviz text: clusters per e-class, the extracted choice highlighted."""
    if view.n_nodes > max_nodes:
        raise ValueError(f"the e-graph has {view.n_nodes} e-nodes, more than max_nodes={max_nodes} that a "
                         "picture can show legibly; draw a smaller function or raise max_nodes")
    used = chosen_classes(choice, roots)
    lines = ["digraph egraph {", "  compound=true; rankdir=TB; newrank=true;",
             '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor=white];',
             '  graph [fontname="Helvetica", fontsize=9];']
    anchor: dict[int, str] = {}
    for c, nodes in view.classes.items():
        anchor[c] = f"c{c}n0"
    for c, nodes in sorted(view.classes.items()):
        in_use = c in used
        t = view.types.get(c)
        title = f"class {c}" + (f": {t}" if t is not None else f" ({view.sort.get(c, '?')})")
        border = "blue" if c in roots else ("black" if in_use else "grey70")
        lines.append(f"  subgraph cluster_{c} {{")
        style = '"rounded,bold"' if c in roots else "rounded"
        lines.append(f"    label={_quote(title)}; style={style}; "
                     f"color={border}; fontcolor={'black' if in_use else 'grey60'};"
                     + (" peripheries=2;" if c in roots else ""))
        for i, node in enumerate(nodes):
            picked = in_use and choice.get(c) == node
            fill = "palegreen" if picked else ("white" if in_use else "grey95")
            font = "black" if in_use else "grey55"
            lines.append(f"    c{c}n{i} [label={_quote(_label(node, leaf_names))}, fillcolor={fill}, "
                         f"fontcolor={font}{', penwidth=2' if picked else ''}];")
        lines.append("  }")
    for c, nodes in sorted(view.classes.items()):
        for i, node in enumerate(nodes):
            picked = c in used and choice.get(c) == node
            for k in node.children:
                if k not in anchor:
                    continue
                style = "color=darkgreen, penwidth=2" if picked else "color=grey70"
                lines.append(f"  c{c}n{i} -> {anchor[k]} [lhead=cluster_{k}, {style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
