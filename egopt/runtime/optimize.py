"""The optimizer stage of the compile pipeline: encode -> saturate -> extract -> decode -> fuse.

It never makes a program wrong: any failure inside the engine (egglog raises Rust panics as
``BaseException``), a decoded graph whose output types differ from the input's, or an
extracted graph that does not cost less, keeps the input graph (with a warning for failures).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Sequence

from ..lang.graph import Variable, toposort


class OptimizerFallbackWarning(RuntimeWarning):
    """The optimizer failed and the function runs the input graph (the test suite makes it an error)."""


@dataclass
class OptimizationReport:
    phases: list = field(default_factory=list)
    fired: dict = field(default_factory=dict)
    nodes_in: int = 0
    nodes_out: int = 0
    egraph_nodes: int = 0
    cost_before: float = 0.0
    cost_after: float = 0.0
    seconds: dict = field(default_factory=dict)
    outcome: str = "not run"
    cached: str = ""     # "hit": read from the graph cache (runtime/graph_cache.py); "stored": written there
    # decoded variable -> the input graph's variables it equals (same e-class and type), for DebugMode
    equivalents: dict = field(default_factory=dict, repr=False)
    ruleset: object = field(default=None, repr=False)
    # id(optimized variable) -> the rules that built its e-nodes and rewrote its e-classes; DebugMode
    provenance: dict = field(default_factory=dict, repr=False)
    # DebugMode: the decoded outputs before fusion and their equivalents (to look inside fused nodes)
    unfused: tuple = field(default=None, repr=False)

    @property
    def fell_back(self) -> bool:
        """True when a failure (not a choice) kept the input graph."""
        return self.outcome.startswith("failed") or "type changed" in self.outcome
    # what the optimizer saw, for f.egraph_picture(): the e-graph, the extracted node per class,
    # the names of the (Input i) leaves and the classes of the outputs
    view: object = field(default=None, repr=False, compare=False)
    choice: dict = field(default=None, repr=False, compare=False)
    leaf_names: list = field(default_factory=list, repr=False, compare=False)
    root_classes: list = field(default_factory=list, repr=False, compare=False)

    def __str__(self) -> str:
        lines = [f"egopt optimization: {self.outcome}" + (" (from the graph cache)" if self.cached == "hit" else ""),
                 f"  graph: {self.nodes_in} -> {self.nodes_out} nodes; cost {self.cost_before:,.0f} -> "
                 f"{self.cost_after:,.0f}; e-graph {self.egraph_nodes:,} e-nodes",
                 "  time: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in self.seconds.items())]
        if self.phases:
            lines.append(f"  {'phase':<14}{'iters':>6}{'e-nodes':>10}{'ms':>9}  stopped")
            for p in self.phases:
                lines.append(f"  {p.name:<14}{p.iterations:>6}{p.nodes:>10,}{p.seconds * 1000:>9.1f}  {p.stop}")
        if self.fired:
            lines.append("  rules fired (matches): " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.fired.items(), key=lambda kv: -kv[1]) if k))
        return "\n".join(lines)


_BUILTIN = None


def ruleset_for(mode):
    """The built-in library (loaded once per process) plus the mode's extra rule sets."""
    global _BUILTIN
    from ..rules import RuleSet, load
    from ..rules.loader import namespaced
    if _BUILTIN is None:
        from .graph_cache import builtin_library     # the checked text, cached on disk
        _BUILTIN = builtin_library()
    rs = _BUILTIN
    for extra in mode.rules:
        extra = extra if isinstance(extra, RuleSet) else load(extra)
        rs = rs + namespaced(extra, {r.name for r in rs})   # a user name that clashes gets a prefix
    if mode.options.get("check") == "debug":       # DebugMode: record which rules made what
        from ..rules.provenance import with_provenance
        rs = with_provenance(rs)
    return rs


def optimize(outputs: Sequence[Variable], leaves: Sequence[Variable], ruleset, phases=None
             ) -> tuple[list[Variable], OptimizationReport]:
    """Optimized copies of ``outputs`` (same types), or the outputs themselves, and a report."""
    # imported here: a process whose graphs all come from the graph cache never loads them
    from ..extract import CostModel, extract
    from ..extract.cost import ir_cost
    from ..extract.fusion import fuse
    from ..rules import engine
    from ..rules.decode import rebuild
    from ..rules.typed import typed_view
    from ..rules.encode import Unsupported, encode

    rep = OptimizationReport()
    rep.nodes_in = len(toposort(outputs, stop=leaves))
    rep.cost_before = rep.cost_after = ir_cost(outputs, leaves)
    rep.nodes_out = rep.nodes_in
    if rep.nodes_in == 0:
        rep.outcome = "nothing to optimize"
        return list(outputs), rep
    t0 = time.perf_counter()
    try:
        enc = encode(outputs, leaves)
        t1 = time.perf_counter()
        sat, plain = engine.saturate_to_view(enc, ruleset, phases or engine.DEFAULT_PHASES)
        t2 = time.perf_counter()
        rep.phases, rep.fired = sat.phases, sat.fired
        stable_names = {r.name for r in ruleset.by_phase("stabilize")}
        view = typed_view(plain, enc)   # extraction keeps every class's IR type
        rep.egraph_nodes = view.n_nodes
        model = CostModel(view)
        choice = extract(view, model)
        t3 = time.perf_counter()
        rep.view, rep.choice = view, choice
        rep.leaf_names = [v.name or repr(v) for v in enc.leaves]
        rep.root_classes = [view.roots[r] for r in enc.roots]
        locs = _source_locations(view, enc)
        decoded: dict = {}
        built = rebuild(view, choice, enc, locs, decoded)
        fused: dict = {}
        new = fuse([built[view.roots[r]] for r in enc.roots], leaves, replaced=fused)
        t4 = time.perf_counter()
        rep.seconds = {"encode": t1 - t0, "saturate": t2 - t1, "extract": t3 - t2, "decode": t4 - t3}
    except Unsupported as e:
        rep.outcome = f"kept the input graph ({e})"
        return list(outputs), rep
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:   # a Rust panic is a BaseException; it must not end the user's process
        warnings.warn(f"egopt: the optimizer failed ({type(e).__name__}: {e}); "
                      "running the unoptimized graph", OptimizerFallbackWarning, stacklevel=4)
        rep.outcome = f"failed, kept the input graph ({type(e).__name__})"
        return list(outputs), rep
    for old, nv in zip(outputs, new):
        if old.type.dtype != nv.type.dtype or old.type.ndim != nv.type.ndim:
            warnings.warn(f"egopt: optimized output {old!r} changed type {old.type} -> {nv.type}; "
                          "running the unoptimized graph (a rule is ill-typed)", OptimizerFallbackWarning,
                          stacklevel=4)
            rep.outcome = "kept the input graph (type changed)"
            return list(outputs), rep
    cost = ir_cost(new, leaves)
    # a stability rewrite wins whatever it costs: the naive form it replaced is inaccurate
    stabilized = any(n in stable_names for n in rep.fired)
    if cost > rep.cost_before and not stabilized:
        rep.outcome = "kept the input graph (no cheaper form found)"
        return list(outputs), rep
    rep.cost_after = cost
    rep.ruleset = ruleset
    rep.equivalents = _equivalents(view, enc, decoded, fused)
    if sat.provenance is not None:
        from ..rules.provenance import attribute
        rep.provenance = attribute(decoded, fused, sat.provenance, choice, getattr(view, "base", None))
        rep.unfused = ([built[view.roots[r]] for r in enc.roots], _equivalents(view, enc, decoded, bodies=True))
    rep.nodes_out = len(toposort(new, stop=leaves))
    rep.outcome = "optimized"
    return new, rep


def _equivalents(view, enc, decoded: dict, fused: dict | None = None, bodies: bool = False) -> dict:
    """id(optimized variable) -> (variable, [input-graph variables of its e-class and type]).

    The optimized variables are the decoded ones as the fusion pass left them: a decoded value
    that fusion recomputes as another variable (``fused``: id(decoded) -> new) is keyed by that
    variable; one that vanished inside a fused body is kept but never runs, so is not compared.
    ``bodies``: also the scalar class ``s`` of a let's ``(Ew s)`` (the elementwise body, decoded
    as a node of its own), so values inside elementwise chains are paired too."""
    fused = fused or {}
    lets: dict[int, list] = {}
    for name, k in view.roots.items():
        lets.setdefault(k, []).append(enc.origin[name])
    if bodies:
        for k, origins in list(lets.items()):
            for node in view.classes.get(k, ()):
                if node.op == "Ew" and node.children:
                    lets.setdefault(node.children[0], []).extend(origins)
    out = {}
    for k, v in decoded.items():
        if isinstance(v, Variable) and k in lets:
            same = [o for o in lets[k] if o.type.dtype == v.type.dtype and o.ndim == v.ndim]
            if same:
                v = fused.get(id(v), v)
                out[id(v)] = (v, same)
    return out


def _source_locations(view, enc) -> dict:
    """e-class -> the user's line: a tensor class, and the scalar body of its elementwise node
    (fusion decodes that body as a node of its own)."""
    locs = {}
    for name, v in enc.origin.items():
        loc = v.owner.loc if v.owner is not None else None
        c = view.roots[name]
        locs.setdefault(c, loc)
        for node in view.classes.get(c, ()):
            if node.op == "Ew" and node.children:
                locs.setdefault(node.children[0], loc)
    return locs
