"""IR -> e-graph: one ``let`` per IR node, children first, built as binding objects.

Elementwise nodes become ``(Ew body)`` with a one-level body over ``(Ld child)`` leaves; 0-d
constants that NumPy would treat the same way as a weak Python scalar become literals, so
scalar rules see ``x + 1`` whatever dtype x has. Everything the function reads from outside
(inputs, shared variables, other constants) is an ``(Input i)`` leaf.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..lang import dtypes
from ..lang.graph import Constant, Variable, toposort
from ..lang.types import TensorType
from .schema import op_ctor


class Unsupported(Exception):
    """A graph the e-graph encoding does not cover; the optimizer leaves it as it is."""


def params_text(params: dict) -> str:
    return repr(tuple(sorted(params.items())))


@dataclass
class Encoding:
    leaves: list[Variable] = field(default_factory=list)          # (Input i) -> leaves[i]
    names: dict[int, str] = field(default_factory=dict)           # id(var) -> let name
    types: dict[str, TensorType] = field(default_factory=dict)    # let name -> IR type
    origin: dict[str, Variable] = field(default_factory=dict)     # let name -> IR variable
    roots: list[str] = field(default_factory=list)                # let names of the outputs
    commands: list = field(default_factory=list)
    n_nodes: int = 0


def weak_literal(inputs: Sequence[Variable], i: int):
    """The literal for input i if it is a 0-d constant that behaves as a weak scalar there."""
    c = inputs[i]
    if not isinstance(c, Constant) or c.ndim != 0:
        return None
    others = [v.dtype for j, v in enumerate(inputs) if j != i and not (isinstance(v, Constant) and v.ndim == 0)]
    if not others:
        return None
    value = c.data.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, complex):
        return None
    ctx = dtypes.upcast(*others)
    if dtypes.weak_scalar_dtype(value, ctx) != c.dtype or dtypes.upcast(ctx, c.dtype) != ctx:
        return None
    if c.dtype == "bool":
        return ("Bool", int(value))
    if dtypes.is_int(c.dtype):
        return ("Int", int(value))
    return ("Lit", float(value))


def encode(outputs: Sequence[Variable], leaves: Sequence[Variable]) -> Encoding:
    """Commands that insert ``outputs`` (reading ``leaves``) into an e-graph of the schema."""
    from .egglog_bindings import bindings
    b = bindings()
    sp = b.PanicSpan()
    enc = Encoding()

    def call(name, args):
        return b.Call(sp, name, list(args))

    def var(name):
        return b.Var(sp, name)

    def lit(kind, value):
        prim = {"Lit": b.Float, "Int": b.Int, "Bool": b.Int}[kind](value)
        return call(kind, [b.Lit(sp, prim)])

    def let(v: Variable, expr) -> str:
        name = f"$v{len(enc.names)}"
        enc.names[id(v)] = name
        enc.types[name] = v.type
        enc.origin[name] = v
        enc.commands.append(b.ActionCommand(b.Let(sp, name, expr)))
        return name

    def real(scalar) -> None:
        # a float-valued scalar class: the range analysis's facts that integer wrap-around
        # would break hold for it (egopt/rules/analysis.py)
        enc.commands.append(b.ActionCommand(b.Expr_(sp, call("Real", [scalar]))))

    def leaf(v: Variable) -> str:
        if id(v) not in enc.names:
            let(v, call("Input", [b.Lit(sp, b.Int(len(enc.leaves)))]))
            enc.leaves.append(v)
        return enc.names[id(v)]

    def ref(v: Variable):
        return var(leaf(v) if v.owner is None else enc.names[id(v)])

    for v in leaves:
        leaf(v)
    for node in toposort(outputs, stop=leaves):
        op = node.op
        if op.nout != 1:
            raise Unsupported(f"op {op.name} has {op.nout} outputs")
        if op.kind == "fused":
            raise Unsupported(f"op {op.name} is already fused")
        out = node.outputs[0]
        ctor = op_ctor(op)
        p = [b.Lit(sp, b.String(params_text(node.params)))] if ctor.has_params else []
        if op.kind == "elemwise":
            args = []
            for i, v in enumerate(node.inputs):
                w = weak_literal(node.inputs, i)
                args.append(lit(*w) if w else call("Ld", [ref(v)]))
                if not w and dtypes.is_float(v.dtype):
                    real(args[-1])
            scalar = call(ctor.name, args + p)
            expr = call("Ew", [scalar])
        elif op.nin is not None:
            if len(node.inputs) != op.nin:
                raise Unsupported(f"op {op.name} declares nin={op.nin} but has {len(node.inputs)} inputs")
            expr = call(ctor.name, [ref(v) for v in node.inputs] + p)
        else:
            lst = call("TNil", [])
            for v in reversed(node.inputs):
                lst = call("TCons", [ref(v), lst])
            expr = call(ctor.name, [lst] + p)
        let(out, expr)
        if op.kind == "elemwise" and dtypes.is_float(out.dtype):
            real(call("Ld", [var(enc.names[id(out)])]))
        enc.n_nodes += 1
    for o in outputs:
        if id(o) not in enc.names:      # an output that is a leaf (an input or a constant)
            leaf(o)
        enc.roots.append(enc.names[id(o)])
    return enc
