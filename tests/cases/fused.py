"""Cases for the fused ops (egopt/lang/fused.py): each built directly from an elementwise
subgraph, against the same formula written in plain NumPy."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import egopt.tensor as T
from egopt.lang.fused import fuse_elemwise, fuse_reduce, gemm
from tests.cases import Case, _stash, array, broadcast_shapes, dtype, shape


def _chain_t(x, y, z):
    return T.exp(-x ** 2 / 2) * T.sin(y) + T.log1p(abs(x * y)) / (1 + z ** 2)


def _chain_np(x, y, z):
    return np.exp(-x ** 2 / 2) * np.sin(y) + np.log1p(np.abs(x * y)) / (1 + z ** 2)


def _three(draw):
    dt = dtype(draw)
    return [array(draw, s, dt) for s in broadcast_shapes(draw, 3)]


def _mixed(draw):
    """An int32 and a float32 input: NumPy upcasts the sum to float64."""
    s1, s2 = broadcast_shapes(draw, 2)
    return [array(draw, s1, "int32", -3, 3), array(draw, s2, "float32")]


def _fused(fn):
    def build(*xs):
        return fuse_elemwise(list(xs), [fn(*xs)])[0]
    return build


def _two_outputs(x, y):
    """Both outputs of one node (x * y and exp(x) - y), combined outside the fused node."""
    a, b = fuse_elemwise([x, y], [x * y, T.exp(x) - y])
    return a * 10 + b


def _red_gen(draw):
    dt = dtype(draw)
    s1, s2 = broadcast_shapes(draw, 2, min_side=1)
    nd = max(len(s1), len(s2))
    kind = draw(st.sampled_from(["none", "some"]))
    axis = None if kind == "none" or nd == 0 else tuple(sorted(draw(st.sets(st.integers(0, nd - 1), min_size=1))))
    return [array(draw, s1, dt, -1.5, 1.5), array(draw, s2, dt, -1.5, 1.5)], (axis, draw(st.booleans()))


def _reduce_case(name, npfn):
    gen = _stash(_red_gen)

    def build(x, y):
        axis, keep = gen.p
        return fuse_reduce([x, y], T.exp(x) * y + 1, name, axis, keep)

    def ref(x, y):
        axis, keep = gen.p
        return npfn(np.exp(x) * y + 1, axis=axis, keepdims=keep)

    return Case("fused_reduce", gen, build, ref, grad=False, label=name)


def _int_mean_gen(draw):
    s = shape(draw, min_side=1, max_dims=2)
    return [array(draw, s, "int32", -5, 5)], draw(st.booleans())


_int_mean = _stash(_int_mean_gen)


def _gemm_gen(draw):
    m, k, n = (draw(st.integers(0, 4)) for _ in range(3))
    dt = dtype(draw)
    vec = draw(st.booleans())
    ta, tb = draw(st.booleans()), (not vec) and draw(st.booleans())
    a = array(draw, (k, m) if ta else (m, k), dt)
    b = array(draw, (k,) if vec else ((n, k) if tb else (k, n)), dt)
    out = (m,) if vec else (m, n)
    alpha = draw(st.sampled_from([1.0, -1.0, 0.5, -0.01]))
    beta = draw(st.sampled_from([1.0, -1.0, 2.0]))
    with_c = draw(st.booleans())
    c = array(draw, out, dt) if with_c else None
    params = dict(alpha=alpha, beta=beta if with_c else 0.0, trans_a=ta, trans_b=tb)
    return ([a, b] + ([c] if with_c else [])), params


_gemm = _stash(_gemm_gen)


def _gemm_build(*xs):
    return gemm(*xs, **_gemm.p)


def _gemm_ref(a, b, c=None):
    p = _gemm.p
    out = p["alpha"] * np.dot(a.T if p["trans_a"] else a, b.T if p["trans_b"] else b)
    return out if c is None else out + p["beta"] * c


def _free(vals):
    return [T.tensor(dtype=v.dtype.name, shape=(None,) * v.ndim) for v in vals]


CASES = [
    Case("fused_elemwise", _three, _fused(_chain_t), _chain_np, grad=False, label="chain"),
    Case("fused_elemwise", _mixed, _fused(lambda x, y: x + y * 2), lambda x, y: x + y * np.float32(2),
         grad=False, label="mixed-dtypes"),
    Case("fused_elemwise", lambda d: _three(d)[:2], _two_outputs,
         lambda x, y: (x * y) * 10 + (np.exp(x) - y), grad=False, label="two-outputs"),
] + [_reduce_case(n, f) for n, f in [("sum", np.sum), ("prod", np.prod), ("max", np.max),
                                      ("min", np.min), ("mean", np.mean)]] + [
    Case("fused_reduce", _int_mean, lambda x: fuse_reduce([x], x * 2, "mean", None, _int_mean.p),
         lambda x: np.mean(x * 2, keepdims=_int_mean.p), grad=False, label="int-mean"),
    Case("gemm", _gemm, _gemm_build, _gemm_ref, grad=False, symbolic=_free),
]
