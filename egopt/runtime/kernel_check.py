"""DebugMode's second check: the C program (what FAST_RUN runs) against the Python program of the
same optimized graph.

The rewrite check compares the optimized graph with the unoptimized one, both on the NumPy
linker; it cannot see a kernel that computes the wrong thing. So DebugMode also lowers the
optimized graph to C kernels and runs it step by step, comparing every kernel's outputs (the
values that survive at kernel boundaries) with the NumPy run of the same graph. A difference
is a ``BadKernel``: a bug in code generation, not in a rewrite; it names the kernel, the ops it
holds, their source lines, and the kernel's input values.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..lang.errors import EgoptError
from ..lang.graph import Variable


class BadKernel(EgoptError):
    """DebugMode found a C kernel whose result differs from the NumPy run of the same graph."""

    def __init__(self, message: str, kernel: str = "", ops: Sequence[str] = ()):
        super().__init__(message)
        self.kernel = kernel
        self.ops = list(ops)


def c_program(leaves: Sequence[Variable], outputs: Sequence[Variable]):
    """The C program of ``outputs`` (no in-place updates: the inputs stay intact), or None where
    no C compiler is available."""
    from .schedule import CProgram, c_available
    if not c_available():
        return None
    return CProgram(list(leaves), list(outputs))


def check_kernels(cprog, values: Sequence[np.ndarray], py_values: dict, close, short, label: str) -> None:
    """Run ``cprog`` one step at a time on ``values``; raise ``BadKernel`` at the first kernel
    output that differs (``close(got, want)`` false) from ``py_values[id(variable)]``."""
    from .py_linker import run_node
    from .schedule import KernelStep
    storage = list(cprog.storage_init)
    for s, v in zip(cprog.input_slots, values):
        storage[s] = np.array(v, copy=True)
    with np.errstate(all="ignore"):
        for step in cprog.steps:
            args = [storage[i] for i in step.in_slots]
            if type(step) is KernelStep:
                outs = cprog._call(step.fn, step.spec, tuple(args))
                for var, got in zip(step.lowered.outputs, outs):
                    want = py_values.get(id(var))
                    if want is not None and not close(got, want):
                        raise _bad(step, var, args, got, want, short, label)
            else:
                outs = run_node(step.node, args)
            for i, o in zip(step.out_slots, outs):
                storage[i] = o


def _bad(step, var, args, got, want, short, label) -> BadKernel:
    low = step.lowered
    lines = sorted({str(n.loc) for n in low.nodes if n.loc})
    text = [f"DebugMode: {label}: C kernel {step.name!r} disagrees with the NumPy run of the same "
            "optimized graph (a code generation bug, not a rewrite)",
            f"  kernel ops: {', '.join(low.ops)}",
            f"  output: {var!r} ({var.type})"]
    text += [f"  built at {loc}" for loc in lines]
    text += [f"  NumPy value: {short(want)}", f"  C value:     {short(got)}",
             "  kernel inputs: " + "; ".join(f"{v!r} = {short(a)}" for v, a in zip(low.inputs, args))]
    return BadKernel("\n".join(text), step.name, low.ops)
