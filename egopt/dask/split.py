"""Split a compiled function's optimized graph over the chunks of Dask arrays.

The function is optimized once, whole, on the driver; this module walks the graph it runs
(``f.graph_outputs()``) and turns it into Dask layers:

* **stages**: maximal elementwise/broadcasting regions (with dimshuffles, reductions and dots
  over unchunked axes, softmax over an unchunked axis) run as one compiled kernel per block
  through ``da.blockwise``. Index letters are given per stage, from its output back to its
  leaves, so transposes and broadcasting map each block to the blocks it reads; Dask aligns
  the inputs' chunkings (``unify_chunks``) on each call.
* **tree reductions**: a sum/prod/max/min/all/any/mean over a chunked axis becomes a compiled
  per-block partial (fused with the elementwise work above it) and a compiled combine step in
  Dask's tree reduction. A mean is combined as a sum and divided by the count once; a
  logsumexp over a chunked axis is one pass: per-block (max, rest) pairs combined with max
  rescaling (``lse_partial``, ``lse_combine``, ``lse_final``).
* **shared work**: elementwise work that several stages read (outputs sharing subexpressions,
  an output that is also reduced) is a stage of its own, computed once per block
  (``shared_nodes``); a multi-output node is one task per block for all its outputs.
* **fused nodes** (``fused_elemwise``, ``fused_reduce``, ``gemm``): a fused_elemwise is
  elementwise and runs per block as it is; the others are first rewritten (``unfuse``) into
  what they stand for (body + reduction; dot + elementwise), which the stages compile.
* **whole-array ops**: an op that cannot be split (a dot whose contracted axis is chunked, an
  argmax or softmax over a chunked axis, reshape, indexing, ...) runs on whole axes, with a
  ``RechunkWarning`` naming the op and where it was built. Its output shape must be known
  statically from the input shapes, unless only the function's outputs read it (a scan: the
  Dask output then has unknown chunk sizes); otherwise a clear error, never a guessed result.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import replace
from typing import Sequence

import numpy as np

from ..lang.errors import EgoptError
from ..lang.graph import Constant, Variable, toposort
from ..lang.ops import get_op
from ..lang.types import TensorType
from ..runtime import Function, function
from .kernel import Kernel

TREE = {"sum": "sum", "prod": "prod", "max": "max", "min": "min", "all": "all", "any": "any", "mean": "sum"}
AXIS_LOCAL = {"softmax", "log_softmax"}      # independent along all axes but ``params["axis"]``


SIZES = {   # ops that read only their input's shape
    "shape": lambda p, sizes: np.array(sizes, dtype="int64"),
    "reduced_size": lambda p, sizes: np.array(np.prod([sizes[a] for a in p["axis"]], dtype="int64")),
}


class RechunkWarning(UserWarning):
    """An op of the graph needs whole axes that are chunked: its input blocks are concatenated."""


class DaskSplitError(EgoptError, ValueError):
    """The graph cannot be run on these Dask arrays (the message names the op and the fix)."""


def _where(node) -> str:
    return f" (built at {node.loc})" if node.loc else ""


def refine(chunkings: Sequence[tuple[int, ...]], what: str) -> tuple[int, ...]:
    """The common refinement of chunkings of one axis (Dask's unify_chunks does the same)."""
    totals = {sum(c) for c in chunkings}
    if len(totals) > 1:
        raise DaskSplitError(f"{what}: the inputs have different sizes {sorted(totals)} on an axis "
                             f"that they share")
    cuts = sorted({b for c in chunkings for b in itertools.accumulate(c)} | {0})
    return tuple(int(b - a) for a, b in zip(cuts, cuts[1:])) or (0,)


class Splitter:
    """Builds the lazy Dask outputs of one call of ``fn`` on Dask arrays."""

    def __init__(self, fn: Function, arrays: Sequence):
        import dask.array as da
        self.da = da
        if fn.updates:
            raise DaskSplitError(f"egopt.dask.map: {fn!r} has updates; a function mapped over Dask "
                                 "arrays must be pure (use egopt.dask.train for training)")
        if len(arrays) != len(fn.ins):
            raise TypeError(f"egopt.dask.map: {fn!r} takes {len(fn.ins)} input(s), got {len(arrays)}")
        self.fn = fn
        self.mode = replace(fn.mode, optimizer=None)     # optimized once, on the whole graph
        self.fresh = itertools.count()
        self.values: dict[int, object] = {}              # id(var) -> Dask array (materialized)
        self.chunk_memo: dict[int, tuple] = {}
        self.how: dict[int, str] = {}
        self.keep: list = []                              # variables whose ids key the tables
        self.read: set[int] = set()                       # ids of the variables some op reads
        for j, (var, arr) in enumerate(zip(fn.input_vars, arrays)):
            self._set(var, self._entry(j, var, arr))
        for var in fn.shared_vars:
            self._set(var, da.from_array(var.get_value(borrow=True), chunks=-1))

    # ---- inputs ---------------------------------------------------------------------------------
    def _entry(self, j: int, var: Variable, arr):
        da = self.da
        label = f"egopt.dask.map: input {j} ({var!r})"
        if not isinstance(arr, da.Array):
            arr = da.from_array(var.type.filter(arr, name=label), chunks=-1)
        if arr.ndim != var.ndim:
            raise TypeError(f"{label}: expected {var.type} (ndim={var.ndim}), got a Dask array of shape "
                            f"{arr.shape}")
        if any(np.isnan(s) for s in arr.shape):
            raise DaskSplitError(f"{label}: the Dask array has unknown chunk sizes {arr.chunks}; "
                                 "call .compute_chunk_sizes() first")
        for a, (s, n) in enumerate(zip(var.type.shape, arr.shape)):
            if s is not None and s != n:
                raise TypeError(f"{label}: expected {var.type}, got a Dask array of shape {arr.shape} "
                                f"(axis {a})")
        if arr.dtype.name != var.dtype:
            if not (fn_downcast(self.fn) or np.can_cast(arr.dtype, var.dtype, casting="safe")):
                raise TypeError(f"{label}: expected {var.type}, got a Dask array of dtype "
                                f"{arr.dtype.name}; casting would lose information: use "
                                f".astype({var.dtype!r})")
            arr = arr.astype(var.dtype)
        return arr

    def _set(self, var: Variable, arr) -> None:
        self.keep.append(var)
        self.values[id(var)] = arr
        self.chunk_memo[id(var)] = tuple(tuple(c if np.isnan(c) else int(c) for c in ax) for ax in arr.chunks)

    # ---- the walk --------------------------------------------------------------------------------
    def run(self) -> list:
        leaves = self.fn.input_vars + self.fn.shared_vars
        outputs = unfuse(self.fn.outputs, leaves)
        self.keep.append(outputs)
        nodes = toposort(outputs, stop=leaves)
        self.read = {id(v) for n in nodes for v in n.inputs}     # variables some op reads
        shared = self.shared_nodes(nodes, outputs)
        for node in nodes:
            how = self.classify(node)
            if node.op.name in SIZES:        # known before computing: a constant, no pass over data
                sizes = [sum(c) for c in self.chunks(node.inputs[0])]
                self._set(node.outputs[0], self.da.from_array(SIZES[node.op.name](node.params, sizes)))
            elif how == "tree" and node.op.name == "logsumexp":
                self._set(node.outputs[0], self.logsumexp_reduce(node))
            elif how == "tree":
                self._set(node.outputs[0], self.tree_reduce(node))
            elif how == "whole":
                for out in node.outputs:
                    self._set(out, self.stage(out))
            elif id(node) in shared:
                self.stage_shared(node, shared[id(node)])
        return [self.materialize(v) for v in outputs]

    # ---- work that several stages read ---------------------------------------------------------------
    def shared_nodes(self, nodes: list, outputs: Sequence[Variable]) -> dict[int, list[Variable]]:
        """The local nodes whose work several stages would repeat, mapped to their outputs to keep.

        A stage is rooted at an output, a tree reduction's input or a whole op's output, and takes
        in the local nodes above it back to what is materialized. A computing node reached from
        two roots is staged on its own (its blocks are computed once and read by both), unless the
        same roots reach each of its consumers, which are then staged instead (the outermost
        shared work is kept, not every step of it). Dimshuffles are views: never staged alone.
        """
        roots: list[Variable] = [v for v in outputs if v.owner is not None and id(v) not in self.values
                                 and self.classify(v.owner) == "local"]
        for node in nodes:
            how = self.classify(node)
            if how == "tree":
                roots.append(node.inputs[0])
            elif how == "whole" and node.op.name not in SIZES:
                roots.extend(node.outputs)
        reach: dict[int, set] = {}          # id(node) -> indices of the roots reaching it
        users: dict[int, list] = {}         # id(node) -> local nodes (in regions) reading it
        is_root: set[int] = set()
        for r, root in enumerate(roots):
            if root.owner is None or id(root) in self.values:
                continue
            is_root.add(id(root.owner))
            stack, seen = [root.owner], set()
            while stack:
                node = stack.pop()
                if id(node) in seen:
                    continue
                seen.add(id(node))
                reach.setdefault(id(node), set()).add(r)
                for v in node.inputs:
                    up = v.owner
                    if up is None or id(v) in self.values or isinstance(v, Constant):
                        continue
                    if self.classify(up) != "local" or up.op.name in SIZES:
                        continue
                    users.setdefault(id(up), []).append(node)
                    stack.append(up)
        shared = {}
        for node in nodes:
            r = reach.get(id(node), set())
            if (len(r) < 2 or self.classify(node) != "local" or node.op.name == "dimshuffle"
                    or node.op.name in SIZES):
                continue
            if id(node) in is_root or any(reach[id(u)] != r or u.op.name == "dimshuffle"
                                          for u in users.get(id(node), [])):
                read = {id(v) for u in users.get(id(node), []) for v in u.inputs} | set(map(id, roots))
                shared[id(node)] = [o for o in node.outputs if id(o) in read]
        return shared

    def stage_shared(self, node, outs: list[Variable]) -> None:
        """``outs`` of one node computed once per block (one task per block for all of them)."""
        if len(outs) == 1 or len({o.type.shape for o in outs}) > 1:
            for out in outs:
                self._set(out, self.stage(out))
            return
        for out, arr in zip(outs, self.stage_many(outs)):
            self._set(out, arr)

    def classify(self, node) -> str:
        """"local" (runs per block inside a stage), "tree" or "whole" (decided once per node)."""
        if id(node) not in self.how:
            self.keep.append(node)
            self.how[id(node)] = self._classify(node)
        return self.how[id(node)]

    def _classify(self, node) -> str:
        op, p = node.op, node.params
        if op.name in SIZES:
            return "whole"
        if _elementwise(op) or op.name == "dimshuffle":
            return "local"
        if op.name == "logsumexp":
            ch = self.chunks(node.inputs[0])
            return "tree" if any(len(ch[a]) > 1 for a in p["axis"]) else "local"
        if op.kind == "reduce":
            ch = self.chunks(node.inputs[0])
            chunked = [a for a in p["axis"] if len(ch[a]) > 1]
            if not chunked:
                return "local"
            if op.name in TREE:
                return "tree"
            self._warn(node, f"reduces over axes {tuple(chunked)}, which are chunked "
                             f"{tuple(ch[a] for a in chunked)}")
            return "whole"
        if op.name == "dot" and all(1 <= v.ndim <= 2 for v in node.inputs):
            k = self.chunks(node.inputs[0])[-1]
            if len(k) > 1:
                self._warn(node, f"contracts an axis chunked {k}")
            return "local"
        if op.name in AXIS_LOCAL:
            ch = self.chunks(node.inputs[0])
            axes = _axes(p["axis"], node.inputs[0].ndim)
            if all(len(ch[a]) == 1 for a in axes):
                return "local"
            self._warn(node, f"needs whole axes {axes}, which are chunked {tuple(ch[a] for a in axes)}")
            return "whole"
        for j, v in enumerate(node.inputs):
            ch = self.chunks(v)
            if any(len(c) > 1 for c in ch):
                self._warn(node, f"cannot be split over chunks, and its input {j} is chunked {ch}")
        return "whole"

    def _warn(self, node, why: str) -> None:
        warnings.warn(f"egopt.dask: op {node.op.name}{_where(node)} {why}; each of its tasks "
                      "concatenates the blocks of those axes (rechunk them to one chunk to silence "
                      "this)", RechunkWarning, stacklevel=6)

    # ---- chunk structure of every variable ---------------------------------------------------------
    def chunks(self, v: Variable) -> tuple:
        """Per-axis block sizes ``v`` has (or will have once its stage aligns its inputs)."""
        if id(v) in self.chunk_memo:
            return self.chunk_memo[id(v)]
        if isinstance(v, Constant):
            ch = tuple((s,) for s in v.data.shape)
        else:
            ch = self._chunks_of_node(v.owner, v.index)
        self.keep.append(v)
        self.chunk_memo[id(v)] = ch
        return ch

    def _chunks_of_node(self, node, index: int) -> tuple:
        op, p, out = node.op, node.params, node.outputs[index]
        what = f"{op.name}{_where(node)}"
        if self.classify(node) == "whole":
            shape = self.static_shape(node, unknown_ok=self._final(node))[index]
            return tuple((np.nan if s is None else s,) for s in shape)
        if _elementwise(op):
            per_axis: list[list] = [[] for _ in range(out.ndim)]
            for v, letters in zip(node.inputs, _elemwise_map(node, list(range(out.ndim)), lambda: None)):
                for c, pos in zip(self.chunks(v), letters):
                    if pos is not None:
                        per_axis[pos].append(c)
            return tuple(refine(cs, what) if cs else (1,) for cs in per_axis)
        if op.name == "dimshuffle":
            ch = self.chunks(node.inputs[0])
            return tuple((1,) if q == "x" else ch[q] for q in p["pattern"])
        if op.kind == "reduce" or op.name == "logsumexp":
            ch = self.chunks(node.inputs[0])
            if p["keepdims"]:
                return tuple((1,) if a in p["axis"] else c for a, c in enumerate(ch))
            return tuple(c for a, c in enumerate(ch) if a not in p["axis"])
        if op.name == "dot":
            a, b = (self.chunks(v) for v in node.inputs)
            return tuple(a[:-1]) + tuple(b[1:])
        if op.name in AXIS_LOCAL:
            return self.chunks(node.inputs[0])
        raise AssertionError(op.name)

    def static_shape(self, node, unknown_ok: bool = False) -> list[tuple]:
        """The outputs' shapes for the actual input shapes (the op's type rule on static shapes);
        ``None`` for a size known only once computed, where ``unknown_ok``."""
        ins = [v if isinstance(v, Constant) else
               Variable(TensorType(v.dtype, tuple(sum(c) for c in self.chunks(v)))) for v in node.inputs]
        try:
            types = node.op.infer(node.params, *[v.type for v in ins])
        except Exception as e:
            raise DaskSplitError(f"egopt.dask: op {node.op.name}{_where(node)} rejects the input shapes "
                                 f"{[v.type.shape for v in ins]}: {e}") from None
        types = [types] if isinstance(types, TensorType) else list(types)
        shapes = [t.shape for t in types]
        if not unknown_ok and any(s is None for shape in shapes for s in shape):
            raise DaskSplitError(
                f"egopt.dask: op {node.op.name}{_where(node)} cannot run on Dask arrays here: its "
                f"output shape {shapes} is not known from the input shapes before computing, and "
                "other ops of the function read it. Compute that part with NumPy, or give the graph "
                "static shapes")
        return shapes

    def _final(self, node) -> bool:
        """Whether ``node``'s outputs are read only as the function's outputs (then a size known
        only once computed is fine: the Dask output gets unknown chunk sizes, NaN)."""
        return not any(id(o) in self.read for o in node.outputs)

    # ---- stages --------------------------------------------------------------------------------------
    def letter(self) -> int:
        return next(self.fresh)

    def input_letters(self, node, out_letters: list) -> list[list]:
        op, p = node.op, node.params
        if self.classify(node) == "whole":
            return [[self.letter() for _ in range(v.ndim)] for v in node.inputs]
        if _elementwise(op):
            return _elemwise_map(node, out_letters, self.letter)
        if op.name == "dimshuffle":
            pat = list(p["pattern"])
            return [[out_letters[pat.index(a)] if a in pat else self.letter()
                     for a in range(node.inputs[0].ndim)]]
        if op.kind == "reduce" or op.name == "logsumexp":
            x, axis = node.inputs[0], p["axis"]
            kept = iter(out_letters if not p["keepdims"] else
                        [ltr for a, ltr in enumerate(out_letters) if a not in axis])
            return [[self.letter() if a in axis else next(kept) for a in range(x.ndim)]]
        if op.name == "dot":
            a, b = node.inputs
            k, rest = self.letter(), iter(out_letters)
            la = [next(rest), k] if a.ndim == 2 else [k]
            lb = [k, next(rest)] if b.ndim == 2 else [k]
            return [la, lb]
        if op.name in AXIS_LOCAL:
            return [list(out_letters)]
        raise AssertionError(op.name)

    def build(self, root: Variable, root_letters: list, inputs: list, memo: dict | None = None) -> Variable:
        """``root`` rebuilt over fresh input variables, one per (materialized leaf, index letters);
        roots built with one ``memo`` share what they have in common."""
        memo = {} if memo is None else memo
        stack = [(root, tuple(root_letters), False)]
        while stack:
            v, letters, expanded = stack.pop()
            key = (id(v), letters)
            if key in memo:
                continue
            if isinstance(v, Constant) and v.data.size > 1 and id(v) not in self.values:
                # an array constant is a leaf like an input, so that Dask hands each block its part
                self._set(v, self.da.from_array(np.array(v.data), chunks=-1))
            if isinstance(v, Constant) and id(v) not in self.values:
                memo[key] = v
                continue
            if id(v) in self.values:
                # a block is part of the array: only the static 1s (broadcasting) stay static
                nv = Variable(TensorType(v.dtype, tuple(1 if d == 1 else None for d in v.type.shape)),
                              name=v.name)
                inputs.append((self.values[id(v)], letters, nv))
                memo[key] = nv
                continue
            node = v.owner
            if not expanded:
                in_letters = [tuple(x) for x in self.input_letters(node, list(letters))]
                stack.append((v, letters, True))
                stack.extend((i, li, False) for i, li in zip(node.inputs, in_letters)
                             if (id(i), li) not in memo)
                # the letters drawn for contracted axes must be the same when we come back
                self._pending[key] = in_letters
                continue
            in_letters = self._pending.pop(key)
            new_inputs = [memo[(id(i), li)] for i, li in zip(node.inputs, in_letters)]
            memo[key] = node.op.make_node(new_inputs, loc=node.loc, **node.params).outputs[v.index]
        return memo[(id(root), tuple(root_letters))]

    def stage(self, var: Variable, partial=None, meta_dtype: str | None = None):
        """``var`` as a Dask array computed block by block by one compiled kernel.

        ``partial(new_var) -> (root, axes)`` wraps the kernel's output (a reduction's per-block
        partial: its reduced ``axes`` then have one element per block). A list of same-shaped
        roots is returned stacked on a new last axis (one array of partial statistics).
        """
        self._pending: dict = {}
        out_letters = [self.letter() for _ in range(var.ndim)]
        inputs: list = []
        new_root = self.build(var, out_letters, inputs)
        adjust = {}
        if partial is not None:
            new_root, axes = partial(new_root)
            adjust = {out_letters[a]: 1 for a in axes}
        kernel, args, new_axes = self._compiled(new_root, inputs, out_letters, self.chunks(var))
        func = kernel
        if isinstance(new_root, list):
            func, stacked = _Stack(kernel), self.letter()
            out_letters = out_letters + [stacked]
            new_axes[stacked] = len(new_root)
            new_root = new_root[0]
        dtype = np.dtype(meta_dtype or new_root.dtype)
        return self.da.blockwise(func, tuple(out_letters), *args, dtype=dtype, concatenate=True,
                                 new_axes=new_axes or None, adjust_chunks=adjust or None,
                                 meta=np.empty((0,) * len(out_letters), dtype=dtype),
                                 name=f"egopt-{kernel.key[:10]}-" + self.da.core.tokenize(*args))

    def _compiled(self, roots, inputs: list, out_letters: list, sizes) -> tuple:
        """(the compiled stage of ``roots`` over the leaves ``inputs`` built for it, blockwise's
        ``*args``: each input array with its index letters, its ``new_axes``: output letters no
        input carries, whole, as they are never chunked)."""
        fn = function([nv for _, _, nv in inputs], roots, mode=self.mode, on_unused_input="ignore",
                      name=f"dask stage of {self.fn.name or 'function'}")
        args, seen = [], set()
        for arr, letters, _ in inputs:
            args += [arr, letters]
            seen.update(letters)
        new_axes = {ltr: sum(sizes[a]) for a, ltr in enumerate(out_letters) if ltr not in seen}
        for a, ltr in enumerate(out_letters):
            if ltr in new_axes and len(sizes[a]) > 1:
                raise AssertionError("an axis without a leaf is chunked")
        return Kernel(fn), args, new_axes

    def stage_many(self, roots: list[Variable]) -> list:
        """Same-shaped ``roots`` computed by one kernel per block: a Dask task per block returns
        all of them, and one array per root picks its part (Dask keeps the shared task once)."""
        self._pending = {}
        out_letters = [self.letter() for _ in range(roots[0].ndim)]
        inputs: list = []
        memo: dict = {}
        new_roots = [self.build(v, out_letters, inputs, memo) for v in roots]
        kernel, args, new_axes = self._compiled(new_roots, inputs, out_letters, self.chunks(roots[0]))
        meta = np.empty((0,) * len(out_letters), dtype=new_roots[0].dtype)
        name = f"egopt-{kernel.key[:10]}-" + self.da.core.tokenize(*args)
        both = self.da.blockwise(_Tuple(kernel), tuple(out_letters), *args, dtype=meta.dtype,
                                 concatenate=True, new_axes=new_axes or None, meta=meta, name=name)
        return [self.da.blockwise(_Item(j), tuple(out_letters), both, tuple(out_letters),
                                  dtype=np.dtype(r.dtype), meta=np.empty(meta.shape, dtype=r.dtype),
                                  name=f"{name}-{j}")
                for j, r in enumerate(new_roots)]

    def materialize(self, var: Variable):
        if id(var) in self.values:
            return self.values[id(var)]
        if isinstance(var, Constant):
            return self.da.from_array(np.array(var.data), chunks=-1)
        arr = self.stage(var)
        self._set(var, arr)
        return arr

    # ---- tree reductions --------------------------------------------------------------------------
    def tree_reduce(self, node):
        op, axis, keep = node.op, node.params["axis"], node.params["keepdims"]
        x, out = node.inputs[0], node.outputs[0]
        part_op = get_op(TREE[op.name])
        count = int(np.prod([sum(self.chunks(x)[a]) for a in axis], dtype=np.int64))

        def partial(nx):
            if op.name == "mean" and nx.dtype != out.dtype:
                nx = get_op("cast")(nx, dtype=out.dtype)
            return part_op(nx, axis=axis, keepdims=True), axis

        partials = self.stage(x, partial)
        pvar = Variable(TensorType(partials.dtype.name, (None,) * x.ndim), name="partial")
        combine = Kernel(function([pvar], part_op(pvar, axis=axis, keepdims=True), mode=self.mode))
        agg = part_op(pvar, axis=axis, keepdims=keep)
        if op.name == "mean":
            agg = agg / float(count)
        aggregate = Kernel(function([pvar], agg, mode=self.mode))
        meta = np.empty((0,) * out.ndim, dtype=out.dtype)
        return self.da.reduction(partials, _Step(combine), _Step(aggregate), axis=axis, keepdims=keep,
                                 dtype=np.dtype(out.dtype), combine=_Step(combine), concatenate=True,
                                 meta=meta, name=f"egopt-{op.name}-{aggregate.key[:10]}")

    def logsumexp_reduce(self, node):
        """A logsumexp over chunked axes in one pass over the data: each block's kernel gives its
        pair ``(max, rest)`` (``lse_partial``, fused with the work above it), Dask's tree
        reduction combines pairs rescaled to the larger max (``lse_combine``), and the last step
        is ``max + log1p(rest)``."""
        axis, keep = tuple(node.params["axis"]), node.params["keepdims"]
        x, out = node.inputs[0], node.outputs[0]
        dt = out.dtype

        def partial(nx):
            if nx.dtype != dt:
                nx = _op("cast", nx, dtype=dt, loc=node.loc)
            return list(lse_partial(nx, axis, node.loc)), axis

        pairs = self.stage(x, partial)
        kept = tuple(1 if a in axis else None for a in range(x.ndim))
        m, r = (Variable(TensorType(dt, kept), name=n) for n in ("m", "r"))
        pm, pr = (Variable(TensorType(dt, (None,) * x.ndim), name=n) for n in ("m", "r"))
        combine = _PairStep(Kernel(function([pm, pr], list(lse_combine(pm, pr, axis)), mode=self.mode)))
        final = Kernel(function([m, r], lse_final(m, r, axis, keep), mode=self.mode))
        reduced = self.da.reduction(pairs, combine, combine, axis=axis, keepdims=True, dtype=np.dtype(dt),
                                    combine=combine, concatenate=True,
                                    meta=np.empty((0,) * (x.ndim + 1), dtype=dt),
                                    name=f"egopt-logsumexp-{final.key[:10]}")
        drop = [a for a in axis if not keep] + [x.ndim]
        return self.da.map_blocks(_PairStep(final, stack=False), reduced, drop_axis=drop, dtype=np.dtype(dt),
                                  meta=np.empty((0,) * out.ndim, dtype=dt),
                                  name=f"egopt-logsumexp-final-{final.key[:10]}-{reduced.name}")


def _op(name: str, *ins, loc=None, **params) -> Variable:
    return get_op(name).make_node(list(ins), loc=loc, **params).outputs[0]


def _const(value, dtype: str) -> Constant:
    return Constant(np.asarray(value, dtype=dtype))


def lse_partial(x: Variable, axis: tuple, loc=None) -> tuple[Variable, Variable]:
    """Per block, ``(m, r)`` with ``logsumexp(x) = m + log1p(r)`` over ``axis`` (kept, size 1):
    ``m`` the max, ``r`` the sum of ``exp(x - m)`` less the max's own exact 1 (so a dominant
    entry keeps the tiny rest, as the op itself computes). An all ``-inf`` block is ``(-inf,
    -1)``, a block holding ``+inf`` is ``(+inf, +inf)``."""
    dt = x.dtype
    m = _op("max", x, axis=axis, keepdims=True, loc=loc)
    top = _op("eq", x, m, loc=loc)
    count = _op("sum", _op("cast", top, dtype=dt, loc=loc), axis=axis, keepdims=True, loc=loc)
    rest = _op("sum", _op("switch", top, _const(0, dt), _op("exp", _op("sub", x, m, loc=loc), loc=loc), loc=loc),
               axis=axis, keepdims=True, loc=loc)
    r = _op("add", _op("sub", count, _const(1, dt), loc=loc), rest, loc=loc)
    infinite = _op("switch", _op("gt", m, _const(0, dt), loc=loc), _const(np.inf, dt), _const(-1, dt), loc=loc)
    return m, _op("switch", _op("isinf", m, loc=loc), infinite, r, loc=loc)


def lse_combine(m: Variable, r: Variable, axis: tuple) -> tuple[Variable, Variable]:
    """Pairs ``(m_i, r_i)`` of blocks combined over ``axis`` into one pair, rescaled to the
    largest ``m``: the blocks holding it add their ``r`` and their count less one, the others
    ``(1 + r_i) * exp(m_i - M)`` (never above 1: no overflow)."""
    dt = m.dtype
    big = _op("max", m, axis=axis, keepdims=True)
    top = _op("eq", m, big)
    count = _op("sum", _op("cast", top, dtype=dt), axis=axis, keepdims=True)
    scaled = _op("mul", _op("add", r, _const(1, dt)), _op("exp", _op("sub", m, big)))
    rest = _op("sum", _op("switch", top, r, scaled), axis=axis, keepdims=True)
    return big, _op("add", _op("sub", count, _const(1, dt)), rest)


def lse_final(m: Variable, r: Variable, axis: tuple, keepdims: bool) -> Variable:
    """``m + log1p(r)``, ``m`` taken as 0 where infinite (``log1p`` gives the infinity then)."""
    dt = m.dtype
    shift = _op("switch", _op("isinf", m), _const(0, dt), m)
    out = _op("add", shift, _op("log1p", r))
    if not keepdims:
        out = _op("dimshuffle", out, pattern=tuple(a for a in range(m.ndim) if a not in axis))
    return out


class _Tuple:
    """A multi-output kernel as a Dask task: its results as one tuple (picked apart by ``_Item``)."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def __call__(self, *blocks):
        return tuple(self.kernel(*blocks))

    def __dask_tokenize__(self):
        return ("egopt-tuple", self.kernel.key)


class _Item:
    def __init__(self, j: int):
        self.j = j

    def __call__(self, results):
        return results[self.j]

    def __dask_tokenize__(self):
        return ("egopt-item", self.j)


class _Stack:
    """A multi-output kernel whose results are stacked on a new last axis (partial statistics)."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def __call__(self, *blocks):
        return np.stack(self.kernel(*blocks), axis=-1)

    def __dask_tokenize__(self):
        return ("egopt-stack", self.kernel.key)


class _PairStep:
    """A compiled step on stacked pairs (last axis of 2), called as ``da.reduction`` calls its
    chunk/combine/aggregate; ``stack=False`` returns the kernel's one output as it is."""

    def __init__(self, kernel: Kernel, stack: bool = True):
        self.kernel, self.stack = kernel, stack

    def __call__(self, x, axis=None, keepdims=None, computing_meta=False, **_):
        if computing_meta:
            return x
        out = self.kernel(x[..., 0], x[..., 1])
        return np.stack(out, axis=-1) if self.stack else out

    def __dask_tokenize__(self):
        return ("egopt-pair-step", self.kernel.key, self.stack)


class _Step:
    """A compiled reduction step called the way ``da.reduction`` calls its chunk/combine/aggregate."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def __call__(self, x, axis=None, keepdims=None, computing_meta=False, **_):
        if computing_meta:
            return x
        return self.kernel(x)

    def __dask_tokenize__(self):
        return ("egopt-step", self.kernel.key)


def _elementwise(op) -> bool:
    """Elementwise ops, and fused elementwise regions (their body is elementwise: they run per
    block as they are, so the stage kernel computes exactly what the whole function does)."""
    return op.kind == "elemwise" or op.name == "fused_elemwise"


def unfuse(outputs: Sequence[Variable], leaves: Sequence[Variable]) -> list[Variable]:
    """``outputs`` with the fused nodes the splitter cannot map over chunks as they are rewritten
    over the same leaves; a graph without one is returned as is.

    * a ``fused_reduce`` is its body (a ``fused_elemwise``) followed by its plain reduction, so
      a reduction over a chunked axis becomes a tree reduction of per-block partials;
    * a ``gemm`` is ``alpha * op(A) @ op(B) + beta * C``: dimshuffles, a ``dot`` and
      elementwise ops (its contracted axis may then be chunked like a dot's);
    * a ``fused_elemwise`` whose outputs differ in shape is one fused node per output (the
      splitter gives an elementwise node's inputs their index letters from its output);
    """
    nodes = toposort(outputs, stop=leaves)
    if not any(_needs_unfusing(n) for n in nodes):
        return list(outputs)
    memo: dict[int, Variable] = {}

    def new(v):
        return memo.get(id(v), v)

    for node in nodes:
        args = [new(v) for v in node.inputs]
        name, p = node.op.name, node.params
        if name == "fused_elemwise" and _needs_unfusing(node):
            outs = []
            for j in range(len(p["body"].outputs)):
                body, used = _single_output(p["body"], j)
                outs += node.op.make_node([args[i] for i in used], loc=node.loc,
                                          **{**p, "body": body}).outputs
        elif name == "fused_reduce":
            (y,) = get_op("fused_elemwise").make_node(args, loc=node.loc, body=p["body"]).outputs
            axis = tuple(range(y.ndim)) if p["axis"] is None else tuple(p["axis"])
            r = get_op(p["reduce"]).make_node([y], loc=node.loc, axis=axis,
                                              keepdims=p["keepdims"]).outputs[0]
            outs = [_as_dtype(r, node.outputs[0].dtype, node.loc)]
        elif name == "gemm":
            outs = [_gemm_plain(node, args)]
        elif all(a is b for a, b in zip(args, node.inputs)):
            continue
        else:
            outs = node.op.make_node(args, loc=node.loc, **p).outputs
        for old, nv in zip(node.outputs, outs):
            if old.dtype != nv.dtype or old.ndim != nv.ndim:
                raise AssertionError(f"rewriting {name} changed {old.type} into {nv.type}")
            memo[id(old)] = nv
    return [new(v) for v in outputs]


def _needs_unfusing(node) -> bool:
    name = node.op.name
    if name == "fused_elemwise":
        return len({o.type.shape for o in node.outputs}) > 1
    return name in ("fused_reduce", "gemm")


def _single_output(body, j: int):
    """The part of a fused body that computes its output ``j``, and the positions of the
    placeholders (outer inputs) it reads."""
    from ..lang.fused import FusedBody
    out = body.outputs[j]
    read = {id(v) for n in toposort([out], stop=body.inputs) for v in n.inputs}
    used = [i for i, h in enumerate(body.inputs) if id(h) in read]
    return FusedBody.of([body.inputs[i] for i in used], [out]), used


def _as_dtype(v: Variable, dtype: str, loc) -> Variable:
    return v if v.dtype == dtype else get_op("cast").make_node([v], loc=loc, dtype=dtype).outputs[0]


def _gemm_plain(node, args: Sequence[Variable]) -> Variable:
    """``alpha * op(A) @ op(B) + beta * C`` as dimshuffle, dot and elementwise ops, rounded as
    gemm's reference perform: the product, then its scaling, then the sum."""
    p, loc = node.params, node.loc
    a, b = args[0], args[1]
    ds, mul, add = get_op("dimshuffle"), get_op("mul"), get_op("add")
    if p["trans_a"]:
        a = ds.make_node([a], loc=loc, pattern=(1, 0)).outputs[0]
    if p["trans_b"]:
        b = ds.make_node([b], loc=loc, pattern=(1, 0)).outputs[0]
    out = get_op("dot").make_node([a, b], loc=loc).outputs[0]
    if p["alpha"] != 1.0:
        out = mul.make_node([out, Constant(np.asarray(p["alpha"], dtype=out.dtype))], loc=loc).outputs[0]
    if len(args) == 3 and p["beta"] != 0.0:
        c = args[2]
        if p["beta"] != 1.0:
            c = mul.make_node([c, Constant(np.asarray(p["beta"], dtype=c.dtype))], loc=loc).outputs[0]
        out = add.make_node([out, c], loc=loc).outputs[0]
    return _as_dtype(out, node.outputs[0].dtype, loc)


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim for a in axis)


def _elemwise_map(node, out_letters: list, fresh) -> list[list]:
    """Per input, the letter of each axis: the output's at its right-aligned position, or a fresh one
    where the input broadcasts (a static size 1 against a longer output axis)."""
    out = node.outputs[0]
    n = out.ndim
    res = []
    for v in node.inputs:
        k = v.ndim
        res.append([fresh() if s == 1 and out.type.shape[n - k + a] != 1 else out_letters[n - k + a]
                    for a, s in enumerate(v.type.shape)])
    return res


def fn_downcast(fn: Function) -> bool:
    return bool(getattr(fn, "allow_input_downcast", False))
