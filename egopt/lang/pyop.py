"""Ops written in Python by the user: Theano's ``theano.Op`` subclasses (``make_node``,
``perform``, ``grad``) and ``as_op`` (a NumPy function with declared input and output types).

They are one registered op, ``python_op``, whose params name the user's op (a key into a table
of this process) and the output's type. An op of several outputs becomes one node per output
(each runs ``perform`` and keeps its output), so every node has one output, as the e-graph and
the linkers expect. The e-graph sees an opaque constructor: it may merge two identical
applications (same op, same inputs), as Theano did, and rewrites everything around them.
A gradient exists when the user's op defines ``grad``; otherwise asking for one raises an
error naming the op and the line that applied it.
"""
from __future__ import annotations

import itertools
import uuid
from types import SimpleNamespace
from typing import Callable, Sequence

import numpy as np

from . import frontend as F
from .errors import EgoptError, EgoptTypeError
from .graph import Variable
from .ops import Op as _OpRecord, register
from .types import TensorType

_HERE = "egopt/lang/pyop.py"
_TABLE: dict[str, "Op"] = {}        # key -> the user's op (this process)
_COUNT = itertools.count()
# keys are unique to this process, so a graph cached on disk by another process (whose ops of the
# same class name may compute something else) is never reused here
_PROCESS = uuid.uuid4().hex[:12]


class Apply:
    """Theano's ``Apply(op, inputs, outputs)`` as ``make_node`` returns it (``theano.Apply``,
    ``pytensor.graph.basic.Apply``): the op, its input variables and its output variables."""

    def __init__(self, op, inputs: Sequence[Variable], outputs: Sequence[Variable]):
        self.op, self.inputs, self.outputs = op, list(inputs), list(outputs)

    def __repr__(self) -> str:
        return f"Apply({self.op}, {self.inputs}, {self.outputs})"


def _type_of(t) -> TensorType:
    """A TensorType from a type or from a constructor such as ``T.dmatrix``."""
    if isinstance(t, TensorType):
        return t
    if callable(t):
        v = t()
        if isinstance(v, Variable):
            return v.type
    raise EgoptTypeError(f"expected a tensor type (T.dmatrix, TensorType('float64', (None, None))), got {t!r}")


class Op:
    """Base class of a user's op (Theano's ``theano.Op`` / ``gof.Op``, PyTensor's ``graph.op.Op``).

    Define ``make_node(*inputs)`` returning ``Apply(self, inputs, [out.type() ...])`` (or class
    attributes ``itypes``/``otypes``), ``perform(node, inputs, output_storage)`` storing each
    output in ``output_storage[i][0]``, and optionally ``grad(inputs, output_grads)`` returning one
    symbolic gradient per input (or PyTensor's ``L_op(inputs, outputs, output_grads)``).
    ``__props__`` names the attributes that make two ops equal.
    """
    __props__: tuple = ()
    itypes: Sequence | None = None
    otypes: Sequence | None = None
    default_output = None

    def _key(self) -> str:
        key = self.__dict__.get("_egopt_key")
        if key is None:
            key = f"{type(self).__qualname__}#{_PROCESS}.{next(_COUNT)}"
            self.__dict__["_egopt_key"] = key
            _TABLE[key] = self
        return key

    def make_node(self, *inputs) -> Apply:
        if self.itypes is None or self.otypes is None:
            raise NotImplementedError(f"{type(self).__name__}: define make_node(...) or itypes and otypes")
        itypes = [_type_of(t) for t in self.itypes]
        if len(inputs) != len(itypes):
            raise EgoptTypeError(f"{self}: takes {len(itypes)} input(s), got {len(inputs)}")
        ins = []
        for j, (x, t) in enumerate(zip(inputs, itypes)):
            x = F.as_tensor_variable(x)
            if x.ndim != t.ndim or x.dtype != t.dtype:
                if x.ndim == t.ndim and np.can_cast(x.dtype, t.dtype, "safe"):
                    x = F.cast(x, t.dtype)
                else:
                    raise EgoptTypeError(f"{self}: input {j} must be {t}, got {x!r} ({x.type})")
            ins.append(x)
        return Apply(self, ins, [_type_of(t)() for t in self.otypes])

    def __call__(self, *inputs, **kwargs):
        apply = self.make_node(*inputs, **kwargs)
        if not isinstance(apply, Apply):
            raise TypeError(f"{self}: make_node must return Apply(self, inputs, outputs), got {apply!r}")
        ins = [F.as_tensor_variable(x) for x in apply.inputs]
        outs = tuple((o.type.dtype, o.type.shape) for o in apply.outputs)
        key = self._key()
        res = [PYTHON_OP(*ins, key=key, outs=outs, index=i) for i in range(len(outs))]
        for r, o in zip(res, apply.outputs):
            r.name = o.name
        if self.default_output is not None:
            return res[self.default_output]
        return res[0] if len(res) == 1 else res

    def perform(self, node, inputs, output_storage):
        raise NotImplementedError(f"{type(self).__name__} has no perform(node, inputs, output_storage)")

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and all(getattr(self, p) == getattr(other, p) for p in self.__props__) \
            and (bool(self.__props__) or self is other)

    def __hash__(self) -> int:
        if not self.__props__:
            return id(self)
        return hash((type(self), tuple(getattr(self, p) for p in self.__props__)))

    def __str__(self) -> str:
        props = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{'{' + props + '}' if props else ''}"


def _user_op(key: str) -> Op:
    op = _TABLE.get(key)
    if op is None:
        raise EgoptError(f"python_op: the Python op {key.split('#')[0]!r} is not defined in this process "
                         "(a graph holding a Python op cannot be pickled or cached across processes)")
    return op


def _types(params) -> list[TensorType]:
    return [TensorType(d, s) for d, s in params["outs"]]


def _infer(params, *types: TensorType) -> TensorType:
    return _types(params)[params["index"]]


def _perform(params, *arrays):
    op = _user_op(params["key"])
    types = _types(params)
    node = SimpleNamespace(op=op, inputs=[Variable(TensorType(np.asarray(a).dtype.name, (None,) * np.ndim(a)))
                                          for a in arrays],
                           outputs=[Variable(t) for t in types])
    storage = [[None] for _ in types]
    op.perform(node, [np.asarray(a) for a in arrays], storage)
    out = storage[params["index"]][0]
    if out is None:
        raise EgoptError(f"{op}.perform stored nothing in output_storage[{params['index']}][0]")
    return np.asarray(out)


def _vjp(node, g):
    op = _user_op(node.params["key"])
    grad = getattr(type(op), "grad", None)
    l_op = getattr(type(op), "L_op", None)
    if (grad is None or grad is Op.grad) and l_op is None:
        raise EgoptError(f"{op} has no gradient (define grad(self, inputs, output_grads) on the op)"
                         + (f"\n  applied at {node.loc}" if node.loc else ""))
    types = _types(node.params)
    i = node.params["index"]
    output_grads = [g]
    if len(types) > 1:      # the other outputs get zero gradients (of their own shapes)
        outs = [PYTHON_OP(*node.inputs, key=node.params["key"], outs=node.params["outs"], index=j)
                for j in range(len(types))]
        output_grads = [g if j == i else F.zeros_like(o) for j, o in enumerate(outs)]
    if l_op is not None:        # PyTensor's L_op(inputs, outputs, output_grads)
        outs = [PYTHON_OP(*node.inputs, key=node.params["key"], outs=node.params["outs"], index=j)
                for j in range(len(types))] if len(types) > 1 else [node.outputs[0]]
        res = op.L_op(list(node.inputs), outs, output_grads)
    else:
        res = op.grad(list(node.inputs), output_grads)
    if len(res) != len(node.inputs):
        raise EgoptError(f"{op}.grad returned {len(res)} gradient(s) for {len(node.inputs)} input(s)")
    return [None if r is None else F.as_tensor_variable(r) for r in res]


def _no_grad(self, inputs, output_grads):   # the marker of "no grad defined"
    raise NotImplementedError


Op.grad = _no_grad

PYTHON_OP = register(_OpRecord("python_op", _infer, _perform, _vjp, kind="python", nin=None, flops=10.0,
                               defined_in=_HERE))


class FromFunctionOp(Op):
    """The op ``as_op`` makes: ``fn`` on NumPy arrays, with declared input and output types."""

    def __init__(self, fn: Callable, itypes, otypes, infer_shape=None):
        self.fn, self.itypes, self.otypes = fn, list(itypes), list(otypes)
        self.__name__ = getattr(fn, "__name__", "as_op")

    def perform(self, node, inputs, output_storage):
        outs = self.fn(*inputs)
        if len(self.otypes) == 1:
            outs = [outs]
        if len(outs) != len(self.otypes):
            raise EgoptError(f"{self}: the function returned {len(outs)} value(s) for {len(self.otypes)} otypes")
        for st, o, t in zip(output_storage, outs, self.otypes):
            st[0] = np.asarray(o, dtype=_type_of(t).dtype)

    def __str__(self) -> str:
        return f"as_op({self.__name__})"


def as_op(itypes, otypes, infer_shape=None) -> Callable[[Callable], FromFunctionOp]:
    """Decorator: a NumPy function as an op (Theano's ``theano.compile.ops.as_op``).

        @as_op(itypes=[T.dmatrix], otypes=[T.dvector])
        def row_sums(a): return a.sum(axis=1)

    The op has no gradient (as in Theano); subclass ``egopt.Op`` and define ``grad`` for one.
    """
    itypes = list(itypes) if isinstance(itypes, (list, tuple)) else [itypes]
    otypes = list(otypes) if isinstance(otypes, (list, tuple)) else [otypes]

    def wrap(fn: Callable) -> FromFunctionOp:
        return FromFunctionOp(fn, itypes, otypes, infer_shape)
    return wrap

