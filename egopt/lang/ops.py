"""The op record: one definition per op, holding what every stage needs, and the registry.

An ``Op`` is data, not a class hierarchy. Fields that a later stage reads (gradient, C
template, SymPy translation, e-graph constructor, cost) live here so that adding an op is
one edit. A stage that needs a field the op lacks calls ``op.require(field)``, which names
the op and the file to edit.
"""
from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .. import config
from .errors import EgoptError, EgoptTypeError, MissingField, OpRuntimeError, ShapeError
from .graph import Apply, Constant, SourceLoc, Variable
from .types import TensorType

REGISTRY: dict[str, "Op"] = {}


@dataclass(eq=False)
class Op:
    """One op: its type rule and NumPy reference, and the fields later stages read.

    infer(params, *input_types) -> TensorType or a list of them (raise ShapeError/TypeError)
    perform(params, *arrays) -> array or tuple of arrays (the NumPy reference)
    vjp(node, *output_grads) -> one gradient Variable (or None) per input
    """
    name: str
    infer: Callable[..., Any]
    perform: Callable[..., Any]
    vjp: Callable[..., Sequence[Variable | None]] | None = None
    kind: str = "op"                      # "elemwise", "reduce", "shape", "index", "blas", ...
    nout: int = 1
    nin: int | None = None                # fixed number of inputs (None: variadic; the e-graph
                                          # then takes the inputs as one list argument)
    # elementwise kernel and proof fields (scalar level)
    c: str | None = None                  # C expression template over {0}, {1}, ...
    cuda: str | None = None               # CUDA template where it differs from c
    sympy: str | Callable | None = None   # SymPy function name or callable(*args, **params)
    flops: float = 1.0                    # per output element
    fmt: str | None = None                # pp template, e.g. "({0} + {1})"
    egraph: str = ""                      # e-graph constructor name (derived from name)
    pure: bool = True                     # False for ops with side effects (Print)
    grad_inputs: tuple[int, ...] | None = None   # inputs that can carry a gradient (None: all)
    defined_in: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.egraph:
            self.egraph = "".join(p.capitalize() for p in re.split(r"[_\W]+", self.name) if p)

    # ops pickle by name: their callables are looked up again in the registry
    def __reduce__(self):
        return (get_op, (self.name,))

    def __repr__(self) -> str:
        return f"Op({self.name})"

    def require(self, attr: str):
        value = getattr(self, attr)
        if value is None:
            raise MissingField(f"op {self.name!r} has no {attr!r}: add {attr}=... to its "
                               f"definition in {self.defined_in or 'egopt/lang'}")
        return value

    def make_node(self, inputs: Sequence[Variable], loc: SourceLoc | None = None,
                  **params) -> Apply:
        """Type-check, build the apply node, and compute test values when configured."""
        loc = loc or SourceLoc.capture()
        types = [v.type for v in inputs]
        try:
            out_types = self.infer(params, *types)
        except (ShapeError, EgoptTypeError, TypeError, ValueError) as e:
            raise type(e)(f"{describe_call(self, params, types)}: {e}" + _at(loc)) from None
        if isinstance(out_types, TensorType):
            out_types = [out_types]
        node = Apply(self, params, inputs, out_types, loc)
        if config.compute_test_value != "off":
            _test_values(node)
        return node

    def __call__(self, *inputs, **params):
        """Apply the op to variables; returns the output (or the list of outputs)."""
        node = self.make_node(list(inputs), **params)
        return node.outputs[0] if self.nout == 1 else node.outputs


def register(op: Op) -> Op:
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is defined twice")
    REGISTRY[op.name] = op
    return op


def get_op(name: str) -> Op:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named {name!r}") from None


def describe_call(op: Op, params: dict, types) -> str:
    p = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "loc")
    return f"{op.name}{'{' + p + '}' if p else ''}({', '.join(map(str, types))})"


def _at(loc: SourceLoc | None) -> str:
    return f"\n  built at {loc}" if loc else ""


def test_value_of(v: Variable):
    """The value a variable has for test-value computation, or None."""
    if isinstance(v, Constant):
        return v.data
    get = getattr(v, "get_value", None)
    if get is not None:
        return get(borrow=True)
    return getattr(v.tag, "test_value", None)


_REBUILDING = [0]


@contextlib.contextmanager
def rebuilding():
    """Inside, nodes are copies of nodes the user built (clone_replace, scan bodies): a missing test
    value skips the node's test value instead of raising, as the user's own nodes were checked."""
    _REBUILDING[0] += 1
    try:
        yield
    finally:
        _REBUILDING[0] -= 1


def _test_values(node: Apply) -> None:
    values = [test_value_of(v) for v in node.inputs]
    missing = [v for v, val in zip(node.inputs, values) if val is None]
    if missing and _REBUILDING[0]:
        return
    if missing:
        if config.compute_test_value == "raise":
            raise EgoptError(f"compute_test_value='raise': {missing[0]!r} has no test value "
                             f"(set v.tag.test_value = ...) while building "
                             f"{describe_call(node.op, node.params, [v.type for v in node.inputs])}"
                             + _at(node.loc))
        if config.compute_test_value == "warn":
            warnings.warn(f"compute_test_value='warn': {missing[0]!r} has no test value; "
                          f"skipping the test value of {node.op.name}" + _at(node.loc), stacklevel=4)
        return
    try:
        outs = run_node(node, values)
    except OpRuntimeError as e:
        raise ShapeError(f"test value: {e}") from None
    _static_broadcast(node, values, outs[0])
    for var, val in zip(node.outputs, outs):
        var.tag.test_value = val


def _static_broadcast(node: Apply, values, out) -> None:
    """The linkers' check on test values: an elementwise input axis of unknown static size must
    not be 1 where the output is longer (NumPy broadcasts it; a compiled function raises)."""
    if node.op.kind != "elemwise" or len(node.inputs) < 2:
        return
    for i, (v, val) in enumerate(zip(node.inputs, values)):
        lead = np.ndim(out) - v.ndim
        for a, s in enumerate(v.type.shape):
            if s is None and np.shape(val)[a] != np.shape(out)[lead + a]:
                raise ShapeError(f"test value: {describe_call(node.op, node.params, [x.type for x in node.inputs])}: "
                                 f"input {i} has size {np.shape(val)[a]} on axis {a}, but its type does not mark "
                                 f"that axis broadcastable (input shapes "
                                 f"{', '.join(str(np.shape(x)) for x in values)})" + _at(node.loc))


def returns_tuple(node: Apply) -> bool:
    """Whether the node's perform returns a tuple of outputs: an op declared with several outputs
    (``nout > 1``, also scan, whose count varies per node) or a node built with several (fused)."""
    return node.op.nout > 1 or len(node.outputs) > 1


def run_node(node: Apply, values: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run one node's NumPy reference; failures name the op, the input shapes and the line."""
    try:
        with np.errstate(all="ignore"):
            out = node.op.perform(node.params, *values)
    except EgoptError:
        raise
    except Exception as e:
        shapes = ", ".join(f"{np.shape(v)} {np.asarray(v).dtype}" for v in values)
        raise OpRuntimeError(f"{describe_call(node.op, node.params, [v.type for v in node.inputs])} "
                                 f"on inputs of shapes/dtypes [{shapes}]: {e}" + _at(node.loc)) from e
    outs = out if returns_tuple(node) else (out,)
    res = []
    for var, o in zip(node.outputs, outs):
        o = np.asarray(o)
        if o.dtype.name != var.type.dtype:
            o = o.astype(var.type.dtype)
        res.append(o)
    return res
