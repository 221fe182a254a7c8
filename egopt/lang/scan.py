"""``scan``: one node that runs an inner graph step by step (loops whose length is known at run time).

The node's ``spec`` param holds the inner graph. Its outer inputs are

    [n_steps] + sequences + initial states + non-sequences

- ``n_steps``: an int64 scalar; -1 means "the length of the sequences".
- sequences: one per (sequence, tap). The frontend turns a tap into a shifted slice of the outer
  sequence and ``go_backwards`` into a reversed one, so inside the op every sequence is read at
  row ``t`` (and gradients flow through those slices like any other indexing).
- initial states: for each output with taps (most negative tap ``-L``), a buffer of ``L`` rows.
- non-sequences: invariant values (shared variables and closures the body reads included).

The inner inputs are in Theano's order: one slice per sequence, one value per (output, tap),
then the non-sequences. The inner outputs are one value per output, then the ``until``
condition when there is one. Each outer output is an output's history ``(n_steps, ...)``
(without the initial rows); an output marked ``keep="last"`` (only its last row is read) holds
just that row, shape ``(1, ...)``, so ``out[-1]`` is the same; one marked ``keep="init"`` (set by
the compiler where the gradient reads the initial rows and the history together) starts with
its ``L`` initial rows; one marked ``keep="reversed"`` (where only ``out[::-1]`` is read) holds
the history last step first.

Shared variables the body updates become hidden states after the user's outputs; ``scan``
returns their last value as the updates. So do shared variables the body reads that have a
``default_update`` (random keys): each step advances them, so every step draws fresh numbers. Running the loop lives in ``egopt/runtime/scan_exec.py``
and the gradient (a backwards scan) in ``egopt/grad/scan_grad.py``; both install themselves
into this record (``set_runner`` and ``SCAN.vjp``), since ``lang`` imports nothing above itself.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from . import dtypes
from . import frontend as F
from .errors import EgoptError, EgoptTypeError
from .graph import Constant, SourceLoc, Variable, clone_replace, graph_inputs
from .. import config
from .ops import Op, register, test_value_of
from .shared import SharedVariable
from .types import TensorType

_HERE = "egopt/lang/scan.py"


@dataclass(frozen=True, eq=False)
class ScanSpec:
    """The inner graph of one scan and how its inputs and outputs line up with the outer ones."""
    inner_inputs: tuple          # seq slices, (output, tap) values, non-sequence placeholders
    inner_outputs: tuple         # one per output, then the until condition
    n_seqs: int
    taps: tuple                  # per output: its taps (negative, ascending); () = not fed back
    n_nonseqs: int
    until: bool = False
    keep: tuple = ()             # per output: "all" (whole history), "last" (its last row only),
    #                              "init" (the whole history after its L initial rows: L + n rows) or
    #                              "reversed" (the whole history, last step first)
    go_backwards: bool = False   # (already applied to the sequences; kept for printing)
    truncate_gradient: int = -1
    n_updates: int = 0           # hidden states for shared-variable updates (the last outputs)
    name: str | None = None
    equal_lengths: bool = False  # every sequence has the same number of rows (one input, or sliced)

    __hash__ = object.__hash__

    @property
    def n_outputs(self) -> int:
        return len(self.taps)

    @property
    def n_states(self) -> int:
        return sum(1 for t in self.taps if t)

    def tap_lengths(self) -> list[int]:
        return [-t[0] if t else 0 for t in self.taps]

    def split_inner(self):
        """(sequence slices, per-output tap inputs, non-sequence placeholders)."""
        ins = list(self.inner_inputs)
        seqs, rest = ins[:self.n_seqs], ins[self.n_seqs:]
        taps = []
        for t in self.taps:
            taps.append(rest[:len(t)])
            rest = rest[len(t):]
        return seqs, taps, rest

    def split_outer(self, inputs: Sequence):
        """(n_steps, sequences, initial states, non-sequences) of a node's inputs."""
        ns, nst = self.n_seqs, self.n_states
        return inputs[0], list(inputs[1:1 + ns]), list(inputs[1 + ns:1 + ns + nst]), list(inputs[1 + ns + nst:])

    @property
    def condition(self):
        return self.inner_outputs[-1] if self.until else None

    def __repr__(self) -> str:
        parts = [f"{self.n_seqs} seq", f"{self.n_outputs} out", f"{self.n_nonseqs} nonseq"]
        if self.until:
            parts.append("until")
        if self.keep and set(self.keep) != {"all"}:
            parts.append("keep=" + "".join({"last": "L", "init": "I", "reversed": "R"}.get(k, "A") for k in self.keep))
        if self.truncate_gradient != -1:
            parts.append(f"truncate={self.truncate_gradient}")
        return f"Scan<{self.name or 'scan'}: {', '.join(parts)}>"


def _infer(params, *types):
    spec: ScanSpec = params["spec"]
    n_in = 1 + spec.n_seqs + spec.n_states + spec.n_nonseqs
    if len(types) != n_in:
        raise TypeError(f"takes {n_in} inputs, got {len(types)}")
    if types[0].ndim != 0 or not dtypes.is_int(types[0].dtype):
        raise EgoptTypeError(f"n_steps must be an integer scalar, got {types[0]}")
    outs = []
    for o, k in zip(spec.inner_outputs[:spec.n_outputs], spec.keep):
        outs.append(TensorType(o.dtype, (None,) + tuple(o.type.shape)))
    return outs


_RUNNER: list[Callable] = []


def set_runner(fn: Callable) -> None:
    """Installed by egopt/runtime/scan_exec.py: ``fn(spec, arrays) -> tuple of arrays``."""
    _RUNNER[:] = [fn]


def _perform(params, *arrays):
    if not _RUNNER:
        raise EgoptError("scan needs egopt.runtime (import egopt) to run its loop")
    return tuple(_RUNNER[0](params["spec"], arrays))


SCAN = register(Op("scan", _infer, _perform, None, kind="scan", nout=2, flops=1.0,
                   defined_in="egopt/grad/scan_grad.py (vjp) and " + _HERE))
# nout=2 marks "several outputs" (the node has one per scan output): perform returns a tuple


def _last_infer(params, hist: TensorType, init: TensorType):
    if hist.ndim != init.ndim + 1 or hist.dtype != init.dtype:
        raise EgoptTypeError(f"the initial value must be a row of the history: got a history {hist} "
                             f"and an initial value {init}")
    for a, b in zip(hist.shape[1:], init.shape):
        if a is not None and b is not None and a != b:
            raise EgoptTypeError(f"the history's rows {hist.shape[1:]} and the initial value {init.shape} differ")
    return TensorType(hist.dtype, tuple(a if a is not None else b for a, b in zip(hist.shape[1:], init.shape)))


def _last_perform(params, hist, init):
    if hist.shape[0]:
        return hist[-1]
    if hist.shape[1:] != init.shape:
        raise ValueError(f"the history's rows {hist.shape[1:]} and the initial value {init.shape} differ")
    return np.array(init, dtype=hist.dtype)       # a copy: the result never aliases an input


def _last_vjp(node, g):
    # the value is row -1 of concatenate([init[None], hist]): that row's gradient, split
    hist, init = node.inputs
    cat = F.concatenate([F.expand_dims(init, 0), hist], axis=0)
    gcat = F.inc_subtensor(F.zeros_like(cat)[-1], F.cast(g, cat.dtype))
    return [gcat[1:], gcat[0]]


SCAN_LAST = register(Op("scan_last", _last_infer, _last_perform, _last_vjp, kind="index", nin=2,
                        flops=0.0, defined_in=_HERE))
"""``scan_last(history, initial)``: the last row of a scan output's history, or ``initial`` (the
loop's initial value) when the loop ran zero steps. The gradient reads its backward loop's
results with it; the optimizer treats it like ``history[-1]`` (the output keeps its last row only)."""


def scan_last(history, initial) -> Variable:
    """The last value of a loop: ``history[-1]``, or ``initial`` when the loop ran zero steps."""
    return SCAN_LAST(F.as_tensor_variable(history), F.as_tensor_variable(initial))


class until:
    """``return outputs, until(condition)``: stop after the step where ``condition`` is true."""

    def __init__(self, condition):
        self.condition = F.as_tensor_variable(condition)
        if self.condition.ndim != 0:
            raise EgoptTypeError(f"until: the condition must be a scalar, got {self.condition.type}")


def _placeholder(t: TensorType, name: str | None, source: Variable | None = None, row: int | None = None
                 ) -> Variable:
    """A body input. With ``config.compute_test_value`` on, it gets the test value the body sees at
    the first step (``source``'s, or its row ``row``), as Theano's scan gave its inner inputs, so
    the body can be built under ``compute_test_value='raise'``."""
    v = Variable(t, name=name)
    if source is not None and config.compute_test_value != "off":
        value = test_value_of(source)
        if value is not None and row is not None:
            value = value[row] if np.ndim(value) and len(value) > row else None
        if value is not None:
            v.tag.test_value = np.asarray(value)
    return v


def _row_type(v: Variable) -> TensorType:
    if v.ndim == 0:
        raise EgoptTypeError(f"scan: sequence {v!r} is a scalar; a sequence needs a leading (time) axis")
    return TensorType(v.dtype, v.type.shape[1:])


def _normalize_seq(s) -> tuple[Variable, list[int]]:
    if isinstance(s, dict):
        taps = s.get("taps", [0])
        taps = [0] if taps is None else ([taps] if isinstance(taps, int) else list(taps))
        return F.as_tensor_variable(s["input"]), taps
    return F.as_tensor_variable(s), [0]


def _normalize_out(o) -> tuple[Variable | None, list[int]]:
    if o is None:
        return None, []
    if isinstance(o, dict):
        init = o.get("initial")
        if init is None:
            return None, []
        taps = o.get("taps", [-1])
        taps = [taps] if isinstance(taps, int) else list(taps)
        if not taps or any(t >= 0 for t in taps):
            raise ValueError(f"scan: output taps must be negative, got {taps}")
        return F.as_tensor_variable(init), taps
    return F.as_tensor_variable(o), [-1]


def _in_user_order(placeholders: list, user_taps: list[int]) -> list:
    """The slices in the order the user listed the taps (Theano's: fn gets ``x[t+1], x[t]`` for
    ``taps=[1, 0]``); the loop itself keeps them sorted."""
    by_tap = dict(zip(sorted(user_taps), placeholders))
    return [by_tap[k] for k in user_taps]


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _parse_result(res):
    """fn's return value -> (outputs, updates, condition); Theano's forms in any order."""
    outs, updates, cond = [], OrderedDict(), None
    items = list(res) if isinstance(res, tuple) else [res]
    if isinstance(res, tuple) and res and all(isinstance(r, (Variable, int, float, np.ndarray)) for r in res):
        items = [list(res)]
    for it in items:
        if isinstance(it, until):
            cond = it.condition
        elif isinstance(it, dict):
            updates.update(it)
        elif isinstance(it, (list, tuple)) and it and all(isinstance(p, tuple) and len(p) == 2 for p in it):
            updates.update(it)
        elif isinstance(it, (list, tuple)):
            outs.extend(it)
        elif it is None:
            continue
        else:
            outs.append(it)
    return [F.as_tensor_variable(o) for o in outs], updates, cond


def scan(fn: Callable, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient: int = -1, go_backwards: bool = False, mode=None, name: str | None = None,
         profile: bool = False, allow_gc=None, strict: bool = False, return_list: bool = False,
         return_updates: bool = True):
    """Theano's ``scan``: ``fn(*sequence_slices, *previous_outputs, *non_sequences)`` run for each step.

    ``return_updates=False`` (PyTensor's): only the outputs; the updates become the shared
    variables' default updates.

    Returns ``(outputs, updates)``: the history of each output (``(n_steps, ...)``; a single
    variable when there is one output, unless ``return_list``) and an ``OrderedDict`` of the
    updates of shared variables the body set (pass it to ``egopt.function(updates=...)``).

    >>> import egopt, egopt.tensor as T
    >>> x = T.dvector("x")
    >>> s, _ = scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=T.constant(0.0))
    >>> s.eval({x: [1.0, 2.0, 3.0]})
    array([1., 3., 6.])
    """
    loc = SourceLoc.capture()
    user_seq_specs = [_normalize_seq(s) for s in _as_list(sequences)]
    user_out_specs = [_normalize_out(o) for o in _as_list(outputs_info)]
    seq_specs = [(x, sorted(taps)) for x, taps in user_seq_specs]
    out_specs = [(init, sorted(taps)) for init, taps in user_out_specs]
    nonseqs = [F.as_tensor_variable(v) for v in _as_list(non_sequences)]

    outer_seqs, seq_slices = [], []
    for x, taps in seq_specs:
        if go_backwards:
            x = x[::-1]
        lo, hi = taps[0], taps[-1]
        for k in taps:
            stop = k - hi
            outer_seqs.append(x if k == lo and not stop else x[k - lo: stop if stop else None])
            seq_slices.append(_placeholder(_row_type(x), f"{x.name or 'seq'}[t{k:+d}]" if k else
                                           f"{x.name or 'seq'}[t]", x, k - lo))
    if not outer_seqs and n_steps is None:
        raise ValueError("scan: give sequences or n_steps (the number of steps is unknown)")

    tap_inputs, inits = [], []
    for i, (init, taps) in enumerate(out_specs):
        if init is None:
            tap_inputs.append([])
            continue
        L = -taps[0]
        # one tap of -1 (sit-sot): the initial value is the previous output itself; deeper taps
        # (mit-sot) give a buffer of L rows
        buf = F.expand_dims(init, 0) if L == 1 else init
        if buf.ndim == 0:
            raise EgoptTypeError(f"scan: the initial value of output {i} with taps {taps} needs a leading "
                                 f"axis of {L} rows, got a scalar")
        row = _row_type(buf)
        inits.append(buf)
        tap_inputs.append([_placeholder(row, f"{init.name or f'out{i}'}[t{k:+d}]", buf, k + L) for k in taps])
    nonseq_ph = [v if isinstance(v, Constant) else _placeholder(v.type, v.name, v) for v in nonseqs]

    seq_args, start = [], 0
    for _, taps in user_seq_specs:
        seq_args += _in_user_order(seq_slices[start:start + len(taps)], taps)
        start += len(taps)
    tap_args = [p for ps, (_, taps) in zip(tap_inputs, user_out_specs) for p in _in_user_order(ps, taps)]
    args = seq_args + tap_args + nonseqs
    outs, updates, cond = _parse_result(fn(*args))
    if out_specs and len(outs) != len(out_specs):
        raise ValueError(f"scan: fn returned {len(outs)} output(s) but outputs_info has {len(out_specs)} entries")
    if not out_specs:
        out_specs = [(None, [])] * len(outs)
        tap_inputs = [[] for _ in outs]
    body_roots = outs + list(updates.values()) + ([cond] if cond is not None else [])
    _add_inner_updates(updates, body_roots, args)
    _add_default_updates(updates, body_roots, args)
    # the body sees the outer non-sequences themselves (grad inside the body works, as in Theano);
    # they are swapped for placeholders here
    swap = {v: p for v, p in zip(nonseqs, nonseq_ph) if p is not v}
    upd_pairs = [(k, F.as_tensor_variable(v)) for k, v in updates.items()]
    for k, _ in upd_pairs:
        if not isinstance(k, SharedVariable):
            raise TypeError(f"scan: updates key {k!r} is not a shared variable")
    # shared variables the body updates are hidden states: their placeholder is a tap -1 input
    upd_ph = [_placeholder(k.type, k.name, k) for k, _ in upd_pairs]
    swap.update({k: p for (k, _), p in zip(upd_pairs, upd_ph)})
    roots = outs + [e for _, e in upd_pairs] + ([cond] if cond is not None else [])
    roots = clone_replace(roots, swap) if swap else roots
    # free variables of the body (shared variables, closures) become implicit non-sequences
    known = {id(v) for v in args} | {id(p) for p in swap.values()}
    free = [v for v in graph_inputs(roots, stop=list(swap.values()) + seq_slices +
                                    [p for ps in tap_inputs for p in ps])
            if id(v) not in known and not isinstance(v, Constant)]
    free_ph = [_placeholder(v.type, v.name, v) for v in free]
    if free:
        roots = clone_replace(roots, dict(zip(free, free_ph)))
    n_user = len(outs)
    inner_outs = roots[:n_user + len(upd_pairs)]
    for i, ((init, taps), o, ps) in enumerate(zip(out_specs, inner_outs, tap_inputs)):
        if ps:
            _check_state(i, ps[0], o)
    for (k, _), o, p in zip(upd_pairs, inner_outs[n_user:], upd_ph):
        _check_state(k.name or "update", p, o)
    nonseq_all = [v for v in nonseqs] + free
    nonseq_ph_all = [p for p in nonseq_ph] + free_ph
    # constants passed as non-sequences stay constants in the body
    keep_ns = [j for j, p in enumerate(nonseq_ph_all) if not isinstance(p, Constant)]
    nonseq_all = [nonseq_all[j] for j in keep_ns]
    nonseq_ph_all = [nonseq_ph_all[j] for j in keep_ns]

    all_taps = tuple(tuple(t) for _, t in out_specs) + ((-1,),) * len(upd_pairs)
    all_tap_inputs = tap_inputs + [[p] for p in upd_ph]
    all_inits = inits + [F.expand_dims(k, 0) for k, _ in upd_pairs]
    if cond is not None:
        c = roots[-1]
        inner_outs = inner_outs + [c if c.dtype == "bool" else F.neq(c, 0)]
    spec = ScanSpec(inner_inputs=tuple(seq_slices + [p for ps in all_tap_inputs for p in ps] + nonseq_ph_all),
                    inner_outputs=tuple(inner_outs), n_seqs=len(outer_seqs), taps=all_taps,
                    n_nonseqs=len(nonseq_ph_all), until=cond is not None,
                    keep=("all",) * len(all_taps), go_backwards=bool(go_backwards),
                    truncate_gradient=int(truncate_gradient), n_updates=len(upd_pairs), name=name,
                    equal_lengths=len(seq_specs) == 1)
    steps = F.constant(-1, dtype="int64") if n_steps is None else F.cast(F.as_tensor_variable(n_steps), "int64")
    from .scan_hoist import hoist, prune
    spec, outer = hoist(spec, [steps] + outer_seqs + all_inits + nonseq_all)
    spec, outer = prune(spec, outer)
    node = SCAN.make_node(outer, loc=loc, spec=spec)
    results = node.outputs[:n_user]
    # (a loop of zero steps leaves a shared variable as it was)
    new_updates = OrderedDict((k, scan_last(node.outputs[n_user + j], k)) for j, (k, _) in enumerate(upd_pairs))
    out = results[0] if len(results) == 1 and not return_list else list(results)
    if not return_updates:
        # PyTensor's return_updates=False: the loop's updates become the shared variables'
        # default updates, which every function using the outputs then applies
        for k, v in new_updates.items():
            k.default_update = v
        return out
    return out, new_updates


def map(fn: Callable, sequences, non_sequences=None, truncate_gradient: int = -1, go_backwards: bool = False,
        mode=None, name: str | None = None):
    """``scan`` with no fed-back outputs: ``fn`` applied to each row of the sequences."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, name=name)


def reduce(fn: Callable, sequences, outputs_info, non_sequences=None, go_backwards: bool = False,
           mode=None, name: str | None = None):
    """``scan`` keeping only the last value of each output (which then keeps one row only).

    >>> import egopt.tensor as T
    >>> x = T.dvector("x")
    >>> total, _ = reduce(lambda v, acc: acc + v, x, T.constant(0.0))
    >>> float(total.eval({x: [1.0, 2.0, 4.0]}))
    7.0
    """
    outs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences,
                         go_backwards=go_backwards, name=name, return_list=True)
    last = [o[-1] for o in outs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn: Callable, sequences, outputs_info, non_sequences=None, mode=None, name: str | None = None):
    """``reduce`` from the first row."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False, name=name)


def foldr(fn: Callable, sequences, outputs_info, non_sequences=None, mode=None, name: str | None = None):
    """``reduce`` from the last row."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True, name=name)


def _add_inner_updates(updates: OrderedDict, roots: list, args: list) -> None:
    """A scan inside the body that updates a shared variable (a random key its body draws with)
    which the body does not return an update for: the variable is updated, at each step, by
    that inner scan's last value of it. (Its default update would advance a key only once per
    step, and the next step's inner loop would draw the same numbers again, shifted by one.)"""
    from .graph import toposort
    for node in toposort([F.as_tensor_variable(r) for r in roots], stop=list(args)):
        if node.op is not SCAN:
            continue
        spec = node.params["spec"]
        if not spec.n_updates:
            continue
        _, _, inits, _ = spec.split_outer(node.inputs)
        first = spec.n_outputs - spec.n_updates
        for init, out in zip(inits[len(inits) - spec.n_updates:], node.outputs[first:]):
            src = init.owner.inputs[0] if init.owner is not None and init.owner.inputs else None
            if (isinstance(src, SharedVariable) and init.owner.op.name == "dimshuffle"
                    and all(k is not src for k in updates)):
                updates[src] = out[-1]


def _add_default_updates(updates: OrderedDict, roots: list, args: list) -> None:
    """Shared variables the body reads that have a ``default_update`` (random keys) and that the
    body does not update itself become hidden states too, advanced by their default update at
    every step (Theano's semantics: each step draws fresh numbers, and scan's updates advance
    the key once per call of the outer function)."""
    keys = {id(k) for k in updates}
    todo = [F.as_tensor_variable(r) for r in roots]
    while todo:
        found = []
        for v in graph_inputs(todo, stop=list(args)):
            if isinstance(v, SharedVariable) and v.default_update is not None and id(v) not in keys:
                keys.add(id(v))
                updates[v] = v.default_update
                found.append(F.as_tensor_variable(v.default_update))
        todo = found     # a default update may read further such variables


def _check_state(i, placeholder: Variable, out: Variable) -> None:
    if out.dtype != placeholder.dtype or out.ndim != placeholder.ndim:
        raise EgoptTypeError(
            f"scan: output {i} of the step function has type {out.type}, but its initial value (the "
            f"previous output it is fed back as) has type {placeholder.type}; they must agree. Cast "
            f"the initial value (e.g. T.cast(h0, {out.dtype!r})) or the output.")


def respec(spec: ScanSpec, **changes) -> ScanSpec:
    """A copy of ``spec`` with fields changed (compile-time rewrites build new nodes with it)."""
    return replace(spec, **changes)


def scan_nodes(nodes) -> list:
    return [n for n in nodes if n.op is SCAN]
