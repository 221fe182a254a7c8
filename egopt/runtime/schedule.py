"""The C linker: a schedule computed once per function, of compiled kernels and NumPy calls.

Elementwise nodes are grouped into regions (a node joins the region of an input's producer
when it has the same static output shape and every other input it reads was computed before
the region starts), and each region, fused node and reduction becomes one kernel; all the
kernels of a function are one C translation unit, compiled once and cached (codegen). Other
nodes run their NumPy perform (``dot`` through NumPy's BLAS); slicing, transposes, dimshuffle
and contiguous reshapes are NumPy views, which kernels read through strides.

Intermediates that never leave a call are written into scratch buffers reused across calls;
a large result is written into one of the function's earlier results only when nothing else
holds it any more (``_plan_scratch``): a result is never handed out twice and never aliases
an input, a shared value or another result. Errors at run time name the op, the shapes and
dtypes and the user's line, as the NumPy linker's do.
"""
from __future__ import annotations

import ctypes
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import config
from ..codegen.kernel_ir import NORMALIZATIONS
from ..lang.fused import MAX_DEPTH
from ..codegen.lower import (Lowered, lower_body, lower_normalize, lower_normalize_pair, lower_reduce,
                             lower_region, lowerable)
from ..codegen.render_c import CRenderer
from ..lang.errors import OpRuntimeError
from ..lang.graph import Apply, Constant, Variable, toposort
from ..lang.ops import describe_call, returns_tuple, run_node
from .profile import ProfileStats
from .py_linker import Program, _bcast_checks, _check_broadcast


def _culprit(low: Lowered, args) -> tuple[Apply, list] | None:
    """The elementwise op of a kernel whose inputs do not broadcast (or broadcast a size 1 that
    its type does not mark broadcastable), with its run-time input values, found by replaying
    the kernel's ops in NumPy on the kernel's inputs; None when none is found.

    A kernel checks the broadcast of its inputs against the kernel's shape as a whole, so the
    op that fails is known only this way: the error then names the op, and the line, that the
    user wrote (for a fused node, an op of its body) as the NumPy linker does."""
    env: dict[int, object] = {id(v): a for v, a in zip(low.inputs, args)}
    outer = low.nodes[0]
    body = outer.params.get("body") if outer.op.kind == "fused" else None
    if body is not None:
        for placeholder, o in zip(body.inputs, outer.inputs):
            if id(o) in env:
                env[id(placeholder)] = env[id(o)]
        nodes = low.nodes[1:]
    else:
        nodes = low.nodes
    for n in nodes:
        values = []
        for v in n.inputs:
            if id(v) in env:
                values.append(env[id(v)])
            elif isinstance(v, Constant):
                values.append(v.data)
            else:
                return None
        if n.op.kind == "elemwise" and len(values) > 1:
            try:
                full = np.broadcast_shapes(*[np.shape(a) for a in values])
            except ValueError:
                return n, values
            for v, a in zip(n.inputs, values):
                lead = len(full) - np.ndim(a)
                if any(s is None and np.shape(a)[ax] == 1 and full[lead + ax] != 1
                       for ax, s in enumerate(v.type.shape)):
                    return n, values
        try:
            outs = run_node(n, values)
        except Exception:
            return n, values
        for o, r in zip(n.outputs, outs):
            env[id(o)] = r
    return None


RECYCLE_BYTES = 1 << 18     # results this large are written into the caller's dropped ones


@dataclass
class KernelStep:
    lowered: Lowered
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    fn: int = 0
    spec: bytes = b""
    name: str = ""
    given: tuple = ()        # per output: the slot of an array to write into (in place), or None
    scratch: tuple = ()      # per output: the index of its reused buffer (see _plan_scratch), or None
    recycle: tuple = ()      # per output: two pool indices of earlier results to write into, or None


@dataclass
class GemmStep:
    """A gemm node as one call of NumPy's CBLAS (codegen/blas.py), beta included."""
    node: Apply
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    spec: bytes = b""
    given: tuple = ()        # (the slot of C, for an in-place update) or ()
    scratch: tuple = ()
    fold: bool = False       # a tensordot of A's last axis with matrix B's first: the gemm of A's rows


@dataclass
class NodeStep:
    node: Apply
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    bcast_check: tuple = ()


@dataclass(eq=False)        # a region is itself: membership tests compare identity, not node lists
class _Region:
    nodes: list = field(default_factory=list)
    start: int = 0             # topological position of its first node: where it runs
    shape: tuple = ()
    leaf_only: bool = True     # reads only function inputs and constants: could run anywhere
    used_outside: bool = False  # a value of it has been read by another unit
    merged: bool = False


def plan_regions(nodes: Sequence[Apply]) -> list[list[Apply] | Apply]:
    """The schedule's units in order: lists of elementwise nodes (regions) and single nodes.

    A node joins the region of an input's producer when it has the same static output shape
    and each other value it reads either was computed before that region starts or comes from
    a region that reads only function inputs and that nothing else has read yet (which is then
    merged in). So a region can run where it starts, and nothing runs before its inputs.
    """
    region_of: dict[int, _Region] = {}      # id(variable) -> region computing it
    position: dict[int, int] = {}           # id(variable) -> topological index of its producer
    depth: dict[int, int] = {}              # id(variable) -> its chain of ops in its region
    units: list = []

    def mark_read(node, exclude=None):
        for v in node.inputs:
            r = region_of.get(id(v))
            if r is not None and r is not exclude:
                r.used_outside = True

    for pos, node in enumerate(nodes):
        for o in node.outputs:
            position[id(o)] = pos
        if not lowerable(node):
            mark_read(node)
            units.append(node)
            continue
        shape = node.outputs[0].type.shape
        candidates = []
        for v in node.inputs:
            r = region_of.get(id(v))
            if r is not None and r.shape == shape and r not in candidates:
                candidates.append(r)
        # a region that must stay where it is (it reads computed values) is the target
        fixed = [r for r in candidates if not r.leaf_only]
        target = fixed[-1] if fixed else (candidates[0] if candidates else None)
        absorb = []
        if target is not None:
            for v in node.inputs:
                r = region_of.get(id(v))
                if r is target or isinstance(v, Constant) or id(v) not in position:
                    continue
                if r is not None and r.shape == shape and r.leaf_only and not r.used_outside:
                    if r not in absorb:
                        absorb.append(r)
                    continue
                if position[id(v)] >= target.start:
                    target = None
                    break
        d = 1 + max((depth.get(id(v), 0) for v in node.inputs
                     if target is not None and region_of.get(id(v)) in (target, *absorb)), default=0)
        if d > MAX_DEPTH:                       # a long chain: a new region reads this one's result
            target, d = None, 1
        if target is None:
            mark_read(node)
            target = _Region([], pos, shape)
            units.append(target)
            absorb = []
        else:
            mark_read(node, exclude=target)
            for r in absorb:
                r.used_outside = False
        for r in absorb:
            target.nodes.extend(r.nodes)
            for n in r.nodes:
                region_of[id(n.outputs[0])] = target
            r.merged = True
        if any(id(v) in position and region_of.get(id(v)) is not target for v in node.inputs):
            target.leaf_only = False
        target.nodes.append(node)
        region_of[id(node.outputs[0])] = target
        depth[id(node.outputs[0])] = d
    return [u.nodes if isinstance(u, _Region) else u for u in units
            if not (isinstance(u, _Region) and u.merged)]


class CProgram(Program):
    """Program's interface (``run``, ``constant_arrays``) over kernels and NumPy steps."""

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 inplace: Sequence[tuple[int, int]] = ()):
        """``inplace``: (output index, input index) pairs of shared-variable updates, which are
        written into the old value's array when nothing reads the old value afterwards."""
        from ..codegen.compile import compile_library
        from ..codegen.trampoline import load
        self.slot: dict[int, int] = {}
        self.storage_init: list = []
        for v in inputs:
            self._slot(v)
        self.input_slots = [self.slot[id(v)] for v in inputs]
        nodes = toposort(outputs, stop=inputs)
        needed = _consumers(nodes, outputs)
        self.steps: list = []
        kernels = []
        self._gemm = _gemm_entry()
        pairs, paired = _normalize_pairs(nodes), set()
        for unit in plan_regions(nodes):
            if isinstance(unit, Apply) and id(unit) in paired:
                continue             # computed with its partner, earlier
            low = None
            if isinstance(unit, Apply) and id(unit) in pairs:
                partner = pairs[id(unit)]
                sm, ls = (unit, partner) if unit.op.name == "softmax" else (partner, unit)
                low = lower_normalize_pair(sm, ls)
                if low is not None:
                    paired.add(id(partner))
            low = low or self._lower(unit, needed)
            if low is None:
                for node in unit if isinstance(unit, list) else [unit]:
                    if not self._gemm_step(node):
                        self._node_step(node)
                continue
            ins = tuple(self._leaf_slot(v) for v in low.inputs)
            outs = tuple(self._slot(v) for v in low.outputs)
            self.steps.append(KernelStep(low, ins, outs))
            kernels.append(low.kernel)
        self.output_slots = [self._leaf_slot(v) for v in outputs]
        self.constant_arrays = [a for a in self.storage_init if a is not None]
        self.storage_init = [np.asarray(a) if a is not None else None for a in self.storage_init]
        if kernels:
            renderer = CRenderer()
            known = {k.key: _LOADED.get(k.key) for k in kernels}
            if not all(known.values()):
                # one library for the function's kernels (all of them: one translation unit)
                lib = compile_library(renderer.render(kernels))
                for k in kernels:
                    fn = ctypes.cast(getattr(lib, renderer.kernel_name(k)), ctypes.c_void_p).value
                    known[k.key] = _LOADED[k.key] = (lib, fn)
            self._libs = {id(v[0]): v[0] for v in known.values()}
            for shared_lib in self._libs.values():       # threads: as configured now
                shared_lib.egopt_set_threads(config.threads or _cores())
            from ..codegen.trampoline import spec_for
            for st in self.steps:
                if isinstance(st, KernelStep):
                    k = st.lowered.kernel
                    lib, st.fn = known[k.key]
                    st.spec = spec_for(k, st.lowered.keepdims)
                    st.name = k.label
            self._lib = lib
        self._call, self._bcast_error, self._empty_error = load()
        self.kernel_count = len(kernels)
        input_ids = {id(v) for v in inputs}
        # results that are kernel outputs, each once: fresh arrays nobody else holds
        outs = [self.slot.get(id(v)) for v in outputs]
        kernel_slots = {s for st in self.steps if isinstance(st, (KernelStep, GemmStep)) for s in st.out_slots}
        self.fresh_outputs = (len(set(outs)) == len(outs) and all(s in kernel_slots for s in outs)
                              and not any(id(v) in input_ids for v in outputs))
        for out_index, in_index in inplace:
            self._update_in_place(outputs, out_index, self.input_slots[in_index])
        self.memo_keys = self._plan_memo()
        self.scratch_count = self._plan_scratch()
        self._pool: list[list] = []
        self._memo: dict = {}
        self._run_fast = self._generate_run()

    def _update_in_place(self, outputs, out_index: int, old: int) -> None:
        """Let the kernel computing ``outputs[out_index]`` write into input slot ``old`` when
        that is safe: it reads the old value only at the element it writes, and no later step,
        and no output, reads the old value or a view of it."""
        target = self.slot[id(outputs[out_index])]
        if sum(1 for v in outputs if self.slot.get(id(v)) == target) != 1:
            return
        k = next((j for j, st in enumerate(self.steps)
                  if isinstance(st, (KernelStep, GemmStep)) and target in st.out_slots), None)
        if k is None:
            return
        aliases = {old}          # the old value and what may view it (non-kernel results)
        for st in self.steps:
            if isinstance(st, NodeStep) and aliases.intersection(st.in_slots):
                aliases.update(st.out_slots)
        if aliases.intersection(self.output_slots[:out_index] + self.output_slots[out_index + 1:]):
            return
        if any(aliases.intersection(st.in_slots) for st in self.steps[k + 1:]):
            return
        step = self.steps[k]
        if isinstance(step, GemmStep):
            # BLAS writes C's storage while it reads A and B: C is the old value, they are not
            # (the C function also checks that their memory does not overlap it, and uses it only
            # when it has the product's shape)
            if len(step.in_slots) == 3 and step.in_slots[2] == old and not aliases.intersection(step.in_slots[:2]):
                step.given = (old,)
            return
        low = step.lowered
        for var, slot, buf in zip(low.inputs, step.in_slots, low.kernel.inputs):
            if slot in aliases and (slot != old or any(buf.broadcast) or var.ndim != low.kernel.ndim):
                return
        if low.kernel.reduce is not None or low.kernel.normalize is not None:
            return
        given = list(step.given) or [None] * len(step.out_slots)
        given[step.out_slots.index(target)] = old
        step.given = tuple(given)

    def _lower(self, unit, needed) -> Lowered | None:
        if isinstance(unit, list):
            ids = {id(n.outputs[0]) for n in unit}
            outs = [n.outputs[0] for n in unit if any(c not in ids for c in needed.get(id(n.outputs[0]), ()))]
            return lower_region(unit, outs)
        if unit.op.name == "fused_elemwise":
            return lower_body(unit)
        if unit.op.kind == "reduce" or unit.op.name == "fused_reduce":
            return lower_reduce(unit)
        if unit.op.name in NORMALIZATIONS:
            return lower_normalize(unit)
        return None

    def _gemm_step(self, node: Apply) -> bool:
        """A gemm node whose operands all have its float dtype runs as one BLAS call; so does a
        tensordot of A's last axis with a matrix's first (``dot(x_t, W)`` hoisted out of a scan:
        the product of A's rows), which then gets a buffer that later calls reuse."""
        fold = (node.op.name == "tensordot" and node.inputs[1].ndim == 2 and node.inputs[0].ndim >= 2
                and tuple(map(tuple, node.params["axes"])) == ((node.inputs[0].ndim - 1,), (0,)))
        if self._gemm is None or (node.op.name != "gemm" and not fold):
            return False
        dt = node.outputs[0].dtype
        if dt not in ("float32", "float64") or any(v.dtype != dt for v in node.inputs):
            return False
        p = node.params
        ins = tuple(self._leaf_slot(v) for v in node.inputs)
        outs = tuple(self._slot(v) for v in node.outputs)
        spec = (_gemm_spec(dt, False, False, 1.0, 0.0) if fold else
                _gemm_spec(dt, p["trans_a"], p["trans_b"], float(p["alpha"]), float(p["beta"])))
        self.steps.append(GemmStep(node, ins, outs, spec, fold=fold))
        return True

    def _escaping(self) -> set[int]:
        """Slots whose arrays may leave a call: results, and what NumPy steps (whose results may
        be views of their inputs) turn into results."""
        escaping = set(self.output_slots)
        for st in reversed(self.steps):
            if (isinstance(st, NodeStep) and escaping.intersection(st.out_slots)
                    and st.node.op.name not in _FRESH_RESULTS):
                escaping.update(st.in_slots)
        return escaping

    def _plan_memo(self) -> dict[int, list[str]]:
        """Steps whose values depend only on input shapes and constants (``shape(y)[0]``,
        ``arange`` of it, ``reduced_size``, ops on constants): step index -> the parts of its
        memo key, so each runs once per input shape. A key holds the shapes its shape-reading
        ops read and the identities of memoized values it reads (a memo entry keeps those
        alive, so an identity is never reused while its entry exists). Memoized values never
        leave a call and nothing writes into them."""
        escaping = self._escaping()
        stable = {i for i, a in enumerate(self.storage_init) if a is not None}
        memo_slots: set[int] = set()
        keys: dict[int, list[str]] = {}
        for j, st in enumerate(self.steps):
            if isinstance(st, GemmStep) or escaping.intersection(st.out_slots):
                continue
            if isinstance(st, KernelStep) and st.given:
                continue
            if isinstance(st, NodeStep) and (not getattr(st.node.op, "pure", True) or st.node.op.kind == "random"):
                continue         # a side effect or a draw: every call
            if isinstance(st, NodeStep) and st.node.op.name in _SHAPE_READERS:
                parts = [f"v{i}.shape" for i in st.in_slots]
            elif all(i in stable or i in memo_slots for i in st.in_slots):
                parts = [f"id(v{i})" for i in st.in_slots if i in memo_slots]
            else:
                continue
            keys[j] = parts
            memo_slots.update(st.out_slots)
        return keys

    def _plan_scratch(self) -> int:
        """Give each kernel and gemm result that never leaves a call a buffer that later calls
        reuse (passed to the kernel to write into, when its shape and dtype still fit): not a
        function result, nor read by a NumPy step whose result (which may be a view of it)
        does. Returns the number of such buffers; a call takes a set of them from a pool, so
        concurrent calls never share one.

        A kernel's result that the function returns gets two pool places holding its results of
        earlier calls (two, so ``out = f(x)`` in a loop, which holds the last result while the
        next is computed, alternates between them): a call writes into one only when nothing
        else holds it (its reference count: the caller dropped it, and no view of it is alive),
        so a result is never handed out twice. Only results of at least RECYCLE_BYTES are kept:
        for those a fresh array costs its page faults (first touch) on every call."""
        escaping = self._escaping()
        results = set(self.output_slots) - set(self.input_slots)
        count = 0
        for j, st in enumerate(self.steps):
            if isinstance(st, NodeStep) or j in self.memo_keys:
                continue
            given = list(st.given) or [None] * len(st.out_slots)
            scratch = []
            for slot, g in zip(st.out_slots, given):
                if g is None and slot not in escaping and slot not in self.input_slots:
                    scratch.append(count)
                    count += 1
                else:
                    scratch.append(None)
            st.scratch = tuple(scratch) if any(x is not None for x in scratch) else ()
            if isinstance(st, KernelStep) and not st.given:
                recycle = []
                for slot in st.out_slots:
                    if slot in results:
                        recycle.append((count, count + 1))
                        count += 2
                    else:
                        recycle.append(None)
                st.recycle = tuple(recycle) if any(r is not None for r in recycle) else ()
        return count

    def _node_step(self, node: Apply) -> None:
        ins = tuple(self._leaf_slot(v) for v in node.inputs)
        outs = tuple(self._slot(v) for v in node.outputs)
        self.steps.append(NodeStep(node, ins, outs, _bcast_checks(node)))


    def _generate_run(self):
        """The schedule as one straight-line Python function over local variables: no storage
        list, no loop, no per-step dispatch (the per-call path of small functions). NumPy steps
        call their op's perform directly under one ``errstate`` per call (a failing perform is
        rerun through ``run_node``, which names the op, the shapes and the line)."""
        env = {"call": self._call, "errors": (self._bcast_error, self._empty_error), "prog": self,
               "run_node": run_node, "check": _check_broadcast, "gemm": self._gemm, "nd": np.ndarray,
               "fix": _fix_dtype, "errstate": np.errstate, "pool": self._pool, "memo": self._memo,
               "NotImplemented": NotImplemented, "refs": sys.getrefcount}
        body: list[str] = []
        for s, a in enumerate(self.storage_init):
            if a is not None:
                env[f"v{s}"] = a

        def given_args(step) -> str:
            recycle = list(getattr(step, "recycle", ())) or [None] * len(step.out_slots)
            if not step.given and not step.scratch and not any(recycle):
                return ""
            given = list(step.given) or [None] * len(step.out_slots)
            scratch = list(step.scratch) or [None] * len(step.out_slots)
            parts = [f"v{g}" if g is not None else f"s[{c}]" if c is not None
                     else f"o{o}" if r is not None else "None"
                     for g, c, r, o in zip(given, scratch, recycle, step.out_slots)]
            return ", (" + "".join(p + ", " for p in parts) + ")"

        def pick_recycled(step) -> list[str]:
            # an earlier result that only the pool holds (the pool's list, ``a`` and
            # getrefcount's argument: 3 references) is written into again
            lines = []
            for o, r in zip(step.out_slots, step.recycle):
                if r is not None:
                    lines += [f"a = s[{r[0]}]", f"b = s[{r[1]}]",
                              f"o{o} = a if a is not None and refs(a) == 3 else "
                              f"b if b is not None and refs(b) == 3 else None"]
            if lines:
                lines.append("a = b = None")
            return lines

        def keep_recycled(step) -> list[str]:
            lines = []
            for o, r in zip(step.out_slots, step.recycle):
                if r is not None:
                    a, b = f"s[{r[0]}]", f"s[{r[1]}]"
                    lines += [f"if v{o} is not o{o} and v{o}.nbytes >= {RECYCLE_BYTES}:",
                              f"    if {a} is None: {a} = v{o}",
                              f"    elif {b} is None: {b} = v{o}",
                              f"    else: {a}, {b} = v{o}, {a}",
                              f"o{o} = None"]
            return lines

        def keep_scratch(step) -> list[str]:
            return [f"s[{c}] = v{o}" for o, c in zip(step.out_slots, step.scratch) if c is not None]

        for j, step in enumerate(self.steps):
            start = len(body)
            ins = ", ".join(f"v{i}" for i in step.in_slots)
            outs = "".join(f"v{i}, " for i in step.out_slots)
            if isinstance(step, KernelStep):
                env[f"fn{j}"], env[f"spec{j}"] = step.fn, step.spec
                body += pick_recycled(step)
                body += ["try:",
                         f"    {outs}= call(fn{j}, spec{j}, ({ins}{',' if len(step.in_slots) == 1 else ''}){given_args(step)})",
                         "except errors as e:",
                         f"    raise prog.step_error({j}, [{ins}], e) from None"]
                body += keep_scratch(step) + keep_recycled(step)
            elif isinstance(step, GemmStep) and step.fold:
                env[f"node{j}"], env[f"spec{j}"] = step.node, step.spec
                (o,) = step.out_slots
                a, b = ins.split(", ")
                target = f"s[{step.scratch[0]}]" if step.scratch else "None"
                body += ["try:",
                         f"    r{j} = gemm(spec{j}, {a}.reshape(-1, {a}.shape[-1]), {b}, None, {target})",
                         "except Exception:",
                         f"    r{j} = NotImplemented",
                         f"if r{j} is NotImplemented:",
                         f"    v{o}, = run_node(node{j}, [{ins}])",
                         "else:",
                         f"    v{o} = r{j}.reshape({a}.shape[:-1] + {b}.shape[1:])"]
                if step.scratch:
                    body.append(f"    {target} = r{j}")      # (the matrix: the next call's buffer)
            elif isinstance(step, GemmStep):
                env[f"node{j}"], env[f"spec{j}"] = step.node, step.spec
                (o,) = step.out_slots
                c = ins.split(", ")[2] if len(step.in_slots) == 3 else "None"
                target = (f"v{step.given[0]}" if step.given else f"s[{step.scratch[0]}]" if step.scratch else "None")
                body += ["try:",
                         f"    v{o} = gemm(spec{j}, {', '.join(ins.split(', ')[:2])}, {c}, {target})",
                         "except Exception:",
                         f"    v{o} = NotImplemented",
                         f"if v{o} is NotImplemented:",
                         f"    v{o}, = run_node(node{j}, [{ins}])"]
                body += keep_scratch(step)
            else:
                node = step.node
                env[f"node{j}"], env[f"step{j}"] = node, step
                env[f"perform{j}"], env[f"params{j}"] = node.op.perform, node.params
                res = outs if returns_tuple(node) else f"v{step.out_slots[0]}"
                body += ["try:",
                         f"    {res} = perform{j}(params{j}, {ins})",
                         "except Exception:",
                         f"    {outs}= run_node(node{j}, [{ins}])"]
                for o, var in zip(step.out_slots, node.outputs):
                    env[f"dt{o}"] = np.dtype(var.type.dtype)
                    body.append(f"if type(v{o}) is not nd or v{o}.dtype is not dt{o}: v{o} = fix(v{o}, dt{o})")
                if step.bcast_check:
                    body.append(f"check(step{j}, [{ins}], v{step.out_slots[0]})")
            if j in self.memo_keys:
                key = "(" + "".join(p + ", " for p in [str(j)] + self.memo_keys[j]) + ")"
                code = body[start:]
                del body[start:]
                body += [f"k = {key}", "m = memo.get(k)", "if m is None:"] + ["    " + c for c in code]
                body += [f"    memo[k] = (({outs}), ({ins}{',' if len(step.in_slots) == 1 else ''}))",
                         f"    if len(memo) > {_MEMO_LIMIT}: memo.clear()",
                         "else:", f"    {outs}= m[0]"]
        if any(isinstance(st, NodeStep) for st in self.steps):
            body = ["with errstate(all='ignore'):"] + ["    " + b for b in body]
        if self.scratch_count:
            env["blank"] = [None] * self.scratch_count
            body = (["try:", "    s = pool.pop()", "except IndexError:", "    s = list(blank)"]
                    + body + ["pool.append(s)"])
        unpack = ("".join(f"v{s}, " for s in self.input_slots) + "= values") if self.input_slots else "pass"
        outs = [f"v{i}" for i in self.output_slots]
        lines = (["def run(values):", "    " + unpack] + ["    " + b for b in body]
                 + ["    return [" + ", ".join(outs) + "]"])
        # the same body taking the inputs as arguments and returning one output bare
        direct = ([f"def direct({', '.join(f'v{s}' for s in self.input_slots)}):"] + ["    " + b for b in body]
                  + [f"    return {outs[0] if len(outs) == 1 else '[' + ', '.join(outs) + ']'}"])
        exec(compile("\n".join(lines + direct), "<egopt schedule>", "exec"), env)
        self.run_direct = env["direct"]
        return env["run"]

    def step_error(self, j: int, args, e) -> Exception:
        step = self.steps[j]
        return self._runtime_error(step, dict(zip(step.in_slots, args)), e)

    def run(self, values: Sequence[np.ndarray], profile: ProfileStats | None = None) -> list[np.ndarray]:
        if profile is None:
            return self._run_fast(values)
        storage = list(self.storage_init)
        for s, v in zip(self.input_slots, values):
            storage[s] = v
        call = self._call
        for step in self.steps:
            t0 = time.perf_counter()
            if type(step) is KernelStep:
                try:
                    ins = tuple([storage[i] for i in step.in_slots])
                    outs = (call(step.fn, step.spec, ins, tuple(None if g is None else storage[g] for g in step.given))
                            if step.given else call(step.fn, step.spec, ins))
                except (self._bcast_error, self._empty_error) as e:
                    raise self._runtime_error(step, storage, e) from None
                profile.record(f"kernel {step.name}", time.perf_counter() - t0)
            elif type(step) is GemmStep:
                args = [storage[i] for i in step.in_slots]
                try:
                    a = args[0].reshape(-1, args[0].shape[-1]) if step.fold else args[0]
                    out = self._gemm(step.spec, a, args[1], args[2] if len(args) == 3 else None,
                                     storage[step.given[0]] if step.given else None)
                except Exception:
                    out = NotImplemented
                if out is not NotImplemented and step.fold:
                    out = out.reshape(args[0].shape[:-1] + args[1].shape[1:])
                outs = run_node(step.node, args) if out is NotImplemented else [out]
                profile.record("gemm (BLAS)", time.perf_counter() - t0)
            else:
                args = [storage[i] for i in step.in_slots]
                outs = run_node(step.node, args)
                if step.bcast_check:
                    _check_broadcast(step, args, outs[0])
                profile.record(step.node.op.name, time.perf_counter() - t0)
            for i, o in zip(step.out_slots, outs):
                storage[i] = o
        return [storage[i] for i in self.output_slots]

    def _runtime_error(self, step: KernelStep, storage, e) -> Exception:
        low = step.lowered
        args = [storage[i] for i in step.in_slots]
        if isinstance(e, self._empty_error):
            node = low.nodes[0]
            return OpRuntimeError(f"{describe_call(node.op, node.params, [v.type for v in node.inputs])}: "
                                  f"zero-size array to reduction operation {node.op.name} which has no identity"
                                  + (f"\n  built at {node.loc}" if node.loc else ""))
        kind, i, axis, size = e.args
        var = low.inputs[i]
        shapes = "kernel input shapes " + ", ".join(f"{np.shape(a)} {np.asarray(a).dtype}" for a in args)
        found = _culprit(low, args)
        if found is not None:          # the op inside the kernel that fails, on its own inputs
            node, values = found
            shapes = "input shapes " + ", ".join(f"{np.shape(a)} {np.asarray(a).dtype}" for a in values)
        else:
            node = next((n for n in low.nodes if any(v is var for v in n.inputs)), low.nodes[0])
        return broadcast_error(node, low, var, axis, size, shapes, kind == 0)

    def kernels(self) -> list[tuple[str, list[str]]]:
        """(kernel label, the ops it holds) for each kernel step."""
        return [(st.name, st.lowered.ops) for st in self.steps if isinstance(st, KernelStep)]


def broadcast_error(node: Apply, low: Lowered, var: Variable, axis: int, size: int, shapes: str,
                    mismatch: bool) -> OpRuntimeError:
    """A kernel's broadcast failure in the user's terms: ``node`` (the op that reads ``var``),
    its line, the shapes; ``mismatch``: sizes that do not broadcast, else a size 1 at run time on
    an axis whose type does not mark it broadcastable (C and CUDA linkers alike)."""
    where = f"\n  built at {node.loc}" if node.loc else ""
    call = describe_call(node.op, node.params, [v.type for v in node.inputs])
    if mismatch:
        return OpRuntimeError(f"{call}: shapes do not broadcast: size {size} on axis {axis} of input "
                              f"{var!r} ({shapes})" + where)
    lead = low.kernel.ndim - var.ndim
    return OpRuntimeError(
        f"{call}: input {var!r} has size 1 on axis {axis - lead} at run time, but its type does not "
        f"mark that axis broadcastable and the output has size {size} there ({shapes}). "
        f"Declare it with a static size 1 (T.row(), T.tensor(shape=(1, None)), "
        f"shared(..., shape=...)) or use dimshuffle('x', ...)" + where)


def _consumers(nodes: Sequence[Apply], outputs: Sequence[Variable]) -> dict[int, list]:
    """id(variable) -> ids of the variables computed from it (and a marker for graph outputs)."""
    users: dict[int, list] = {}
    for n in nodes:
        for v in n.inputs:
            users.setdefault(id(v), []).extend(id(o) for o in n.outputs)
    for v in outputs:
        users.setdefault(id(v), []).append(None)
    return users


def _normalize_pairs(nodes: Sequence[Apply]) -> dict[int, Apply]:
    """softmax and log_softmax nodes of the same input and axis, each mapped to the other."""
    first: dict[tuple, Apply] = {}
    pairs: dict[int, Apply] = {}
    for n in nodes:
        if n.op.name in NORMALIZATIONS:
            key = (id(n.inputs[0]), n.params["axis"])
            other = first.get(key)
            if other is not None and other.op.name != n.op.name and id(other) not in pairs:
                pairs[id(n)], pairs[id(other)] = other, n
            elif other is None:
                first[key] = n
    return pairs


# ops whose result depends on their inputs' shapes only
_SHAPE_READERS = ("shape", "reduced_size")
# NumPy steps whose results are new arrays, never views of their inputs: what they read does
# not leave a call through them (scan's histories are its own buffers)
_FRESH_RESULTS = frozenset({"scan", "tensordot"})

_MEMO_LIMIT = 512     # memo entries per function (cleared when exceeded: shapes that keep changing)


def _fix_dtype(value, dtype: np.dtype) -> np.ndarray:
    """A perform's result as an ndarray of the output's dtype (run_node's conversion)."""
    value = np.asarray(value)
    return value if value.dtype == dtype else value.astype(dtype)


def _gemm_entry():
    from ..codegen.trampoline import gemm_call
    return gemm_call()


def _gemm_spec(dtype: str, trans_a: bool, trans_b: bool, alpha: float, beta: float) -> bytes:
    from ..codegen.trampoline import gemm_spec
    return gemm_spec(dtype, trans_a, trans_b, alpha, beta)


def _cores() -> int:
    import os
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


_WARNED = False
# kernel key -> (library, function pointer): a function whose kernels
# were all compiled already in this process (by another function) needs no compiler run
_LOADED: dict[str, tuple] = {}


def c_available() -> bool:
    """Is there a C compiler? Warns once when there is not (the "py" linker runs instead)."""
    global _WARNED
    from ..codegen.compile import find_compiler
    if find_compiler() is not None:
        return True
    if not _WARNED:
        warnings.warn("egopt: no C compiler found (set $CC or install gcc); compiled functions run "
                      "on the NumPy linker ('py'), which is slower", stacklevel=3)
        _WARNED = True
    return False
