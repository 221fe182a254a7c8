"""Bounded, phased saturation: canonicalize -> stabilize -> specialize -> fuse.

egglog has no node limit, timeout or interrupt inside a run, so each phase runs one
iteration at a time and checks the e-graph size and the clock in between; the memory guard
also sizes each iteration (``memory_guard``), so one iteration cannot overshoot it. Hitting a
limit is normal: the best graph found so far is used. Each phase says why it stopped.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .dsl import PHASES, RuleSet
from .encode import Encoding


MATCH_LIMIT = 2000
# the memory guard: a phase stops when the process has grown this much since saturation began
MEMORY_LIMIT_BYTES = 2 << 30


@dataclass(frozen=True)
class Phase:
    name: str
    iters: int = 12
    nodes: int = 20_000
    seconds: float = 0.5


DEFAULT_PHASES = (
    Phase("canonicalize", iters=10, nodes=20_000, seconds=0.6),
    Phase("stabilize", iters=6, nodes=20_000, seconds=0.4),
    Phase("specialize", iters=4, nodes=20_000, seconds=0.3),
    Phase("fuse", iters=2, nodes=30_000, seconds=0.3),
)


@dataclass
class PhaseReport:
    name: str
    iterations: int = 0
    nodes: int = 0
    seconds: float = 0.0
    stop: str = "not run"          # saturated | node limit | iteration limit | time limit | no rules


@dataclass
class Saturation:
    egraph: object
    phases: list[PhaseReport] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)
    nodes_start: int = 0
    provenance: object = None          # ``provenance.Provenance``, when recorded (DebugMode)
    memory_grown: int = 0              # bytes the process grew while the phases ran


def egraph_size(eg) -> int:
    from .egglog_bindings import bindings
    b = bindings()
    (out,) = eg.run_program(b.PrintSize(b.PanicSpan(), None))
    return sum(n for name, n in out.sizes if not name.startswith(("$", "prov_")))


# egglog commands of each rule's text, parsed once per process: parsing is a tenth of a
# compile's e-graph setup, and the parsed commands run in any e-graph with the same schema
# (the key holds the schema: registering an op changes it)
_PARSED: dict[tuple[str, str], list] = {}
_PARSED_MAX = 8192


def _parsed_rules(eg, schema: str, texts: list[str]) -> list:
    commands = []
    for t in texts:
        cmds = _PARSED.get((schema, t))
        if cmds is None:
            cmds = eg.parse_program(t, filename="<rules>")
            if len(_PARSED) < _PARSED_MAX:
                _PARSED[schema, t] = cmds
        commands.extend(cmds)
    return commands


def saturate(enc: Encoding, rules: RuleSet, phases=DEFAULT_PHASES,
             cancel: threading.Event | None = None) -> Saturation:
    """Build the e-graph for an encoding, then run each phase's rules within its limits
    (iterations, e-nodes, seconds, memory; ``cancel`` stops it between iterations)."""
    from .egglog_bindings import bindings
    b = bindings()
    from .schema import schema_text
    eg = b.EGraph()
    schema = schema_text()
    eg.run_program(*eg.parse_program(schema + "".join(f"(ruleset {p})\n" for p in PHASES)))
    from .retire import RULESET as RETIRE, split
    eg.run_program(*eg.parse_program(f"(ruleset {RETIRE})\n"))
    from .relevance import graph_pairs, relevant
    from . import provenance
    active = relevant(rules, graph_pairs(enc))
    # stability rules retire the forms they matched at phase end (retire.py); the subsuming
    # copies are loaded only for the rules that matched
    text, retire_copies = split(r.egg() for r in active)
    recording = provenance.wanted(rules)
    if recording:                         # DebugMode: the same rules, also recording their names
        text, retire_copies = split(provenance.instrumented(r) for r in active)
        text = provenance.schema_text() + text
    subsuming = {r.phase for r in active if " :subsume" in r.egg()}
    from .analysis import analysis_text, condition_queries, constructors, needed, needed_now, needs_intervals
    texts = [r.egg() for r in active]
    # the range analysis is loaded at the first iteration where a conditional rule matches
    pending = analysis_text(constructors(graph_pairs(enc), texts), needs_intervals(texts)) if needed(texts) else ""
    if recording and text:
        eg.run_program(*eg.parse_program(text, filename="<rules>"))
    elif text:
        eg.run_program(*_parsed_rules(eg, schema, [split([r.egg()])[0] for r in active]))
    eg.run_program(*enc.commands)
    from .rational import combined_fractions
    extra = combined_fractions(enc)     # sums of fractions over a common denominator (SymPy)
    if extra:
        eg.run_program(*eg.parse_program(extra, filename="<fractions>"))
    sat = Saturation(eg, nodes_start=egraph_size(eg))
    # the back-off scheduler caps how often each rule may match in one iteration, so a single
    # iteration cannot explode (egglog cannot be interrupted inside a run); the memory guard
    # lowers that cap as the budget runs out (see memory_guard)
    steps: dict = {}

    def step(p: str, limit: int):
        if (p, limit) not in steps:
            steps[p, limit] = eg.parse_program(
                f"(run-schedule (saturate (run core)) (let-scheduler bo (back-off :match-limit {limit} "
                f":ban-length 3)) (run-with bo {p}))")
        return steps[p, limit]
    core = eg.parse_program("(run-schedule (saturate (run core)))")
    retire = eg.parse_program(f"(run-schedule (run {RETIRE}) (saturate (run core)))")
    eg.run_program(*core)
    queries = condition_queries(texts) if pending else []
    from .memory_guard import MemoryGuard, nodes_per_match
    from .schema import by_name
    guard = MemoryGuard(MEMORY_LIMIT_BYTES, MATCH_LIMIT)
    ctors = by_name()
    weight = {p: sum(nodes_per_match(r.egg(), ctors) for r in active if r.phase == p) for p in PHASES}
    memory_stop = f"memory limit ({MEMORY_LIMIT_BYTES >> 20} MiB)"
    for ph in phases:
        rep = PhaseReport(ph.name)
        sat.phases.append(rep)
        if not rules.by_phase(ph.name):
            rep.stop, rep.nodes = "no rules", egraph_size(eg)
            continue
        t0 = time.perf_counter()
        state = provenance.fingerprint(eg) if recording else None
        while True:
            if cancel is not None and cancel.is_set():
                rep.stop = "interrupted"
                break
            if rep.iterations >= ph.iters:
                rep.stop = "iteration limit"
                break
            limit = guard.match_limit(weight[ph.name])
            if limit == 0:
                rep.stop = memory_stop
                break
            if pending and needed_now(eg, queries):
                eg.run_program(*eg.parse_program(pending, filename="<analysis>"))
                pending = ""
            (out,) = eg.run_program(*step(ph.name, limit))
            rep.iterations += 1
            for name, n in out.report.num_matches_per_rule.items():
                if n:
                    sat.fired[name] = sat.fired.get(name, 0) + n
            rep.nodes = egraph_size(eg)
            guard.observe(rep.nodes)
            updated = out.report.updated
            if recording:                   # provenance rows alone are not a change
                state, before = provenance.fingerprint(eg), state
                updated = updated and state != before
            if not updated:                 # with a lowered cap, rules over it were skipped
                rep.stop = "saturated" if limit == MATCH_LIMIT else memory_stop
                break
            if rep.nodes >= ph.nodes:
                rep.stop = f"node limit ({ph.nodes})"
                break
            if time.perf_counter() - t0 >= ph.seconds:
                rep.stop = f"time limit ({ph.seconds} s)"
                break
            if guard.exceeded():
                rep.stop = memory_stop
                break
        # retire what the phase's stability rules matched (and the written fraction sums)
        matched = [retire_copies.pop(n) for n in list(retire_copies) if sat.fired.get(n)]
        if matched:
            eg.run_program(*eg.parse_program("\n".join(matched), filename="<retire>"))
        eg.run_program(*(retire if extra or ph.name in subsuming else core))
        rep.seconds = time.perf_counter() - t0
    sat.memory_grown = guard.grown()
    return sat


def saturate_to_view(enc: Encoding, rules: RuleSet, phases=DEFAULT_PHASES, poll: float = 0.05):
    """``saturate`` then ``view_of``, on a worker thread (an egglog e-graph stays on the thread
    that made it), while this thread waits in short steps: Ctrl-C during a compile raises
    ``KeyboardInterrupt`` here at once, and the worker stops after its current iteration.
    Returns (Saturation without its e-graph, EGraphView)."""
    from .decode import view_of
    cancel = threading.Event()
    box: dict = {}

    def work():
        try:
            sat = saturate(enc, rules, phases, cancel)
            box["view"] = view_of(sat.egraph, enc)
            from . import provenance
            if provenance.wanted(rules):
                sat.provenance = provenance.read(sat.egraph, box["view"])
            sat.egraph = None
            box["sat"] = sat
        except BaseException as e:     # a Rust panic is a BaseException: hand it to the caller
            box["error"] = e

    worker = threading.Thread(target=work, name="egopt-saturate", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(poll)
    except BaseException:
        cancel.set()
        raise
    if "error" in box:
        raise box["error"]
    return box["sat"], box["view"]
