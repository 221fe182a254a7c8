"""``OpFromGraph`` (``theano.compile.builders``, ``pytensor.compile.builders``): a graph used as a
function of its inputs. egopt inlines it where it is applied (Theano's ``inline=True``): the
optimizer then sees through it, and its gradient is the gradient of the graph."""
from __future__ import annotations

from typing import Sequence

from ..graph.replace import clone_replace
from ..lang import frontend as F
from ..lang.errors import EgoptTypeError
from ..lang.graph import Variable


class OpFromGraph:
    def __init__(self, inputs: Sequence[Variable], outputs, inline: bool = True, name: str | None = None,
                 **_kwargs):
        self.inputs = list(inputs)
        self.single = isinstance(outputs, Variable)
        self.outputs = [outputs] if self.single else list(outputs)
        self.name = name or "OpFromGraph"

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise EgoptTypeError(f"{self.name}: takes {len(self.inputs)} input(s), got {len(args)}")
        args = [F.as_tensor_variable(a) for a in args]
        for i, (x, a) in enumerate(zip(self.inputs, args)):
            if a.ndim != x.ndim:
                raise EgoptTypeError(f"{self.name}: input {i} must be {x.type}, got {a!r} ({a.type})")
            if a.dtype != x.dtype:
                args[i] = F.cast(a, x.dtype)
        outs = clone_replace(self.outputs, dict(zip(self.inputs, args)))
        return outs[0] if len(outs) == 1 else outs     # one output: the variable, as Theano
