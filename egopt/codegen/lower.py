"""Lowering: elementwise regions, fused nodes and reductions of the graph IR -> kernel IR.

A region is a list of elementwise apply nodes (in dependency order) that share one index
space; a plain elementwise node is a one-node region, and a ``fused_elemwise`` /
``fused_reduce`` node (egopt/lang/fused.py) lowers its body the same way. Each node becomes a
``Call`` whose arguments are first cast to the dtype the op computes in, as NumPy's ufunc
loops do (``add(int8, float32)`` adds in float32; a comparison compares in the inputs' common
dtype). 0-d constants become literals; every other outer value is a buffer.

softmax and log_softmax lower to a kernel that normalizes along their axis.
``lower_*`` return None for what the kernels do not cover (float16 and complex dtypes, an op
without a ``c`` template); the runtime then runs that node's NumPy perform.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..lang import dtypes
from ..lang.graph import Apply, Constant, Variable, toposort
from .kernel_ir import NORMALIZATIONS, REDUCTIONS, Buffer, Call, Cast, Const, Expr, Kernel, Load, Normalize, Reduce

# ops whose arguments keep their own dtypes (the template handles them)
_OWN_DTYPES = {"cast", "isnan", "isinf"}
# comparisons compute in the inputs' common dtype and return bool
_COMPARE = {"eq", "neq", "lt", "le", "gt", "ge"}


@dataclass
class Lowered:
    """A kernel and how it binds to the graph: outer inputs and outputs in buffer order."""
    kernel: Kernel
    inputs: list[Variable]
    outputs: list[Variable]
    nodes: list[Apply] = field(default_factory=list)   # the graph nodes it computes
    keepdims: bool = True                              # reductions: keep the reduced axes

    @property
    def ops(self) -> list[str]:
        return [n.op.name for n in self.nodes]


def supported_dtype(dtype: str) -> bool:
    return dtypes.C_TYPES.get(dtype) is not None


def lowerable(node: Apply) -> bool:
    """Can this elementwise node be part of a kernel?"""
    return (node.op.kind == "elemwise" and node.op.c is not None and node.op.nout == 1
            and all(supported_dtype(v.dtype) for v in node.inputs + node.outputs))


class _Builder:
    """Builds expressions for one index space of ``ndim`` axes with static sizes ``shape``."""

    def __init__(self, shape: tuple[int | None, ...]):
        self.shape = shape
        self.inputs: list[Variable] = []
        self.values: dict[int, Expr] = {}

    def value(self, v: Variable) -> Expr:
        e = self.values.get(id(v))
        if e is not None:
            return e
        if isinstance(v, Constant) and v.ndim == 0:
            e = Const(np.asarray(v.data).item(), v.dtype)
        else:
            e = Load(self._buffer(v))
        self.values[id(v)] = e
        return e

    def _buffer(self, v: Variable) -> Buffer:
        lead = len(self.shape) - v.ndim
        if lead < 0:
            raise ValueError(f"{v!r} has more axes than the kernel's index space")
        bcast = tuple(True if a < lead else (v.type.shape[a - lead] == 1 and self.shape[a] != 1)
                      for a in range(len(self.shape)))
        b = Buffer(len(self.inputs), v.dtype, bcast)
        self.inputs.append(v)
        return b

    def apply(self, node: Apply) -> Expr:
        out = node.outputs[0].dtype
        args = [self.value(v) for v in node.inputs]
        name = node.op.name
        if name in _OWN_DTYPES:
            pass
        elif name in _COMPARE:
            common = dtypes.upcast(*(a.dtype for a in args))
            args = [cast(a, common) for a in args]
        elif name == "switch":
            args = [args[0]] + [cast(a, out) for a in args[1:]]
        else:
            args = [cast(a, out) for a in args]
        params = tuple(sorted((k, v) for k, v in node.params.items() if k != "loc"))
        return Call(name, tuple(args), out, params)


def cast(e: Expr, dtype: str) -> Expr:
    if e.dtype == dtype:
        return e
    if isinstance(e, Const):
        return Const(np.asarray(e.value).astype(dtype).item(), dtype)
    return Cast(e, dtype)


def lower_region(nodes: Sequence[Apply], outputs: Sequence[Variable]) -> Lowered | None:
    """One kernel for elementwise ``nodes`` (dependency order) computing ``outputs``; all the
    outputs must have the region's full static shape."""
    if not nodes or not all(lowerable(n) for n in nodes):
        return None
    shape = outputs[0].type.shape
    if any(o.type.shape != shape for o in outputs):
        return None
    b = _Builder(shape)
    for node in nodes:
        b.values[id(node.outputs[0])] = b.apply(node)
    nin = len(b.inputs)
    outs = tuple((Buffer(nin + j, o.dtype, (False,) * len(shape)), b.values[id(o)])
                 for j, o in enumerate(outputs))
    label = "+".join(n.op.name for n in nodes)
    return Lowered(Kernel(len(shape), _buffers(b), outs, label=label),
                   list(b.inputs), list(outputs), list(nodes))


def _buffers(b: _Builder) -> tuple[Buffer, ...]:
    loads = {}
    for e in b.values.values():
        if isinstance(e, Load):
            loads[e.buffer.index] = e.buffer
    return tuple(loads[i] for i in range(len(b.inputs)))


def lower_body(node: Apply) -> Lowered | None:
    """A ``fused_elemwise`` node: its body's nodes over the node's outer inputs."""
    body = node.params["body"]
    inner = toposort(list(body.outputs), stop=list(body.inputs))
    if not all(lowerable(n) for n in inner):
        return None
    if not all(supported_dtype(v.dtype) for v in list(node.inputs) + list(node.outputs)):
        return None
    if not _one_index_space(node, body, inner):
        return None
    shape = node.outputs[0].type.shape
    b = _Builder(shape)
    for placeholder, outer in zip(body.inputs, node.inputs):
        b.values[id(placeholder)] = b.value(outer)
    for n in inner:
        b.values[id(n.outputs[0])] = b.apply(n)
    nin = len(b.inputs)
    outs = []
    for j, (inner_out, outer_out) in enumerate(zip(body.outputs, node.outputs)):
        e = cast(b.value(inner_out), outer_out.dtype)
        outs.append((Buffer(nin + j, outer_out.dtype, (False,) * len(shape)), e))
    label = "fused(" + "+".join(n.op.name for n in inner) + ")"
    return Lowered(Kernel(len(shape), _buffers(b), tuple(outs), label=label),
                   list(b.inputs), list(node.outputs), [node] + inner)


def _one_index_space(node: Apply, body, inner: Sequence[Apply]) -> bool:
    """Do all the outputs of a multi-output fused node have the kernel's index space (the
    broadcast of every input) as their shape? An output computed from every input does; else
    only fully known static shapes, all equal, say so. (A kernel writes every output over the
    whole index space: an output of another shape cannot be one of its buffers.)"""
    if len(node.outputs) == 1:
        return True
    shapes = {o.type.shape for o in node.outputs}
    if len(shapes) == 1 and None not in next(iter(shapes)):
        return True
    deps: dict[int, set[int]] = {id(p): {i} for i, p in enumerate(body.inputs)}
    for n in inner:
        d = set().union(*(deps.get(id(v), set()) for v in n.inputs))
        for o in n.outputs:
            deps[id(o)] = d
    # inputs that can set a size: not 0-d, not statically 1 on every axis
    every = {i for i, v in enumerate(node.inputs) if any(s != 1 for s in v.type.shape)}
    return all(deps.get(id(o), set()) >= every for o in body.outputs)


def accumulator(kind: str, in_dtype: str, out_dtype: str) -> str:
    """The dtype a reduction accumulates in: the output's (reduce.py's rules), except that
    float32 sums, products and means accumulate in float64 (NumPy sums pairwise; a running
    float32 sum would lose more)."""
    if kind in ("sum", "prod", "mean") and out_dtype == "float32":
        return "float64"
    if kind in ("all", "any"):
        return "bool"
    return out_dtype


def lower_reduce(node: Apply) -> Lowered | None:
    """A reduction (sum, prod, max, min, mean, all, any) of a plain input or of a
    ``fused_reduce`` body."""
    name = node.op.name
    if name == "fused_reduce":
        kind, body = node.params["reduce"], node.params["body"]
    elif node.op.kind == "reduce" and name in REDUCTIONS:
        kind, body = name, None
    else:
        return None
    if not all(supported_dtype(v.dtype) for v in list(node.inputs) + node.outputs):
        return None
    shape = _full_shape(node, body)
    # axis None reduces every axis of the reduced value: a fused body's inputs may have fewer
    # axes than its (broadcast) output
    axes = tuple(range(len(shape))) if node.params.get("axis") is None else tuple(node.params["axis"])
    b = _Builder(shape)
    inner: list[Apply] = []
    if body is None:
        e = b.value(node.inputs[0])
    else:
        inner = toposort(list(body.outputs), stop=list(body.inputs))
        if not all(lowerable(n) for n in inner):
            return None
        for placeholder, outer in zip(body.inputs, node.inputs):
            b.values[id(placeholder)] = b.value(outer)
        for n in inner:
            b.values[id(n.outputs[0])] = b.apply(n)
        e = b.value(body.outputs[0])
    out = node.outputs[0]
    acc = accumulator(kind, e.dtype, out.dtype)
    if kind in ("all", "any"):
        e = cast(e, "bool")
    elif kind in ("max", "min"):
        e = cast(e, out.dtype)
    else:
        e = cast(e, acc)
    obuf = Buffer(len(b.inputs), out.dtype, tuple(a in axes for a in range(len(shape))))
    kernel = Kernel(len(shape), _buffers(b), ((obuf, e),), Reduce(kind, axes, acc),
                    label=f"{kind}{list(axes)}" + (f"(fused {'+'.join(n.op.name for n in inner)})"
                                                  if inner else ""))
    return Lowered(kernel, list(b.inputs), [out], [node] + inner,
                   keepdims=bool(node.params.get("keepdims", False)))


def _full_shape(node: Apply, body) -> tuple[int | None, ...]:
    if body is None:
        return node.inputs[0].type.shape
    return body.outputs[0].type.shape


def lower_normalize(node: Apply) -> Lowered | None:
    """softmax / log_softmax along one axis of a float input (float32 sums in float64)."""
    kind = node.op.name
    if kind not in NORMALIZATIONS or not all(supported_dtype(v.dtype) for v in list(node.inputs) + node.outputs):
        return None
    x, out = node.inputs[0], node.outputs[0]
    if out.dtype not in ("float32", "float64") or x.ndim == 0:
        return None
    b = _Builder(x.type.shape)
    e = cast(b.value(x), out.dtype)
    obuf = Buffer(len(b.inputs), out.dtype, (False,) * x.ndim)
    kernel = Kernel(x.ndim, _buffers(b), ((obuf, e),), label=f"{kind}[{node.params['axis']}]",
                    normalize=Normalize(kind, int(node.params["axis"]), "float64"))
    return Lowered(kernel, list(b.inputs), [out], [node])


def lower_normalize_pair(softmax: Apply, log_softmax: Apply) -> Lowered | None:
    """softmax and log_softmax of the same input along the same axis as one kernel (a
    cross-entropy's cost reads one, its gradient the other): one max and one exponential per
    element for both."""
    one = lower_normalize(softmax)
    if one is None or lower_normalize(log_softmax) is None:
        return None
    if log_softmax.inputs[0] is not softmax.inputs[0] or log_softmax.params["axis"] != softmax.params["axis"]:
        return None
    k = one.kernel
    (sbuf, e), = k.outputs
    out = log_softmax.outputs[0]
    lbuf = Buffer(sbuf.index + 1, out.dtype, sbuf.broadcast)
    kernel = Kernel(k.ndim, k.inputs, ((sbuf, e), (lbuf, e)),
                    label=f"softmax+log_softmax[{softmax.params['axis']}]",
                    normalize=Normalize("softmax+log_softmax", k.normalize.axis, k.normalize.acc))
    return Lowered(kernel, one.inputs, [softmax.outputs[0], out], [softmax, log_softmax])
