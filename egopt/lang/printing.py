"""Looking inside graphs: ``pp`` (infix text), ``debugprint`` (indented tree), ``Print`` (runtime)."""
from __future__ import annotations

import io
import sys
from typing import Iterable

import numpy as np

from .graph import Constant, Variable, toposort
from .ops import Op, register
from .types import TensorType


def short_name(v: Variable) -> str:
    if v.name:
        return v.name
    if isinstance(v, Constant):
        return _const_text(v.data)
    if v.owner is not None:
        return f"{v.owner.op.name}.out" if v.owner.op.nout == 1 else f"{v.owner.op.name}.{v.index}"
    return f"<{v.type}>"


def _const_text(data: np.ndarray) -> str:
    if data.ndim == 0:
        return repr(data.item())
    if data.size <= 6:
        return np.array2string(data, separator=", ")
    return f"constant{data.shape}"


def pp(var: Variable) -> str:
    """Infix text of a graph: ``pp(x + y * 2)`` → ``'(x + (y * 2))'``.

    >>> import egopt.tensor as T
    >>> x, y = T.dscalars("x", "y")
    >>> pp(T.exp(x) + y * 2)
    '(exp(x) + (y * 2))'
    """
    memo: dict[int, str] = {}

    def text(v: Variable) -> str:
        if id(v) in memo:
            return memo[id(v)]
        if v.owner is None or (v.name and v.owner is not None and False):
            s = short_name(v)
        else:
            node = v.owner
            args = [text(i) for i in node.inputs]
            if node.op.fmt and node.op.nout == 1:
                s = node.op.fmt.format(*args, **node.params)
            else:
                p = ", ".join(f"{k}={val}" for k, val in node.params.items() if k not in ("loc",))
                s = f"{node.op.name}{'{' + p + '}' if p else ''}({', '.join(args)})"
            if node.op.nout > 1:
                s = f"{s}[{v.index}]"
        memo[id(v)] = s
        return s

    return text(var)


def debugprint(obj, file=None, print_type: bool = True) -> str:
    """Print the indented tree of a variable, a list of them, or a compiled function's graph.

    Each node gets an id (``[id A]``); a node seen before is printed once and referred to by id.
    Returns the text (and prints it to ``file`` or stdout unless ``file="str"``).
    """
    outputs = _outputs_of(obj)
    ids: dict[int, str] = {}
    buf = io.StringIO()

    def ident(v: Variable) -> str:
        key = id(v.owner) if v.owner is not None else id(v)
        if key not in ids:
            ids[key] = _letters(len(ids))
        return ids[key]

    def walk(v: Variable, depth: int, seen: set):
        pad = " |" * depth
        typ = f" <{v.type}>" if print_type else ""
        name = f" '{v.name}'" if v.name else ""
        if v.owner is None:
            label = short_name(v) if not isinstance(v, Constant) else f"Constant{{{_const_text(v.data)}}}"
            buf.write(f"{pad}{label} [id {ident(v)}]{typ}\n")
            return
        node = v.owner
        p = ", ".join(f"{k}={val}" for k, val in node.params.items())
        out = f".{v.index}" if node.op.nout > 1 else ""
        already = id(node) in seen
        buf.write(f"{pad}{node.op.name}{'{' + p + '}' if p else ''}{out} [id {ident(v)}]{name}{typ}"
                  f"{' ...' if already else ''}\n")
        if already:
            return
        seen.add(id(node))
        for inp in node.inputs:
            walk(inp, depth + 1, seen)

    seen: set = set()
    for o in outputs:
        walk(o, 0, seen)
    text = buf.getvalue()
    if file != "str":
        (file or sys.stdout).write(text)
    return text


dprint = debugprint


def _outputs_of(obj) -> list[Variable]:
    if isinstance(obj, Variable):
        return [obj]
    graph = getattr(obj, "graph_outputs", None)   # a compiled Function
    if graph is not None:
        return list(graph())
    if isinstance(obj, Iterable):
        return [o for x in obj for o in _outputs_of(x)]
    raise TypeError(f"debugprint: cannot print {type(obj).__name__}")


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _print_perform(params, x):
    parts = []
    for attr in params["attrs"]:
        val = getattr(x, attr)
        val = val() if callable(val) else val
        parts.append(f"{attr} = {val}")
    print(f"{params['message']} {', '.join(parts)}", flush=True)
    return x


print_op = register(Op("print", lambda params, t: t, _print_perform,
                       lambda node, g: [g], kind="debug", pure=False,
                       defined_in="egopt/lang/printing.py"))


class Print:
    """``Print("msg", attrs=("__str__", "shape"))(x)``: identity that prints when the function runs."""

    def __init__(self, message: str = "", attrs: tuple[str, ...] = ("__str__",)):
        self.message = message
        self.attrs = tuple(attrs)

    def __call__(self, x) -> Variable:
        from .frontend import as_tensor_variable
        return print_op(as_tensor_variable(x), message=self.message, attrs=self.attrs)
