"""Moving work out of a scan loop: loop-invariant values and values mapped over sequence rows.

Body values that depend only on non-sequences are computed once before the loop; values that
depend only on sequence rows (and invariants) through elementwise ops and ``dot``, a ``dot``
among them, are computed on the whole sequences at once (``dot(x_t, W)`` for all t is one
matrix product) and read back as new sequences. ``scan()`` applies it when it builds the node, so gradients see the hoisted
form (the gradient of ``W`` in ``dot(x_t, W)`` then is one product after the backward loop),
and the compiler applies it again after optimizing the body.
"""
from __future__ import annotations

from . import frontend as F
from .graph import Constant, Variable, ancestors, clone_replace, toposort
from .scan import SCAN, ScanSpec, respec

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

    # a sequence-mapped value moves out only when a product is part of it: elementwise work on
    # rows costs the same inside the loop (where it fuses with the loop's own elementwise work)
    # and outside needs a whole-sequence temporary
    product: set[int] = set()
    for node in nodes:
        ks = [k_of(v) for v in node.inputs]
        if node.op is SCAN or not node.op.pure or node.op.kind == "random":
            # draws stay in the loop: each step reads its own key state
            k = LOOP
        elif all(x == INV for x in ks):
            k = INV
        elif all(x in (INV, SEQ) for x in ks) and _mappable(node, ks):
            k = SEQ
        else:
            k = LOOP
        for o in node.outputs:
            kind[id(o)] = k
        if k == SEQ and (node.op.name == "dot" or any(id(v) in product for v in node.inputs)):
            product.update(id(o) for o in node.outputs)

    def movable(v) -> bool:
        return k_of(v) == INV or id(v) in product
    # what to hoist: invariant or sequence-mapped values with an owner read by the loop itself
    cands: dict[int, Variable] = {}
    for node in nodes:
        if kind[id(node.outputs[0])] != LOOP:
            continue
        for v in node.inputs:
            if v.owner is not None and movable(v):
                cands[id(v)] = v
    for v in inner:
        if v.owner is not None and movable(v):
            cands[id(v)] = v
    # a value that only feeds a cheap shape or cast is still worth it: everything above it leaves
    if not cands:
        return spec, outer
    need_seq = any(k_of(v) == SEQ for v in cands.values())
    if need_seq and not (spec.equal_lengths and _all_rows(n_steps)):
        # equal lengths first, so values of several sequences line up row by row
        n = n_steps
        if _all_rows(n_steps):
            n = F.shape(seqs[0])[0]
            for s in seqs[1:]:
                n = F.minimum(n, F.shape(s)[0])
        seqs = [s[:n] for s in seqs]
        n_steps = n
        spec = respec(spec, equal_lengths=True)
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


def _all_rows(n_steps: Variable) -> bool:
    """n_steps is "the length of the sequences" (the constant -1)."""
    return isinstance(n_steps, Constant) and int(n_steps.data) == -1


def prune(spec: ScanSpec, outer: list[Variable]) -> tuple[ScanSpec, list[Variable]]:
    """Drop sequences and non-sequences the body no longer reads (sequences only when n_steps
    does not come from their lengths)."""
    n_steps, seqs, inits, nonseqs = spec.split_outer(outer)
    seq_ph, tap_ph, ns_ph = spec.split_inner()
    used = {id(v) for v in ancestors(list(spec.inner_outputs), stop=list(spec.inner_inputs))}
    # a sequence fixes the number of steps only through its length: unread ones go when the
    # length is given, or when every sequence has the same length (one of them stays)
    free_n = not _all_rows(n_steps) or spec.equal_lengths
    keep_s = [i for i, p in enumerate(seq_ph) if id(p) in used or not free_n]
    if _all_rows(n_steps) and not keep_s and seq_ph:
        keep_s = [0]
    keep_n = [i for i, p in enumerate(ns_ph) if id(p) in used]
    if len(keep_s) == len(seq_ph) and len(keep_n) == len(ns_ph):
        return spec, outer
    taps_flat = [p for ps in tap_ph for p in ps]
    spec = respec(spec, inner_inputs=tuple([seq_ph[i] for i in keep_s] + taps_flat + [ns_ph[i] for i in keep_n]),
                  n_seqs=len(keep_s), n_nonseqs=len(keep_n))
    return spec, [n_steps] + [seqs[i] for i in keep_s] + inits + [nonseqs[i] for i in keep_n]
