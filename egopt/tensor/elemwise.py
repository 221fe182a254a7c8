"""Theano's ``theano.tensor.elemwise`` classes, for programs that look inside compiled graphs:
``isinstance(node.op, Elemwise)`` (also ``DimShuffle``, ``CAReduce``) asks the op's kind, since
egopt's ops are records of one class rather than classes of their own."""
from ..lang.ops import Op as _Op


class _KindCheck(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, _Op) and cls._matches(obj)


class Elemwise(metaclass=_KindCheck):
    """An elementwise op (also a fused elementwise kernel)."""
    @staticmethod
    def _matches(op) -> bool:
        return op.kind == "elemwise" or op.name == "fused_elemwise"


class DimShuffle(metaclass=_KindCheck):
    @staticmethod
    def _matches(op) -> bool:
        return op.name == "dimshuffle"


class CAReduce(metaclass=_KindCheck):
    """A reduction (sum, prod, max, min, all, any, mean, argmax, ...)."""
    @staticmethod
    def _matches(op) -> bool:
        return op.kind == "reduce" or op.name == "fused_reduce"


Sum = CAReduce
