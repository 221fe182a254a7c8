"""Compiled scan bodies (the C linker's): elementwise regions as C kernels, products through BLAS.

A scan body runs ~T times per call, so what matters is the work per step and the Python
between the calls. The body's nodes are grouped into the C linker's schedule units
(``plan_regions``: elementwise regions, fused nodes and reductions, each one kernel of the
same code generator); the step loop (scan_exec.StepBody) then makes one call per unit,
and each call writes into a buffer allocated once per call of the scan, or straight into the
output's history row. ``dot`` writes its product into such a buffer through NumPy's BLAS
(``out=``); ``gemm`` is one call of NumPy's CBLAS with ``beta`` (scan_exec._blas_lines).
Everything else runs its perform.

The kernels are compiled once per body (when the function is built); kernels already built in
this process are not compiled again.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from .. import config
from ..codegen.lower import Lowered, lower_body, lower_reduce, lower_region
from ..lang.graph import Apply, Variable
from .schedule import _cores, plan_regions


@dataclass
class KernelUnit:
    """One kernel of a body: which nodes it replaces and how to call it."""
    lowered: Lowered
    fn: int = 0
    spec: bytes = b""


class BodyPlan:
    """The units of one scan body in order: ``KernelUnit`` or the index of a node run alone."""

    def __init__(self, nodes: list[Apply], roots: list[Variable]):
        index = {id(n): k for k, n in enumerate(nodes)}
        needed = _readers(nodes, roots)
        self.units: list = []
        kernels = []
        for unit in _split(plan_regions(nodes)):
            low = _lower(unit, needed)
            if low is None:
                self.units.extend(index[id(n)] for n in (unit if isinstance(unit, list) else [unit]))
                continue
            self.units.append(KernelUnit(low))
            kernels.append(low.kernel)
        if kernels:
            ptrs = compile_kernels(kernels)
            for lib in _LIBS:                 # threads: as configured now (as CProgram does)
                lib.egopt_set_threads(config.threads or _cores())
            from ..codegen.trampoline import spec_for
            for u in self.units:
                if isinstance(u, KernelUnit):
                    u.fn = ptrs[u.lowered.kernel.key]
                    u.spec = spec_for(u.lowered.kernel, u.lowered.keepdims)

    @property
    def kernel_count(self) -> int:
        return sum(1 for u in self.units if isinstance(u, KernelUnit))


# Ops whose NumPy ufunc (SIMD loops) beats the kernels' scalar libm calls: measured on 32x128
# float64 rows with NumPy 2.4 (us per call, kernel vs ufunc): tanh 17.1 vs 7.5, exp 9.0 vs 3.1,
# log 11.3 vs 8.0, log1p 11.5 vs 9.7, sqrt 4.4 vs 3.9 (sin, cos, expm1, sigmoid: the kernels win).
# Measured again with the kernels' vector blocks: W4's forward loop (T=100) with tanh as a
# kernel takes 5.0 ms, with the ufunc 4.5 ms, so the ufuncs stay.
# In a body they run as their ufunc, writing into a buffer or a history row.
NUMPY_FASTER = frozenset({"tanh", "exp", "log", "log1p", "sqrt"})


def _split(units) -> list:
    """The units with each NUMPY_FASTER node of a region taken out as a unit of its own (the
    nodes before it and after it stay regions: a region's list is in dependency order)."""
    out = []
    for unit in units:
        if not isinstance(unit, list):
            out.append(unit)
            continue
        part: list = []
        for n in unit:
            if n.op.name in NUMPY_FASTER:
                if part:
                    out.append(part)
                out.append(n)
                part = []
            else:
                part.append(n)
        if part:
            out.append(part)
    return out


def _lower(unit, needed) -> Lowered | None:
    if isinstance(unit, list):
        ids = {id(n.outputs[0]) for n in unit}
        outs = [n.outputs[0] for n in unit if any(c not in ids for c in needed.get(id(n.outputs[0]), ()))]
        return lower_region(unit, outs) if outs else None
    if unit.op.name in NUMPY_FASTER:
        return None
    if unit.op.name == "fused_elemwise":
        return lower_body(unit)
    if unit.op.kind == "reduce" or unit.op.name == "fused_reduce":
        return lower_reduce(unit)
    return None


def _readers(nodes: list[Apply], roots: list[Variable]) -> dict[int, list]:
    """id(variable) -> ids of what reads it (None for a body output or the until condition)."""
    users: dict[int, list] = {}
    for n in nodes:
        for v in n.inputs:
            users.setdefault(id(v), []).extend(id(o) for o in n.outputs)
    for v in roots:
        users.setdefault(id(v), []).append(None)
    return users


# kernel key -> function pointer (the libraries stay loaded: they are kept here)
_PTRS: dict[str, int] = {}
_LIBS: list = []


def compile_kernels(kernels) -> dict[str, int]:
    """Function pointers of ``kernels`` (by key), compiling the missing ones as one library."""
    missing = [k for k in kernels if k.key not in _PTRS]
    if missing:
        from ..codegen.compile import compile_library
        from ..codegen.render_c import CRenderer
        renderer = CRenderer()
        lib = compile_library(renderer.render(missing))
        _LIBS.append(lib)
        for k in missing:
            _PTRS[k.key] = ctypes.cast(getattr(lib, renderer.kernel_name(k)), ctypes.c_void_p).value
    return {k.key: _PTRS[k.key] for k in kernels}
