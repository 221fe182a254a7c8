"""Fused nodes: what the optimizer's fusion decisions decode to, and gemm.

``fused_elemwise`` is one node for an elementwise region: its ``body`` (a ``FusedBody``) is an
ordinary IR graph of elementwise ops over placeholder inputs, one per outer input and of the
same type, so every IR walker (toposort, pp, perform) works on it. ``fused_reduce`` is such a
body feeding one reduction. ``gemm`` is ``alpha * op(A) @ op(B) + beta * C`` with transposes
as flags. Fusion runs after differentiation, so none of them has a gradient.

The NumPy performs are the reference the C linker is checked against: a body computes every
op in the dtype the unfused graph would (each node's perform, then a cast to its type).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import dtypes
from .errors import EgoptError, EgoptTypeError, OpRuntimeError, ShapeError
from .graph import Apply, Constant, Variable, toposort
from .ops import Op, describe_call, get_op, register
from .reduce import reduced_shape
from .types import TensorType, broadcast_shapes

# The deepest chain of ops one fused body (or C-linker region) computes. A deeper chain stores
# a value every MAX_DEPTH ops (one more pass over memory per MAX_DEPTH ops), which keeps the
# kernel IR, the renderers and the C compiler clear of recursion limits and huge expressions.
MAX_DEPTH = 64


class FusedBody:
    """An elementwise IR graph over placeholders: equal (and hashed) by structure, picklable.

    ``inputs`` are placeholder variables (no owner) of the outer inputs' types; ``outputs`` are
    computed from them by elementwise ops, with 0-d constants as the only other leaves.
    """

    __slots__ = ("inputs", "outputs", "nodes", "_key", "_hash", "_schedule")

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable]):
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        if not self.outputs:
            raise ValueError("a fused body needs at least one output")
        self.nodes = tuple(toposort(self.outputs, stop=self.inputs))
        self._key = self._structure()
        self._hash = hash(self._key)
        self._schedule = None

    @staticmethod
    def of(inputs: Sequence[Variable], outputs: Sequence[Variable]) -> "FusedBody":
        """The body of the subgraph from ``inputs`` (outer variables) to ``outputs``, copied
        onto fresh placeholders (the outer graph is left as it is)."""
        holders = [Variable(v.type, name=v.name or f"in{i}") for i, v in enumerate(inputs)]
        memo: dict[int, Variable] = {id(o): h for o, h in zip(inputs, holders)}
        for node in toposort(outputs, stop=inputs):
            args = [memo.get(id(v), v) for v in node.inputs]
            new = Apply(node.op, node.params, args, [v.type for v in node.outputs], node.loc)
            for old, nv in zip(node.outputs, new.outputs):
                memo[id(old)] = nv
        return FusedBody(holders, [memo[id(o)] for o in outputs])

    def _structure(self) -> tuple:
        pos: dict[int, tuple] = {}
        for i, v in enumerate(self.inputs):
            if v.owner is not None:
                raise ValueError(f"fused body input {i} ({v!r}) must be a placeholder (no owner)")
            if id(v) in pos:
                raise ValueError(f"fused body input {i} ({v!r}) is listed twice")
            pos[id(v)] = ("in", i)
        items: list = [tuple(v.type for v in self.inputs)]
        for k, node in enumerate(self.nodes):
            if node.op.kind != "elemwise":
                raise ValueError(f"a fused body holds elementwise ops only, got {node.op.name}")
            args = []
            for v in node.inputs:
                if id(v) in pos:
                    args.append(pos[id(v)])
                elif isinstance(v, Constant) and v.ndim == 0:
                    args.append(("const", v.dtype, v.data.tobytes()))
                else:
                    raise ValueError(f"fused body: {node.op.name} reads {v!r}, which is neither a "
                                     f"body input nor a 0-d constant")
            for o in node.outputs:
                pos[id(o)] = ("node", k, o.index)
            items.append((node.op.name, tuple(sorted(node.params.items())), tuple(args),
                          tuple(o.type.dtype for o in node.outputs)))
        for o in self.outputs:
            if o.owner is None:
                raise ValueError(f"fused body output {o!r} must be computed by an op in the body")
        items.append(tuple(pos[id(o)] for o in self.outputs))
        return tuple(items)

    def __eq__(self, other) -> bool:
        return isinstance(other, FusedBody) and self._hash == other._hash and self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        return (_body_from_flat, (_flat(self),))

    def __repr__(self) -> str:
        from .printing import pp
        outs = ", ".join(pp(o) for o in self.outputs)
        ins = ", ".join(_holder_name(v, i) for i, v in enumerate(self.inputs))
        return f"FusedBody(({ins}) -> {outs})"

    @property
    def flops(self) -> float:
        """Flops per output element (the sum of the body ops' flops)."""
        return float(sum(n.op.flops for n in self.nodes))

    def output_types(self, input_types: Sequence[TensorType]) -> list[TensorType]:
        """The body outputs' types when the inputs have ``input_types`` (same dtypes and ndims)."""
        if len(input_types) != len(self.inputs):
            raise TypeError(f"the body takes {len(self.inputs)} inputs, got {len(input_types)}")
        types: dict[int, TensorType] = {}
        for i, (h, t) in enumerate(zip(self.inputs, input_types)):
            if t.dtype != h.type.dtype or t.ndim != h.type.ndim:
                raise EgoptTypeError(f"input {i} is {t}, the body expects {h.type}")
            types[id(h)] = t
        for node in self.nodes:
            ts = [types.get(id(v), v.type) for v in node.inputs]
            out = node.op.infer(node.params, *ts)
            for o, ot in zip(node.outputs, [out] if isinstance(out, TensorType) else out):
                types[id(o)] = ot
        return [types[id(o)] for o in self.outputs]

    def op_names(self) -> list[str]:
        return [n.op.name for n in self.nodes]

    def run(self, *xs: np.ndarray) -> list[np.ndarray]:
        """The outputs for input arrays ``xs``, each op computed in its IR dtype."""
        sched = self._schedule
        if sched is None:
            sched = self._schedule = _Schedule(self)
        return sched.run(xs)


def _holder_name(v: Variable, i: int) -> str:
    return v.name or f"in{i}"


def _flat(body: FusedBody) -> tuple:
    """(input types and names, nodes as (op name, params, input refs, output types, loc), outputs)."""
    ref: dict[int, tuple] = {id(v): ("in", i) for i, v in enumerate(body.inputs)}
    nodes = []
    for k, node in enumerate(body.nodes):
        args = [ref.get(id(v)) or ("const", v.data, v.dtype) for v in node.inputs]
        nodes.append((node.op.name, node.params, args, [o.type for o in node.outputs], node.loc))
        for o in node.outputs:
            ref[id(o)] = ("node", k, o.index)
    return ([(v.type, v.name) for v in body.inputs], nodes, [ref[id(o)] for o in body.outputs])


def _body_from_flat(flat: tuple) -> FusedBody:
    ins, nodes, outs = flat
    holders = [Variable(t, name=n) for t, n in ins]
    built: list[Apply] = []

    def get(r):
        if r[0] == "in":
            return holders[r[1]]
        if r[0] == "node":
            return built[r[1]].outputs[r[2]]
        return Constant(np.asarray(r[1]), dtype=r[2])

    for op_name, params, args, types, loc in nodes:
        built.append(Apply(get_op(op_name), params, [get(a) for a in args], types, loc))
    return FusedBody(holders, [get(r) for r in outs])


class _Schedule:
    """A body as a flat list of steps over numbered slots, computed once per body.

    A step whose op is a NumPy ufunc that yields the IR dtype by itself writes into a buffer
    freed by an earlier step (``out=``), so a long body reuses a few temporaries instead of
    allocating one per op; other steps run the op's perform and cast to the IR dtype.
    """

    def __init__(self, body: FusedBody):
        slot: dict[int, int] = {id(v): i for i, v in enumerate(body.inputs)}
        dtype_of: dict[int, np.dtype] = {i: np.dtype(v.dtype) for i, v in enumerate(body.inputs)}
        self.consts: list[tuple[int, np.ndarray]] = []
        n = len(body.inputs)
        steps = []
        for node in body.nodes:
            args = []
            for v in node.inputs:
                if id(v) not in slot:          # a 0-d constant
                    slot[id(v)] = n
                    dtype_of[n] = np.dtype(v.dtype)
                    self.consts.append((n, v.data))
                    n += 1
                args.append(slot[id(v)])
            dt = np.dtype(node.outputs[0].dtype)
            uf = node.op.extra.get("ufunc")
            if uf is not None and not _ufunc_yields(uf, [dtype_of[a] for a in args], dt):
                uf = None
            slot[id(node.outputs[0])] = n
            dtype_of[n] = dt
            steps.append((node.op.perform, node.params, tuple(args), dt, n, uf, node, _bcast_checks(node)))
            n += 1
        self.nslots = n
        self.out_slots = [slot[id(o)] for o in body.outputs]
        # after each step, the temporaries it read for the last time (free for reuse)
        last: dict[int, int] = {}
        for k, st in enumerate(steps):
            for a in st[2]:
                last[a] = k
        keep = set(range(len(body.inputs))) | {i for i, _ in self.consts} | set(self.out_slots)
        self.steps = [st + (tuple(sorted({a for a in st[2] if last[a] == k and a not in keep})),)
                      for k, st in enumerate(steps)]

    def run(self, xs) -> list[np.ndarray]:
        vals: list = [None] * self.nslots
        vals[:len(xs)] = xs
        for i, c in self.consts:
            vals[i] = c
        pool: dict = {}
        fresh: set[int] = set()        # slots holding an array a ufunc step allocated here
        for perform, params, args, dt, out, uf, node, checks, free in self.steps:
            a = [vals[i] for i in args]
            try:
                if uf is not None:
                    buf = pool.pop((np.broadcast_shapes(*[x.shape for x in a]), dt), None) if pool else None
                    r = uf(*a) if buf is None else uf(*a, out=buf)
                    fresh.add(out)
                else:
                    r = perform(params, *a)
                    if getattr(r, "dtype", None) != dt:
                        r = np.asarray(r).astype(dt)
                    else:               # the result may be (a view of) an input: never reuse those
                        fresh.difference_update(args)
                for i, ax in checks:
                    x = a[i]
                    if x.shape[ax] != r.shape[r.ndim - x.ndim + ax]:
                        raise ValueError(f"input {i} has size {x.shape[ax]} on axis {ax} at run time, "
                                         f"but its type does not mark that axis broadcastable")
            except EgoptError:
                raise
            except Exception as e:      # name the op inside the body, and its line
                raise OpRuntimeError(_failure(node, a, e)) from e
            vals[out] = r
            for i in free:
                t = vals[i]
                if i in fresh and isinstance(t, np.ndarray) and t.ndim:
                    pool[(t.shape, t.dtype)] = t
                vals[i] = None
        return [vals[i] for i in self.out_slots]


def _bcast_checks(node: Apply) -> tuple[tuple[int, int], ...]:
    """(input, axis) pairs whose run-time size must equal the output's: static broadcasting."""
    if len(node.inputs) < 2:
        return ()
    out = node.outputs[0].type
    return tuple((i, a) for i, v in enumerate(node.inputs) for a, s in enumerate(v.type.shape)
                 if s is None and out.shape[out.ndim - v.ndim + a] != 1)


def _failure(node: Apply, values, e: Exception) -> str:
    shapes = ", ".join(f"{np.shape(v)} {np.asarray(v).dtype}" for v in values)
    return (f"{describe_call(node.op, node.params, [v.type for v in node.inputs])} on inputs of "
            f"shapes/dtypes [{shapes}]: {e} (inside a fused node)"
            + (f"\n  built at {node.loc}" if node.loc else ""))


def _ufunc_yields(uf: np.ufunc, in_dtypes, out: np.dtype) -> bool:
    """Whether the ufunc's own loop for these input dtypes produces ``out``."""
    try:
        return uf.resolve_dtypes(tuple(in_dtypes) + (None,) * uf.nout)[-1] == out
    except (TypeError, ValueError, AttributeError):
        return False


def _run_body(body: FusedBody, xs) -> list[np.ndarray]:
    return body.run(*[np.asarray(x) for x in xs])


# ---- fused_elemwise ---------------------------------------------------------------------------------

def _body_of(params) -> FusedBody:
    body = params.get("body")
    if not isinstance(body, FusedBody):
        raise TypeError(f"params['body'] must be a FusedBody, got {type(body).__name__}")
    return body


def _ew_infer(params, *types):
    return _body_of(params).output_types(types)


def _ew_perform(params, *xs):
    outs = _run_body(params["body"], xs)
    return tuple(outs) if len(outs) > 1 else outs[0]


def _ew_pp(node, args) -> str:
    from .printing import pp_body
    return "fused_elemwise{" + ", ".join(pp_body(node.params["body"], args)) + "}"


def _red_pp(node, args) -> str:
    from .printing import pp_body
    p = node.params
    axis = "" if p["axis"] is None else f", axis={p['axis'][0] if len(p['axis']) == 1 else p['axis']}"
    keep = ", keepdims=True" if p["keepdims"] else ""
    return f"fused_reduce{{{p['reduce']}({pp_body(p['body'], args)[0]}{axis}{keep})}}"


fused_elemwise = register(Op(
    "fused_elemwise", _ew_infer, _ew_perform, None, kind="fused", nin=None,
    defined_in="egopt/lang/fused.py", extra={"pp": _ew_pp}))


def fuse_elemwise(inputs: Sequence[Variable], outputs: Sequence[Variable], loc=None) -> list[Variable]:
    """One ``fused_elemwise`` node computing ``outputs`` (an elementwise subgraph) from ``inputs``."""
    body = FusedBody.of(inputs, outputs)
    return fused_elemwise.make_node(list(inputs), loc=loc, body=body).outputs


# ---- fused_reduce -----------------------------------------------------------------------------------

REDUCTIONS = ("sum", "prod", "max", "min", "mean")


def _reduce_params(params) -> dict:
    return {"axis": params["axis"], "keepdims": params["keepdims"]}


def _red_infer(params, *types):
    body = _body_of(params)
    if len(body.outputs) != 1:
        raise ValueError(f"a fused reduction's body has one output, got {len(body.outputs)}")
    if params["reduce"] not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {params['reduce']!r}")
    (t,) = body.output_types(types)
    axis = params["axis"]
    if axis is not None and any(not 0 <= a < t.ndim for a in axis):
        raise ValueError(f"axis {axis} is out of range for the body's output {t}")
    rp = {"axis": tuple(range(t.ndim)) if axis is None else tuple(axis), "keepdims": params["keepdims"]}
    out = get_op(params["reduce"]).infer(rp, t)
    if out.dtype != dtypes.canonical(params["dtype"]):
        raise EgoptTypeError(f"{params['reduce']} of {t.dtype} is {out.dtype}, params say {params['dtype']}")
    return out


def _red_perform(params, *xs):
    (y,) = _run_body(params["body"], xs)
    axis = params["axis"]
    rp = {"axis": tuple(range(y.ndim)) if axis is None else tuple(axis), "keepdims": params["keepdims"]}
    r = get_op(params["reduce"]).perform(rp, y)
    return np.asarray(r).astype(params["dtype"], copy=False)


fused_reduce = register(Op(
    "fused_reduce", _red_infer, _red_perform, None, kind="fused", nin=None,
    defined_in="egopt/lang/fused.py", extra={"pp": _red_pp}))


def fuse_reduce(inputs: Sequence[Variable], output: Variable, reduce: str, axis, keepdims: bool,
                loc=None) -> Variable:
    """One ``fused_reduce`` node: ``reduce(output, axis, keepdims)`` with the elementwise
    subgraph from ``inputs`` to ``output`` computed inside it."""
    body = FusedBody.of(inputs, [output])
    axis = None if axis is None else tuple(sorted(int(a) for a in axis))
    rp = {"axis": tuple(range(output.ndim)) if axis is None else axis, "keepdims": keepdims}
    dt = get_op(reduce).infer(rp, output.type).dtype
    return fused_reduce.make_node(list(inputs), loc=loc, body=body, reduce=reduce, axis=axis,
                                  keepdims=bool(keepdims), dtype=dt).outputs[0]


# ---- gemm -------------------------------------------------------------------------------------------

def _gemm_shapes(params, a: TensorType, b: TensorType):
    if a.ndim != 2 or b.ndim not in (1, 2):
        raise ValueError(f"gemm takes a matrix and a matrix or vector, got ndim {a.ndim} and {b.ndim}")
    if params["trans_b"] and b.ndim != 2:
        raise ValueError("gemm: trans_b needs a matrix B")
    sa = a.shape[::-1] if params["trans_a"] else a.shape
    sb = b.shape[::-1] if params["trans_b"] else b.shape
    if sa[1] is not None and sb[0] is not None and sa[1] != sb[0]:
        raise ShapeError(f"inner dimensions differ ({sa[1]} != {sb[0]})")
    return sa[:1] + sb[1:]


def _gemm_infer(params, *types):
    if len(types) not in (2, 3):
        raise TypeError(f"gemm takes A, B and optionally C, got {len(types)} inputs")
    _check_gemm_params(params)
    if not all(dtypes.is_float(t.dtype) for t in types):
        raise EgoptTypeError(f"gemm takes float inputs, got {', '.join(t.dtype for t in types)}")
    shape = _gemm_shapes(params, types[0], types[1])
    dt = dtypes.upcast(*(t.dtype for t in types))
    if len(types) == 3:
        c = types[2]
        if c.ndim > len(shape):
            raise ShapeError(f"C has ndim {c.ndim}, the product has ndim {len(shape)}")
        full = broadcast_shapes(shape, c.shape, op="gemm")
        if full != shape and any(f != s and s is not None for f, s in zip(full, shape)):
            raise ShapeError(f"C {c} does not broadcast to the product's shape {shape}")
        shape = tuple(s if s is not None else f for s, f in zip(shape, full))
    return TensorType(dt, shape)


def _gemm_perform(params, a, b, c=None):
    """alpha * op(A) @ op(B) + beta * C, rounded as the unfused graph: the product, then its
    scaling, then the sum. Transposed operands are views (BLAS reads them with a flag)."""
    a = a.T if params["trans_a"] else a
    b = b.T if params["trans_b"] else b
    out = np.dot(a, b)
    alpha, beta = float(params["alpha"]), float(params["beta"])
    if alpha != 1.0:
        out = np.multiply(out, alpha, out=out) if isinstance(out, np.ndarray) else out * alpha
    if c is not None and beta != 0.0:
        cs = c if beta == 1.0 else c * beta
        out = out + cs
    return out


def _gemm_sympy(params, a, b, c=None):
    a = a.T if params["trans_a"] else a
    b = b.T if params["trans_b"] else b
    out = params["alpha"] * np.dot(a, b)
    return out if c is None else out + params["beta"] * c


def _gemm_decoded_infer(params, *types):
    """The type of what a ``Gemm`` e-node decodes to (``gemm_or_unfused``): a vector times a
    matrix and non-BLAS dtypes are valid there (the first as a transposed gemm, the second as
    the ordinary ops), though gemm's own type rule refuses them. Typed extraction reads this."""
    if len(types) != 3:
        return _gemm_infer(params, *types)
    _check_gemm_params(params)
    a, b, c = (Variable(t) for t in types)
    return gemm_or_unfused(a, b, c, **params).type


gemm = register(Op(
    "gemm", _gemm_infer, _gemm_perform, None, kind="blas", nin=None, flops=2.0,
    sympy=_gemm_sympy, defined_in="egopt/lang/fused.py",
    extra={"decoded_infer": _gemm_decoded_infer}))


def _check_gemm_params(params) -> None:
    for k in ("alpha", "beta"):
        if not isinstance(params.get(k), float):
            raise TypeError(f"gemm: {k} must be a float")
    for k in ("trans_a", "trans_b"):
        if not isinstance(params.get(k), bool):
            raise TypeError(f"gemm: {k} must be a bool")


def gemm_or_unfused(a: Variable, b: Variable, c: Variable, alpha: float, beta: float,
                    trans_a: bool, trans_b: bool, loc=None) -> Variable:
    """``alpha * op(A) @ op(B) + beta * C`` as one gemm node where BLAS takes it (float
    matrices; a vector times a matrix is the transposed matrix times the vector), else as
    the ordinary ops (a rewrite cannot see ranks or dtypes; decoding can)."""
    from . import frontend as F
    from .blas import dot
    alpha, beta = float(alpha), float(beta)
    if a.ndim == 1 and b.ndim == 2:          # v @ op(M) = op(M).T @ v
        a, b, trans_a, trans_b = b, a, not trans_b, False
    params = dict(alpha=alpha, beta=beta, trans_a=bool(trans_a), trans_b=bool(trans_b))
    try:
        return gemm.make_node([a, b, c], loc=loc, **params).outputs[0]
    except (ShapeError, EgoptTypeError, TypeError, ValueError):
        pass
    pa = F.transpose(a) if trans_a else a
    pb = F.transpose(b) if trans_b else b
    prod = dot(pa, pb)
    scaled = prod if alpha == 1.0 else (-prod if alpha == -1.0 else prod * alpha)
    cs = c if beta == 1.0 else c * beta
    return cs + scaled
