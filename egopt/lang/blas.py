"""Linear algebra: dot, matmul, outer, tensordot, batched_dot."""
from __future__ import annotations


def _todo(name):
    def f(*a, **k):
        raise NotImplementedError(f"{name} is being written")
    f.__name__ = name
    return f


batched_dot, dot, matmul, outer, tensordot = (_todo(n) for n in "batched_dot dot matmul outer tensordot".split())
