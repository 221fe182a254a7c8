"""The CUDA linker: the C linker's schedule (``plan_regions`` and the ``lower_*`` functions:
regions, fused nodes, reductions) run on a GPU through CuPy.

Kernels are rendered by ``CUDARenderer``, all of a function's in one ``cupy.RawModule`` (cached
by source, egopt/runtime/cuda.py) and launched with the sizes and byte strides computed here
as the C trampoline computes them. The other nodes run where their data is:

- ``shape``-like ops read a device array's shape; nodes whose inputs are all host values
  (shape arithmetic, 0-d inputs) run their NumPy perform on the host;
- ops with a CuPy implementation (``DEVICE_OPS``: dot/gemm through CuPy's cuBLAS-backed
  matmul, conv2d and its gradients, softmax, indexing, reshapes, ...; a few ops' NumPy
  performs, which NumPy dispatches to CuPy) run on the device;
- any other op (and a node the kernels do not cover, e.g. float16 or complex) runs on the
  host with a one-time ``HostFallbackWarning`` naming it and the user's line: its device
  inputs are copied over and back on every call, never silently.

Values: NumPy inputs are copied to the device once per call (0-d ones stay on the host), CuPy
inputs are used in place; outputs come back as NumPy unless ``outputs_on_device``; update
values (shared variables) stay on the device. Kernel outputs are fresh arrays on every call;
a result that could alias anything else is copied.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..lang import REGISTRY
from ..lang.errors import OpRuntimeError
from ..lang.graph import Apply, Constant, Variable, toposort
from ..lang.ops import describe_call, run_node
from ..lang.shared import SharedVariable
from ..lang.shape import fill_dims
from ..lang.subtensor import _np_index
from ..codegen.lower import Lowered, lower_body, lower_reduce, lower_region
from ..codegen.trampoline import BroadcastError, broadcast_shape
from .cuda import _cupy, device_index, is_device_array, launch_args, load_kernels
from .cuda_conv import CONV_OPS
from .profile import ProfileStats
from .py_linker import Program
from .schedule import broadcast_error, plan_regions


class HostFallbackWarning(UserWarning):
    """An op of a function compiled for the GPU has no CUDA kernel or CuPy implementation and
    runs on the host, with copies of its inputs and outputs on every call."""


# ops that only read their input's shape: no copy of the data
HOST_META = frozenset({"shape", "reduced_size"})


# ---- ops with a CuPy implementation: op name -> fn(cupy, params, *args) ---------------------------------
def _index(cp, idx, values) -> tuple:
    """The CuPy index for a subtensor's ``idx`` with its extra inputs (index arrays on the device)."""
    return _np_index(idx, values, xp=cp)


def _gemm(cp, p, a, b, c=None):
    """alpha * op(A) @ op(B) + beta * C, rounded as the NumPy perform (product, scaling, sum)."""
    a = a.T if p["trans_a"] else a
    b = b.T if p["trans_b"] else b
    out = cp.matmul(a, b) if b.ndim == 2 else cp.dot(a, b)
    alpha, beta = float(p["alpha"]), float(p["beta"])
    if alpha != 1.0:
        out = out * alpha
    if c is not None and beta != 0.0:
        out = out + (cp.asarray(c) if beta == 1.0 else cp.asarray(c) * beta)
    return out


def _shifted(cp, x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - cp.where(cp.isfinite(m), m, 0)


def _softmax(cp, p, x):
    e = cp.exp(_shifted(cp, x, p["axis"]))
    return e / e.sum(axis=p["axis"], keepdims=True)


def _log_softmax(cp, p, x):
    z = _shifted(cp, x, p["axis"])
    return z - cp.log(cp.exp(z).sum(axis=p["axis"], keepdims=True))


def _logsumexp(cp, p, x):
    axis, keep = p["axis"], p["keepdims"]
    if x.ndim == 0 or not axis:
        return x.copy()
    axis = tuple(axis)
    m = x.max(axis=axis, keepdims=True)
    m = cp.where(cp.isfinite(m), m, 0)
    out = cp.log(cp.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keep else out.squeeze(axis=axis)


def _dimshuffle(cp, p, x):
    pattern = p["pattern"]
    kept = [q for q in pattern if q != "x"]
    if len(kept) < x.ndim:
        if any(x.shape[i] != 1 for i in range(x.ndim) if i not in kept):
            raise ValueError(f"dimshuffle{pattern}: cannot drop the axes of size != 1 of shape {x.shape}")
        x = x.reshape([s for i, s in enumerate(x.shape) if i in kept])
    order = sorted(kept)
    x = x.transpose([order.index(q) for q in kept])
    return x.reshape([1 if q == "x" else x.shape[kept.index(q)] for q in pattern])


def _inc(advanced: bool):
    def inc(cp, p, x, y, *ins):
        out = x.copy()
        index = _index(cp, p["idx"], ins)
        y = cp.asarray(y)
        if p["set"]:
            out[index] = y
        elif advanced:
            import cupyx
            cupyx.scatter_add(out, index, y)      # repeated indices accumulate, as np.add.at
        else:
            out[index] = out[index] + y
        return out
    return inc


DEVICE_OPS: dict[str, Callable] = {
    "dot": lambda cp, p, a, b: cp.dot(a, b),
    "matmul": lambda cp, p, a, b: cp.matmul(a, b),
    "gemm": _gemm,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "logsumexp": _logsumexp,
    "dimshuffle": _dimshuffle,
    "reshape": lambda cp, p, x, *s: x.reshape(fill_dims(p["shape"], s)),
    "alloc": lambda cp, p, v, *s: cp.broadcast_to(cp.asarray(v), fill_dims(p["shape"], s)).copy(),
    "subtensor": lambda cp, p, x, *ins: x[_index(cp, p["idx"], ins)],
    "advanced_subtensor": lambda cp, p, x, *ins: x[_index(cp, p["idx"], ins)],
    "inc_subtensor": _inc(False),
    "advanced_inc_subtensor": _inc(True),
    **CONV_OPS,            # conv2d and its gradients: im2col + cuBLAS GEMM (egopt/runtime/cuda_conv.py)
}
# ops whose NumPy perform runs unchanged on CuPy arrays: every NumPy function it calls
# dispatches to CuPy's (NEP 18), and it converts nothing to NumPy
PERFORM_ON_DEVICE = ("argmax", "argmin", "join", "tensordot", "specify_shape")
DEVICE_OPS.update({name: (lambda op: lambda cp, p, *args: op.perform(p, *args))(REGISTRY[name])
                   for name in PERFORM_ON_DEVICE})
# their results are new arrays (the others may be views of an input)
FRESH_OPS = frozenset(DEVICE_OPS) - {"dimshuffle", "reshape", "subtensor", "specify_shape"}

_WARNED: set = set()


def _warn_host(node: Apply, why: str) -> None:
    key = (node.op.name, node.loc)
    if key in _WARNED:
        return
    _WARNED.add(key)
    where = f", built at {node.loc}" if node.loc else ""
    warnings.warn(f"egopt: {node.op.name}{where} runs on the host, not the GPU ({why}): its inputs are "
                  "copied from the GPU and its outputs back on every call", HostFallbackWarning,
                  stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The warning's stack level of the first caller outside the egopt package."""
    import os
    import sys
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


# ---- steps ---------------------------------------------------------------------------------------------
@dataclass
class DeviceKernel:
    lowered: Lowered
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    fn: object = None

    def __post_init__(self):          # what each launch needs, computed once
        k = self.lowered.kernel
        self.red = frozenset(k.reduce.axes) if k.reduce is not None else frozenset()
        self.keep = self.lowered.keepdims or not self.red
        self.kept = tuple(a for a in range(k.ndim) if a not in self.red)
        self.bcast = tuple(b.broadcast for b in k.inputs)
        self.out_dtypes = tuple(b.dtype for b, _ in k.outputs)
        self.plans: dict = {}          # (input shapes and strides) -> launch plan


@dataclass
class DeviceOp:
    node: Apply
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    impl: Callable


@dataclass
class HostOp:
    node: Apply
    in_slots: tuple[int, ...]
    out_slots: tuple[int, ...]
    meta: bool = False        # reads only shapes: device inputs are passed as they are
    fallback: bool = False    # has device inputs: they are copied to the host (warned once)


class CUDAProgram(Program):
    """Program's interface (``run``, ``constant_arrays``) over CUDA kernels, CuPy ops and host
    steps. ``n_outputs``: the first outputs are the function's results (NumPy unless
    ``outputs_on_device``), the rest update values (kept on the device)."""

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable], n_outputs: int | None = None,
                 outputs_on_device: bool = False):
        from .. import config
        self.cp = _cupy()
        self._scalars: dict = {}
        self.device_index = device_index(config.device) if config.device.startswith("cuda") else 0
        self.slot: dict[int, int] = {}
        self.storage_init: list = []
        for v in inputs:
            self._slot(v)
        self.input_slots = [self.slot[id(v)] for v in inputs]
        # where each value lives: device for arrays, host for 0-d explicit inputs and shape arithmetic
        self.device: dict[int, bool] = {id(v): isinstance(v, SharedVariable) or v.ndim > 0 for v in inputs}
        self.input_on_device = [self.device[id(v)] for v in inputs]
        nodes = toposort(outputs, stop=inputs)
        consumers: dict[int, list] = {}
        for n in nodes:
            for v in n.inputs:
                consumers.setdefault(id(v), []).append(n)
        out_ids = {id(v) for v in outputs}
        self.steps: list = []
        kernels = []
        for unit in plan_regions(nodes):
            for low, group in self._lowered(unit, consumers, out_ids):
                if low is None:
                    self._op_step(group)
                    continue
                ins = tuple(self._leaf_slot(v) for v in low.inputs)
                outs = tuple(self._slot(v) for v in low.outputs)
                for v in low.outputs:
                    self.device[id(v)] = True
                self.steps.append(DeviceKernel(low, ins, outs))
                kernels.append(low.kernel)
        self.output_slots = [self._leaf_slot(v) for v in outputs]
        self.n_outputs = len(outputs) if n_outputs is None else n_outputs
        self.outputs_on_device = outputs_on_device
        self.constant_arrays = [a for a in self.storage_init if a is not None]
        with self.cp.cuda.Device(self.device_index):
            self._place_constants_and_load(kernels)
        self.kernel_count = len(kernels)
        # every result is a new array (run copies what could alias): Function's direct call path
        self.fresh_outputs = True

    def _place_constants_and_load(self, kernels) -> None:
        for j, a in enumerate(self.storage_init):      # constant arrays: copied to the device once
            if a is not None and np.ndim(a) > 0:
                self.storage_init[j] = self.cp.asarray(np.asarray(a))
        self.fresh = {s for st in self.steps if isinstance(st, DeviceKernel) for s in st.out_slots}
        self.fresh |= {s for st in self.steps if isinstance(st, DeviceOp) and st.node.op.name in FRESH_OPS
                       for s in st.out_slots}
        if kernels:
            loaded = load_kernels(kernels, self.device_index)
            for st in self.steps:
                if isinstance(st, DeviceKernel):
                    st.fn = loaded[st.lowered.kernel.key]

    def _lowered(self, unit, consumers, out_ids):
        """(Lowered or None, the node(s) it stands for) for one unit of the schedule."""
        if isinstance(unit, list):
            ids = {id(n) for n in unit}
            outs = [n.outputs[0] for n in unit
                    if id(n.outputs[0]) in out_ids or any(id(c) not in ids for c in consumers.get(id(n.outputs[0]), ()))]
            low = lower_region(unit, outs)
            if low is not None:
                return [(low, unit)]
            return [(lower_region([n], [n.outputs[0]]), n) for n in unit]
        if unit.op.name == "fused_elemwise":
            return [(lower_body(unit), unit)]
        if unit.op.kind == "reduce" or unit.op.name == "fused_reduce":
            return [(lower_reduce(unit), unit)]
        return [(None, unit)]

    def _op_step(self, node: Apply) -> None:
        ins = tuple(self._leaf_slot(v) for v in node.inputs)
        outs = tuple(self._slot(v) for v in node.outputs)
        on_device = [self.device.get(id(v), isinstance(v, Constant) and v.ndim > 0) for v in node.inputs]
        name = node.op.name
        if name in HOST_META:
            step, dev = HostOp(node, ins, outs, meta=True), False
        elif not any(on_device):
            step, dev = HostOp(node, ins, outs), False
        elif name in DEVICE_OPS:
            step, dev = DeviceOp(node, ins, outs, DEVICE_OPS[name]), True
        else:
            _warn_host(node, "no CUDA kernel or CuPy implementation for it" if node.op.kind != "elemwise"
                       else f"no CUDA kernel for dtypes {', '.join(v.dtype for v in node.inputs)}")
            step, dev = HostOp(node, ins, outs, fallback=True), False
        for v in node.outputs:
            self.device[id(v)] = dev
        self.steps.append(step)

    # ---- running -----------------------------------------------------------------------------------
    def _dev(self, a):
        """``a`` on the device. Host scalars (shape arithmetic: the same every call) are copied
        once and reused; nothing on the device is ever written in place, so sharing is safe."""
        if is_device_array(a):
            return a
        a = np.asarray(a)
        if a.ndim:
            return self.cp.asarray(a)
        key = (a.dtype.str, a.tobytes())
        d = self._scalars.get(key)
        if d is None:
            if len(self._scalars) > 256:
                self._scalars.clear()
            d = self._scalars[key] = self.cp.asarray(a)
        return d

    def _host(self, a):
        return self.cp.asnumpy(a) if is_device_array(a) else a

    def run(self, values: Sequence, profile: ProfileStats | None = None) -> list:
        with self.cp.cuda.Device(self.device_index):
            return self._run(values, profile)

    def run_direct(self, *values):
        """``run`` taking the inputs as arguments, returning a single output bare."""
        outs = self.run(values)
        return outs[0] if len(outs) == 1 else outs

    def _run(self, values: Sequence, profile: ProfileStats | None) -> list:
        cp = self.cp
        storage = list(self.storage_init)
        for s, v, dev in zip(self.input_slots, values, self.input_on_device):
            storage[s] = self._dev(v) if dev else v      # a NumPy input: one copy per call
        for step in self.steps:
            t0 = time.perf_counter() if profile is not None else 0.0
            args = [storage[i] for i in step.in_slots]
            if type(step) is DeviceKernel:
                outs = self._launch(step, args)
                label = f"kernel {step.lowered.kernel.label}"
            elif type(step) is DeviceOp:
                outs = self._device_op(step, args)
                label = f"{step.node.op.name} (CuPy)"
            else:
                outs = run_node(step.node, args if step.meta else [self._host(a) for a in args])
                label = step.node.op.name
            if profile is not None:
                profile.record(label, time.perf_counter() - t0)
            for i, o in zip(step.out_slots, outs):
                storage[i] = o
        results, seen = [], set()
        for j, s in enumerate(self.output_slots):
            v = storage[s]
            if j < self.n_outputs and not self.outputs_on_device:
                # a host value may be an input's or another result's: copied too
                results.append(cp.asnumpy(v) if is_device_array(v) else np.array(v, copy=True))
                continue
            if not is_device_array(v):
                results.append(cp.asarray(np.asarray(v)))       # a new device array
            else:
                results.append(v if s in self.fresh and s not in seen else v.copy())   # never aliased
            seen.add(s)
        return results

    def _device_op(self, step: DeviceOp, args) -> list:
        node = step.node
        args = [self._dev(a) if is_device_array(a) or np.ndim(a) > 0 else np.asarray(a)[()] for a in args]
        try:
            out = step.impl(self.cp, node.params, *args)
        except Exception as e:
            shapes = ", ".join(f"{tuple(np.shape(a))} {getattr(a, 'dtype', type(a).__name__)}" for a in args)
            raise OpRuntimeError(f"{describe_call(node.op, node.params, [v.type for v in node.inputs])} on the GPU, "
                                 f"inputs of shapes/dtypes [{shapes}]: {e}"
                                 + (f"\n  built at {node.loc}" if node.loc else "")) from e
        var = node.outputs[0]
        if out.dtype.name != var.type.dtype:
            out = out.astype(var.type.dtype)
        return [out]

    def _launch(self, step: DeviceKernel, args) -> list:
        """Allocate the outputs and launch, with the launch plan of these input shapes and strides
        (computed once per distinct layout: ``_plan``)."""
        ins = [self._dev(a) for a in args]
        key = tuple([(x.shape, x.strides) for x in ins])
        plan = step.plans.get(key)
        if plan is None:
            plan = self._plan(step, ins)
            if len(step.plans) > 64:
                step.plans.clear()
            step.plans[key] = plan
        odims, grid, block, ints = plan
        outs = [self.cp.empty(odims, dtype=dt) for dt in step.out_dtypes]
        if ints is not None:
            step.fn(grid, block, tuple(ins + outs) + ints)
        return outs

    def _plan(self, step: DeviceKernel, ins) -> tuple:
        """Broadcast the inputs' shapes (with the static-broadcast check), and compute every
        buffer's byte strides over the index space (as the C trampoline does): (output shape,
        grid, block, the kernel's integer arguments, or None when there is nothing to launch)."""
        k = step.lowered.kernel
        d = k.ndim
        try:
            shape = broadcast_shape(d, ins)
        except BroadcastError as e:
            _, i, axis, size = e.args
            raise self._broadcast_error(step, ins, i, axis, size, mismatch=True) from None
        strides = []
        for i, (x, bcast) in enumerate(zip(ins, step.bcast)):
            lead, row = d - x.ndim, []
            for a in range(d):
                s = 0
                if a >= lead:
                    if x.shape[a - lead] == 1:
                        if shape[a] != 1 and not bcast[a]:
                            raise self._broadcast_error(step, ins, i, a, shape[a], mismatch=False)
                    else:
                        s = x.strides[a - lead]
                row.append(s)
            strides.append(row)
        red, keep = step.red, step.keep
        odims = tuple(1 if a in red else shape[a] for a in range(d) if keep or a not in red)
        for dt in step.out_dtypes:          # a new C-contiguous array of shape odims
            ystrides = [np.dtype(dt).itemsize * math.prod(odims[j + 1:]) for j in range(len(odims))]
            row, j = [], 0
            for a in range(d):
                if a in red:
                    row.append(0)
                    j += keep
                else:
                    row.append(ystrides[j])
                    j += 1
            strides.append(row)
        nred = math.prod(shape[a] for a in red)
        nout = math.prod(shape[a] for a in step.kept)
        if red and nred == 0 and k.reduce.kind in ("max", "min"):
            node = step.lowered.nodes[0]
            raise OpRuntimeError(f"{describe_call(node.op, node.params, [v.type for v in node.inputs])}: "
                                 f"zero-size array to reduction operation {node.op.name} which has no identity"
                                 + (f"\n  built at {node.loc}" if node.loc else ""))
        if not nout:
            return odims, None, None, None
        grid, block, ints = launch_args(k, shape, strides)
        return odims, grid, block, ints

    def _broadcast_error(self, step: DeviceKernel, ins, i: int, axis: int, size: int, mismatch: bool):
        low = step.lowered
        var = low.inputs[i]
        node = next((n for n in low.nodes if any(v is var for v in n.inputs)), low.nodes[0])
        shapes = "kernel input shapes " + ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in ins)
        return broadcast_error(node, low, var, axis, size, shapes, mismatch)

    def kernels(self) -> list[tuple[str, list[str]]]:
        """(kernel label, the ops it holds) for each kernel step."""
        return [(st.lowered.kernel.label, st.lowered.ops) for st in self.steps if isinstance(st, DeviceKernel)]

    def placement(self) -> list[tuple[str, str]]:
        """(step, where it runs: 'kernel', 'cupy', 'host' or 'host (fallback)') in order."""
        out = []
        for st in self.steps:
            if isinstance(st, DeviceKernel):
                out.append((st.lowered.kernel.label, "kernel"))
            elif isinstance(st, DeviceOp):
                out.append((st.node.op.name, "cupy"))
            else:
                out.append((st.node.op.name, "host (fallback)" if st.fallback else "host"))
        return out
