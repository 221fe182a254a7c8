"""The optimizer around scan nodes: the outer graph and each loop body go through the e-graph.

A scan node holds a graph, so it is not an e-graph constructor. The outer graph is cut at
each scan: the scan outputs become leaves of the e-graph and the scan inputs become extra
roots, so everything above, below and beside the loops is optimized in one e-graph. Each
scan node is then rebuilt from its optimized inputs with its body rewritten:

1. hoisting: body values that depend only on non-sequences are computed once before the
   loop; values that depend only on sequence rows through elementwise ops and ``dot`` are
   computed on the whole sequence at once (``dot(x_t, W)`` for all t is one matrix product)
   and read back as new sequences;
2. the body goes through the same optimizer (recursively, for scans inside scans);
3. an output whose only readers take its last row (``out[-1]``) keeps only that row.
"""
from __future__ import annotations

from typing import Sequence

from ..lang import frontend as F
from ..lang.graph import Constant, Variable, ancestors, clone_replace, toposort
from ..lang.scan import SCAN, ScanSpec, respec
from .optimize import OptimizationReport, optimize


def optimize_graph(outputs: Sequence[Variable], leaves: Sequence[Variable], ruleset, phases=None
                   ) -> tuple[list[Variable], OptimizationReport]:
    """``optimize`` for graphs that may contain scan nodes (see the module docstring)."""
    scans = [n for n in toposort(outputs, stop=leaves) if n.op is SCAN]
    if not scans:
        return optimize(outputs, leaves, ruleset, phases)
    scan_outs = [o for n in scans for o in n.outputs]
    scan_ins: list[Variable] = []
    seen: set[int] = set()
    for n in scans:
        for v in n.inputs:
            if id(v) not in seen:
                seen.add(id(v))
                scan_ins.append(v)
    roots = list(outputs) + scan_ins
    new_roots, rep = optimize(roots, list(leaves) + scan_outs, ruleset, phases)
    opt_outs, opt_ins = new_roots[:len(outputs)], new_roots[len(outputs):]
    in_map = {id(old): new for old, new in zip(scan_ins, opt_ins)}
    only_last = _read_only_last(new_roots, list(leaves) + scan_outs, {id(o) for o in scan_outs})
    memo: dict[Variable, Variable] = {}
    rep.scan_bodies = []
    for node in scans:
        ins = clone_replace([in_map[id(v)] for v in node.inputs], memo) if memo else \
            [in_map[id(v)] for v in node.inputs]
        keep = tuple("last" if id(o) in only_last else "all" for o in node.outputs)
        spec, ins, body_rep = rewrite_scan(node.params["spec"], ins, ruleset, keep, phases)
        rep.scan_bodies.append(body_rep)
        new = SCAN.make_node(ins, loc=node.loc, spec=spec)
        for o, nv in zip(node.outputs, new.outputs):
            nv.name = o.name
            memo[o] = nv
    final = clone_replace(opt_outs, memo)
    failed = [r.outcome for r in rep.scan_bodies if r.outcome.startswith("failed")]
    if failed:
        rep.outcome = f"{rep.outcome}; a scan body: {failed[0]}"
    return final, rep


def _read_only_last(roots: Sequence[Variable], leaves, candidates: set[int]) -> set[int]:
    """Scan outputs whose every reader is ``x[-1]`` (and that are not roots themselves)."""
    ok = {i: True for i in candidates}
    for r in roots:
        if id(r) in ok:
            ok[id(r)] = False
    for node in toposort(roots, stop=leaves):
        for j, v in enumerate(node.inputs):
            if id(v) in ok:
                last = node.op.name == "subtensor" and j == 0 and node.params.get("idx") == (-1,)
                ok[id(v)] = ok[id(v)] and last
    return {i for i, good in ok.items() if good}


def rewrite_scan(spec: ScanSpec, outer: list[Variable], ruleset, keep: tuple, phases=None):
    """(new spec, new outer inputs, report of the body's optimization)."""
    spec, outer = hoist(spec, outer)
    spec, outer = prune(spec, outer)
    inner, rep = optimize_graph(list(spec.inner_outputs), list(spec.inner_inputs), ruleset, phases)
    spec = respec(spec, inner_outputs=tuple(inner), keep=keep)
    return spec, outer, rep


# ---- hoisting -----------------------------------------------------------------------------------

INV, SEQ, LOOP = "inv", "seq", "loop"


def _mappable(node, kinds) -> bool:
    """Whether the node computed on whole sequences gives every step's value (leading time axis)."""
    op = node.op
    if op.kind == "elemwise" and len(node.outputs) == 1:
        return True
    if op.name == "dot":
        return kinds[0] == SEQ and kinds[1] == INV and node.inputs[1].ndim in (1, 2)
    return False


def hoist(spec: ScanSpec, outer: list[Variable]) -> tuple[ScanSpec, list[Variable]]:
    n_steps, seqs, inits, nonseqs = spec.split_outer(outer)
    seq_ph, tap_ph, ns_ph = spec.split_inner()
    kind: dict[int, str] = {}
    for p in seq_ph:
        kind[id(p)] = SEQ
    for ps in tap_ph:
        for p in ps:
            kind[id(p)] = LOOP
    for p in ns_ph:
        kind[id(p)] = INV
    inner = list(spec.inner_outputs)
    nodes = toposort(inner, stop=list(spec.inner_inputs))

    def k_of(v):
        return INV if isinstance(v, Constant) else kind[id(v)]

    for node in nodes:
        ks = [k_of(v) for v in node.inputs]
        if node.op is SCAN or not node.op.pure:
            k = LOOP
        elif all(x == INV for x in ks):
            k = INV
        elif all(x in (INV, SEQ) for x in ks) and _mappable(node, ks):
            k = SEQ
        else:
            k = LOOP
        for o in node.outputs:
            kind[id(o)] = k
    # what to hoist: invariant or sequence-mapped values with an owner read by the loop itself
    cands: dict[int, Variable] = {}
    for node in nodes:
        if kind[id(node.outputs[0])] != LOOP:
            continue
        for v in node.inputs:
            if v.owner is not None and k_of(v) != LOOP:
                cands[id(v)] = v
    for v in inner:
        if v.owner is not None and k_of(v) != LOOP:
            cands[id(v)] = v
    # a value that only feeds a cheap shape or cast is still worth it: everything above it leaves
    if not cands:
        return spec, outer
    need_seq = any(k_of(v) == SEQ for v in cands.values())
    if need_seq:
        # equal lengths first, so values of several sequences line up row by row
        n = n_steps
        if isinstance(n_steps, Constant) and int(n_steps.data) == -1:
            n = F.shape(seqs[0])[0]
            for s in seqs[1:]:
                n = F.minimum(n, F.shape(s)[0])
        seqs = [s[:n] for s in seqs]
        n_steps = n
    lifted: dict[int, Variable] = {}
    for p, s in zip(seq_ph, seqs):
        lifted[id(p)] = s
    for p, v in zip(ns_ph, nonseqs):
        lifted[id(p)] = v

    def lift(v: Variable) -> Variable:
        if isinstance(v, Constant):
            return v
        got = lifted.get(id(v))
        if got is not None:
            return got
        node = v.owner
        ins = [lift(i) for i in node.inputs]
        if kind[id(v)] == INV:
            out = node.op.make_node(ins, loc=node.loc, **node.params).outputs[v.index]
        elif node.op.name == "dot":
            out = F.dot(ins[0], ins[1])
        else:
            nd = v.ndim
            fixed = []
            for i, x in zip(node.inputs, ins):
                if k_of(i) == SEQ and i.ndim < nd:
                    x = x.dimshuffle(0, *(["x"] * (nd - i.ndim)), *range(1, i.ndim + 1))
                fixed.append(x)
            out = node.op.make_node(fixed, loc=node.loc, **node.params).outputs[0]
        lifted[id(v)] = out
        return out

    new_seq_ph, new_seqs, new_ns_ph, new_ns = [], [], [], []
    swap = {}
    for v in cands.values():
        ph = Variable(v.type, name=v.name)
        swap[v] = ph
        if k_of(v) == SEQ:
            new_seq_ph.append(ph)
            new_seqs.append(lift(v))
        else:
            new_ns_ph.append(ph)
            new_ns.append(lift(v))
    inner = clone_replace(inner, swap)
    taps_flat = [p for ps in tap_ph for p in ps]
    spec = respec(spec, inner_inputs=tuple(seq_ph + new_seq_ph + taps_flat + ns_ph + new_ns_ph),
                  inner_outputs=tuple(inner), n_seqs=len(seq_ph) + len(new_seq_ph),
                  n_nonseqs=len(ns_ph) + len(new_ns_ph))
    return spec, [n_steps] + seqs + new_seqs + inits + nonseqs + new_ns


def prune(spec: ScanSpec, outer: list[Variable]) -> tuple[ScanSpec, list[Variable]]:
    """Drop sequences and non-sequences the body no longer reads (sequences only when n_steps
    does not come from their lengths)."""
    n_steps, seqs, inits, nonseqs = spec.split_outer(outer)
    seq_ph, tap_ph, ns_ph = spec.split_inner()
    used = {id(v) for v in ancestors(list(spec.inner_outputs), stop=list(spec.inner_inputs))}
    free_n = not (isinstance(n_steps, Constant) and int(n_steps.data) == -1)
    keep_s = [i for i, p in enumerate(seq_ph) if id(p) in used or not free_n]
    keep_n = [i for i, p in enumerate(ns_ph) if id(p) in used]
    if len(keep_s) == len(seq_ph) and len(keep_n) == len(ns_ph):
        return spec, outer
    taps_flat = [p for ps in tap_ph for p in ps]
    spec = respec(spec, inner_inputs=tuple([seq_ph[i] for i in keep_s] + taps_flat + [ns_ph[i] for i in keep_n]),
                  n_seqs=len(keep_s), n_nonseqs=len(keep_n))
    return spec, [n_steps] + [seqs[i] for i in keep_s] + inits + [nonseqs[i] for i in keep_n]
