"""Bench output: the printed table, the JSON file, the markdown report with its PNG chart, and
the check of issue 9's targets against one run's figures."""
from __future__ import annotations

import json
import os
from typing import Iterable

from .harness import OK, Row

NOISE = ("The machine may be shared: absolute times can move ~1.5x between runs; ratios measured "
         "in the same run (interleaved samples) move far less.")


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.2f} us"


def _ratio(r: Row, key: str) -> str:
    v = r.metrics.get(key)
    return f"{v:.2f}" if v is not None else "-"


def _groups(rows: Iterable[Row]) -> dict[tuple, list[Row]]:
    out: dict[tuple, list[Row]] = {}
    for r in rows:
        out.setdefault((r.workload, r.threads, r.case), []).append(r)
    return out


def table(rows: list[Row], titles: dict[str, str]) -> str:
    lines = []
    last = None
    for (wl, threads, case), group in _groups([r for g in _by_workload(rows).values() for r in g]).items():
        if (wl, threads) != last:
            last = (wl, threads)
            lines += ["", f"== {wl}: {titles.get(wl, '')}  [threads={threads}]",
                      f"{'case':<38}{'system':<24}{'min':>12}{'median':>12}{'x numpy':>9}{'x best':>8}  notes"]
        for i, r in enumerate(group):
            head = case if i == 0 else ""
            if r.status != OK:
                lines.append(f"{head:<38}{r.system:<24}{r.status.upper():>12}{'':>12}{'':>9}{'':>8}  {r.notes}")
                continue
            lines.append(f"{head:<38}{r.system:<24}{fmt_time(r.min_s):>12}{fmt_time(r.median_s):>12}"
                         f"{_ratio(r, 'x_numpy'):>9}{_ratio(r, 'x_best'):>8}  {r.notes}")
    return "\n".join(lines).lstrip("\n")


# ---- issue 9's targets ---------------------------------------------------------------------------------
def _find(rows, wl, case_prefix, system, threads=1):
    return next((r for r in rows if r.workload == wl and r.case.startswith(case_prefix) and r.system == system
                 and r.threads == threads and r.status == OK), None)


def targets(rows: list[Row]) -> list[tuple[str, str, str]]:
    """(target, verdict 'holds' / 'MISSED' / 'not measured', evidence) for each issue-9 target."""
    out = []

    def check(name, ok, evidence):
        out.append((name, "not measured" if ok is None else ("holds" if ok else "MISSED"), evidence))

    def vs(wl, case, system, other, factor=1.0, threads=1):
        e, o = _find(rows, wl, case, system, threads), _find(rows, wl, case, other, threads)
        if e is None or o is None:
            return None, f"{system if e is None else other} not measured"
        ratio = e.median_s / o.median_s
        return ratio <= factor, f"{system} {fmt_time(e.median_s)} vs {other} {fmt_time(o.median_s)} ({ratio:.2f}x)"

    for case in sorted({r.case for r in rows if r.workload == "W1" and r.case != "all"}):
        dt = case.split()[-1]
        need = 0.5 if dt == "float32" else 0.2
        check(f"W1 {case}, 1 thread: >= {1 / need:.0f}x faster than NumPy", *vs("W1", case, "egopt", "numpy", need))
        check(f"W1 {case}, 1 thread: ahead of JAX", *vs("W1", case, "egopt", "jax"))
        check(f"W1 {case}, 1 thread: within 1.3x of the hand-written SIMD C loop",
              *vs("W1", case, "egopt", "c_simd (ref)", 1.3))
        e, n = _find(rows, "W1", case, "egopt"), _find(rows, "W1", case, "numpy")
        fu = e.metrics.get("function_ulp") if e is not None else None
        worst = max(fu.values()) if fu else None
        check(f"W1 {case}: exp/sin/log1p within 4 ulp of the correctly rounded result",
              None if worst is None else worst <= 4,
              "egopt not measured" if worst is None else
              ", ".join(f"{k} {v:.2f}" for k, v in fu.items()) + " ulp; whole formula "
              f"{e.metrics['max_ulp']:.2f} ulp of |a|+|b|" + (f" (NumPy's {n.metrics['max_ulp']:.2f})" if n else ""))
    for wl in ("W2", "W3"):
        case = next((r.case for r in rows if r.workload == wl), None)
        if case is None:
            continue
        check(f"{wl}, 1 thread: no slower than the NumPy step", *vs(wl, case, "egopt", "numpy"))
        for peer in ("pytensor", "jax"):
            check(f"{wl}, 1 thread: ahead of {peer}", *vs(wl, case, "egopt", peer))
    e = _find(rows, "W5", "x+y", "egopt")
    if any(r.workload == "W5" for r in rows):
        check("W5: per-call overhead under 1.5 us", None if e is None else e.median_s < 1.5e-6,
              "egopt not measured" if e is None else fmt_time(e.median_s))
    for g in ("W2", "W3"):
        for kind, limit in (("cold", 1.5), ("warm", 0.15)):
            e = _find(rows, "W6", f"{g} {kind}", "egopt")
            if any(r.workload == "W6" and r.case == f"{g} {kind}" for r in rows):
                check(f"W6 {g} {kind}: first result under {limit} s", None if e is None else e.median_s < limit,
                      "egopt not measured" if e is None else fmt_time(e.median_s))
    e = _find(rows, "W8", "model 200 steps", "egopt")
    if any(r.workload == "W8" and r.case.startswith("model 200 ") for r in rows):
        check("W8 200 steps cold: first result under 5 s", None if e is None else e.median_s < 5,
              "egopt not measured" if e is None else fmt_time(e.median_s))
    g = next((r for r in rows if r.workload == "W8" and "growth_exponent" in r.metrics
              and r.case.startswith("model 500 ")), None)
    if any(r.workload == "W8" and r.case.startswith("model 500 ") for r in rows):
        check("W8: compile time grows no worse than linearly in graph size",
              None if g is None else g.metrics["growth_exponent"] <= 1.1,
              "needs two sizes measured" if g is None else f"time ~ nodes^{g.metrics['growth_exponent']:.2f}")
    return out


# ---- files ---------------------------------------------------------------------------------------------
def write_json(path: str, rows: list[Row], meta: dict, verdicts, sections: list[dict]) -> None:
    with open(path, "w") as f:
        json.dump({"meta": meta, "rows": [r.to_json() for r in rows],
                   "targets": [dict(target=t, verdict=v, evidence=e) for t, v, e in verdicts],
                   "sections": sections}, f, indent=1, default=str)


def write_chart(path: str, rows: list[Row]) -> str | None:
    """A bar chart of each contender's median time over NumPy's (log scale), one panel per thread
    count; None, or why it was not drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart not drawn: matplotlib is missing (pip install 'egopt[bench]')"
    rated = [r for r in rows if r.status == OK and "x_numpy" in r.metrics and r.system != "numpy"
             and (not r.reference or r.system in ("c_simd (ref)", "triad (ref)"))]
    threads = sorted({r.threads for r in rated})
    if not rated:
        return "chart not drawn: no case has a NumPy row to compare with"
    systems = sorted({r.system for r in rated}, key=lambda s: (s != "egopt", s))
    fig, axes = plt.subplots(1, len(threads), figsize=(7 * len(threads), 0.5 + 0.45 * len(
        {(r.workload, r.case) for r in rated}) * max(1, len(systems)) / 2), squeeze=False)
    for ax, t in zip(axes[0], threads):
        sub = [r for r in rated if r.threads == t]
        cases = list(dict.fromkeys(f"{r.workload} {r.case}" for r in sub))
        h = 0.8 / len(systems)
        for k, s in enumerate(systems):
            ys, xs = [], []
            for i, c in enumerate(cases):
                r = next((r for r in sub if f"{r.workload} {r.case}" == c and r.system == s), None)
                if r is not None:
                    ys.append(i + k * h)
                    xs.append(r.metrics["x_numpy"])
            ax.barh(ys, xs, height=h, label=s)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks([i + 0.4 - h / 2 for i in range(len(cases))], cases, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("median time / NumPy's (lower is faster)")
        ax.set_title(f"threads = {t}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write_markdown(path: str, rows: list[Row], meta: dict, titles: dict, verdicts, sections: list[dict],
                   chart: str | None, chart_note: str | None) -> None:
    lines = [f"# egopt bench, {meta['date']}", "",
             f"{meta['machine']}; python {meta['python']}; " + ", ".join(
                 f"{k} {v}" for k, v in meta["versions"].items()), "",
             f"Mode: {meta['mode']}; egopt {meta.get('egopt_linker', '?')}. Threads: {meta['threads']}. Load average at start/end: "
             f"{meta['load_start']} / {meta.get('load_end')}.", "", f"*{NOISE}*", ""]
    if meta.get("missing"):
        lines += ["Missing peers (reported, not faked): " + "; ".join(f"{k}: {v}" for k, v in meta["missing"].items()), ""]
    if chart:
        lines += [f"![median time over NumPy's]({os.path.basename(chart)})", ""]
    elif chart_note:
        lines += [f"({chart_note})", ""]
    if verdicts:
        lines += ["## Issue 9 targets", "", "| target | verdict | evidence |", "|---|---|---|"]
        lines += [f"| {t} | {v} | {e} |" for t, v, e in verdicts]
        lines.append("")
    for (wl, threads), group in _by_workload(rows).items():
        lines += [f"## {wl}: {titles.get(wl, '')} (threads = {threads})", "",
                  "| case | system | min | median | x NumPy | x best | notes |", "|---|---|--:|--:|--:|--:|---|"]
        for r in group:
            if r.status != OK:
                lines.append(f"| {r.case} | {r.system} | **{r.status}** | | | | {r.notes} |")
            else:
                lines.append(f"| {r.case} | {r.system} | {fmt_time(r.min_s)} | {fmt_time(r.median_s)} | "
                             f"{_ratio(r, 'x_numpy')} | {_ratio(r, 'x_best')} | {r.notes} |")
        lines.append("")
    for s in sections:
        lines += [f"## {s['id']}: {s['title']} (script output, threads = {s['threads']})", "", "```",
                  s["text"].rstrip(), "```", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _by_workload(rows):
    """(workload, threads) -> rows, each case's rows together (in the order cases first appear)."""
    out: dict[tuple, list[Row]] = {}
    for r in rows:
        out.setdefault((r.workload, r.threads), []).append(r)
    for k, group in out.items():
        order = {c: i for i, c in reversed(list(enumerate(r.case for r in group)))}
        out[k] = sorted(group, key=lambda r: order[r.case])
    return out
