"""The optimizer around scan nodes: the outer graph and each loop body go through the e-graph.

A scan node holds a graph, so it is not an e-graph constructor. The outer graph is cut at
each scan: the scan outputs become leaves of the e-graph and the scan inputs become extra
roots, so everything above, below and beside the loops is optimized in one e-graph. Each
scan node is then rebuilt from its optimized inputs with its body rewritten:

1. hoisting (egopt/lang/scan_hoist.py) again, on the body as the optimizer left it;
2. the body goes through the same optimizer (recursively, for scans inside scans);
3. an output whose only readers take its last row (``out[-1]``, ``scan_last(out, init)``) keeps
   only that row;
4. ``concatenate([init[-L:], out])`` (the gradient reads an output with its initial rows) is the
   output's own buffer, which holds the initial rows already: the output is marked
   ``keep="init"`` and returns them too, and readers of the output read a view past them;
5. ``out[::-1]`` of an output that is not fed back, in a loop without ``until`` (the gradient
   of a sequence: its backward loop runs from the last row) is the output written from its
   last row back (``keep="reversed"``): a contiguous array in the order that is read, not a
   reversed view that a product would copy.
"""
from __future__ import annotations

from typing import Sequence

from ..lang.graph import Variable, clone_replace, toposort
from ..lang.scan import SCAN, ScanSpec, respec
from ..lang.scan_hoist import hoist, prune
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
    only_last, unread = _readers(new_roots, list(leaves) + scan_outs, {id(o) for o in scan_outs})
    memo: dict[Variable, Variable] = {}
    rep.scan_bodies = []
    for node in scans:
        ins = clone_replace([in_map[id(v)] for v in node.inputs], memo) if memo else \
            [in_map[id(v)] for v in node.inputs]
        spec = node.params["spec"]
        # outputs nobody reads and that are not fed back are not computed at all
        drop = {j for j, o in enumerate(node.outputs) if id(o) in unread and not spec.taps[j]}
        if len(drop) == len(node.outputs):
            drop.discard(0)
        kept = [o for j, o in enumerate(node.outputs) if j not in drop]
        if drop:
            spec = drop_outputs(spec, drop)
        # (a spec this pass made before keeps its layouts: its readers read them)
        keep = tuple(k if k in ("init", "reversed") else "last" if id(o) in only_last else "all"
                     for o, k in zip(kept, spec.keep))
        spec, ins, body_rep = rewrite_scan(spec, ins, ruleset, keep, phases)
        rep.scan_bodies.append(body_rep)
        new = SCAN.make_node(ins, loc=node.loc, spec=spec)
        for o, nv in zip(kept, new.outputs):
            nv.name = o.name
            memo[o] = nv
    final = clone_replace(opt_outs, memo)
    final = with_initial_rows(final, leaves)
    final = reversed_histories(final, leaves)
    failed = [r.outcome for r in rep.scan_bodies if r.outcome.startswith("failed")]
    if failed:
        rep.outcome = f"{rep.outcome}; a scan body: {failed[0]}"
    return final, rep


def _readers(roots: Sequence[Variable], leaves, candidates: set[int]) -> tuple[set[int], set[int]]:
    """(scan outputs whose every reader is ``x[-1]`` or ``scan_last(x, init)``, scan outputs nobody
    reads); a root is read."""
    ok = {i: True for i in candidates}
    read: set[int] = set()
    for r in roots:
        if id(r) in ok:
            ok[id(r)] = False
            read.add(id(r))
    for node in toposort(roots, stop=leaves):
        for j, v in enumerate(node.inputs):
            if id(v) in ok:
                read.add(id(v))
                last = j == 0 and (node.op.name == "scan_last" or
                                   node.op.name == "subtensor" and node.params.get("idx") == (-1,))
                ok[id(v)] = ok[id(v)] and last
    return {i for i, good in ok.items() if good}, set(candidates) - read


def rewrite_scan(spec: ScanSpec, outer: list[Variable], ruleset, keep: tuple, phases=None):
    """(new spec, new outer inputs, report of the body's optimization)."""
    inner, rep = optimize_graph(list(spec.inner_outputs), list(spec.inner_inputs), ruleset, phases)
    spec = respec(spec, inner_outputs=tuple(inner), keep=keep)
    spec, outer = hoist(spec, outer)
    spec, outer = prune(spec, outer)
    return spec, outer, rep


def drop_outputs(spec: ScanSpec, drop: set[int]) -> ScanSpec:
    """The spec without the outputs in ``drop`` (outputs that are not fed back)."""
    keep_j = [j for j in range(spec.n_outputs) if j not in drop]
    outs = [spec.inner_outputs[j] for j in keep_j] + ([spec.condition] if spec.until else [])
    return respec(spec, inner_outputs=tuple(outs), taps=tuple(spec.taps[j] for j in keep_j),
                  keep=tuple(spec.keep[j] for j in keep_j))


def with_initial_rows(outputs: list[Variable], leaves) -> list[Variable]:
    """Rule 4 of the module docstring, on the final graph."""
    found: dict[int, tuple] = {}          # id(scan node) -> (node, {output j: [join nodes]})
    for node in toposort(outputs, stop=list(leaves)):
        if node.op.name != "join" or node.params.get("axis") != 0 or len(node.inputs) != 2:
            continue
        head, tail = node.inputs
        sc = tail.owner
        if sc is None or sc.op is not SCAN:
            continue
        spec, j = sc.params["spec"], tail.index
        if not spec.taps[j] or spec.keep[j] != "all":
            continue
        if _is_last_rows(head, _init_of(spec, sc.inputs, j), -spec.taps[j][0]):
            found.setdefault(id(sc), (sc, {}))[1].setdefault(j, []).append(node)
    return _rekeep(outputs, found, "init", lambda nv, spec, j: nv[-spec.taps[j][0]:])


def _init_of(spec: ScanSpec, inputs, j: int) -> Variable:
    _, _, inits, _ = spec.split_outer(list(inputs))
    return inits[sum(1 for t in spec.taps[:j] if t)]


def _is_last_rows(v: Variable, init: Variable, L: int) -> bool:
    """Is ``v`` the last ``L`` rows of ``init`` (the rows the loop starts from)?"""
    if v is init:
        return init.type.shape[:1] == (L,)
    node = v.owner
    return (node is not None and node.op.name == "subtensor" and node.inputs[0] is init
            and len(node.inputs) == 1 and node.params.get("idx") == ((-L, None, None),))


def reversed_histories(outputs: list[Variable], leaves) -> list[Variable]:
    """Rule 5 of the module docstring, on the final graph."""
    found: dict[int, tuple] = {}          # id(scan node) -> (node, {output j: [reversing nodes]})
    for node in toposort(outputs, stop=list(leaves)):
        if node.op.name != "subtensor" or len(node.inputs) != 1 or node.params.get("idx") != ((None, None, -1),):
            continue
        sc = node.inputs[0].owner
        if sc is None or sc.op is not SCAN:
            continue
        spec, j = sc.params["spec"], node.inputs[0].index
        if spec.taps[j] or spec.keep[j] != "all" or spec.until:
            continue
        found.setdefault(id(sc), (sc, {}))[1].setdefault(j, []).append(node)
    return _rekeep(outputs, found, "reversed", lambda nv, spec, j: nv[::-1])


def _rekeep(outputs: list[Variable], found: dict, label: str, view) -> list[Variable]:
    """Rebuild each scan of ``found`` ({id: (scan node, {output j: [consumer nodes]})}) with
    its outputs j kept as ``label``: each consumer becomes the new output itself, and other
    users of the old output see ``view(new output, spec, j)``, the same values."""
    if not found:
        return outputs
    swap: dict = {}
    for sc, users in found.values():
        spec = sc.params["spec"]
        keep = tuple(label if j in users else k for j, k in enumerate(spec.keep))
        new = SCAN.make_node(list(sc.inputs), loc=sc.loc, spec=respec(spec, keep=keep))
        for j, (old, nv) in enumerate(zip(sc.outputs, new.outputs)):
            nv.name = old.name
            swap[old] = view(nv, spec, j) if j in users else nv
            for consumer in users.get(j, ()):
                swap[consumer.outputs[0]] = nv
    return clone_replace(outputs, swap)
