"""Running scan loops: a step schedule of direct NumPy calls into preallocated buffers.

The generic linker pays a Python call, a dict of slots and a dtype check per node; a loop of
10,000 steps cannot. So the first step runs through each op's ``perform`` (which also finds
the shapes and dtypes), and the remaining steps run a Python function generated once per scan
body: one line per inner node, ufuncs and ``dot`` writing into buffers allocated for this
call (``out=``), state outputs written straight into their history rows. Ops without an
``out=`` form are called through their ``perform``.

The body is a ``StepBody``: ``run(t0, n, arrays) -> steps done``. On the C linker
(``prepare_scans``, called when a function is built) the body has a plan
(egopt/runtime/scan_compiled.py): each elementwise region is one C kernel call writing into a
buffer or a history row, and ``gemm`` is one call of NumPy's CBLAS with ``beta`` (``C``
copied into its destination, or updated in place when it is the destination). A kernel that meets shapes that do not broadcast makes the loop run again on
the Python body, which raises the error that names the op.

Outputs marked ``keep="last"`` live in a ring of ``L + 1`` rows (L: the output's deepest tap)
and return only their last row (one row, updated in place, for a sum of products such as
``acc + x_t.T @ g_t`` whose previous value nothing else reads); ``keep="init"`` returns the initial rows too, ``"reversed"``
writes step t at row n-1-t. History buffers are reused by the next call when nothing holds
them any more.
"""
from __future__ import annotations

import inspect
import sys
import threading
import weakref
from functools import partial
from typing import Sequence

import numpy as np

from ..lang.errors import OpRuntimeError
from ..lang.graph import Constant, toposort
from ..lang.ops import returns_tuple, run_node
from ..lang.scan import ScanSpec, set_runner


def _out_form(op):
    """The NumPy callable of an op that accepts ``out=``, or None."""
    if op.name == "dot":
        return np.dot
    if op.kind == "elemwise" and not op.extra.get("params"):
        fn = inspect.getclosurevars(op.perform).nonlocals.get("numpy")
        if isinstance(fn, np.ufunc):
            return fn
    return None


class StepBody:
    """Generated Python for steps t0..n-1 of one scan body (see the module docstring).

    ``plan`` (a scan_compiled.BodyPlan, the C linker's) replaces groups of elementwise nodes by
    one kernel call each; without it every node is one line."""

    def __init__(self, ex: "ScanExecutor", modes: tuple[str, ...], plan=None):
        spec = ex.spec
        names = {}
        env: dict = {"dot": np.dot, "add": np.add, "multiply": np.multiply}

        def name_of(v):
            return names[id(v)]

        pre = ["def loop(t0, n, S, H, B, NS):"]
        for i in range(spec.n_seqs):
            pre.append(f"    s{i} = S[{i}]")
        for j in range(spec.n_outputs):
            pre.append(f"    h{j} = H[{j}]")
        for i, p in enumerate(ex.nonseq_ph):
            names[id(p)] = f"ns{i}"
            pre.append(f"    ns{i} = NS[{i}]")
        units = self.units = list(range(len(ex.nodes))) if plan is None else plan.units
        for u in units:
            for v in self._buffered(ex, modes, u):
                pre.append(f"    b{id(v)} = B[{id(v)}]")
        for v in ex.const_vars:
            names[id(v)] = f"c{id(v)}"
            env[f"c{id(v)}"] = v.data
        # rows of sequences of ndim >= 2 come from iterating them (views made in C); rows of
        # ring buffers are views made once
        iters = [i for i, p in enumerate(ex.seq_ph) if ex.used[id(p)] and p.ndim >= 1]
        for j, R in enumerate(ex.ring):
            if R is not None:
                pre.append(f"    r{j} = [h{j}[i, ...] for i in range({R})]")
        head = "t" + "".join(f", x{i}" for i in iters)
        src = "range(t0, n)" + "".join(f", s{i}[t0:n]" for i in iters)
        body = [f"    for {head} in zip({src}):" if iters else "    for t in range(t0, n):"]
        for i, p in enumerate(ex.seq_ph):
            names[id(p)] = f"x{i}"
            if ex.used[id(p)] and i not in iters:
                body.append(f"        x{i} = s{i}[t, ...]")

        def row(j, off):
            R = ex.ring[j]
            if spec.keep[j] == "reversed":      # (no taps: off is 0)
                return f"h{j}[n - 1 - t, ...]"
            return f"h{j}[t + {off}, ...]" if R is None else f"r{j}[0]" if R == 1 else f"r{j}[(t + {off}) % {R}]"

        for j, ps in enumerate(ex.tap_ph):
            for k, p in zip(spec.taps[j], ps):
                names[id(p)] = f"p{j}_{-k}"
                if ex.used[id(p)]:
                    body.append(f"        p{j}_{-k} = {row(j, ex.L[j] + k)}")
        # where each output's row goes this step
        dest = {}
        for j, o in enumerate(ex.outs):
            dest.setdefault(id(o), []).append(row(j, ex.L[j]))

        def target(v):
            rows = dest.get(id(v))
            return rows.pop(0) if rows else f"b{id(v)}"

        for u in units:
            if not isinstance(u, int):
                body += self._kernel_line(u, env, names, target)
                continue
            k, node = u, ex.nodes[u]
            outs = [f"v{k}_{i}" for i in range(len(node.outputs))]
            for v, nm in zip(node.outputs, outs):
                names[id(v)] = nm
            args = [name_of(v) for v in node.inputs]
            if modes[k] == "out":
                env[f"f{k}"] = ex.out_forms[k]
                body.append(f"        {outs[0]} = f{k}({', '.join(args)}, out={target(node.outputs[0])})")
            elif modes[k] == "gemm":
                into = target(node.outputs[0])
                if plan is not None and _blas() is not None:
                    body += _blas_lines(node, k, outs[0], args, into, env)
                else:
                    in_place = any(o is node.outputs[0] for j, o in enumerate(ex.outs) if j in ex.in_place)
                    body += _gemm_lines(node, outs[0], args, into, f"b{id(node.outputs[0])}" if in_place else None)
            else:
                env[f"g{k}"] = _generic(node) if modes[k] == "checked" else partial(node.op.perform, node.params)
                tup = modes[k] == "checked" or returns_tuple(node)
                body.append(f"        {', '.join(outs)}{',' if tup else ''} = g{k}({', '.join(args)})")
        for j, o in enumerate(ex.outs):
            for t in dest.get(id(o), []):
                body.append(f"        {t}[...] = {name_of(o)}")
            dest[id(o)] = []
        if spec.until:
            body.append(f"        if {name_of(spec.condition)}:")
            body.append("            return t + 1")
        body.append("    return n")
        self.source = "\n".join(pre + body) + "\n"
        exec(compile(self.source, f"<scan body {spec.name or id(spec)}>", "exec"), env)
        self.loop = env["loop"]

    @staticmethod
    def _buffered(ex, modes, u) -> list:
        """The values of unit ``u`` that get a buffer (when they are not an output's row)."""
        if isinstance(u, int):
            return [ex.nodes[u].outputs[0]] if modes[u] in ("out", "gemm") else []
        return list(u.lowered.outputs)

    @staticmethod
    def _kernel_line(u, env, names, target) -> list[str]:
        low = u.lowered
        key = f"k{id(u)}"
        env[f"fn_{key}"], env[f"spec_{key}"] = u.fn, u.spec
        env.setdefault("call", _call())
        outs = [f"v{key}_{i}" for i in range(len(low.outputs))]
        args = "".join(f"{names[id(v)]}, " for v in low.inputs)
        lines = []
        given = []
        for i, v in enumerate(low.outputs):
            d = target(v)
            if d.startswith("b"):
                given.append(d)
            else:                      # an output's row: the kernel writes it (it fits, as step 0 showed)
                lines.append(f"        d{key}_{i} = {d}")
                given.append(f"d{key}_{i}")
        lines.append(f"        {''.join(o + ', ' for o in outs)}= call(fn_{key}, spec_{key}, ({args}), "
                     f"({''.join(g + ', ' for g in given)}))")
        for i, (v, g) in enumerate(zip(low.outputs, given)):
            names[id(v)] = outs[i]
            if not g.startswith("b"):
                lines.append(f"        if {outs[i]} is not {g}:")
                lines.append(f"            {g}[...] = {outs[i]}")
        return lines

    def run(self, t0: int, n: int, seqs, hists, bufs, nonseqs) -> int:
        return self.loop(t0, n, seqs, hists, bufs, nonseqs)


def _gemm_lines(node, out: str, args: list[str], dest: str, scratch: str | None = None) -> list[str]:
    """gemm as the product written into ``dest`` through BLAS, then scaled and ``C`` added in
    place: the same operations, in the same order, as its perform. ``scratch``: a buffer for
    the product when ``dest`` is ``C`` itself (an accumulator updated in place)."""
    p = node.params
    a = args[0] + (".T" if p["trans_a"] else "")
    b = args[1] + (".T" if p["trans_b"] else "")
    prod = scratch or dest
    lines = [f"        {out} = dot({a}, {b}, out={prod})"]
    if float(p["alpha"]) != 1.0:
        lines.append(f"        multiply({out}, {float(p['alpha'])!r}, out={out})")
    if len(args) == 3 and float(p["beta"]) != 0.0:
        c = args[2] if float(p["beta"]) == 1.0 else f"({args[2]} * {float(p['beta'])!r})"
        lines.append(f"        {out} = add({out}, {c}, out={dest})")
    elif scratch:
        lines.append(f"        {dest}[...] = {out}")
        lines.append(f"        {out} = {dest}")
    return lines


def _blas_lines(node, k: int, out: str, args: list[str], dest: str, env: dict) -> list[str]:
    """gemm as one call of NumPy's CBLAS with ``beta`` (codegen/trampoline.py): no product
    array and no separate addition; ``C`` given as ``dest`` is updated in place. Where that
    call does not apply (NotImplemented: an empty axis) the op's perform runs."""
    from ..codegen.trampoline import gemm_spec
    p = node.params
    env["blas"] = _blas()
    env[f"spec{k}"] = gemm_spec(node.outputs[0].dtype, p["trans_a"], p["trans_b"], float(p["alpha"]),
                                float(p["beta"]) if len(args) == 3 else 0.0)
    env[f"g{k}"] = partial(node.op.perform, node.params)
    c = args[2] if len(args) == 3 else "None"
    return [f"        {out} = blas(spec{k}, {args[0]}, {args[1]}, {c}, {dest})",
            f"        if {out} is NotImplemented:",
            f"            {out} = g{k}({', '.join(args)})",
            f"        if {out} is not {dest}:",
            f"            {dest}[...] = {out}",
            f"            {out} = {dest}"]


def _blas():
    from ..codegen.trampoline import gemm_call
    return gemm_call()


def _call():
    from ..codegen.trampoline import load
    return load()[0]


def _kernel_errors() -> tuple:
    from ..codegen.trampoline import load
    return load()[1:]


def _gemm_fits(node, args, out) -> bool:
    """Can this gemm write its product into a buffer shaped like its output (no broadcast of C
    past the product's shape)?"""
    if node.op.name != "gemm" or out.ndim == 0:
        return False
    a, b = args[0], args[1]
    rows = a.shape[1] if node.params["trans_a"] else a.shape[0]
    shape = (rows,) + ((b.shape[0] if node.params["trans_b"] else b.shape[1],) if b.ndim == 2 else ())
    return shape == out.shape


def _generic(node):
    def call(*args):
        return run_node(node, args)
    return call


class ScanExecutor:
    """Runs one scan spec; built once per spec (the inner graph is fixed)."""

    def __init__(self, spec: ScanSpec):
        self.spec = spec
        self.seq_ph, self.tap_ph, self.nonseq_ph = spec.split_inner()
        self.outs = list(spec.inner_outputs[:spec.n_outputs])
        self.nodes = toposort(list(spec.inner_outputs), stop=list(spec.inner_inputs))
        self.L = spec.tap_lengths()
        self.ring = [(L + 1) if k == "last" else None for L, k in zip(self.L, spec.keep)]
        self.in_place = self._accumulators()
        for j in self.in_place:
            self.ring[j] = 1
        seen, self.const_vars = set(), []
        for v in [i for n in self.nodes for i in n.inputs] + list(spec.inner_outputs):
            if isinstance(v, Constant) and id(v) not in seen:
                seen.add(id(v))
                self.const_vars.append(v)
        read = {id(i) for n in self.nodes for i in n.inputs} | {id(o) for o in spec.inner_outputs}
        self.used = {id(p): id(p) in read for p in spec.inner_inputs}
        self._bodies: dict = {}
        self.plan = None           # the C linker's units of the body (scan_compiled.BodyPlan)
        self._hists: dict[int, np.ndarray] = {}     # output -> last call's history buffer
        self.dtypes = [[np.dtype(v.type.dtype) for v in n.outputs] for n in self.nodes]
        self.out_forms = [_out_form(n.op) for n in self.nodes]
        # non-sequences that are a matrix factor of a product in the body: BLAS reads a
        # C-ordered factor faster than a transposed view (W.T from the gradient), so one copy
        # per call pays for itself over the steps
        ns_index = {id(p): i for i, p in enumerate(self.nonseq_ph)}
        self.product_ns = sorted({ns_index[id(v)] for n in self.nodes if n.op.name in ("dot", "gemm")
                                  for pos, v in enumerate(n.inputs[:2])
                                  if id(v) in ns_index and v.ndim == 2
                                  and not (n.op.name == "gemm" and n.params["trans_a" if pos == 0 else "trans_b"])})
        self._lock = threading.Lock()

    def _accumulators(self) -> set[int]:
        """States kept as their last row whose step is ``gemm(A, B, previous)`` and whose previous
        value nothing else reads (the gradient's sums over the steps, ``acc + x_t.T @ g_t``):
        they live in one row that the product updates in place (BLAS's ``C := A B + C``), with
        no ring of two rows and no separate addition."""
        readers: dict[int, list] = {}
        for n in self.nodes:
            for v in n.inputs:
                readers.setdefault(id(v), []).append(n)
        out_ids = [id(o) for o in self.spec.inner_outputs]
        found = set()
        for j, (o, ps) in enumerate(zip(self.outs, self.tap_ph)):
            if self.spec.keep[j] != "last" or self.spec.taps[j] != (-1,) or out_ids.count(id(o)) != 1:
                continue
            node, r = o.owner, readers.get(id(ps[0]), [])
            if (node is not None and node.op.name == "gemm" and len(node.inputs) == 3 and r == [node]
                    and node.inputs[2] is ps[0] and ps[0] not in node.inputs[:2]):
                found.add(j)
        return found

    def compile(self) -> None:
        """Run the body on C kernels from now on (the C linker's functions call this)."""
        if self.plan is None:
            from .scan_compiled import BodyPlan
            self.plan = BodyPlan(self.nodes, list(self.spec.inner_outputs))

    def body(self, modes: tuple[str, ...], compiled: bool | None = None) -> StepBody:
        """The step loop for these node modes: "out" (a ufunc or dot writing into a buffer),
        "gemm" (a product written into a buffer, then ``C`` added in place), "raw" (the op's
        perform), "checked" (perform through run_node, which fixes dtypes). Nodes in a kernel
        of the compiled plan run there whatever their mode."""
        plan = self.plan if compiled is None or compiled else None
        key = (modes, plan is not None)
        b = self._bodies.get(key)
        if b is None:
            b = self._bodies[key] = StepBody(self, modes, plan)
            b.plan = plan
        return b

    def n_steps(self, n_arg: int, seqs: Sequence[np.ndarray]) -> int:
        lengths = [s.shape[0] for s in seqs]
        if n_arg == -1:
            return min(lengths)
        if n_arg < 0:
            raise OpRuntimeError(f"scan {self.spec.name or ''}: n_steps must be >= 0, got {n_arg}")
        short = [i for i, m in enumerate(lengths) if m < n_arg]
        if short:
            raise OpRuntimeError(f"scan {self.spec.name or ''}: n_steps is {n_arg} but sequence "
                                 f"{short[0]} has only {lengths[short[0]]} rows (after taps)")
        return n_arg

    def run(self, arrays: Sequence[np.ndarray], compiled: bool | None = None) -> list[np.ndarray]:
        """The outputs of one call; ``compiled=False`` runs the Python body even when there is a plan."""
        spec = self.spec
        n_arg, seqs, inits, nonseqs = spec.split_outer(list(arrays))
        n = self.n_steps(int(n_arg), seqs)
        init_of = {}
        it = iter(inits)
        for j, taps in enumerate(spec.taps):
            if taps:
                init_of[j] = next(it)
                if init_of[j].shape[0] < self.L[j]:
                    raise OpRuntimeError(
                        f"scan {spec.name or ''}: output {j} has taps {list(taps)} and needs {self.L[j]} "
                        f"initial rows, got an initial value of shape {init_of[j].shape}")
        if n == 0:
            rows = self._row_shapes(seqs, init_of, nonseqs)
            return [self._empty(j, init_of.get(j), rows) for j in range(spec.n_outputs)]
        # step 0 through perform: finds shapes and dtypes, and which nodes can write into buffers
        env = {}
        for p, s in zip(self.seq_ph, seqs):
            env[id(p)] = s[0, ...]
        for j, ps in enumerate(self.tap_ph):
            L = self.L[j]
            init = init_of.get(j)
            if init is not None and init.shape[0] > L:
                init = init[init.shape[0] - L:]       # Theano reads the last L rows
                init_of[j] = init
            for k, p in zip(spec.taps[j], ps):
                env[id(p)] = init[L + k, ...]
        for p, v in zip(self.nonseq_ph, nonseqs):
            env[id(p)] = v
        for v in self.const_vars:
            env[id(v)] = v.data
        modes = []
        for k, node in enumerate(self.nodes):
            args = [env[id(v)] for v in node.inputs]
            try:
                raw = node.op.perform(node.params, *args)
            except Exception:
                run_node(node, args)          # raises the error that names the op, shapes and line
                raise
            raw = raw if returns_tuple(node) else (raw,)
            # a perform that returns arrays of the declared dtypes is called as it is from now on
            trusted = all(isinstance(o, np.ndarray) and o.dtype == d for o, d in zip(raw, self.dtypes[k]))
            outs = list(raw) if trusted else [np.asarray(o).astype(v.type.dtype, copy=False)
                                              for o, v in zip(raw, node.outputs)]
            for v, o in zip(node.outputs, outs):
                env[id(v)] = o
            one = trusted and len(outs) == 1
            modes.append("out" if one and self.out_forms[k] is not None else
                         "gemm" if one and _gemm_fits(node, args, outs[0]) else
                         "raw" if trusted else "checked")
        hists = []
        for j, o in enumerate(self.outs):
            val = np.asarray(env[id(o)])
            L, R = self.L[j], self.ring[j]
            if j in init_of and init_of[j].shape[1:] != val.shape:
                raise OpRuntimeError(
                    f"scan {spec.name or ''}: output {j} has shape {val.shape} at step 0 but its initial "
                    f"value (the previous output) has rows of shape {init_of[j].shape[1:]}; they must agree")
            rows = R if R is not None else L + n
            h = self._history(j, (rows,) + val.shape, o.dtype)
            if L:
                h[:L] = init_of[j]      # rows 0..L-1 hold times -L..-1; time t sits at t + L (mod R)
            h[n - 1 if spec.keep[j] == "reversed" else L if R is None else L % R] = val
            hists.append(h)
        done = 1
        stopped = spec.until and bool(env[id(spec.condition)])
        if n > 1 and not stopped:
            if self.product_ns:
                nonseqs = list(nonseqs)
                for i in self.product_ns:
                    if not nonseqs[i].flags.c_contiguous:
                        nonseqs[i] = np.ascontiguousarray(nonseqs[i])
            try:
                done = self._steps(tuple(modes), env, seqs, hists, n, nonseqs, compiled)
            except _kernel_errors() as e:
                if compiled is False or self.plan is None:
                    raise
                # a kernel met shapes that do not broadcast: the Python body runs the loop again
                # and raises the error that names the op
                self.run(arrays, compiled=False)
                raise OpRuntimeError(f"scan {spec.name or ''}: a step failed in a kernel: {e!r}") from e
        return [self._result(j, h, done) for j, h in enumerate(hists)]

    def _steps(self, modes, env, seqs, hists, n: int, nonseqs, compiled: bool | None) -> int:
        """Steps 1..n-1 (step 0 is in ``hists`` and ``env``); returns the number of steps done."""
        body = self.body(modes, compiled)
        # a buffer for each value the loop writes in place: C-ordered, shaped as at step 0
        bufs = {}
        for u in body.units:
            for v in StepBody._buffered(self, modes, u):
                bufs[id(v)] = np.empty(np.shape(env[id(v)]), dtype=v.type.dtype)
        try:
            return body.run(1, n, seqs, hists, bufs, nonseqs)
        except OpRuntimeError:
            raise
        except _kernel_errors():
            raise
        except (ValueError, TypeError) as e:
            raise OpRuntimeError(f"scan {self.spec.name or ''}: a step failed: {e}") from e

    def _history(self, j: int, shape: tuple, dtype) -> np.ndarray:
        """The history buffer of output ``j``: last call's when nothing holds it (nor a view of
        it: a view keeps a reference to its base) and it has the shape, else a new one. Large
        histories that are only read inside the function (the usual case: an RNN's states feed
        its loss and gradient) then cost no allocation and no page faults per call."""
        with self._lock:
            old = self._hists.get(j)
            if old is not None and old.shape == shape and old.dtype == dtype and sys.getrefcount(old) == 3:
                return old        # the references: the cache's, ``old``'s and getrefcount's argument
            h = self._hists[j] = np.empty(shape, dtype=dtype)
            return h

    def _result(self, j: int, h: np.ndarray, done: int) -> np.ndarray:
        L, R = self.L[j], self.ring[j]
        if R is None:
            return h[:L + done] if self.spec.keep[j] == "init" else h[L:L + done]
        i = (done - 1 + L) % R
        return h[i:i + 1]

    def _empty(self, j: int, init, rows) -> np.ndarray:
        o = self.outs[j]
        if self.spec.keep[j] == "init":
            return np.array(init[init.shape[0] - self.L[j]:])
        row = init.shape[1:] if init is not None else rows[j] if rows[j] is not None else \
            tuple(s or 0 for s in o.type.shape)
        return np.empty((0,) + tuple(row), dtype=o.dtype)

    def _row_shapes(self, seqs, init_of, nonseqs) -> list:
        """The rows' shapes of outputs without an initial value, for a loop of zero steps whose
        static types leave them open (the gradient of a sequence has the sequence's rows): the
        body run once on zero rows shaped like the sequences' and states' rows. None where that
        is not needed or the body fails on zeros (the rows of the open axes are then empty)."""
        open_rows = [j for j, o in enumerate(self.outs) if j not in init_of and None in o.type.shape]
        if not open_rows or any(not n.op.pure or n.op.kind == "random" for n in self.nodes):
            return [None] * len(self.outs)
        env = {id(p): np.zeros(s.shape[1:], s.dtype) for p, s in zip(self.seq_ph, seqs)}
        for j, ps in enumerate(self.tap_ph):
            for p in ps:
                env[id(p)] = np.zeros(init_of[j].shape[1:], init_of[j].dtype)
        env.update((id(p), v) for p, v in zip(self.nonseq_ph, nonseqs))
        env.update((id(v), v.data) for v in self.const_vars)
        try:
            with np.errstate(all="ignore"):
                for node in self.nodes:
                    for v, o in zip(node.outputs, run_node(node, [env[id(v)] for v in node.inputs])):
                        env[id(v)] = o
        except Exception:          # noqa: BLE001 (a body that zeros do not fit: no shapes to learn)
            return [None] * len(self.outs)
        return [np.shape(env[id(o)]) if j in open_rows else None for j, o in enumerate(self.outs)]


_EXECUTORS: "weakref.WeakKeyDictionary[ScanSpec, ScanExecutor]" = weakref.WeakKeyDictionary()


def executor(spec: ScanSpec) -> ScanExecutor:
    ex = _EXECUTORS.get(spec)
    if ex is None:
        ex = _EXECUTORS[spec] = ScanExecutor(spec)
    return ex


def prepare_scans(outputs: Sequence, leaves: Sequence, linker: str) -> None:
    """The C linker's functions run their scan bodies (and those of scans inside them) on
    compiled kernels, built here, when the function is built."""
    if linker != "c":
        return
    todo = [n for n in toposort(list(outputs), stop=list(leaves)) if n.op.name == "scan"]
    while todo:
        spec = todo.pop().params["spec"]
        ex = executor(spec)
        ex.compile()
        todo.extend(n for n in ex.nodes if n.op.name == "scan")


def run_scan(spec: ScanSpec, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    return executor(spec).run(arrays)


set_runner(run_scan)
