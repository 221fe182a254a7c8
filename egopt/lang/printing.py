"""Looking inside graphs: ``pp`` (infix text), ``debugprint`` (indented tree), ``Print`` (prints
when run) and ``pydotprint`` (a Graphviz picture). All walks are iterative, so deep graphs print.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from typing import Iterable

import numpy as np

from .graph import Apply, Constant, Variable, toposort
from .ops import Op, register


def short_name(v: Variable) -> str:
    """A variable's name, a constant's value, ``op.out`` for an unnamed result, or its type."""
    if v.name:
        return v.name
    if isinstance(v, Constant):
        return _const_text(v.data)
    if v.owner is not None:
        return f"{v.owner.op.name}.out" if len(v.owner.outputs) == 1 else f"{v.owner.op.name}.{v.index}"
    return f"<{v.type}>"


def _number(x) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _const_text(data: np.ndarray) -> str:
    if data.ndim == 0:
        return _number(data.item())
    if data.size <= 6 and data.ndim == 1:
        return "[" + ", ".join(_number(e) for e in data.tolist()) + "]"
    if data.size <= 6:
        return np.array2string(data, separator=", ")
    return f"constant{data.shape}"


def _param_value(v) -> str:
    if isinstance(v, tuple) and len(v) == 1:
        return repr(v[0])
    return repr(v)


def _shown_params(node: Apply) -> dict:
    """Params worth showing in ``pp``: not False/None, and no ``axis`` that covers every axis."""
    shown = {}
    for k, v in node.params.items():
        if v is False or v is None:
            continue
        if k == "axis" and node.inputs and isinstance(v, tuple) and v == tuple(range(node.inputs[0].ndim)):
            continue
        shown[k] = v
    return shown


def _node_text(node: Apply, args: list[str]) -> str:
    params = _shown_params(node)
    extra = ", ".join(f"{k}={_param_value(v)}" for k, v in params.items())
    fmt = node.op.fmt
    if fmt and node.op.nout == 1:
        text = fmt.format(*args, **node.params)
        unused = [k for k in params if "{" + k + "}" not in fmt]
        if unused and text.endswith(")") and not fmt.startswith("("):   # call-style template
            text = text[:-1] + ", " + ", ".join(f"{k}={_param_value(params[k])}" for k in unused) + ")"
        return text
    return f"{node.op.name}({', '.join(args + ([extra] if extra else []))})"


def pp(var: Variable) -> str:
    """Infix text of a graph: leaves by name, constants by value, binary ops in parentheses.

    >>> import egopt.tensor as T
    >>> x, y = T.dscalars("x", "y")
    >>> pp(T.exp(x) + y * 2)
    '(exp(x) + (y * 2))'
    >>> pp(T.dmatrix("m").sum(axis=0))
    'sum(m, axis=0)'
    """
    return _pp_over([var], {})[0]


def _pp_over(outputs, memo: dict[int, str]) -> list[str]:
    """Texts of ``outputs``, with ``memo`` (id of a variable -> text) naming some leaves."""
    for node in toposort(outputs):
        args = [memo.get(id(i)) or short_name(i) for i in node.inputs]
        show = node.op.extra.get("pp")
        text = show(node, args) if show else _node_text(node, args)
        for out in node.outputs:
            memo[id(out)] = text if len(node.outputs) == 1 else f"{text}[{out.index}]"
    return [memo.get(id(v)) or short_name(v) for v in outputs]


def pp_body(body, args: list[str]) -> list[str]:
    """Texts of a fused body's outputs, its inputs shown as ``args``."""
    return _pp_over(list(body.outputs), {id(h): a for h, a in zip(body.inputs, args)})


# ---- debugprint --------------------------------------------------------------------------------------

def debugprint(obj, file=None, print_type: bool = True, depth: int = -1, **_theano_options) -> str | None:
    """Print the indented tree of a variable, a list of them, or a compiled function's graph.

    Each node gets an id (``[id A]``); a node seen before is printed once and then referred to
    by its id with ``...``. A compiled function shows the graph that runs (after optimization),
    its update expressions marked ``-> update of s``. With ``file="str"`` the text is returned
    instead of printed; ``depth`` limits how many levels are shown (-1: all). Theano's and
    PyTensor's other options (``print_destroy_map``, ``ids``, ``stop_on_name``, ...) are accepted
    and change nothing.

    >>> import egopt.tensor as T
    >>> x = T.dvector("x")
    >>> debugprint(T.exp(x) + x)
    add [id A] <vector[float64](?)>
     |exp [id B] <vector[float64](?)>
     | |x [id C] <vector[float64](?)>
     |x [id C] <vector[float64](?)>
    """
    ids: dict[int, str] = {}
    seen: set[int] = set()
    buf = io.StringIO()
    for root, note in _roots_of(obj):
        _print_tree(root, note, buf, ids, seen, print_type, depth)
    text = buf.getvalue()
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return None


dprint = debugprint


def _print_tree(root: Variable, note: str, buf, ids: dict, seen: set, print_type: bool, depth: int) -> None:
    stack = [(root, 0, note)]
    while stack:
        v, level, note = stack.pop()
        key = id(v.owner) if v.owner is not None else id(v)
        ident = ids.setdefault(key, _letters(len(ids)))
        typ = f" <{v.type}>" if print_type else ""
        pad = " |" * level
        if v.owner is None:
            label = f"Constant{{{_const_text(v.data)}}}" if isinstance(v, Constant) else short_name(v)
            buf.write(f"{pad}{label} [id {ident}]{typ}{note}\n")
            continue
        node = v.owner
        params = ", ".join(f"{k}={val!r}" for k, val in node.params.items())
        out = f".{v.index}" if len(node.outputs) > 1 else ""
        name = f" '{v.name}'" if v.name else ""
        again = key in seen
        buf.write(f"{pad}{node.op.name}{'{' + params + '}' if params else ''}{out} [id {ident}]{name}{typ}"
                  f"{' ...' if again else ''}{note}\n")
        if again or level == depth:
            continue
        seen.add(key)
        stack.extend((i, level + 1, "") for i in reversed(node.inputs))


def _roots_of(obj) -> list[tuple[Variable, str]]:
    if isinstance(obj, Variable):
        return [(obj, "")]
    if hasattr(obj, "op") and isinstance(getattr(obj, "outputs", None), list):   # an apply node: its outputs
        return [(o, "") for o in obj.outputs]
    graph = getattr(obj, "graph_outputs", None)   # a compiled Function
    if graph is not None:
        outs = list(graph())
        updated = [k for k, _ in getattr(obj, "updates", [])]
        n = len(outs) - len(updated)
        return [(o, "") for o in outs[:n]] + [(e, f" -> update of {short_name(k)}")
                                                for e, k in zip(outs[n:], updated)]
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        return [r for x in obj for r in _roots_of(x)]
    raise TypeError(f"debugprint: cannot print {type(obj).__name__}; give a variable, a list of "
                    f"variables or a compiled function")


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


# ---- pydotprint ------------------------------------------------------------------------------------------

def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _function_roots(f, original: bool) -> list[tuple[Variable, str]]:
    """A compiled function's outputs and updates, as optimized (or as the user built them)."""
    source = getattr(f, "_source", None) if original else None
    if source is None:
        return _roots_of(f)
    outs, updates = source
    return [(o, "") for o in outs] + [(e, f" -> update of {short_name(k)}") for k, e in updates]


def inner_graph(node: Apply) -> list[Variable] | None:
    """The outputs of the graph a node holds in its params (a fused kernel, a scan body), or None.

    Generic over how an op stores it: a param that is a Variable, a sequence of Variables, or an
    object with an ``outputs`` sequence of Variables.
    """
    for value in node.params.values():
        cands = getattr(value, "outputs", value)
        if isinstance(cands, Variable):
            return [cands]
        if isinstance(cands, (list, tuple)) and cands and all(isinstance(c, Variable) for c in cands):
            return list(cands)
    return None


def _inner_ops(outputs: list[Variable]) -> list[str]:
    out = []
    for n in toposort(outputs):
        params = _shown_params(n)
        inner = inner_graph(n)
        text = n.op.name + (" {" + ", ".join(f"{k}={_param_value(v)}" for k, v in params.items()) + "}"
                            if params and inner is None else "")
        out.append(text)
    return out


def to_dot(obj, hide_unnamed: bool = True, original: bool = False) -> str:
    """Graphviz DOT text of a variable, a list of them or a compiled function's graph.

    Inputs are green boxes, shared variables cyan, constants grey, outputs blue; apply nodes
    are ellipses; each edge is labelled with the input position and the type it carries.
    Named intermediate results are drawn as yellow ellipses between their producer and users;
    unnamed ones too when ``hide_unnamed=False``. A node holding an inner graph (a fused
    kernel) is one gold box listing its ops. For a compiled function, ``original=True`` draws
    the graph as built, before the optimizer.
    """
    roots = _function_roots(obj, original) if hasattr(obj, "graph_outputs") else _roots_of(obj)
    nodes = toposort([r for r, _ in roots])
    name: dict[int, str] = {}
    leaves: list[Variable] = []
    lines = ["digraph egopt {", "  rankdir=TB;", '  node [fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']

    def leaf(v: Variable) -> str:
        if id(v) not in name:
            name[id(v)] = f"v{len(leaves)}"
            leaves.append(v)
            color = ("grey" if isinstance(v, Constant) else
                     "cyan" if hasattr(v, "get_value") else "limegreen")
            lines.append(f"  {name[id(v)]} [label={_dot_quote(short_name(v) + chr(10) + str(v.type))}, "
                         f"shape=box, style=filled, fillcolor={color}];")
        return name[id(v)]

    for k, node in enumerate(nodes):
        params = ", ".join(f"{p}={val!r}" for p, val in node.params.items())
        inner = inner_graph(node)
        if inner is not None:
            body = "".join(_dot_quote(t)[1:-1] + "\\l" for t in _inner_ops(inner))   # \l: left-aligned lines
            lines.append(f'  n{k} [label="{_dot_quote(node.op.name)[1:-1]}\\n{body}", shape=box, '
                         f'style="rounded,filled", fillcolor=gold];')
        else:
            lines.append(f"  n{k} [label={_dot_quote(node.op.name + ('{' + params + '}' if params else ''))}];")
        for j, out in enumerate(node.outputs):
            name[id(out)] = f"n{k}"
            if out.name or not hide_unnamed:
                var = f"n{k}o{j}"
                lines.append(f"  {var} [label={_dot_quote(short_name(out) + chr(10) + str(out.type))}, "
                             f"style=filled, fillcolor=lightyellow];")
                lines.append(f"  n{k} -> {var};")
                name[id(out)] = var
        for j, v in enumerate(node.inputs):
            src = name[id(v)] if v.owner is not None else leaf(v)
            lines.append(f"  {src} -> n{k} [label={_dot_quote(f'{j} {v.type}')}];")
    for j, (r, note) in enumerate(roots):
        src = name[id(r)] if r.owner is not None else leaf(r)
        label = (note.strip(" ->") if note else f"output {j}") + "\n" + str(r.type)
        lines.append(f"  out{j} [label={_dot_quote(label)}, shape=box, style=filled, fillcolor=dodgerblue];")
        lines.append(f"  {src} -> out{j};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# Theano's drawing options that change only the looks: accepted and ignored
_PYDOT_COSMETIC = frozenset({"compact", "with_ids", "high_contrast", "cond_highlight", "colorCodes",
                             "max_label_size", "scan_graphs", "var_with_name_simple"})


def pydotprint(obj, outfile: str = "egopt_graph.png", format: str | None = None,
               print_output_file: bool = True, hide_unnamed: bool = True, original: bool = False,
               **cosmetic) -> str:
    """Draw a graph (variable, list, or compiled function) with Graphviz; returns the file written.

    Theano's cosmetic options (``compact``, ``with_ids``, ``var_with_name_simple``, ...) are
    accepted and ignored.

    The format comes from the file extension (``.png``, ``.svg``, ``.pdf``; ``.dot`` writes the
    DOT text only). Rendering needs Graphviz's ``dot`` program; without it the DOT text is
    written beside ``outfile`` and a RuntimeError says how to install Graphviz. For a compiled
    function the optimized graph is drawn, or with ``original=True`` the graph as built.
    ``hide_unnamed=False`` draws every intermediate result, not only the named ones.
    """
    unknown = sorted(set(cosmetic) - _PYDOT_COSMETIC)
    if unknown:
        raise TypeError(f"pydotprint() got unexpected keyword argument(s) {unknown}")
    return render_dot(to_dot(obj, hide_unnamed=hide_unnamed, original=original), outfile, format,
                      print_output_file, who="pydotprint")


def render_dot(text: str, outfile: str, format: str | None = None, print_output_file: bool = False,
               who: str = "egopt") -> str:
    """Write DOT text rendered by Graphviz's ``dot`` (or as text for a ``.dot`` file)."""
    outfile = os.fspath(outfile)
    fmt = format or os.path.splitext(outfile)[1].lstrip(".") or "png"
    if fmt == "dot":
        _write(outfile, text)
        return outfile
    dot = shutil.which("dot")
    if dot is None:
        dot_file = os.path.splitext(outfile)[0] + ".dot"
        _write(dot_file, text)
        raise RuntimeError(f"{who} needs Graphviz's 'dot' program to render {fmt.upper()}, and it "
                           f"is not on PATH. Install Graphviz (e.g. 'apt install graphviz' or "
                           f"'brew install graphviz'), or render the DOT text written to {dot_file} "
                           f"yourself: dot -T{fmt} {dot_file} -o {outfile}")
    done = subprocess.run([dot, f"-T{fmt}", "-o", outfile], input=text, text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{who}: Graphviz 'dot -T{fmt}' failed: {done.stderr.strip()}")
    if print_output_file:
        print(f"The output file is available at {outfile}")
    return outfile


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# ---- Print: an identity op that prints when it runs ------------------------------------------------

def _print_perform(params, x):
    for attr in params["attrs"]:
        val = getattr(x, attr)
        val = val() if callable(val) else val
        print(f"{params['message']} {attr} = {val}", flush=True)
    return x


print_op = register(Op("print", lambda params, t: t, _print_perform,
                       lambda node, g: [g], kind="debug", pure=False,
                       defined_in="egopt/lang/printing.py"))


class Print:
    """``Print("msg", attrs=("__str__", "shape"))(x)``: the identity, printing one line per
    attribute (``msg shape = (3,)``) each time the compiled function runs it."""

    def __init__(self, message: str = "", attrs: tuple[str, ...] = ("__str__",)):
        self.message = message
        self.attrs = tuple(attrs)

    def __call__(self, x) -> Variable:
        from .frontend import as_tensor_variable
        return print_op(as_tensor_variable(x), message=self.message, attrs=self.attrs)
