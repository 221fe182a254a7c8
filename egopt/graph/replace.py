"""``clone_replace`` (PyTensor), ``theano.clone``: copies of a graph with variables replaced."""
from __future__ import annotations

from ..lang import frontend as _F
from ..lang.graph import Variable, clone_replace as _clone_replace


def clone_replace(output, replace=None, **_rebuild_kwds):
    """A copy of ``output`` (a variable or a list of them) where each key of ``replace`` (a dict or
    a list of pairs) is replaced by its value; the rest of the graph is shared, not copied."""
    pairs = list(replace.items()) if isinstance(replace, dict) else list(replace or [])
    mapping = {k: _F.as_tensor_variable(v) for k, v in pairs}
    for k, v in mapping.items():
        if not isinstance(k, Variable):
            raise TypeError(f"clone_replace: {k!r} is not a symbolic variable")
        if k.ndim != v.ndim:
            raise TypeError(f"clone_replace: {k!r} ({k.type}) cannot be replaced by {v!r} ({v.type}): "
                            "the number of dimensions differs")
    single = isinstance(output, Variable)
    outs = [output] if single else list(output)
    new = _clone_replace(outs, mapping) if mapping else outs
    return new[0] if single else (type(output)(new) if isinstance(output, tuple) else new)


def clone(output, replace=None, strict: bool = True, share_inputs: bool = True, copy_inputs=None):
    """Theano's ``theano.clone(output, replace=...)``."""
    return clone_replace(output, replace)


graph_replace = clone_replace


def rewrite_graph(graph, include=("canonicalize",), custom_rewrite=None, clone: bool = False, **_kwargs):
    """PyTensor's ``rewrite_graph``: ``graph`` (a variable or a list of them) as egopt's e-graph
    optimizer rewrites it, whatever ``include`` names (the e-graph applies its whole rule library at
    once: canonical forms, stabilizations and specializations together)."""
    from ..lang.graph import graph_inputs
    from ..runtime.mode import get_mode
    from ..runtime.optimize import ruleset_for
    from ..runtime.scan_opt import optimize_graph
    single = isinstance(graph, Variable)
    outs = [graph] if single else list(graph)
    new, _ = optimize_graph(outs, graph_inputs(outs), ruleset_for(get_mode("FAST_RUN")))
    new = expand_fused(new)     # plain ops again: the result can be differentiated and rewritten
    return new[0] if single else new


def expand_fused(outputs):
    """``outputs`` with the optimizer's fused nodes (``fused_elemwise``, ``fused_reduce``, ``gemm``)
    written as the plain ops they stand for."""
    from ..lang.graph import toposort
    from ..lang.ops import get_op
    memo: dict[int, Variable] = {}

    def new(v):
        return memo.get(id(v), v)

    for node in toposort(outputs):
        args = [new(v) for v in node.inputs]
        name, p = node.op.name, node.params
        if name in ("fused_elemwise", "fused_reduce"):
            body = p["body"]
            outs = _clone_replace(list(body.outputs), dict(zip(body.inputs, args)))
            if name == "fused_reduce":
                axis = tuple(range(outs[0].ndim)) if p["axis"] is None else tuple(p["axis"])
                outs = [get_op(p["reduce"]).make_node([outs[0]], loc=node.loc, axis=axis,
                                                      keepdims=p["keepdims"]).outputs[0]]
        elif name == "gemm":
            a, b = args[0], args[1]
            a = a.T if p["trans_a"] else a
            b = b.T if p["trans_b"] else b
            out = _F.dot(a, b) * p["alpha"] if p["alpha"] != 1.0 else _F.dot(a, b)
            if len(args) == 3 and p["beta"] != 0.0:
                out = out + args[2] * p["beta"] if p["beta"] != 1.0 else out + args[2]
            outs = [out]
        elif all(a is b for a, b in zip(args, node.inputs)):
            continue
        else:
            outs = node.op.make_node(args, loc=node.loc, **p).outputs
        for old, nv in zip(node.outputs, outs):
            memo[id(old)] = nv if nv.dtype == old.dtype else _F.cast(nv, old.dtype)
    return [new(v) for v in outputs]
