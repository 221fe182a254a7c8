"""Kernel IR -> C source: one translation unit per compiled function, plain C ABI.

Every kernel is ``int egopt_k_<key>(const int64_t *shape, char **data, const int64_t *strides)``:
``shape`` holds the ``ndim`` sizes of the index space, ``data`` one pointer per buffer (inputs,
then outputs), ``strides`` ``ndim`` byte strides per buffer (0 where it broadcasts, and on an
output's reduced axes). It returns 0, or ``EGOPT_EMPTY_REDUCE`` for a max/min over no element.

Pointers carry no ``restrict``: an in-place update writes the buffer it reads, element by
element (``omp simd`` still vectorizes). An elementwise kernel's body is emitted once, in a
static function over a contiguous run (``omp simd``): the whole array calls it in chunks when
every buffer is C-contiguous (checked at run time), else each row (innermost axis) calls it,
directly when the row is contiguous, else in tiles copied to and from contiguous scratch; loads
of buffers that broadcast on the innermost axis are hoisted out of the row (passed as values).
Above a size threshold the chunks or rows run on ``egopt_nthreads`` OpenMP threads. A
reduction loops over the reduced axes per output element, or, when the innermost axis is kept
and unit-stride (``sum(x, axis=0)``), folds whole rows into accumulator rows
(``egopt_reduce_rows``). Transcendentals are vectorized by glibc's libmvec: the prelude
declares the SIMD variants that glibc's headers only declare under ``-ffast-math`` (which
egopt never uses: NaN, inf and signed zeros keep their IEEE meaning).

A CUDA renderer subclasses ``CRenderer`` and overrides strings and table entries (STYLE P8).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..lang import dtypes
from ..lang.ops import get_op
from .kernel_ir import Buffer, Call, Cast, Const, Expr, Kernel, Load, walk
from . import special_c
from .render_softmax import EXP_HELPER, SoftmaxKernels

EMPTY_REDUCE = 2
# a reduction in row order folds this many rows per pass over its accumulator row (fewer loads
# and stores of it) when its body computes at most ROWS_UNROLL_BODY values (more code to compile)
ROWS_UNROLL, ROWS_UNROLL_BODY = 4, 2
# functions with SIMD variants in glibc's libmvec (double and float: sin and sinf, ...)
SIMD_UNARY = ("exp", "log", "log1p", "expm1", "log2", "log10", "sin", "cos", "tan", "asin",
              "acos", "atan", "sinh", "cosh", "tanh", "erf", "exp2", "cbrt")
SIMD_BINARY = ("pow", "atan2")

# Scalar helpers both renderers emit; each prelude defines EGOPT_FN (its function qualifier)
# before them. Float helpers take a name suffix: C dispatches on it with _Generic, CUDA overloads.
HELPERS = r"""
/* NaN-propagating max/min, as np.maximum/np.minimum, equal operands giving the second as
   NumPy's do (maximum(0.0, -0.0) is -0.0); arguments are plain temporaries */
#define egopt_max(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define egopt_min(a, b) (((a) < (b) || (a) != (a)) ? (a) : (b))
/* np.sign: sign(-0.0) is +0.0, sign(NaN) is NaN */
#define egopt_sgn(x) ((x) > 0 ? 1 : ((x) < 0 ? -1 : ((x) == 0 ? 0 : (x))))
#define egopt_iabs(x) ((x) < 0 ? -(x) : (x))
#define egopt_invert(x) (~(x))

%(special)s
#define EGOPT_FLOAT_HELPERS(T, S) \
EGOPT_FN T egopt_sigmoid##S(T x) { T e = exp(-fabs(x)); return x >= 0 ? 1 / (1 + e) : e / (1 + e); } \
EGOPT_FN T egopt_softplus##S(T x) { return egopt_max(x, (T)0) + log1p(exp(-fabs(x))); } \
EGOPT_FN T egopt_log1mexp##S(T x) { return x > (T)-0.6931471805599453 ? log(-expm1(x)) : log1p(-exp(x)); } \
EGOPT_FN T egopt_psi##S(T x) { return (T)egopt_psi_core((double)x); } \
EGOPT_FN T egopt_tri_gamma##S(T x) { return (T)egopt_tri_gamma_core((double)x); } \
EGOPT_FN T egopt_erfinv##S(T x) { return (T)egopt_erfinv_core((double)x); } \
EGOPT_FN T egopt_erfcinv##S(T x) { return (T)egopt_erfcinv_core((double)x); } \
EGOPT_FN T egopt_erfcx##S(T x) { return (T)egopt_erfcx_core((double)x); } \
EGOPT_FN T egopt_mod##S(T a, T b) { /* NumPy's npy_divmod: the sign of the divisor */ \
    T m = fmod(a, b); if (!b) return m; \
    if (m) { if ((b < 0) != (m < 0)) m += b; } else m = copysign((T)0, b); return m; } \
EGOPT_FN T egopt_floordiv##S(T a, T b) { \
    if (!b) return a / b; \
    T m = fmod(a, b), d = (a - m) / b; \
    if (m && ((b < 0) != (m < 0))) d -= 1; \
    if (!d) return copysign((T)0, a / b); \
    T f = floor(d); if (d - f > (T)0.5) f += 1; return f; }

/* integer floor division and remainder as NumPy: by 0 gives 0, MIN // -1 wraps */
EGOPT_FN long long egopt_floordiv_i(long long a, long long b) {
    if (b == 0) return 0;
    if (b == -1) return (long long)(0ULL - (unsigned long long)a);
    long long q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1; return q; }
EGOPT_FN long long egopt_mod_i(long long a, long long b) {
    if (b == 0 || b == -1) return 0;
    long long r = a % b; if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }
EGOPT_FN unsigned long long egopt_floordiv_u(unsigned long long a, unsigned long long b) {
    return b ? a / b : 0; }
EGOPT_FN unsigned long long egopt_mod_u(unsigned long long a, unsigned long long b) {
    return b ? a % b : 0; }
EGOPT_FN long long egopt_ipow_i(long long a, long long b) {   /* wraps, as NumPy */
    if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
    unsigned long long r = 1, x = (unsigned long long)a;
    while (b) { if (b & 1) r *= x; x *= x; b >>= 1; } return (long long)r; }
EGOPT_FN unsigned long long egopt_ipow_u(unsigned long long a, unsigned long long b) {
    unsigned long long r = 1; while (b) { if (b & 1) r *= a; a *= a; b >>= 1; } return r; }

"""

HELPERS = HELPERS.replace("%(special)s", special_c.source())

PRELUDE = r"""
#include <stdint.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
/* libmvec's SIMD variants: glibc's headers declare them only under __FAST_MATH__ */
%(simd_decls)s
#include <tgmath.h>
#define EGOPT_EXPORT __attribute__((visibility("default")))
#define EGOPT_EMPTY_REDUCE %(empty)d
static int egopt_nthreads = 1;
#define EGOPT_PAD 16     /* elements per vector block: a multiple of every vector width */
#define EGOPT_CHUNK 4096 /* elements per call of a kernel's contiguous function (a multiple of EGOPT_PAD) */
#define EGOPT_TILE 128   /* elements of a strided row copied to contiguous scratch at a time */
#define EGOPT_RBLOCK 1024 /* output elements per accumulator row of a reduction in row order (a multiple of EGOPT_PAD) */
#define EGOPT_NOINLINE __attribute__((noinline))
#if defined(__GNUC__) && !defined(__clang__)
#define EGOPT_LIGHT __attribute__((optimize("O1")))  /* a driver's loops set up pointers: quicker to compile */
#else
#define EGOPT_LIGHT
#endif
EGOPT_EXPORT void egopt_set_threads(int n) { egopt_nthreads = n > 0 ? n : 1; }

#define EGOPT_FN static inline
%(helpers)s
EGOPT_FLOAT_HELPERS(double, _d)
EGOPT_FLOAT_HELPERS(float, _f)

#define EGOPT_GENERIC(name, x) _Generic((x), double: name##_d, float: name##_f)
#define EGOPT_INTGENERIC(name, x) _Generic((x), double: name##_d, float: name##_f, \
    unsigned char: name##_u, unsigned short: name##_u, unsigned int: name##_u, \
    unsigned long long: name##_u, default: name##_i)
#define egopt_sigmoid(x) EGOPT_GENERIC(egopt_sigmoid, x)(x)
#define egopt_softplus(x) EGOPT_GENERIC(egopt_softplus, x)(x)
#define egopt_log1mexp(x) EGOPT_GENERIC(egopt_log1mexp, x)(x)
#define egopt_psi(x) EGOPT_GENERIC(egopt_psi, x)(x)
#define egopt_tri_gamma(x) EGOPT_GENERIC(egopt_tri_gamma, x)(x)
#define egopt_erfinv(x) EGOPT_GENERIC(egopt_erfinv, x)(x)
#define egopt_erfcinv(x) EGOPT_GENERIC(egopt_erfcinv, x)(x)
#define egopt_erfcx(x) EGOPT_GENERIC(egopt_erfcx, x)(x)
#define egopt_floordiv(a, b) EGOPT_INTGENERIC(egopt_floordiv, a)(a, b)
#define egopt_mod(a, b) EGOPT_INTGENERIC(egopt_mod, a)(a, b)
#define egopt_ipow(a, b) _Generic((a), unsigned char: egopt_ipow_u, unsigned short: egopt_ipow_u, \
    unsigned int: egopt_ipow_u, unsigned long long: egopt_ipow_u, default: egopt_ipow_i)(a, b)
"""


def _simd_decls() -> str:
    lines = []
    for f in SIMD_UNARY:
        lines += ["#pragma omp declare simd notinbranch", f"double {f}(double);",
                  "#pragma omp declare simd notinbranch", f"float {f}f(float);"]
    for f in SIMD_BINARY:
        lines += ["#pragma omp declare simd notinbranch", f"double {f}(double, double);",
                  "#pragma omp declare simd notinbranch", f"float {f}f(float, float);"]
    return "\n".join(lines)


def _class(dtype: str) -> str:
    return "bool" if dtype == "bool" else "float" if dtypes.is_float(dtype) else "int"


class CRenderer(SoftmaxKernels):
    """Renders kernels to C. Subclasses (CUDA) override the strings and table entries."""
    kernel_prefix = "EGOPT_EXPORT int"
    template_field = "c"
    simd = "#pragma omp simd"
    # (op, class of the dtype it computes in) -> template, where C's generic form is wrong
    overrides: dict[tuple[str, str], str] = {
        ("abs", "int"): "egopt_iabs({0})",
        ("floor", "int"): "{0}", ("ceil", "int"): "{0}", ("round", "int"): "{0}",
        ("floor", "bool"): "{0}", ("ceil", "bool"): "{0}", ("round", "bool"): "{0}",
        ("isnan", "int"): "0", ("isinf", "int"): "0", ("isnan", "bool"): "0", ("isinf", "bool"): "0",
        ("pow", "int"): "egopt_ipow({0}, {1})", ("pow", "bool"): "egopt_ipow({0}, {1})",
        ("invert", "bool"): "(!{0})",
    }
    parallel_threshold = 1 << 15        # elements; below it one thread (OpenMP start-up costs)

    @staticmethod
    def unravel(indent: str, var: str, axes, bufs, prefix: str, d: int) -> list[str]:
        return _unravel(indent, var, axes, bufs, prefix, d)

    # ---- scalar expressions -------------------------------------------------------------------
    def ctype(self, dtype: str) -> str:
        t = dtypes.C_TYPES.get(dtype)
        if t is None:
            raise TypeError(f"no C type for dtype {dtype}")
        return t

    def const(self, c: Const) -> str:
        v, t = c.value, c.dtype
        if dtypes.is_float(t):
            v = float(v)
            if math.isnan(v):
                s = "NAN"
            elif math.isinf(v):
                s = "INFINITY" if v > 0 else "(-INFINITY)"
            else:
                s = v.hex() + ("f" if t == "float32" else "")
            return f"(({self.ctype(t)}){s})"
        v = int(v)
        if t == "uint64":
            return f"({v}ULL)"
        if v == -2 ** 63:
            return "((long long)(-9223372036854775807LL - 1))"
        return f"(({self.ctype(t)}){v}LL)"

    def template(self, call: Call) -> str:
        compute = call.args[0].dtype if call.args else call.dtype
        if call.op == "cast" and call.dtype == "bool":
            return "({0} != 0)"
        t = self.overrides.get((call.op, _class(compute)))
        if t is not None:
            return t
        op = get_op(call.op)
        return getattr(op, self.template_field, None) or op.require("c")

    def call(self, call: Call, args: Sequence[str]) -> str:
        params = {k: (self.ctype(v) if k == "dtype" else v) for k, v in call.params}
        body = self.template(call).format(*args, **params)
        return f"(({self.ctype(call.dtype)}){body})"

    def cast(self, e: Cast, arg: str) -> str:
        if e.dtype == "bool":
            return f"((unsigned char)({arg} != 0))"
        return f"(({self.ctype(e.dtype)}){arg})"

    def exprs(self, roots: Sequence[Expr], loads: dict[int, str], prefix: str,
              skip: set | None = None) -> tuple[list[str], dict[Expr, str]]:
        """Statements computing ``roots`` (each node once, into a temporary), and the names."""
        names: dict[Expr, str] = {}
        lines = []
        for e in walk(roots):
            if skip is not None and e in skip:
                continue
            if isinstance(e, Load):
                names[e] = loads[e.buffer.index]
                continue
            if isinstance(e, Const):
                names[e] = self.const(e)
                continue
            if isinstance(e, Cast):
                text = self.cast(e, names[e.arg])
            else:
                text = self.call(e, [names[a] for a in e.args])
            name = f"{prefix}{len(lines)}"
            lines.append(f"const {self.ctype(e.dtype)} {name} = {text};")
            names[e] = name
        return lines, names

    # ---- kernels -----------------------------------------------------------------------------
    def kernel_name(self, k: Kernel) -> str:
        return f"egopt_k_{k.key}"

    def render(self, kernels: Sequence[Kernel]) -> str:
        """The whole translation unit: prelude, then each distinct kernel once."""
        src = [PRELUDE % {"simd_decls": _simd_decls(), "empty": EMPTY_REDUCE, "helpers": HELPERS}]
        seen = set()
        for k in kernels:
            if k.key in seen:
                continue
            seen.add(k.key)
            if k.normalize is not None and k.normalize.kind == "softmax+log_softmax":
                src.append(self.render_normalize_pair(k))
                continue
            src.append(self.render_reduce(k) if k.reduce else
                       self.render_normalize(k) if k.normalize else self.render_elemwise(k))
        return "\n".join(src)

    def _head(self, k: Kernel) -> list[str]:
        d = k.ndim
        lines = [f"/* {k.label} */",
                 f"{self.kernel_prefix} {self.kernel_name(k)}(const int64_t *restrict shape, "
                 f"char **restrict data, const int64_t *restrict st) {{"]
        lines.append("    int64_t n = 1;" + "".join(f" n *= shape[{a}];" for a in range(d)))
        lines.append("    (void)st;")
        return lines

    def _contig_check(self, k: Kernel, bufs: Sequence[Buffer]) -> str:
        d = k.ndim
        terms = []
        for b in bufs:
            size = np.dtype(b.dtype).itemsize
            terms.append(f"egopt_contig(shape, st + {b.index * d}, {d}, {size})")
        return " && ".join(terms) or "1"

    def _invariant_reads(self, k: Kernel) -> tuple[list[Buffer], dict[int, str], list[str]]:
        """(the inputs that vary over the index space, names of the invariant ones, the lines
        that read each invariant input once at the kernel's start)."""
        varying = [b for b in k.inputs if not b.invariant]
        names, lines = {}, []
        for b in k.inputs:
            if b.invariant:
                ct = self.ctype(b.dtype)
                names[b.index] = f"v{b.index}"
                lines.append(f"    const {ct} v{b.index} = *(const {ct} *)data[{b.index}];")
        return varying, names, lines

    def render_elemwise(self, k: Kernel) -> str:
        """A kernel whose loop body is emitted once, in a static function over a contiguous run
        (``_contiguous_fn``); the loops around it (the whole array in chunks when every buffer
        is contiguous, else row by row, strided rows in tiles through contiguous scratch, on
        threads above the threshold) are one shared driver, ``egopt_elemwise`` in the prelude:
        gcc's time grows with the code it compiles, and the loop nest was most of it."""
        d = k.ndim
        invariant = [b for b in k.inputs if b.invariant]
        varying = [b for b in k.inputs if not b.invariant]
        outs = [b for b, _ in k.outputs]
        roots = [e for _, e in k.outputs]
        if d == 0:
            lines = self._head(k)
            lines += [f"    const {self.ctype(b.dtype)} v{b.index} = *(const {self.ctype(b.dtype)} *)data[{b.index}];"
                      for b in invariant]
            lines += [f"    {'const ' if b in varying else ''}{self.ctype(b.dtype)} *p{b.index} = "
                      f"({'const ' if b in varying else ''}{self.ctype(b.dtype)} *)data[{b.index}];"
                      for b in varying + outs]
            loads = {**{b.index: f"v{b.index}" for b in invariant}, **{b.index: f"p{b.index}[0]" for b in varying}}
            body, names = self.exprs(roots, loads, "t")
            lines += ["    " + s for s in body]
            lines += [f"    p{b.index}[0] = {names[e]};" for b, e in k.outputs]
            lines += ["    return 0;", "}"]
            return "\n".join(lines)
        # buffers broadcast along the innermost axis are one value per run (read once)
        hoisted = [b for b in varying if b.broadcast[d - 1]]
        values = invariant + hoisted
        moving_in = [b for b in varying if b not in hoisted]
        flat_ok = not hoisted and all(not any(b.broadcast) for b in varying)
        fn = f"egopt_c_{k.key}"
        bufs = sorted([*k.inputs, *outs], key=lambda b: b.index)
        assert [b.index for b in bufs] == list(range(len(bufs))), "buffers are numbered 0..n-1"
        kind = ["0" if b in values else "2" if b in outs else "1" for b in bufs]
        size = [str(np.dtype(b.dtype).itemsize) for b in bufs]
        head = self._head(k)
        lines = head[:1] + self._contiguous_fn(k, fn, values, moving_in, outs, roots) + head[1:2]
        lines += [f"    static const unsigned char kind[] = {{{', '.join(kind)}}}, size[] = {{{', '.join(size)}}};",
                  f"    return egopt_elemwise(shape, data, st, {d}, {len(bufs)}, kind, size, {int(flat_ok)}, {fn});",
                  "}"]
        return "\n".join(lines)

    def _contiguous_fn(self, k: Kernel, fn: str, values, moving_in, outs, roots) -> list[str]:
        """``static void fn(count, p)``: the kernel over ``count`` contiguous elements, ``p[i]``
        pointing at buffer i's first one (at the value itself for a value buffer). With a math
        call, every element goes through the same vector code: whole blocks of EGOPT_PAD (a
        multiple of any vector width: no scalar remainder) in a block function, then the rest
        through that same function on padded copies (libmvec's vector variants and the scalar
        functions can round differently, so without this a value's result would depend on its
        position in the array)."""
        ptrs = moving_in + outs
        unpack = ([f"    const {self.ctype(b.dtype)} v{b.index} = *(const {self.ctype(b.dtype)} *)p_[{b.index}];"
                   for b in values] +
                  [f"    {'const ' if b not in outs else ''}{self.ctype(b.dtype)} *p{b.index} = "
                   f"({'const ' if b not in outs else ''}{self.ctype(b.dtype)} *)p_[{b.index}];" for b in ptrs])
        loads = {**{b.index: f"v{b.index}" for b in values}, **{b.index: f"p{b.index}[i]" for b in moving_in}}
        body, names = self.exprs(roots, loads, "t")
        stores = [f"p{b.index}[i] = {names[e]};" for b, e in k.outputs]
        if not _calls_math(roots):      # IEEE arithmetic rounds alike in vector and scalar code
            return ([f"static void {fn}(const int64_t count, char **p_) {{"] + unpack +
                     [f"    {self.simd}", "    for (int64_t i = 0; i < count; i++) {"] +
                     ["        " + s for s in body + stores] + ["    }", "}"])
        blk = f"egopt_b_{k.key}"
        params = ([f"const {self.ctype(b.dtype)} v{b.index}" for b in values] +
                  [f"{'const ' if b not in outs else ''}{self.ctype(b.dtype)} *p{b.index}" for b in ptrs])
        lines = [f"static EGOPT_NOINLINE void {blk}(const int64_t count, {', '.join(params)}) {{",
                 "    for (int64_t b_ = 0; b_ < count; b_ += EGOPT_PAD) {",
                 f"        {self.simd}",
                 "        for (int64_t j = 0; j < EGOPT_PAD; j++) {",
                 "            const int64_t i = b_ + j;"]
        lines += ["            " + s for s in body + stores] + ["        }", "    }", "}"]
        vals = [f"v{b.index}" for b in values]
        lines += [f"static void {fn}(const int64_t count, char **p_) {{"] + unpack
        lines += ["    const int64_t main_ = count - count % EGOPT_PAD;",
                  f"    if (main_) {blk}(main_, {', '.join(vals + [f'p{b.index}' for b in ptrs])});",
                  "    if (main_ == count) return;",
                  "    const int64_t rest_ = count - main_;"]
        for b in moving_in:
            lines.append(f"    {self.ctype(b.dtype)} pin{b.index}[EGOPT_PAD];")
            lines.append(f"    for (int64_t j = 0; j < EGOPT_PAD; j++) pin{b.index}[j] = p{b.index}[main_ + (j < rest_ ? j : 0)];")
        for b in outs:
            lines.append(f"    {self.ctype(b.dtype)} pout{b.index}[EGOPT_PAD];")
        lines.append(f"    {blk}(EGOPT_PAD, {', '.join(vals + [f'pin{b.index}' for b in moving_in] + [f'pout{b.index}' for b in outs])});")
        for b in outs:
            lines.append(f"    for (int64_t j = 0; j < rest_; j++) p{b.index}[main_ + j] = pout{b.index}[j];")
        lines.append("}")
        return lines

    # ---- reductions ---------------------------------------------------------------------------
    def _init(self, kind: str, dtype: str) -> str:
        if kind in ("sum", "mean", "any"):
            return "0"
        if kind in ("prod", "all"):
            return "1"
        if dtypes.is_float(dtype):
            return "(-INFINITY)" if kind == "max" else "INFINITY"
        if dtype == "bool":
            return "0" if kind == "max" else "1"
        info = np.iinfo(dtype)
        return self.const(Const(int(info.min if kind == "max" else info.max), dtype))

    def _combine(self, kind: str, acc: str, x: str) -> str:
        return {"sum": f"{acc} + {x}", "mean": f"{acc} + {x}", "prod": f"{acc} * {x}",
                "max": f"egopt_max({acc}, {x})", "min": f"egopt_min({acc}, {x})",
                "all": f"{acc} && {x}", "any": f"{acc} || {x}"}[kind]

    def _final(self, red, acc: str) -> str:
        """The output value of accumulator ``acc`` (mean divides by the element count)."""
        if red.kind != "mean":
            return acc
        return f"{acc} / ({'float' if red.acc == 'float32' else 'double'})nred"

    def render_reduce(self, k: Kernel) -> str:
        """For each output element, a loop over the reduced axes (the last one innermost); when
        the innermost axis is kept and every buffer is unit-stride along it (checked at run
        time), rows instead (``_reduce_rows``)."""
        d = k.ndim
        red = k.reduce
        (obuf, root), = k.outputs
        axes = red.axes
        kept = [a for a in range(d) if a not in axes]
        lines = self._head(k)
        acc_t = self.ctype(red.acc)
        out_t = self.ctype(obuf.dtype)
        lines.append("    int64_t nred = 1;" + "".join(f" nred *= shape[{a}];" for a in axes))
        lines.append("    const int64_t nout = nred ? n / nred : " +
                     ("1" + "".join(f" * shape[{a}]" for a in kept)) + ";")
        if red.kind in ("max", "min"):
            lines.append("    if (nred == 0 && nout > 0) return EGOPT_EMPTY_REDUCE;")
        if axes and d - 1 not in axes:
            fns, call = self._reduce_rows(k, [b for b in k.inputs if not b.invariant])
            lines = lines[:1] + fns + lines[1:] + call
        varying, inv_names, reads = self._invariant_reads(k)
        lines += reads
        bufs = varying + [obuf]
        lines.append(f"    #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) "
                     f"if(n > {self.parallel_threshold} && nout > 1 && egopt_nthreads > 1)")
        lines.append("    for (int64_t o = 0; o < nout; o++) {")
        for b in bufs:
            lines.append(f"        int64_t o{b.index} = 0;")
        if kept:
            lines.append("        int64_t rem = o;")
            lines += _unravel("        ", "rem", kept, bufs, "o", d)
        lines.append(f"        {acc_t} acc = {self._init(red.kind, red.acc)};")
        if axes:
            inner = axes[-1]
            outer_axes = axes[:-1]
            lines.append(f"        const int64_t len = shape[{inner}], reps = len ? nred / len : 0;")
            lines.append("        for (int64_t r = 0; r < reps; r++) {")
            for b in varying:
                lines.append(f"            int64_t p{b.index} = o{b.index};")
            if outer_axes:
                lines.append("            int64_t rem2 = r;")
                lines += _unravel("            ", "rem2", outer_axes, varying, "p", d)
            for b in varying:
                lines.append(f"            const char *restrict q{b.index} = (const char *)data[{b.index}] + p{b.index};")
                lines.append(f"            const int64_t s{b.index} = st[{b.index * d + inner}];")
            loads = {**inv_names, **{b.index: f"*(const {self.ctype(b.dtype)} *)(q{b.index} + i * s{b.index})" for b in varying}}
            body, names = self.exprs([root], loads, "t")
            simd = (f"{self.simd} reduction({'+' if red.kind in ('sum', 'mean') else '*'}:acc)"
                    if red.kind in ("sum", "mean", "prod") else "")
            lines.append(f"            {simd}")
            lines.append("            for (int64_t i = 0; i < len; i++) {")
            lines += ["                " + s for s in body]
            lines.append(f"                acc = {self._combine(red.kind, 'acc', names[root])};")
            lines.append("            }")
            lines.append("        }")
        else:       # reduce over no axis: the expression itself
            loads = {**inv_names, **{b.index: f"*(const {self.ctype(b.dtype)} *)((const char *)data[{b.index}] + o{b.index})" for b in varying}}
            body, names = self.exprs([root], loads, "t")
            lines += ["        " + s for s in body]
            lines.append(f"        acc = {self._combine(red.kind, 'acc', names[root])};")
        lines.append(f"        *({out_t} *)((char *)data[{obuf.index}] + o{obuf.index}) = ({out_t})({self._final(red, 'acc')});")
        lines.append("    }")
        lines += ["    return 0;", "}"]
        return "\n".join(lines)

    def _reduce_rows(self, k: Kernel, varying: Sequence[Buffer]) -> tuple[list[str], list[str]]:
        """The row order of a reduction whose innermost axis is kept, as NumPy sums ``axis=0``:
        (the kernel's static functions, the lines that call the shared driver
        ``egopt_reduce_rows`` and return when it applies). The fold function combines ``nr``
        input rows (row ``r`` of buffer ``b`` at ``q[b] + r * s[b]``: its first element, or its
        value for a buffer broadcast along the innermost axis) into the accumulator row in an
        ``omp simd`` loop over ``m`` output elements; the final function writes
        the output (a cast, mean's division), absent when the accumulator's bytes are the
        output's."""
        d = k.ndim
        red = k.reduce
        (obuf, root), = k.outputs
        last = d - 1
        nb = len(k.inputs) + 1
        values = [b for b in k.inputs if b.broadcast[last]]        # one value per input row
        moving = [b for b in varying if not b.broadcast[last]]
        acc_t = self.ctype(red.acc)
        out_t = self.ctype(obuf.dtype)
        fold, final = f"egopt_rf_{k.key}", f"egopt_rw_{k.key}"
        fns = [f"static void {fold}(const int64_t m, const int64_t nr, char *const *q, const int64_t *s, void *acc_) {{",
               f"    {acc_t} *a_ = ({acc_t} *)acc_;",
               "    int64_t r = 0;"]
        computed = sum(1 for e in walk([root]) if isinstance(e, (Call, Cast)))
        unroll = ROWS_UNROLL if computed <= ROWS_UNROLL_BODY else 1
        if unroll > 1:       # rows r..r+unroll-1 in one pass over the accumulator row
            fns += self._fold_rows(red, root, values, moving, unroll, f"r + {unroll} <= nr; r += {unroll}")
        fns += self._fold_rows(red, root, values, moving, 1, "r < nr; r++")
        fns.append("}")
        copy = red.kind != "mean" and red.acc == obuf.dtype
        if not copy:
            fns += [f"static void {final}(const int64_t m, const void *acc_, char *out_, const int64_t nred) {{",
                    f"    const {acc_t} *a_ = (const {acc_t} *)acc_;",
                    f"    {out_t} *w_ = ({out_t} *)out_;",
                    "    (void)nred;",
                    f"    for (int64_t j = 0; j < m; j++) w_[j] = ({out_t})({self._final(red, 'a_[j]')});",
                    "}"]
        kind = ["0" if bf.invariant else "2" if bf.broadcast[last] else "1" for bf in k.inputs] + ["3"]
        size = [str(np.dtype(bf.dtype).itemsize) for bf in k.inputs] + [str(np.dtype(obuf.dtype).itemsize)]
        reduced = ["1" if a in red.axes else "0" for a in range(d)]
        call = [f"    static const unsigned char kind[] = {{{', '.join(kind)}}}, size[] = {{{', '.join(size)}}}, "
                f"red[] = {{{', '.join(reduced)}}};",
                f"    const {acc_t} init_ = {self._init(red.kind, red.acc)};",
                f"    if (egopt_reduce_rows(shape, data, st, {d}, {nb}, kind, size, red, nred, nout, &init_, "
                f"sizeof init_, {fold}, {'0' if copy else final})) return 0;"]
        return fns, call

    def _fold_rows(self, red, root: Expr, values, moving, rows: int, loop: str) -> list[str]:
        """A loop (``for (; loop)``) folding ``rows`` input rows at a time into ``a_``, in row
        order (the same sums, products, NaNs and signed zeros whatever ``rows`` is)."""
        lines = [f"    for (; {loop}) {{"]
        for i in range(rows):
            for bf in values:
                ct = self.ctype(bf.dtype)
                lines.append(f"        const {ct} v{bf.index}_{i} = *(const {ct} *)(q[{bf.index}] + (r + {i}) * s[{bf.index}]);")
            for bf in moving:
                ct = self.ctype(bf.dtype)
                lines.append(f"        const {ct} *q{bf.index}_{i} = (const {ct} *)(q[{bf.index}] + (r + {i}) * s[{bf.index}]);")
        lines += [f"        {self.simd}", "        for (int64_t j = 0; j < m; j++) {",
                  f"            {self.ctype(red.acc)} c_ = a_[j];"]
        for i in range(rows):
            loads = {**{bf.index: f"v{bf.index}_{i}" for bf in values}, **{bf.index: f"q{bf.index}_{i}[j]" for bf in moving}}
            body, names = self.exprs([root], loads, f"t{i}_")
            lines += ["            " + x for x in body]
            lines.append(f"            c_ = {self._combine(red.kind, 'c_', names[root])};")
        lines += ["            a_[j] = c_;", "        }", "    }"]
        return lines


CONTIG_HELPER = r"""
static inline int egopt_contig(const int64_t *shape, const int64_t *st, int d, int64_t size) {
    for (int a = d - 1; a >= 0; a--) {
        if (shape[a] != 1 && st[a] != size) return 0;
        size *= shape[a];
    }
    return 1;
}
"""
COPY_HELPER = r"""
/* a strided run to and from contiguous scratch, by element size (one copy of each loop) */
#define EGOPT_COPY_CASES(DST, SRC) switch (size) { \
    case 8: for (int64_t j = 0; j < m; j++) *(uint64_t *)(DST) = *(const uint64_t *)(SRC); break; \
    case 4: for (int64_t j = 0; j < m; j++) *(uint32_t *)(DST) = *(const uint32_t *)(SRC); break; \
    case 2: for (int64_t j = 0; j < m; j++) *(uint16_t *)(DST) = *(const uint16_t *)(SRC); break; \
    default: for (int64_t j = 0; j < m; j++) *(uint8_t *)(DST) = *(const uint8_t *)(SRC); }
static EGOPT_NOINLINE void egopt_gather(char *dst, const char *src, int64_t s, int64_t m, int64_t size) {
    EGOPT_COPY_CASES(dst + j * size, src + j * s) }
static EGOPT_NOINLINE void egopt_scatter(char *dst, const char *src, int64_t s, int64_t m, int64_t size) {
    EGOPT_COPY_CASES(dst + j * s, src + j * size) }
"""
REDUCE_ROWS_DRIVER = r"""
/* The row order of a reduction whose innermost axis is kept (NumPy's for sum(x, axis=0)): per
   block of at most EGOPT_RBLOCK output elements along that axis, an accumulator row starts at
   *init, folds one input row per reduced index (fold(m, nr, q, s, acc): the nr rows along the
   innermost reduced axis at q[b] + r * s[b]), then is written by final (or copied when final
   is 0). kind[b]:
   0 invariant, 1 moves along the innermost axis, 2 broadcast along it, 3 the output (last);
   red[a]: axis a is reduced. Returns 0, doing nothing, unless the output and every buffer of
   kind 1 are unit-stride along the innermost axis. Blocks are the threads' unit of work, and
   every element folds its reduced indices in C order whatever the blocks: the results do not
   depend on the thread count. */
typedef void (*egopt_fold_fn)(int64_t m, int64_t nr, char *const *q, const int64_t *s, void *acc);
typedef void (*egopt_final_fn)(int64_t m, const void *acc, char *out, int64_t nred);
static EGOPT_NOINLINE EGOPT_LIGHT int egopt_reduce_rows(const int64_t *shape, char **data, const int64_t *st,
        const int d, const int nb, const unsigned char *kind, const unsigned char *size,
        const unsigned char *red, const int64_t nred, const int64_t nout, const void *init,
        const int asize, egopt_fold_fn fold, egopt_final_fn final) {
    const int64_t len = shape[d - 1];
    if (len < 2 || nout == 0) return 0;
    for (int b = 0; b < nb; b++)
        if ((kind[b] == 1 || kind[b] == 3) && st[b * d + d - 1] != size[b]) return 0;
    int al = 0;                                   /* the innermost reduced axis: one fold call per line of it */
    for (int a = 0; a < d; a++) if (red[a]) al = a;
    int64_t sl[nb];
    for (int b = 0; b < nb; b++) sl[b] = kind[b] ? st[b * d + al] : 0;
    const int64_t nrow = nout / len, nline = shape[al] ? nred / shape[al] : 0;
    const int par = nout * nred > EGOPT_PARALLEL && egopt_nthreads > 1;
    int64_t blk = EGOPT_RBLOCK;
    if (par && nrow < 2 * egopt_nthreads) {       /* split rows in blocks: work for every thread */
        const int64_t per = (2 * egopt_nthreads + nrow - 1) / nrow;
        int64_t b = ((len + per - 1) / per + EGOPT_PAD - 1) / EGOPT_PAD * EGOPT_PAD;
        if (b < 4 * EGOPT_PAD) b = 4 * EGOPT_PAD;
        if (b < blk) blk = b;
    }
    const int64_t nblk = (len + blk - 1) / blk, ntask = nrow * nblk;
    #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) if(par && ntask > 1)
    for (int64_t t = 0; t < ntask; t++) {
        const int64_t c0 = (t % nblk) * blk, m = len - c0 < blk ? len - c0 : blk;
        int64_t p[nb], ix[d];
        char *q[nb];
        for (int b = 0; b < nb; b++) p[b] = kind[b] ? c0 * st[b * d + d - 1] : 0;
        int64_t rem = t / nblk;
        for (int a = d - 2; a >= 0; a--) {
            if (red[a]) continue;
            const int64_t i = rem % shape[a];
            rem /= shape[a];
            for (int b = 0; b < nb; b++) if (kind[b]) p[b] += i * st[b * d + a];
        }
        char *out = data[nb - 1] + p[nb - 1];
        _Alignas(64) int64_t acc[EGOPT_RBLOCK];     /* the accumulator row: elements of at most 8 bytes */
        for (int64_t j = 0; j < m * asize; j += asize) __builtin_memcpy((char *)acc + j, init, asize);
        for (int a = 0; a < d; a++) ix[a] = 0;
        for (int64_t u = 0; u < nline; u++) {
            for (int b = 0; b < nb; b++) q[b] = data[b] + p[b];
            fold(m, shape[al], q, sl, acc);
            for (int a = al - 1; a >= 0; a--) {   /* the next line: the outer reduced axes, C order */
                if (!red[a]) continue;
                for (int b = 0; b < nb; b++) if (kind[b]) p[b] += st[b * d + a];
                if (++ix[a] < shape[a]) break;
                for (int b = 0; b < nb; b++) if (kind[b]) p[b] -= shape[a] * st[b * d + a];
                ix[a] = 0;
            }
        }
        if (final) final(m, acc, out, nred);
        else __builtin_memcpy(out, acc, m * asize);
    }
    return 1;
}
"""
ELEMWISE_DRIVER = r"""
/* The loops of every elementwise kernel around its contiguous function fn(count, p), where p[b]
   points at buffer b's first element of the run. kind[b]: 0 a value (invariant, or broadcast
   along the innermost axis: read once per run), 1 an input read along the run, 2 an output.
   The whole array in chunks when flat_ok and every buffer is C-contiguous; else row by row
   (the innermost axis), a strided row in tiles gathered into (scattered from) scratch. */
typedef void (*egopt_run_fn)(int64_t count, char **p);
static EGOPT_NOINLINE EGOPT_LIGHT int egopt_elemwise(const int64_t *shape, char **data, const int64_t *st,
        const int d, const int nb, const unsigned char *kind, const unsigned char *size,
        const int flat_ok, egopt_run_fn fn) {
    int64_t n = 1;
    for (int a = 0; a < d; a++) n *= shape[a];
    if (n == 0) return 0;
    int contig = flat_ok;
    for (int b = 0; b < nb && contig; b++)
        if (kind[b] && !egopt_contig(shape, st + b * d, d, size[b])) contig = 0;
    if (contig) {
        const int64_t nch = (n + EGOPT_CHUNK - 1) / EGOPT_CHUNK;
        #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) if(n > EGOPT_PARALLEL && egopt_nthreads > 1)
        for (int64_t c = 0; c < nch; c++) {
            char *p[nb];
            const int64_t o = c * EGOPT_CHUNK;
            for (int b = 0; b < nb; b++) p[b] = data[b] + (kind[b] ? o * size[b] : 0);
            fn(n - o < EGOPT_CHUNK ? n - o : EGOPT_CHUNK, p);
        }
        return 0;
    }
    const int64_t len = shape[d - 1], rows = n / len;
    int strided = 0;
    for (int b = 0; b < nb; b++)
        if (kind[b] && st[b * d + d - 1] != size[b]) strided = 1;
    #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) if(n > EGOPT_PARALLEL && egopt_nthreads > 1)
    for (int64_t r = 0; r < rows; r++) {
        char *p[nb], *q[nb];
        if (d == 2) {
            for (int b = 0; b < nb; b++) p[b] = data[b] + r * st[b * 2];
        } else {
            int64_t ix[d];
            int64_t rem = r;
            for (int a = d - 2; a > 0; a--) { ix[a] = rem % shape[a]; rem /= shape[a]; }
            ix[0] = rem;
            for (int b = 0; b < nb; b++) {
                int64_t o = 0;
                for (int a = 0; a < d - 1; a++) o += ix[a] * st[b * d + a];
                p[b] = data[b] + o;
            }
        }
        if (!strided) { fn(len, p); continue; }
        int64_t w[nb][EGOPT_TILE];      /* scratch: EGOPT_TILE elements of at most 8 bytes */
        for (int64_t c = 0; c < len; c += EGOPT_TILE) {
            const int64_t m = len - c < EGOPT_TILE ? len - c : EGOPT_TILE;
            for (int b = 0; b < nb; b++) {         /* only the strided buffers go through scratch */
                const int64_t s = st[b * d + d - 1];
                q[b] = !kind[b] ? p[b] : s == size[b] ? p[b] + c * s : (char *)w[b];
                if (kind[b] == 1 && s != size[b]) egopt_gather(q[b], p[b] + c * s, s, m, size[b]);
            }
            fn(m, q);
            for (int b = 0; b < nb; b++) {
                const int64_t s = st[b * d + d - 1];
                if (kind[b] == 2 && s != size[b]) egopt_scatter(p[b] + c * s, q[b], s, m, size[b]);
            }
        }
    }
    return 0;
}
"""
PRELUDE = PRELUDE + CONTIG_HELPER + COPY_HELPER + f"\n#define EGOPT_PARALLEL {CRenderer.parallel_threshold}" + ELEMWISE_DRIVER.replace("%", "%%") + REDUCE_ROWS_DRIVER.replace("%", "%%") + EXP_HELPER


# ops whose C is IEEE arithmetic (correctly rounded, or exact), the same in vector and scalar code
_ARITHMETIC = {"abs", "add", "sub", "mul", "true_div", "neg", "sqr", "sqrt", "identity", "second", "cast",
               "maximum", "minimum", "clip", "eq", "neq", "lt", "le", "gt", "ge", "switch", "and_", "or_",
               "xor", "invert", "floor", "ceil", "isnan", "isinf", "sgn", "int_div", "mod"}


def _calls_math(roots) -> bool:
    """Does the expression call a math function (which libmvec's vector variant may round
    differently from the scalar one)?"""
    return any(isinstance(e, Call) and e.op not in _ARITHMETIC for e in walk(roots))


def _unravel(indent: str, var: str, axes, bufs, prefix: str, d: int) -> list[str]:
    """C lines that split the flat counter ``var`` over ``axes`` (last fastest) and add each
    axis' stride to every buffer's offset ``<prefix><index>``."""
    lines = []
    for a in reversed(axes):
        if a == axes[0]:     # the outermost axis: what is left of the counter (no division)
            lines.append(f"{indent}{{ const int64_t ix = {var};")
        else:
            lines.append(f"{indent}{{ const int64_t ix = {var} % shape[{a}]; {var} /= shape[{a}];")
        lines.append(indent + "  " + " ".join(f"{prefix}{b.index} += ix * st[{b.index * d + a}];" for b in bufs)
                     + " }")
    return lines
