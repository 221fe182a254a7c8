"""The VJP of scan: another scan that runs the body's VJP backwards (back-propagation through time).

For a body ``y_t = f(x_t, y_{t+k} for taps k, W)`` the backward scan visits t = T-1 ... 0 and
carries, for each fed-back output, a window of ``L`` pending gradients (row r: what later steps
sent to ``y_{t-r}`` through their taps) and, for each non-sequence, the sum of its gradients
so far. At step t the cotangent of ``y_t`` is the output's own gradient plus the window's first
row; the body's VJP (built once, as a graph, with ``grad``) gives the gradients for the
sequence rows, the tap values and the non-sequences. After the loop the window holds the
gradients of the initial rows.

With an ``until`` condition the backward loop runs over the steps actually taken (the
histories hold just those): sequence rows past them get zero gradient, as in Theano. The
condition itself has no gradient.

``truncate_gradient=k`` runs the backward loop over the last k steps only: sequence rows
before them get zero gradient, and the initial state gets zero unless k covers every step.
"""
from __future__ import annotations

from ..lang import dtypes
from ..lang import frontend as F
from ..lang.graph import Variable, clone_replace
from ..lang.scan import SCAN, scan, scan_last
from .reverse import _Pairs, grad


def _flows(v: Variable) -> bool:
    return dtypes.is_differentiable(v.dtype)


def scan_vjp(node, *g_outs):
    spec = node.params["spec"]
    n_steps, seqs, inits, nonseqs = spec.split_outer(node.inputs)
    seq_ph, tap_ph, ns_ph = spec.split_inner()
    outs = node.outputs
    inner_outs = list(spec.inner_outputs[:spec.n_outputs])
    L = spec.tap_lengths()
    k = spec.truncate_gradient
    steps = F.shape(outs[0])[0]

    def window(x):
        x = x[:steps]
        return x[-k:] if k > 0 else x

    # sequences of the backward loop: forward rows, values read through taps, output gradients
    seq_in = [window(s) for s in seqs]
    tap_in, init_of = [], {}
    it = iter(inits)
    for j, taps in enumerate(spec.taps):
        if not taps:
            continue
        init_of[j] = next(it)
        full = F.concatenate([init_of[j][-L[j]:], outs[j]], axis=0)
        for kk in taps:
            tap_in.append(window(full[L[j] + kk: kk]))
    # the forward values of the body's outputs are the histories: read, not recomputed
    val_idx = [j for j, o in enumerate(inner_outs) if o.owner is not None and _flows(o)]
    val_in = [window(outs[j]) for j in val_idx]
    states = [j for j, t in enumerate(spec.taps) if t and _flows(outs[j])]
    g_in, g_idx, last_only = [], [], {}
    for j, g in enumerate(g_outs):
        if g is None or not _flows(outs[j]):
            continue
        last = _last_row_seed(g)
        if last is not None and j in states and L[j] == 1 and k <= 0:
            last_only[j] = last          # only out[-1] was read: it seeds the carry, no sequence
            continue
        g_in.append(window(g))
        g_idx.append(j)
    # the window of pending gradients; one row (a single tap of -1) is carried as the row itself
    carry0 = [F.cast(last_only[j], outs[j].dtype) if j in last_only else
              F.zeros_like(init_of[j][-1]) if L[j] == 1 else F.zeros_like(init_of[j][-L[j]:]) for j in states]
    ns_diff = [i for i, v in enumerate(nonseqs) if _flows(v)]
    acc0 = [F.zeros_like(nonseqs[i]) for i in ns_diff]
    seq_diff = [i for i, v in enumerate(seqs) if _flows(v)]
    flat_taps = [p for ps in tap_ph for p in ps]
    n_s, n_t, n_g, n_v = len(seq_in), len(tap_in), len(g_in), len(val_in)

    def step(*args):
        xs, tv, gs = args[:n_s], args[n_s:n_s + n_t], args[n_s + n_t:n_s + n_t + n_g]
        vs = args[n_s + n_t + n_g:n_s + n_t + n_g + n_v]
        rest = args[n_s + n_t + n_g + n_v:]
        carries, accs, ws = rest[:len(states)], rest[len(states):len(states) + len(ns_diff)], \
            rest[len(states) + len(ns_diff):]
        cot = {j: g for j, g in zip(g_idx, gs)}
        for j, c in zip(states, carries):
            c0 = c if L[j] == 1 else c[0]
            cot[j] = cot[j] + c0 if j in cot else c0
        seeds = _Pairs((inner_outs[j], F.cast(g, inner_outs[j].dtype)) for j, g in cot.items()
                       if _flows(inner_outs[j]))
        wrt = [seq_ph[i] for i in seq_diff] + [flat_taps[i] for i in range(len(flat_taps))] + \
              [ns_ph[i] for i in ns_diff]
        grads = (grad(None, wrt, known_grads=seeds, disconnected_inputs="ignore",
                      return_disconnected="None") if seeds else [None] * len(wrt))
        rep = dict(zip(seq_ph, xs))
        rep.update(zip(flat_taps, tv))
        rep.update(zip(ns_ph, ws))
        rep.update((inner_outs[j], v) for j, v in zip(val_idx, vs))
        present = [g for g in grads if g is not None]
        moved = iter(clone_replace(present, rep))
        grads = [None if g is None else next(moved) for g in grads]
        g_seq = grads[:len(seq_diff)]
        g_tap = grads[len(seq_diff):len(seq_diff) + len(flat_taps)]
        g_ns = grads[len(seq_diff) + len(flat_taps):]
        by_tap, pos = {}, 0
        for j, taps in enumerate(spec.taps):
            for kk in taps:
                by_tap[(j, kk)] = g_tap[pos]
                pos += 1
        new_carries = []
        for j, c in zip(states, carries):
            if L[j] == 1:
                g = by_tap.get((j, -1))
                new_carries.append(F.zeros_like(c) if g is None else F.cast(g, c.dtype))
                continue
            rows = []
            for r in range(L[j]):
                parts = [c[r + 1]] if r + 1 < L[j] else []
                g = by_tap.get((j, -(r + 1)))
                if g is not None:
                    parts.append(F.cast(g, c.dtype))
                row = parts[0] if parts else F.zeros_like(c[0])
                for p in parts[1:]:
                    row = row + p
                rows.append(row)
            new_carries.append(F.stack(rows))
        new_accs = [a if g is None else a + F.cast(g, a.dtype) for a, g in zip(accs, g_ns)]
        gx = [F.zeros_like(x) if g is None else F.cast(g, x.dtype)
              for x, g in zip([xs[i] for i in seq_diff], g_seq)]
        return new_carries + new_accs + gx

    outputs_info = carry0 + acc0 + [None] * len(seq_diff)
    res, _ = scan(step, sequences=seq_in + tap_in + g_in + val_in, outputs_info=outputs_info,
                  non_sequences=nonseqs, go_backwards=True, return_list=True,
                  name=f"grad_of_{spec.name or 'scan'}")
    res_c = res[:len(states)]
    res_a = res[len(states):len(states) + len(ns_diff)]
    res_x = res[len(states) + len(ns_diff):]

    result: list = [None] * len(node.inputs)
    ns0 = 1 + spec.n_seqs + spec.n_states
    for i, h in zip(seq_diff, res_x):
        g = h[::-1]
        s = seqs[i]
        if k > 0:
            g = F.concatenate([F.zeros_like(s[:steps][:-k]), g], axis=0)
        exact = (spec.equal_lengths and not spec.until and getattr(n_steps, "data", None) is not None
                 and int(n_steps.data) == -1)
        # rows past the steps run get zeros (none when every sequence is exactly that long)
        result[1 + i] = g if exact and k <= 0 else F.concatenate([g, F.zeros_like(s[steps:])], axis=0)
    init_pos = {j: 1 + spec.n_seqs + n for n, j in enumerate(sorted(init_of))}
    # (scan_last: a backward loop of zero steps leaves its carries and sums at their initial values)
    for j, c0, h in zip(states, carry0, res_c):
        last = scan_last(h, c0)
        g = F.expand_dims(last, 0) if L[j] == 1 else last[::-1]
        init = init_of[j]
        if k > 0:
            g = g * F.cast(F.le(steps, k), g.dtype)
        if init.type.shape[0] != L[j]:
            g = F.concatenate([F.zeros_like(init[:-L[j]]), g], axis=0)
        result[init_pos[j]] = g
    for i, a0, h in zip(ns_diff, acc0, res_a):
        result[ns0 + i] = scan_last(h, a0)
    return result


def _last_row_seed(g: Variable):
    """``v`` when ``g`` is ``inc_subtensor(zeros, v)`` at row -1 (the gradient of ``out[-1]``)."""
    node = g.owner
    if node is None or node.op.name != "inc_subtensor" or node.params.get("idx") != (-1,):
        return None
    base = node.inputs[0].owner
    if base is None or base.op.name != "second":
        return None
    zero = base.inputs[1]
    if not (getattr(zero, "data", None) is not None and zero.ndim == 0 and float(zero.data) == 0.0):
        return None
    return node.inputs[1]


SCAN.vjp = scan_vjp
