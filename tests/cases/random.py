"""Cases for the random ops (egopt/lang/random.py): each is NumPy's Philox generator keyed by
the key input, so the reference draws from that generator directly."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from egopt.lang.random import (binomial_op, choice_op, next_key_op, permutation_op, standard_normal_op,
                               uniform01_op)
from tests.cases import Case, _stash


def _draw_keyed(draw):
    key = np.array([draw(st.integers(0, 2**63)), draw(st.integers(0, 2**63))], dtype=np.uint64)
    size = tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(0, 2))))
    return [key, np.array(size, dtype="int64")], {"shape": tuple(None for _ in size), "dtype": "float64"}


_keyed = _stash(_draw_keyed)


def _g(key):
    return np.random.Generator(np.random.Philox(key=key))


def _keyed_with(extra):
    @_stash
    def gen(draw):
        vals, p = _draw_keyed(draw)
        return vals + extra(draw), p
    return gen


_binom = _keyed_with(lambda d: [np.array(d(st.integers(0, 9)), dtype="int64"), np.array(d(st.floats(0, 1)))])
_choice = _keyed_with(lambda d: [np.arange(d(st.integers(1, 5)), dtype="float64") * 2.5])


@_stash
def _perm(draw):
    key = np.array([draw(st.integers(0, 2**63)), draw(st.integers(0, 2**63))], dtype=np.uint64)
    return [key, np.array(draw(st.integers(0, 8)), dtype="int64")], {}


CASES = [
    Case("random_standard_normal", _keyed, lambda k, s: standard_normal_op(k, s, **_keyed.p),
         lambda k, s: _g(k).standard_normal(tuple(s)), grad=False),
    Case("random_uniform01", _keyed, lambda k, s: uniform01_op(k, s, **_keyed.p),
         lambda k, s: _g(k).random(tuple(s)), grad=False),
    Case("random_binomial", _binom, lambda k, s, n, p: binomial_op(k, s, n, p, **{**_binom.p, "dtype": "int64"}),
         lambda k, s, n, p: _g(k).binomial(n, p, tuple(s)), grad=False),
    Case("random_choice", _choice, lambda k, s, a: choice_op(k, s, a, shape=_choice.p["shape"], replace=True),
         lambda k, s, a: _g(k).choice(a, tuple(s)), grad=False),
    Case("random_permutation", _perm, lambda k, n: permutation_op(k, n, length=None),
         lambda k, n: _g(k).permutation(int(n)), grad=False),
    Case("random_next_key", _perm, lambda k, n: next_key_op(k),
         lambda k, n: np.random.SeedSequence([int(v) for v in k], spawn_key=(1,)).generate_state(2, np.uint64),
         grad=False),
]
