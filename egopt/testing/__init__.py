"""Property-testing tools for the optimizer, for the project's tests and for users' own rules.

    from hypothesis import given
    from egopt import testing

    @given(testing.graph_and_arrays())
    def test_my_rules(case):
        graph, arrays = case
        testing.assert_sound(graph.outputs, graph.inputs, arrays, rules=["my_rules.py"])

``graphs()`` draws well-typed random graphs over the op table (elementwise math with weak
constants, broadcasting, reductions, dot, transposes, indexing); ``arrays_for(graph)`` draws
input values including edge values; ``assert_sound`` compiles with and without the optimizer
and compares (tolerances scaled to the dtype and to the magnitudes inside the graph; where
the unoptimized result is NaN or infinite the optimized one may be better, never worse).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from hypothesis import strategies as st

import egopt
import egopt.tensor as T
from egopt.lang.graph import Variable, toposort


@dataclass
class Graph:
    inputs: list[Variable]
    outputs: list[Variable]
    universe: tuple[int, ...]
    steps: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        from egopt.printing import pp
        return f"Graph(inputs={self.inputs}, outputs={[pp(o) for o in self.outputs]})"


UNARY = ["exp", "log", "log1p", "expm1", "sqrt", "tanh", "sigmoid", "softplus", "abs", "neg", "sqr",
         "sin", "cos", "arctan"]
BINARY = ["add", "sub", "mul", "true_div", "maximum", "minimum", "pow"]
CONSTS = [0.0, 1.0, -1.0, 2.0, 0.5, 3.0]
KINDS = ["unary", "binary", "binary", "const", "pattern", "reduce", "transpose", "index", "dot"]
PATTERNS = ["log1p", "expm1", "zero", "self", "factor", "sigmoid", "logsig", "softplus", "swap"]
# the wider sweep: views, joins, comparisons and selection, indexing writes, more reductions
EXTENDED_KINDS = KINDS + ["compare", "clip", "join", "reshape", "view", "advindex", "incsub", "reduce2",
                          "argmax", "cast", "sortcum"]
# kinds whose graphs are differentiable almost everywhere (for gradient sweeps)
SMOOTH_KINDS = ["unary", "binary", "const", "reduce", "transpose", "index", "dot", "join", "reshape", "view",
                "advindex", "incsub", "reduce2", "clip", "compare"]
# every float-valued unary and binary op of the tensor API (``graphs(unary=ALL_UNARY, ...)``)
ALL_UNARY = UNARY + ["log2", "log10", "tan", "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "sinh", "cosh",
                     "erf", "erfc", "floor", "ceil", "round", "sgn", "exp2", "log1mexp"]
ALL_BINARY = BINARY + ["hypot", "mod", "int_div"]
INT_UNARY = ["abs", "neg", "sqr"]
INT_BINARY = ["add", "sub", "mul", "maximum", "minimum", "int_div", "mod"]
INT_CONSTS = [0, 1, -1, 2, 3]


def _sub_shape(draw, universe, min_nd=0):
    nd = draw(st.integers(min_nd, len(universe)))
    tail = universe[len(universe) - nd:]
    return tuple(1 if draw(st.integers(0, 4)) == 0 else s for s in tail)


@st.composite
def graphs(draw, max_inputs: int = 3, max_steps: int = 8, dtypes: Sequence[str] = ("float64",),
           max_side: int = 4, mixed: bool = False, kinds: Sequence[str] = tuple(KINDS),
           min_side: int = 1, unary: Sequence[str] = tuple(UNARY), binary: Sequence[str] = tuple(BINARY)) -> Graph:
    """A random well-typed graph (elementwise, broadcasting, reductions, dot, transposes, indexing).

    ``mixed``: each input draws its own dtype from ``dtypes`` (NumPy promotion inside the graph).
    ``kinds``: the kinds of step to draw from (``EXTENDED_KINDS`` adds views, joins, comparisons,
    clip, reshapes, advanced indexing, set/inc_subtensor, var/std/prod, argmax, casts, sort and
    running sums/products); integer
    dtypes draw integer-safe ops. ``min_side=0`` draws empty axes too. ``unary``/``binary``: the
    float ops drawn (``ALL_UNARY``/``ALL_BINARY``: every one)."""
    universe = tuple(draw(st.integers(min_side, max_side)) for _ in range(draw(st.integers(0, 2))))
    dtype = draw(st.sampled_from(list(dtypes)))
    inputs = []
    for i in range(draw(st.integers(1, max_inputs))):
        shape = _sub_shape(draw, universe)
        dt = draw(st.sampled_from(list(dtypes))) if mixed else dtype
        inputs.append(T.tensor(dtype=dt, shape=tuple(1 if s == 1 else None for s in shape), name=f"x{i}"))
    for v in inputs:    # test values make ops whose sizes do not fit fail while building
        v.tag.test_value = np.zeros(_universe_shape_of(universe, v), dtype=v.dtype)
    pool: list[Variable] = list(inputs)
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(list(kinds)))
        a = draw(st.sampled_from(pool))
        b = draw(st.sampled_from(pool))
        try:
            with egopt.config.change_flags(compute_test_value="raise"):
                v = _step(draw, kind, a, b, unary, binary)
        except (ValueError, TypeError, OverflowError):
            continue   # an op that does not apply to these operands (e.g. dot of mismatched shapes)
        if v is None or (v.dtype not in dtypes if mixed else v.dtype != dtype):
            continue
        steps.append(kind)
        pool.append(v)
    n_out = draw(st.integers(1, 2))
    outs = [pool[-1]] + ([draw(st.sampled_from(pool))] if n_out > 1 and len(pool) > 1 else [])
    outs = [o for i, o in enumerate(outs) if all(o is not p for p in outs[:i])]
    return Graph(inputs, outs, universe, steps)


def _step(draw, kind, a, b, unary=tuple(UNARY), binary=tuple(BINARY)):
    integer = np.dtype(a.dtype).kind in "iu"
    if kind == "unary":
        return getattr(T, draw(st.sampled_from(INT_UNARY if integer else list(unary))))(a)
    if kind == "binary":
        return getattr(T, draw(st.sampled_from(INT_BINARY if integer else list(binary))))(a, b)
    if kind == "const" and integer:
        c = draw(st.sampled_from(INT_CONSTS))
        op = draw(st.sampled_from(["add", "sub", "mul", "maximum", "int_div", "mod", "rsub"]))
        return c - a if op == "rsub" else getattr(T, op)(a, c)
    if kind in ("compare", "clip", "join", "reshape", "view", "advindex", "incsub", "reduce2", "argmax", "cast",
                "sortcum"):
        return _extended_step(draw, kind, a, b)
    if kind == "const":
        c = draw(st.sampled_from(CONSTS))
        op = draw(st.sampled_from(["add", "sub", "mul", "true_div", "pow", "rsub", "rdiv"]))
        if op == "rsub":
            return c - a
        if op == "rdiv":
            return c / a
        return getattr(T, op)(a, c)
    if kind == "pattern":
        p = draw(st.sampled_from(PATTERNS))
        return {"log1p": lambda: T.log(1 + a), "expm1": lambda: T.exp(a) - 1, "zero": lambda: a * 0 + b,
                "self": lambda: a - a + a / a, "factor": lambda: a * b + a * T.exp(b),
                "sigmoid": lambda: 1 / (1 + T.exp(-a)), "logsig": lambda: T.log(T.nnet.sigmoid(a)),
                "softplus": lambda: T.log(1 + T.exp(a)), "swap": lambda: a * b - b * a}[p]()
    if kind == "reduce":
        if a.ndim == 0:
            return None
        op = draw(st.sampled_from(["sum", "mean", "max", "min"]))
        axis = draw(st.one_of(st.none(), st.integers(0, a.ndim - 1)))
        return getattr(T, op)(a, axis=axis, keepdims=draw(st.booleans()))
    if kind == "transpose":
        return a.T if a.ndim >= 2 else None
    if kind == "dot":
        if a.ndim == 0 or b.ndim == 0 or a.type.shape[-1] == 1 or b.type.shape[0] == 1:
            return None
        return T.dot(a, b)
    if kind == "index":
        if a.ndim == 0:
            return None
        return a[0] if draw(st.booleans()) else a[::-1]
    return None


def _extended_step(draw, kind, a, b):
    """The wider sweep's steps (``EXTENDED_KINDS``); None where a step does not apply."""
    if kind == "compare":
        cmp = draw(st.sampled_from(["lt", "le", "gt", "ge", "eq", "neq"]))
        cond = getattr(T, cmp)(a, b)
        if draw(st.booleans()):
            cond = draw(st.sampled_from([lambda c: ~c, lambda c: c & (a > 0), lambda c: c | T.eq(b, 0)]))(cond)
        return T.switch(cond, a, b) if draw(st.booleans()) else T.where(cond, b, a * 2)
    if kind == "clip":
        lo = draw(st.sampled_from([-1, 0, -2]))
        return T.clip(a, lo, lo + draw(st.sampled_from([0, 1, 3])))
    if kind == "join":
        if a.ndim == 0:
            return T.stack([a, b]) if b.ndim == 0 else None
        axis = draw(st.integers(0, a.ndim - 1))
        return T.concatenate([a, b], axis=axis) if draw(st.booleans()) else T.stack([a, b], axis=axis)
    if kind == "reshape":
        if a.ndim == 0:
            return a.reshape((1,)) if draw(st.booleans()) else None
        flat = a.flatten()
        if a.ndim == 1:
            return flat.reshape((1, -1)) if draw(st.booleans()) else a.dimshuffle("x", 0)
        return flat if draw(st.booleans()) else a.reshape((-1, a.shape[a.ndim - 1]))
    if kind == "view":
        if a.ndim == 0:
            return None
        view = draw(st.sampled_from(["tail", "step", "neg", "last_axis", "expand"]))
        if view == "tail":
            return a[1:]
        if view == "step":
            return a[::2]
        if view == "neg":
            return a[-1]
        if view == "last_axis":
            return a[:, 0] if a.ndim >= 2 else a[:-1]
        return a.dimshuffle(*(["x"] + list(range(a.ndim))))
    if kind == "advindex":
        if a.ndim == 0:
            return None
        idx = draw(st.sampled_from([[0], [0, 0], [-1, 0]]))
        return a[np.array(idx, dtype="int64")]
    if kind == "incsub":
        if a.ndim == 0:
            return None
        op = draw(st.sampled_from(["set", "inc", "inc_adv", "set_slice"]))
        if op == "set":
            return T.set_subtensor(a[0], b.sum() if b.ndim else b)
        if op == "inc":
            return T.inc_subtensor(a[-1], b.max() if b.ndim else b)
        if op == "inc_adv":
            return T.inc_subtensor(a[np.array([0, 0], dtype="int64")], b.min() if b.ndim else b)
        return T.set_subtensor(a[::2], a[::2] * 2)
    if kind == "reduce2":
        if a.ndim == 0:
            return None
        op = draw(st.sampled_from(["prod", "var", "std", "sum"]))
        if np.dtype(a.dtype).kind in "iu" and op in ("var", "std"):
            return None
        axis = draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1),
                              st.just(tuple(range(a.ndim)))))
        return getattr(T, op)(a, axis=axis, keepdims=draw(st.booleans()))
    if kind == "argmax":
        if a.ndim == 0:
            return None
        op = draw(st.sampled_from([T.argmax, T.argmin]))
        axis = draw(st.one_of(st.none(), st.integers(0, a.ndim - 1)))
        return T.cast(op(a, axis=axis, keepdims=draw(st.booleans())), a.dtype) + a.sum()
    if kind == "sortcum":
        axis = draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1))) if a.ndim else None
        op = draw(st.sampled_from([T.sort, T.cumsum, T.cumprod]))
        return op(a, axis=axis) if op is not T.cumprod else op(T.clip(a, -2, 2), axis=axis)
    if kind == "cast":
        if np.dtype(a.dtype).kind in "iu":
            return T.cast(T.cast(a, "float64") * 0.5, a.dtype) if draw(st.booleans()) else \
                T.cast(T.cast(a, "int32"), a.dtype)
        other = "float32" if a.dtype == "float64" else "float64"
        return T.cast(T.cast(a, other), a.dtype)
    return None


def _universe_shape_of(universe, var: Variable) -> tuple[int, ...]:
    tail = universe[len(universe) - var.ndim:] if var.ndim else ()
    return tuple(1 if s == 1 else u for s, u in zip(var.type.shape, tail))


def _universe_shape(graph: Graph, var: Variable) -> tuple[int, ...]:
    return _universe_shape_of(graph.universe, var)


EDGE_VALUES = [0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 1e300, -1e300, 0.5, 2.0, 30.0, -30.0, 800.0, -800.0]


_F64 = np.finfo(np.float64)
# IEEE specials and boundaries: signed zeros, infinities, NaN, subnormals, the largest finite
# value, exp's overflow and underflow edges, float32's range edge, rounding ties (2.5, 0.5)
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -3.5, np.inf, -np.inf, np.nan, 5e-324, -5e-324,
                  2.2e-308, float(_F64.max), -float(_F64.max), 1e-20, 30.0, -30.0, 710.0, -745.0, 100.0,
                  0.9999999, 1.0000001, 3e38, 1e-45, 2.5, -2.5, 1.5, 0.49999999999999994]
SPECIAL_INTS = [0, 1, -1, 2, -2, 3, -3, 7, 127, -128, 100, -100, 5, 64]


def special_values(dtype: str) -> np.ndarray:
    """Special values of ``dtype`` as one vector: ``SPECIAL_FLOATS`` rounded to it (1e300 becomes
    inf in float32), ``SPECIAL_INTS`` wrapped to it (-1 is 255 in uint8), or both bools."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.array([False, True])
    with np.errstate(all="ignore"):
        if dt.kind == "f":
            return np.array(SPECIAL_FLOATS, dtype=np.float64).astype(dt)
        return np.array(SPECIAL_INTS, dtype=np.int64).astype(dt)


@st.composite
def arrays_for(draw, graph: Graph, edge: bool = True) -> list[np.ndarray]:
    """Input values for a graph: mostly moderate numbers, some edge values (0, ±1, tiny, huge)."""
    out = []
    for v in graph.inputs:
        shape = _universe_shape(graph, v)
        n = int(np.prod(shape, dtype=np.int64))
        if np.dtype(v.dtype).kind in "iu":
            info = np.iinfo(v.dtype)
            moderate = st.integers(max(info.min, -5), min(info.max, 5))
            big = st.sampled_from([0, 1, 2, int(info.max) // 4, int(info.min) // 4 if info.min else 7])
            elems = st.one_of(moderate, big) if edge else moderate
            out.append(np.array(draw(st.lists(elems, min_size=n, max_size=n)), dtype=v.dtype).reshape(shape))
            continue
        moderate = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
        elems = st.one_of(moderate, st.sampled_from(EDGE_VALUES)) if edge else moderate
        vals = draw(st.lists(elems, min_size=n, max_size=n))
        with np.errstate(over="ignore"):     # 1e300 becomes inf in float32: an edge value too
            out.append(np.array(vals, dtype=v.dtype).reshape(shape))
    return out


@st.composite
def graph_and_arrays(draw, **kw):
    g = draw(graphs(**kw))
    return g, draw(arrays_for(g))


def _float64_truth(outputs, inputs, arrays):
    """For float32 graphs: the unoptimized graph evaluated in float64, as the exact value."""
    if not any(np.asarray(a).dtype == np.float32 for a in arrays):
        return None
    from egopt.lang.graph import clone_replace
    wide = [T.tensor(dtype="float64" if v.dtype == "float32" else v.dtype, shape=v.type.shape)
            for v in inputs]
    try:
        outs = clone_replace(list(outputs), dict(zip(inputs, wide)))
        f = egopt.function(wide, outs, mode="FAST_COMPILE", on_unused_input="ignore")
        with np.errstate(all="ignore"):
            return f(*[np.asarray(a, dtype=w.dtype) for a, w in zip(arrays, wide)])
    except (ValueError, TypeError):
        return None


# outcomes where the optimizer ran to the end (it may keep the input graph when nothing is cheaper)
_OUTCOMES_OK = ("optimized", "nothing to optimize", "kept the input graph (no cheaper form found)")


def _layout(draw, a: np.ndarray) -> np.ndarray:
    how = draw(st.sampled_from(["same", "fortran", "reversed", "strided", "transposed"]))
    if a.ndim == 0 or how == "same":
        return a
    if how == "fortran":
        return np.asfortranarray(a)
    if how == "reversed":          # negative strides on every axis
        return np.flip(np.flip(a).copy())
    if how == "strided":           # every other element of a larger array
        return np.repeat(a, 2, axis=-1)[..., ::2]
    return np.ascontiguousarray(a.T).T


@st.composite
def relayout(draw, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The same values in other memory layouts: Fortran order, negative strides, every other
    element of a larger array, a transposed copy's transpose (or unchanged)."""
    return [_layout(draw, np.asarray(a)) for a in arrays]


def assert_sound(outputs: Sequence[Variable], inputs: Sequence[Variable], arrays: Sequence[np.ndarray],
                 rules=(), mode: str | egopt.Mode | None = None,
                 call_arrays: Sequence[np.ndarray] | None = None) -> None:
    """Compile with the optimizer (plus ``rules``) and without it; compare the results.

    Where the unoptimized result is finite, the optimized one must be finite and close
    (relative to the dtype's epsilon times the largest magnitude computed inside the graph);
    where it is NaN or infinite, the optimized one may differ (it may be more accurate).

    The optimizer must not have kept the input graph for a failure or an op it cannot encode.
    ``call_arrays``: the same values as ``arrays`` in other memory layouts (``relayout``), which
    the optimized function is called with. Either way a call must leave its input arrays as they
    were, and a second call must not overwrite the results the first returned.
    """
    import warnings
    outputs = list(outputs)
    opt_mode = mode or egopt.Mode(optimizer="egraph", linker="py", rules=tuple(rules))
    nodes = [n.outputs[0] for n in toposort(outputs, stop=inputs)]
    random = any(v.owner.op.kind == "random" for v in nodes)     # a second call draws again
    ref_fn = egopt.function(list(inputs), outputs + nodes, mode="FAST_COMPILE", on_unused_input="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # an optimizer failure is a test failure
        opt_fn = egopt.function(list(inputs), outputs, mode=opt_mode, on_unused_input="ignore")
    outcome = opt_fn.optimization_report().outcome
    if not outcome.startswith(_OUTCOMES_OK):
        raise AssertionError(f"the optimizer fell back: {outcome}")
    call_arrays = list(arrays if call_arrays is None else call_arrays)
    before = [np.array(a, copy=True) for a in call_arrays]
    with np.errstate(all="ignore"):
        ref_all = ref_fn(*arrays)
        got = opt_fn(*call_arrays)
        kept = [np.array(g, copy=True) for g in got]
        again = opt_fn(*call_arrays)
    for i, (a, b) in enumerate(zip(call_arrays, before)):
        if not np.array_equal(a, b, equal_nan=True):
            raise AssertionError(f"input {i} was modified by the call")
    for i, (g, k, g2) in enumerate(zip(got, kept, again)):
        if not np.array_equal(g, k, equal_nan=True):
            raise AssertionError(f"output {i} of the first call was overwritten by the second")
        if not np.array_equal(g2, k, equal_nan=True) and not random:
            raise AssertionError(f"output {i}: a second call with the same inputs gave {g2!r}, the first {k!r}")
    ref, inner = ref_all[:len(outputs)], ref_all[len(outputs):]
    truth = _float64_truth(outputs, inputs, arrays)
    # where the reference passed through inf or NaN (log(0), exp overflow, 0/0) the rewritten
    # form may legitimately differ: rules refine such points and stable forms avoid them
    special = any(np.asarray(x).dtype.kind == "f" and not np.isfinite(x).all() for x in inner)
    finite = [np.abs(x[np.isfinite(x)]).max() for x in [*ref_all, *arrays]
              if np.size(x) and np.isfinite(x).any() and np.asarray(x).dtype.kind == "f"]
    scale = max(finite, default=1.0)
    for i, (r, g) in enumerate(zip(ref, got)):
        r, g = np.asarray(r), np.asarray(g)
        if r.shape != g.shape:
            raise AssertionError(f"output {i}: shape {g.shape} after optimization, {r.shape} before")
        if r.dtype != g.dtype:
            raise AssertionError(f"output {i}: dtype {g.dtype} after optimization, {r.dtype} before")
        if r.dtype.kind != "f":
            np.testing.assert_array_equal(g, r)
            continue
        eps = np.finfo(r.dtype).eps
        fin = np.isfinite(r)
        bad_nonfinite = fin & ~np.isfinite(g)
        if bad_nonfinite.any():
            raise AssertionError(f"output {i}: optimized result is not finite where the reference is: "
                                 f"{g[bad_nonfinite][:5]} vs {r[bad_nonfinite][:5]}")
        tol = 1e3 * eps * scale + 1e3 * eps * np.abs(r)
        with np.errstate(all="ignore"):
            err = np.abs(g - r)
            if truth is not None:      # the optimized form may be closer to the exact value
                t = np.asarray(truth[i], dtype=np.float64)
                closer = np.abs(g.astype(np.float64) - t) <= np.abs(r.astype(np.float64) - t) + tol
                err = np.where(closer, 0.0, err)
        if (fin & (err > tol)).any() and not special:
            idx = np.argmax(np.where(fin, err - tol, -np.inf))
            raise AssertionError(f"output {i}: optimized {g.flat[idx]!r} vs reference {r.flat[idx]!r} "
                                 f"(tolerance {np.broadcast_to(tol, r.shape).flat[idx]:.3g})")
