"""Cases for the reductions (egopt/lang/reduce.py)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T
from tests.cases import Case, array, dtype, shape


def _axis(draw, nd):
    kind = draw(st.sampled_from(["none", "one", "neg", "many"]))
    if kind == "none" or nd == 0:
        return None
    if kind == "one":
        return draw(st.integers(0, nd - 1))
    if kind == "neg":
        return -draw(st.integers(1, nd))
    return tuple(sorted(draw(st.sets(st.integers(0, nd - 1), min_size=1, max_size=nd))))


def _case(name, tfn, npfn, lo=-3, hi=3, min_side=0, dtypes=("float64", "float32"), grad=True, label=""):
    def gen(draw):
        s = shape(draw, min_side=min_side)
        return [array(draw, s, dtype(draw, dtypes), lo, hi)], _axis(draw, len(s)), draw(st.booleans())

    def gen_values(draw):
        vals, axis, keep = gen(draw)
        gen_values.params = (axis, keep)
        return vals

    def build(x):
        axis, keep = gen_values.params
        return tfn(x, axis=axis, keepdims=keep)

    def ref(x):
        axis, keep = gen_values.params
        return npfn(x, axis=axis, keepdims=keep)

    return Case(name, gen_values, build, ref, grad=grad, label=label)


def _np_arg(fn):
    def f(x, axis=None, keepdims=False):
        if isinstance(axis, tuple):
            axis = axis[0] if len(axis) == 1 else None
        if axis is None and x.ndim != 1:
            r = fn(x.reshape(-1), axis=0)
            return np.reshape(r, (1,) * x.ndim) if keepdims else r
        return fn(x, axis=axis, keepdims=keepdims)
    return f


def _argcase(name, tfn, npfn):
    def gen(draw):
        s = shape(draw, min_side=1)
        axis = None if not s or draw(st.booleans()) else draw(st.integers(-len(s), len(s) - 1))
        gen.params = (axis, draw(st.booleans()))
        return [array(draw, s, dtype(draw), -3, 3)]
    return Case(name, gen, lambda x: tfn(x, axis=gen.params[0], keepdims=gen.params[1]),
                lambda x: _np_arg(npfn)(x, axis=gen.params[0], keepdims=gen.params[1]), grad=False)


def _var_gen(draw):
    s = shape(draw, min_side=2)
    _var_gen.ddof = draw(st.sampled_from([0, 1]))
    _var_gen.axis = None if not s else draw(st.integers(0, len(s) - 1))
    return [array(draw, s, dtype(draw))]


CASES = [
    _case("sum", T.sum, np.sum),
    _case("sum", T.sum, np.sum, dtypes=("int8", "int32", "bool"), grad=False, label="int"),
    _case("prod", T.prod, np.prod, -2, 2, dtypes=("float64",)),
    _case("mean", T.mean, np.mean, min_side=1),
    _case("max", T.max, np.max, min_side=1),
    _case("min", T.min, np.min, min_side=1),
    _case("all", T.all, np.all, dtypes=("bool",), grad=False),
    _case("any", T.any, np.any, dtypes=("bool",), grad=False),
    _argcase("argmax", T.argmax, np.argmax),
    _argcase("argmin", T.argmin, np.argmin),
    Case("reduced_size", _var_gen, lambda x: T.var(x, axis=_var_gen.axis, ddof=_var_gen.ddof),
         lambda x: np.var(x, axis=_var_gen.axis, ddof=_var_gen.ddof), label="var",
         also_covers=("mean", "sqr", "sub")),
    Case("mean", _var_gen, lambda x: T.std(x, axis=_var_gen.axis),
         lambda x: np.std(x, axis=_var_gen.axis), label="std", also_covers=("sqrt",)),
]
