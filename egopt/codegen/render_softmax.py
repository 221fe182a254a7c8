"""C rendering of softmax and log_softmax kernels (``Kernel.normalize``), a mixin of
``CRenderer``: per line along the axis a max, one exponential per element (libmvec, in flat
vector passes over blocks of lines), the sums, then the outputs; the pair kernel computes both
from one input. log_softmax keeps the NumPy reference's accuracy (the max's own term, an exact
1, is left out of the sum and log1p taken)."""
from __future__ import annotations

import numpy as np

from .kernel_ir import Cast, Expr, Kernel, Load


class SoftmaxKernels:
    """``render_normalize`` and ``render_normalize_pair``; the host class supplies ``ctype``,
    ``exprs``, ``simd``, ``parallel_threshold``, ``_head`` and ``unravel``."""

    # ---- softmax / log_softmax along one axis ---------------------------------------------------
    def render_normalize_pair(self, k: Kernel) -> str:
        """softmax (output 0) and log_softmax (output 1) of one input along one axis in one
        pass: one max, one exponential per element, the sum for softmax and the sum without the
        max's own 1 for log_softmax (log1p, as log_softmax alone). A line whose max is not
        finite has an all-NaN softmax, as the reference's ``exp(x - max) / sum``."""
        d, nz = k.ndim, k.normalize
        (sbuf, root), (lbuf, _) = k.outputs
        axis, kept = nz.axis, [a for a in range(d) if a != nz.axis]
        t, acc_t = self.ctype(root.dtype), self.ctype(nz.acc)
        lines = self._head(k)
        lines.append("    if (n == 0) return 0;")
        lines.append(f"    const int64_t len = shape[{axis}], rows = n / len;")
        varying, inv_names, reads = self._invariant_reads(k)
        lines += reads
        bufs = varying + [sbuf, lbuf]
        lines += self._pair_contiguous(k, root, t, acc_t)
        lines.append(f"    #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) "
                     f"if(n > {self.parallel_threshold} && rows > 1 && egopt_nthreads > 1)")
        lines.append("    for (int64_t r = 0; r < rows; r++) {")
        lines += [f"        int64_t o{b.index} = 0;" for b in bufs]
        if kept:
            lines.append("        int64_t rem = r;")
            lines += self.unravel("        ", "rem", kept, bufs, "o", d)
        for b in bufs:
            const = "const " if b in varying else ""
            lines.append(f"        {const}char *q{b.index} = ({const}char *)data[{b.index}] + o{b.index};")
            lines.append(f"        const int64_t s{b.index} = st[{b.index * d + axis}];")
        loads = {**inv_names, **{b.index: f"*(const {self.ctype(b.dtype)} *)(q{b.index} + i * s{b.index})"
                                 for b in varying}}
        body, names = self.exprs([root], loads, "t")
        x = names[root]
        so = f"*({t} *)(q{sbuf.index} + i * s{sbuf.index})"
        lo = f"*({t} *)(q{lbuf.index} + i * s{lbuf.index})"

        def loop(stmts: list[str], start: str = "0") -> list[str]:
            return ([f"        for (int64_t i = {start}; i < len; i++) {{"] +
                    ["            " + st_ for st_ in body + stmts] + ["        }"])
        lines += [f"        {t} best = 0; int64_t first = 0;", "        { const int64_t i = 0;"]
        lines += ["          " + st_ for st_ in body] + [f"          best = {x}; }}"]
        lines += loop([f"if (best == best && ({x} > best || {x} != {x})) {{ best = {x}; first = i; }}"], "1")
        lines.append("        const int fin = isfinite(best);")
        lines.append(f"        const {t} m = fin ? best : ({t})0;")
        lines.append(f"        {acc_t} sum = 0, rest = 0; int skip = 0;")
        lines += loop([f"const {t} z = {x} - m;", f"const {t} e = exp(z);", f"{so} = e;", "sum += e;",
                       "if (i == first && z == 0) skip = 1; else rest += e;"])
        lines.append(f"        const {t} lse = ({t})(skip ? log1p(rest) : log(rest));")
        lines.append(f"        const {t} total = ({t})sum;")
        lines += loop([f"{lo} = ({x} - m) - lse;", f"{so} = fin ? {so} / total : ({t})NAN;"])
        lines.append("    }")
        lines += ["    return 0;", "}"]
        return "\n".join(lines)

    def _pair_contiguous(self, k: Kernel, root: Expr, t: str, acc_t: str) -> list[str]:
        """The pair's blocked path (last axis, plain input, everything C-contiguous): shifted
        values into the softmax output, one vector exp pass per block, sums per line, one
        vector log/log1p pass per block, then both outputs."""
        d, nz = k.ndim, k.normalize
        (sbuf, _), (lbuf, _) = k.outputs
        inner = root.arg if isinstance(root, Cast) else root
        if nz.axis != d - 1 or not isinstance(inner, Load) or len(k.inputs) != 1 or k.inputs[0].invariant:
            return []
        b = k.inputs[0]
        tin = self.ctype(b.dtype)
        sfx = "f" if root.dtype == "float32" else "d"
        x = f"({t})xr[i]"
        xf = x.replace("[i]", "[first]")
        contig = " && ".join(f"egopt_contig(shape, st + {c.index * d}, {d}, {np.dtype(c.dtype).itemsize})"
                             for c in (b, sbuf, lbuf))

        def rowptrs(ind: str) -> list[str]:
            return [f"{ind}const {tin} *restrict xr = (const {tin} *)data[{b.index}] + r * len;",
                    f"{ind}{t} *restrict e = ({t} *)data[{sbuf.index}] + r * len;",
                    f"{ind}{t} *restrict lo = ({t} *)data[{lbuf.index}] + r * len;"]
        ind = "                "
        return ([f"    if ({contig}) {{",
                 "        const int64_t block = len >= 1024 ? 1 : 1024 / len;",
                 f"        #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) "
                 f"if(n > {self.parallel_threshold} && rows > block && egopt_nthreads > 1)",
                 "        for (int64_t r0 = 0; r0 < rows; r0 += block) {",
                 "            const int64_t r1 = r0 + block < rows ? r0 + block : rows;",
                 f"            {t} shift[1024]; unsigned char fin[1024], ones[1024]; double sums[1024], tots[1024];",
                 "            for (int64_t r = r0; r < r1; r++) {"] + rowptrs(ind) +
                [f"{ind}{t} mx = ({t})xr[0]; int nan = 0;",
                 f"{ind}for (int64_t i = 0; i < len; i++) {{ const {t} v = {x}; mx = v > mx ? v : mx; nan |= v != v; }}",
                 f"{ind}const {t} best = nan ? ({t})NAN : mx;",
                 f"{ind}fin[r - r0] = isfinite(best);",
                 f"{ind}const {t} m = fin[r - r0] ? best : ({t})0;",
                 f"{ind}shift[r - r0] = m;",
                 f"{ind}for (int64_t i = 0; i < len; i++) e[i] = {x} - m;",
                 "            }",
                 f"            egopt_exp_inplace_{sfx}(({t} *)data[{sbuf.index}] + r0 * len, (r1 - r0) * len);",
                 "            for (int64_t r = r0; r < r1; r++) {"] + rowptrs(ind) +
                [f"{ind}const {t} m = shift[r - r0];",
                 f"{ind}int64_t first = 0;",
                 f"{ind}while (first < len - 1 && !({xf} == m || {xf} != {xf})) first++;",
                 f"{ind}const int64_t skip = ({xf} - m) == 0 ? first : -1;",
                 f"{ind}{acc_t} sum = 0, rest = 0;",
                 f"{ind}for (int64_t i = 0; i < len; i++) {{ sum += e[i]; rest += i == skip ? 0 : e[i]; }}",
                 f"{ind}sums[r - r0] = rest; ones[r - r0] = skip >= 0; tots[r - r0] = sum;",
                 "            }",
                 "            egopt_lse_rows(sums, ones, r1 - r0);",
                 "            for (int64_t r = r0; r < r1; r++) {"] + rowptrs(ind) +
                [f"{ind}const {t} m = shift[r - r0], lse = ({t})sums[r - r0], total = ({t})tots[r - r0];",
                 f"{ind}const int f = fin[r - r0];",
                 f"{ind}for (int64_t i = 0; i < len; i++) {{ lo[i] = ({x} - m) - lse; e[i] = f ? e[i] / total : ({t})NAN; }}",
                 "            }",
                 "        }",
                 "        return 0;",
                 "    }"])

    def render_normalize(self, k: Kernel) -> str:
        """Per line along the axis: the max (NaN-propagating) and the first index holding it, the
        sum of exponentials in ``acc``, then the output. log_softmax keeps the NumPy reference's
        accuracy: the max's own term (an exact 1) is left out of the sum and log1p taken, so a
        dominated entry keeps its tiny log-probability.

        When the axis is the last and the output C-contiguous (always, for a fresh output), lines
        go in blocks: shifted values are written to the output, exponentiated in one flat vector
        pass over the block (libmvec), then summed and finished per line; else one line at a time
        with scalar exponentials."""
        d, nz = k.ndim, k.normalize
        (obuf, root), = k.outputs
        axis, kept = nz.axis, [a for a in range(d) if a != nz.axis]
        t, acc_t = self.ctype(root.dtype), self.ctype(nz.acc)
        sfx = "f" if root.dtype == "float32" else "d"
        lines = self._head(k)
        lines.append("    if (n == 0) return 0;")
        lines.append(f"    const int64_t len = shape[{axis}], rows = n / len;")
        varying, inv_names, reads = self._invariant_reads(k)
        lines += reads
        bufs = varying + [obuf]
        loads = {**inv_names, **{b.index: f"*(const {self.ctype(b.dtype)} *)(q{b.index} + i * s{b.index})"
                                 for b in varying}}
        body, names = self.exprs([root], loads, "t")
        x = names[root]
        out = f"*({self.ctype(obuf.dtype)} *)(q{obuf.index} + i * s{obuf.index})"

        def line_start(indent: str, row: str) -> list[str]:
            ls = [f"{indent}int64_t o{b.index} = 0;" for b in bufs]
            if kept:
                ls.append(f"{indent}int64_t rem = {row};")
                ls += self.unravel(indent, "rem", kept, bufs, "o", d)
            for b in bufs:
                const = "const " if b is not obuf else ""
                ls.append(f"{indent}{const}char *q{b.index} = ({const}char *)data[{b.index}] + o{b.index};")
                ls.append(f"{indent}const int64_t s{b.index} = st[{b.index * d + axis}];")
            return ls

        def loop(indent: str, stmts: list[str], start: str = "0") -> list[str]:
            return ([f"{indent}for (int64_t i = {start}; i < len; i++) {{"] +
                    [f"{indent}    " + st_ for st_ in body + stmts] + [f"{indent}}}"])

        def line_max(indent: str) -> list[str]:
            ls = [f"{indent}{t} best = 0; int64_t first = 0;", f"{indent}{{ const int64_t i = 0;"]
            ls += [f"{indent}  " + st_ for st_ in body] + [f"{indent}  best = {x}; }}"]
            return ls + loop(indent, [f"if (best == best && ({x} > best || {x} != {x})) {{ best = {x}; first = i; }}"], "1")
        log = nz.kind == "log_softmax"
        obase = f"(({t} *)data[{obuf.index}])"
        lines += self._normalize_contiguous(k, root, t, acc_t, sfx, log)
        # blocked path: the axis is the last and the output C-contiguous
        lines.append(f"    if ({'1' if axis == d - 1 else '0'} && "
                     f"egopt_contig(shape, st + {obuf.index * d}, {d}, {np.dtype(obuf.dtype).itemsize})) {{")
        lines.append("        const int64_t block = len >= 1024 ? 1 : 1024 / len;")
        lines.append(f"        #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) "
                     f"if(n > {self.parallel_threshold} && rows > block && egopt_nthreads > 1)")
        lines.append("        for (int64_t r0 = 0; r0 < rows; r0 += block) {")
        lines.append("            const int64_t r1 = r0 + block < rows ? r0 + block : rows;")
        if log:
            lines.append(f"            {t} shift[1024]; int64_t top[1024];")
        lines.append("            for (int64_t r = r0; r < r1; r++) {")
        lines += line_start("                ", "r")
        lines += line_max("                ")
        if log:
            lines.append(f"                const {t} m = isfinite(best) ? best : ({t})0;")
            lines.append("                shift[r - r0] = m; top[r - r0] = first;")
            lines += loop("                ", [f"{out} = {x} - m;"])
        else:
            lines += loop("                ", [f"{out} = {x} - best;"])
        lines.append("            }")
        lines.append(f"            egopt_exp_inplace_{sfx}({obase} + r0 * len, (r1 - r0) * len);")
        lines.append("            for (int64_t r = r0; r < r1; r++) {")
        lines.append(f"                {t} *restrict e = {obase} + r * len;")
        if log:
            lines.append(f"                const int64_t first = top[r - r0]; const {t} m = shift[r - r0];")
            lines += line_start("                ", "r")
            lines.append("                int one = 0;   /* the max's own term is exactly 1: leave it out, log1p */")
            lines.append("                { const int64_t i = first;")
            lines += ["                  " + st_ for st_ in body]
            lines.append(f"                  one = ({x} - m) == 0; }}")
            lines.append(f"                {acc_t} rest = 0;")
            lines.append("                for (int64_t i = 0; i < len; i++) if (!(one && i == first)) rest += e[i];")
            lines.append(f"                const {t} lse = ({t})(one ? log1p(rest) : log(rest));")
            lines += loop("                ", [f"{out} = ({x} - m) - lse;"])
        else:
            lines.append(f"                {acc_t} sum = 0;")
            lines.append("                for (int64_t i = 0; i < len; i++) sum += e[i];")
            lines.append(f"                const {t} total = ({t})sum;")
            lines.append("                for (int64_t i = 0; i < len; i++) e[i] = e[i] / total;")
        lines.append("            }")
        lines.append("        }")
        lines.append("        return 0;")
        lines.append("    }")
        # general path: one line at a time
        lines.append(f"    #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) "
                     f"if(n > {self.parallel_threshold} && rows > 1 && egopt_nthreads > 1)")
        lines.append("    for (int64_t r = 0; r < rows; r++) {")
        lines += line_start("        ", "r")
        lines += line_max("        ")
        if not log:
            lines.append(f"        {acc_t} sum = 0;")
            lines += loop("        ", [f"const {t} e = exp({x} - best);", f"{out} = e;", "sum += e;"])
            lines.append(f"        const {t} total = ({t})sum;")
            lines.append("        for (int64_t i = 0; i < len; i++) {")
            lines.append(f"            {out} = {out} / total;")
            lines.append("        }")
        else:
            lines.append(f"        const {t} m = isfinite(best) ? best : ({t})0;")
            lines.append(f"        {acc_t} rest = 0; int top_is_one = 0;")
            lines += loop("        ", [f"const {t} z = {x} - m;",
                                      "if (i == first && z == 0) top_is_one = 1; else rest += exp(z);"])
            lines.append(f"        const {t} lse = ({t})(top_is_one ? log1p(rest) : log(rest));")
            lines += loop("        ", [f"{out} = ({x} - m) - lse;"])
        lines.append("    }")
        lines += ["    return 0;", "}"]
        return "\n".join(lines)


    def _normalize_contiguous(self, k: Kernel, root: Expr, t: str, acc_t: str, sfx: str, log: bool) -> list[str]:
        """The common case as vector loops: a plain input (or a cast of one) normalized along
        its last axis, input and output C-contiguous at run time. Lines of 32 or more use
        vector loops; shorter ones scalar loops (a vector loop's set-up and remainder cost more
        than ten elements)."""
        long = self._normalize_lines(k, root, t, acc_t, sfx, log, self.simd)
        if not long:
            return []
        short = self._normalize_lines(k, root, t, acc_t, sfx, log, "")
        return ["    if (len >= 32) {"] + ["    " + x for x in long] + ["    }"] + short

    def _normalize_lines(self, k: Kernel, root: Expr, t: str, acc_t: str, sfx: str, log: bool,
                         simd: str) -> list[str]:
        d, nz = k.ndim, k.normalize
        (obuf, _), = k.outputs
        inner = root.arg if isinstance(root, Cast) else root
        if nz.axis != d - 1 or not isinstance(inner, Load) or len(k.inputs) != 1 or k.inputs[0].invariant:
            return []
        b = k.inputs[0]
        tin = self.ctype(b.dtype)
        x = f"({t})xr[i]"
        lines = [f"    if (egopt_contig(shape, st + {b.index * d}, {d}, {np.dtype(b.dtype).itemsize}) && "
                 f"egopt_contig(shape, st + {obuf.index * d}, {d}, {np.dtype(obuf.dtype).itemsize})) {{",
                 "        const int64_t block = len >= 1024 ? 1 : 1024 / len;",
                 f"        #pragma omp parallel for num_threads(egopt_nthreads) schedule(static) "
                 f"if(n > {self.parallel_threshold} && rows > block && egopt_nthreads > 1)",
                 "        for (int64_t r0 = 0; r0 < rows; r0 += block) {",
                 "            const int64_t r1 = r0 + block < rows ? r0 + block : rows;",
                 f"            {t} shift[1024];" + (" double sums[1024]; unsigned char ones[1024];" if log else ""),
                 "            for (int64_t r = r0; r < r1; r++) {",
                 f"                const {tin} *restrict xr = (const {tin} *)data[{b.index}] + r * len;",
                 f"                {t} *restrict orow = ({t} *)data[{obuf.index}] + r * len;",
                 f"                {t} mx = {x.replace('[i]', '[0]')}; int nan = 0;",
                 f"                {simd} reduction(max:mx) reduction(|:nan)" if simd else "",
                 f"                for (int64_t i = 0; i < len; i++) {{ const {t} v = {x}; mx = v > mx ? v : mx; nan |= v != v; }}",
                 f"                const {t} best = nan ? ({t})NAN : mx;"]
        if log:
            lines += [f"                const {t} m = isfinite(best) ? best : ({t})0;"]
        else:
            lines += [f"                const {t} m = best;"]
        lines += ["                shift[r - r0] = m;",
                  f"                {simd}",
                  f"                for (int64_t i = 0; i < len; i++) orow[i] = {x} - m;",
                  "            }",
                  f"            egopt_exp_inplace_{sfx}(({t} *)data[{obuf.index}] + r0 * len, (r1 - r0) * len);",
                  "            for (int64_t r = r0; r < r1; r++) {",
                  f"                const {tin} *restrict xr = (const {tin} *)data[{b.index}] + r * len;",
                  f"                {t} *restrict e = ({t} *)data[{obuf.index}] + r * len;",
                  f"                const {t} m = shift[r - r0];",
                  f"                {acc_t} sum = 0;"]
        if log:
            # the first index holding the max: its term is exactly 1 when x - m == 0 there, and
            # is left out of the sum (log1p of the rest)
            xf = x.replace('[i]', '[first]')
            lines += ["                int64_t first = 0;",
                      f"                while (first < len - 1 && !({xf} == m || {xf} != {xf})) first++;",
                      f"                const int64_t skip = ({xf} - m) == 0 ? first : -1;",
                      f"                {simd} reduction(+:sum)" if simd else "",
                      "                for (int64_t i = 0; i < len; i++) sum += i == skip ? 0 : e[i];",
                      "                sums[r - r0] = sum; ones[r - r0] = skip >= 0;",
                      "            }",
                      "            egopt_lse_rows(sums, ones, r1 - r0);",
                      "            for (int64_t r = r0; r < r1; r++) {",
                      f"                const {tin} *restrict xr = (const {tin} *)data[{b.index}] + r * len;",
                      f"                {t} *restrict e = ({t} *)data[{obuf.index}] + r * len;",
                      f"                const {t} m = shift[r - r0], lse = ({t})sums[r - r0];",
                      f"                {simd}",
                      f"                for (int64_t i = 0; i < len; i++) e[i] = ({x} - m) - lse;"]
        else:
            lines += [f"                {simd} reduction(+:sum)" if simd else "",
                      "                for (int64_t i = 0; i < len; i++) sum += e[i];",
                      f"                const {t} total = ({t})sum;",
                      f"                {simd}",
                      "                for (int64_t i = 0; i < len; i++) e[i] = e[i] / total;"]
        lines += ["            }", "        }", "        return 0;", "    }"]
        return lines


EXP_HELPER = r"""
/* exp in place over a contiguous run, every element through the same vector code: the body
   runs in whole blocks, and the remainder through that loop on a padded copy, so a value
   rounds the same at every position (libmvec's variants and scalar exp can differ by an ulp) */
#define EGOPT_EXP_INPLACE(T, S) \
static void egopt_exp_inplace_##S(T *p, int64_t n) { \
    const int64_t main = n - n %% EGOPT_PAD; \
    _Pragma("omp simd") \
    for (int64_t i = 0; i < main; i++) p[i] = exp(p[i]); \
    if (main < n) { \
        T pad[EGOPT_PAD] = {0}; \
        for (int64_t i = main; i < n; i++) pad[i - main] = p[i]; \
        _Pragma("omp simd") \
        for (int64_t i = 0; i < EGOPT_PAD; i++) pad[i] = exp(pad[i]); \
        for (int64_t i = main; i < n; i++) p[i] = pad[i - main]; \
    } \
}
EGOPT_EXP_INPLACE(double, d)
EGOPT_EXP_INPLACE(float, f)

/* log-sum-exp of softmax lines from their sums: log1p where the max's own 1 was left out */
static void egopt_lse_rows(double *s, const unsigned char *one, int64_t n) {
    const int64_t main = n - n %% EGOPT_PAD;
    _Pragma("omp simd")
    for (int64_t i = 0; i < main; i++) s[i] = one[i] ? log1p(s[i]) : log(s[i]);
    if (main < n) {
        double pad[EGOPT_PAD] = {0}; unsigned char po[EGOPT_PAD] = {0};
        for (int64_t i = main; i < n; i++) { pad[i - main] = s[i]; po[i - main] = one[i]; }
        _Pragma("omp simd")
        for (int64_t i = 0; i < EGOPT_PAD; i++) pad[i] = po[i] ? log1p(pad[i]) : log(pad[i]);
        for (int64_t i = main; i < n; i++) s[i] = pad[i - main];
    }
}
"""
