"""``egopt.function``: inputs, outputs, updates and givens in, a callable compiled function out.

The pipeline: givens -> check leaves (explicit inputs, implicit shared inputs, constants) ->
optimize (per the mode) -> link -> call. Updates take effect after every output is computed.
"""
from __future__ import annotations

import atexit
import weakref
import time
import warnings
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from ..lang import frontend as F
from ..lang.errors import EgoptTypeError, MissingInputError, UnusedInputError
from ..lang.graph import Constant, Variable, ancestors, clone_replace, graph_inputs
from ..lang.shared import SharedVariable
from .mode import Mode, get_mode
from .py_linker import Program


class In:
    """An explicit input with options: ``In(x, value=1.0, name="x", borrow=False)``."""

    def __init__(self, variable: Variable, name: str | None = None, value=None, borrow: bool = False,
                 mutable: bool = False):
        self.variable, self.name, self.value, self.borrow = variable, name or variable.name, value, borrow
        self.mutable = mutable


class Out:
    def __init__(self, variable: Variable, borrow: bool = False):
        self.variable, self.borrow = variable, borrow


def _pairs(obj, what: str) -> list[tuple[Any, Any]]:
    if obj is None:
        return []
    if isinstance(obj, dict):
        return list(obj.items())
    pairs = list(obj)
    for p in pairs:
        if not (isinstance(p, (tuple, list)) and len(p) == 2):
            raise TypeError(f"{what} must be a dict or a list of (variable, expression) pairs, got {p!r}")
    return [tuple(p) for p in pairs]


def _check_same_type(key: Variable, value: Variable, what: str) -> Variable:
    if value.ndim != key.ndim:
        raise EgoptTypeError(f"{what}: {key!r} has type {key.type} but its replacement {value!r} has "
                             f"ndim {value.ndim} ({value.type})")
    if value.dtype != key.dtype:
        if np.can_cast(value.dtype, key.dtype, casting="safe") and not isinstance(key, SharedVariable):
            value = F.cast(value, key.dtype)
        else:
            raise EgoptTypeError(
                f"{what}: {key!r} has dtype {key.dtype} but {value!r} has dtype {value.dtype}; "
                f"cast the expression: ({value!r}).astype({key.dtype!r})")
    for a, (s, t) in enumerate(zip(key.type.shape, value.type.shape)):
        if s is not None and t is not None and s != t:
            raise EgoptTypeError(f"{what}: {key!r} has static shape {key.type.shape} but "
                                 f"{value!r} has {value.type.shape} (axis {a})")
    return value


class Function:
    """A compiled function. Call it with values for its explicit inputs (positional or by name)."""

    def __init__(self, inputs, outputs, updates, givens, mode, profile, on_unused_input, name,
                 allow_input_downcast, no_default_updates):
        self.name = name
        self.mode: Mode = get_mode(mode)
        self._spec = dict(inputs=inputs, outputs=outputs, updates=updates, givens=givens, mode=mode,
                          profile=profile, on_unused_input=on_unused_input, name=name,
                          allow_input_downcast=allow_input_downcast,
                          no_default_updates=no_default_updates)
        self.allow_input_downcast = bool(allow_input_downcast)
        ins = [i if isinstance(i, In) else In(i) for i in (inputs or [])]
        for i in ins:
            if not isinstance(i.variable, Variable):
                raise TypeError(f"function inputs must be symbolic variables, got {i.variable!r} "
                                f"({type(i.variable).__name__})")
            if isinstance(i.variable, Constant):
                raise TypeError(f"function input {i.variable!r} is a constant; constants cannot be inputs")
        seen = set()
        for i in ins:
            if id(i.variable) in seen:
                raise ValueError(f"input {i.variable!r} is given twice")
            seen.add(id(i.variable))
        self.ins = ins
        self.input_vars = [i.variable for i in ins]

        self.single = outputs is not None and not isinstance(outputs, (list, tuple))
        outs = [] if outputs is None else ([outputs] if self.single else list(outputs))
        outs = [o.variable if isinstance(o, Out) else o for o in outs]
        outs = [F.as_tensor_variable(o) for o in outs]

        upd = []
        for k, v in _pairs(updates, "updates"):
            if not isinstance(k, SharedVariable):
                raise TypeError(f"updates: {k!r} is not a shared variable; only shared variables "
                                f"can be updated")
            upd.append((k, _check_same_type(k, F.as_tensor_variable(v), f"update of {k!r}")))
        if len({id(k) for k, _ in upd}) != len(upd):
            raise ValueError("updates: a shared variable is updated twice")
        if not no_default_updates:
            upd_keys = {id(k) for k, _ in upd}
            for v in graph_inputs(outs + [e for _, e in upd]):
                if isinstance(v, SharedVariable) and v.default_update is not None and id(v) not in upd_keys:
                    upd.append((v, v.default_update))

        giv = [(k, _check_same_type(k, F.as_tensor_variable(v), f"givens[{k!r}]"))
               for k, v in _pairs(givens, "givens")]
        exprs = outs + [e for _, e in upd]
        if giv:
            for k, _ in giv:
                if not isinstance(k, Variable):
                    raise TypeError(f"givens: key {k!r} is not a symbolic variable")
            exprs = clone_replace(exprs, dict(giv))
        self.outputs = exprs[:len(outs)]
        self.updates = [(k, e) for (k, _), e in zip(upd, exprs[len(outs):])]

        # leaves: explicit inputs cut the graph; shared variables become implicit inputs
        needed = graph_inputs(exprs, stop=self.input_vars)
        explicit = {id(v) for v in self.input_vars}
        self.shared_vars: list[SharedVariable] = []
        for v in needed:
            if id(v) in explicit or isinstance(v, Constant):
                continue
            if isinstance(v, SharedVariable):
                self.shared_vars.append(v)
            else:
                raise MissingInputError(_missing_message(v, exprs, self.input_vars))
        used = {id(v) for v in ancestors(exprs, stop=self.input_vars)}
        unused = [v for v in self.input_vars if id(v) not in used]
        policy = on_unused_input or "raise"
        if unused and policy != "ignore":
            msg = (f"egopt.function{' ' + repr(name) if name else ''}: input(s) "
                   f"{', '.join(repr(v) for v in unused)} are not used to compute any output or update. "
                   "Pass on_unused_input='warn' or 'ignore' to allow this.")
            if policy == "raise":
                raise UnusedInputError(msg)
            warnings.warn(msg, stacklevel=3)

        self.update_vars = [k for k, _ in self.updates]
        all_outputs = self.outputs + [e for _, e in self.updates]
        self.program = self._link(self.input_vars + self.shared_vars, all_outputs)
        self.profile = {} if profile else None
        if profile:
            atexit.register(self._print_profile)

    def _link(self, leaves: Sequence[Variable], outputs: Sequence[Variable]) -> Program:
        from .optimize import OptimizationReport, optimize, ruleset_for
        self.report = OptimizationReport(outcome="optimizer off (mode without 'egraph')")
        if self.mode.optimizer == "egraph":
            outputs, self.report = optimize(outputs, leaves, ruleset_for(self.mode))
            n = len(self.outputs)
            self.outputs = list(outputs[:n])
            self.updates = [(k, e) for (k, _), e in zip(self.updates, outputs[n:])]
        # the NumPy linker runs every mode until the C backend lands
        return Program(leaves, outputs)

    def optimization_report(self) -> "OptimizationReport":
        """What the e-graph optimizer did: phases, e-graph sizes, rules fired, cost before/after."""
        return self.report

    # ---- calling ---------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if len(args) > len(self.ins):
            raise TypeError(f"{self._label()} takes {len(self.ins)} input(s), got {len(args)}")
        values = list(args) + [None] * (len(self.ins) - len(args))
        given = [True] * len(args) + [False] * (len(self.ins) - len(args))
        for key, val in kwargs.items():
            idx = next((j for j, i in enumerate(self.ins) if i.name == key), None)
            if idx is None:
                raise TypeError(f"{self._label()} has no input named {key!r}")
            if given[idx]:
                raise TypeError(f"{self._label()}: input {key!r} given twice")
            values[idx], given[idx] = val, True
        arrays = []
        for j, (inp, val, ok) in enumerate(zip(self.ins, values, given)):
            if not ok:
                if inp.value is None:
                    raise TypeError(f"{self._label()}: missing value for input {j} ({inp.variable!r})")
                val = inp.value
            label = f"{self._label()} input {j} ({inp.name or inp.variable!r})"
            arrays.append(inp.variable.type.filter(val, name=label,
                                                   allow_downcast=self.allow_input_downcast))
        shared_vals = [s.container[0] for s in self.shared_vars]
        t0 = time.perf_counter()
        results = self.program.run(arrays + shared_vals, self.profile)
        outs = results[:len(self.outputs)]
        # outputs never alias the caller's arrays or the shared storage
        owned = {id(a) for a in arrays} | {id(a) for a in shared_vals}
        outs = [o.copy() if id(o) in owned else o for o in outs]
        for var, val in zip(self.update_vars, results[len(self.outputs):]):
            var.container[0] = val
        if self.profile is not None:
            rec = self.profile.setdefault("__call__", [0, 0.0])
            rec[0] += 1
            rec[1] += time.perf_counter() - t0
        if self.single:
            return outs[0]
        return outs

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "function"

    # ---- introspection -----------------------------------------------------------------------------------
    def graph_outputs(self) -> list[Variable]:
        """The graph that runs: outputs, then update expressions."""
        return self.outputs + [e for _, e in self.updates]

    def profile_table(self) -> str:
        if self.profile is None:
            return "profiling is off: compile with profile=True"
        total = sum(v[1] for k, v in self.profile.items() if k != "__call__") or 1e-12
        rows = sorted(((k, *v) for k, v in self.profile.items() if k != "__call__"),
                      key=lambda r: -r[2])
        calls = self.profile.get("__call__", [0, 0.0])
        lines = [f"Profile of {self._label()}: {calls[0]} calls, {calls[1]:.6f} s",
                 f"{'op':<24}{'calls':>8}{'total s':>12}{'per call us':>14}{'%':>8}"]
        for op, n, t in rows:
            lines.append(f"{op:<24}{n:>8}{t:>12.6f}{1e6 * t / max(n, 1):>14.2f}{100 * t / total:>8.1f}")
        return "\n".join(lines)

    def _print_profile(self):
        if self.profile:
            print(self.profile_table())

    # ---- pickling: the graph and its shared variables travel; compilation is redone on load ----------
    def __reduce__(self):
        spec = dict(self._spec)
        spec.update(inputs=self.ins, outputs=self.outputs[0] if self.single else self.outputs,
                    updates=self.updates, givens=None)
        return (_rebuild, (spec,))

    def __repr__(self) -> str:
        return f"<egopt Function {self.name or ''} ({len(self.ins)} inputs, {len(self.outputs)} outputs)>"


def _rebuild(spec: dict) -> Function:
    return Function(**spec)


def _missing_message(v: Variable, exprs, inputs) -> str:
    users = [n for n in _users(v, exprs, inputs)]
    where = ""
    if users and users[0].loc:
        where = f"\n  it is used by {users[0].op.name}, built at {users[0].loc}"
    return (f"{v!r} ({v.type}) is needed to compute the outputs but is not an input of the "
            f"function: add it to the inputs list, or replace it with givens={{{v!r}: ...}}" + where)


def _users(v, exprs, inputs):
    from ..lang.graph import toposort
    return [n for n in toposort(exprs, stop=inputs) if any(i is v for i in n.inputs)]


def function(inputs, outputs=None, mode=None, updates=None, givens=None, profile: bool = False,
             on_unused_input: str | None = None, name: str | None = None,
             allow_input_downcast: bool | None = None, no_default_updates: bool = False) -> Function:
    """Compile a function from symbolic inputs to outputs.

    >>> import egopt, egopt.tensor as T
    >>> x, y = T.dscalars("x", "y")
    >>> f = egopt.function([x, y], x + y)
    >>> float(f(2, 8))
    10.0
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function: inputs must be a list of variables, got {type(inputs).__name__}")
    if on_unused_input not in (None, "raise", "warn", "ignore"):
        raise ValueError("on_unused_input must be 'raise', 'warn' or 'ignore'")
    return Function(list(inputs), outputs, updates, givens, mode, profile, on_unused_input, name,
                    allow_input_downcast, no_default_updates)


_EVAL_CACHE: "weakref.WeakKeyDictionary[Variable, OrderedDict]" = weakref.WeakKeyDictionary()


def eval_variable(var: Variable, inputs_to_values: dict) -> np.ndarray:
    """``Variable.eval``: compile (cached per input set) and run."""
    keys = list(inputs_to_values)
    cache = _EVAL_CACHE.get(var)
    if cache is None:
        cache = _EVAL_CACHE[var] = OrderedDict()
    sig = tuple(id(k) for k in keys)
    fn = cache.get(sig)
    if fn is None:
        fn = function(keys, var, on_unused_input="ignore")
        cache[sig] = fn
        if len(cache) > 8:
            cache.popitem(last=False)
    return fn(*[inputs_to_values[k] for k in keys])
