"""Indexing: basic and integer-array subtensors, set_subtensor and inc_subtensor."""
from __future__ import annotations


def _todo(name):
    def f(*a, **k):
        raise NotImplementedError(f"{name} is being written")
    f.__name__ = name
    return f


getitem, inc_subtensor, set_subtensor, take = (_todo(n) for n in "getitem inc_subtensor set_subtensor take".split())
