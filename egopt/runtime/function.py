"""``egopt.function``: inputs, outputs, updates and givens in, a callable compiled function out.

The pipeline: givens -> check leaves (explicit inputs, implicit shared inputs, constants) ->
optimize (per the mode) -> link -> call. Updates take effect after every output is computed,
and no returned array shares memory with an input, a shared value, a constant or another
returned array.
"""
from __future__ import annotations

import threading
import time
import warnings
import weakref
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np

from .. import config
from ..lang import frontend as F
from ..lang.errors import EgoptTypeError, MissingInputError, UnusedInputError
from ..lang.graph import Constant, Variable, ancestors, clone_replace, graph_inputs, toposort
from ..lang.shared import SharedVariable, shared
from .cuda import is_device_array
from .mode import Mode, get_mode
from .profile import ProfileStats, print_at_exit
from .py_linker import Program
from .serialize import FlatGraph, flatten


class In:
    """An explicit input with options: ``In(x, value=1.0, name="x")``.

    ``value`` is the default used when the call does not give this input; ``name`` is the
    keyword it can be given by (default: the variable's name). With ``update=expr`` the input is
    state kept by the function (Theano's): ``value`` is its initial value, each call computes
    ``expr`` and stores it as the value the next call uses when the input is not given
    (``f[x]`` reads it, ``f[x] = v`` sets it).
    """

    def __init__(self, variable: Variable, name: str | None = None, value=None, borrow: bool = False,
                 mutable: bool = False, update=None, strict: bool = False, allow_downcast=None,
                 autoname: bool = True, implicit=None, shared: bool = False):
        self.variable, self.name, self.value = variable, name or getattr(variable, "name", None), value
        self.borrow = borrow
        self.mutable = mutable
        self.update = update
        if update is not None and value is None:
            raise TypeError(f"In({variable!r}, update=...): an input with an update needs an initial value= "
                            "(the function keeps its state between calls)")


class Out:
    """An output with options (``borrow`` is accepted for Theano compatibility)."""

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


def _root(a) -> int:
    """Identity of the memory an array views (its ultimate base)."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return id(a)


def _unaliased(values: Sequence[np.ndarray], taken: set[int]) -> list[np.ndarray]:
    """``values`` with a copy of each one whose memory is in ``taken``; marks the memory used."""
    out = []
    for v in values:
        if _root(v) in taken:
            v = v.copy()
        taken.add(_root(v))
        out.append(v)
    return out


def _as_in(i) -> In:
    """An input spec as an ``In``: Theano's shorthands ``(x, value)`` and ``((x, update), value)``."""
    if isinstance(i, In):
        return i
    if isinstance(i, tuple) and len(i) == 2:
        var, value = i
        if isinstance(var, tuple) and len(var) == 2:
            return In(var[0], value=value, update=var[1])
        if isinstance(var, Variable):
            return In(var, value=value)
    return In(i)


def _explicit_inputs(inputs) -> list[In]:
    ins = [_as_in(i) for i in (inputs or [])]
    seen: set[int] = set()
    for i in ins:
        v = i.variable
        if not isinstance(v, Variable):
            raise TypeError(f"function inputs must be symbolic variables, got {v!r} ({type(v).__name__})")
        if isinstance(v, Constant):
            raise TypeError(f"function input {v!r} is a constant; constants cannot be inputs")
        if isinstance(v, SharedVariable):
            raise TypeError(f"function input {v!r} is a shared variable: shared variables are implicit "
                            f"inputs. To feed another value in its place, use a symbolic variable x "
                            f"and givens={{{v!r}: x}}")
        if id(v) in seen:
            raise ValueError(f"input {v!r} is given twice")
        seen.add(id(v))
    return ins


def _update_pairs(updates, outs, no_default_updates: bool) -> list[tuple[SharedVariable, Variable]]:
    upd = []
    for k, v in _pairs(updates, "updates"):
        if not isinstance(k, SharedVariable):
            raise TypeError(f"updates: {k!r} is not a shared variable; only shared variables can be updated")
        v = F.as_args([k, v])[1]      # a Python number takes the shared variable's dtype (NEP 50)
        upd.append((k, _check_same_type(k, v, f"update of {k!r}")))
    if len({id(k) for k, _ in upd}) != len(upd):
        raise ValueError("updates: a shared variable is updated twice")
    if not no_default_updates:
        keys = {id(k) for k, _ in upd}
        for v in graph_inputs(outs + [e for _, e in upd]):
            if isinstance(v, SharedVariable) and v.default_update is not None and id(v) not in keys:
                upd.append((v, v.default_update))
    return upd


class _InputValues:
    """``f.value[x]`` / ``f.container[x].value``: the default value of an input (its state for an
    ``In(x, update=...)``), by variable or name."""

    def __init__(self, fn: "Function", cells: bool = False):
        self.fn, self.cells = fn, cells

    def __getitem__(self, key):
        if self.cells:
            return _Cell(self.fn, key)
        return self.fn[key]

    def __setitem__(self, key, value) -> None:
        self.fn[key] = value


class _Cell:
    def __init__(self, fn: "Function", key):
        self.fn, self.key = fn, key

    @property
    def value(self):
        return self.fn[self.key]

    @value.setter
    def value(self, v) -> None:
        self.fn[self.key] = v


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
        self.ins = _explicit_inputs(inputs)
        self.input_vars = [i.variable for i in self.ins]
        self.defaults = [None if i.value is None else self._filter(j, i.value) for j, i in enumerate(self.ins)]

        self.single = outputs is not None and not isinstance(outputs, (list, tuple))
        outs = [] if outputs is None else ([outputs] if self.single else list(outputs))
        outs = [F.as_tensor_variable(o.variable if isinstance(o, Out) else o) for o in outs]
        # In(x, update=...): the state lives in a hidden shared variable updated after each call
        self._states = {j: shared(self.defaults[j], name=i.name or repr(i.variable))
                        for j, i in enumerate(self.ins) if i.update is not None}
        state_updates = [(self._states[j], self.ins[j].update) for j in self._states]
        upd = _update_pairs(_pairs(updates, "updates") + state_updates if state_updates else updates, outs,
                            no_default_updates)
        exprs = self._substitute(outs + [e for _, e in upd], givens)
        self.outputs = exprs[:len(outs)]
        self.updates = [(k, e) for (k, _), e in zip(upd, exprs[len(outs):])]
        self._source = (list(self.outputs), list(self.updates))   # before optimization, for pickling

        self.shared_vars = self._implicit_inputs(exprs)
        self._check_unused(exprs, on_unused_input or "raise")
        self.update_vars = [k for k, _ in self.updates]
        self._lock = threading.Lock()
        self._updated = {id(k) for k in self.update_vars}
        self.program = self._link(self.input_vars + self.shared_vars, exprs)
        self._checked = self.mode.checked_program(self)   # DebugMode / NanGuardMode; else None
        self._constant_roots = {_root(a) for a in self.program.constant_arrays}
        if config.print_rewrites:
            print(f"{self._label()}: {self.report}")
        self.profile: ProfileStats | None = ProfileStats(self._label()) if profile else None
        if self.profile is not None:
            print_at_exit(self.profile)
        self._prepare_call()

    def _substitute(self, exprs: list[Variable], givens) -> list[Variable]:
        giv = []
        for k, v in _pairs(givens, "givens"):
            if not isinstance(k, Variable):
                raise TypeError(f"givens: key {k!r} is not a symbolic variable")
            giv.append((k, _check_same_type(k, F.as_tensor_variable(v), f"givens[{k!r}]")))
        return clone_replace(exprs, dict(giv)) if giv else exprs

    def _implicit_inputs(self, exprs) -> list[SharedVariable]:
        """Leaves other than explicit inputs: shared variables, or a missing-input error."""
        explicit = {id(v) for v in self.input_vars}
        shared = []
        for v in graph_inputs(exprs, stop=self.input_vars):
            if id(v) in explicit or isinstance(v, Constant):
                continue
            if not isinstance(v, SharedVariable):
                raise MissingInputError(_missing_message(v, exprs, self.input_vars))
            shared.append(v)
        return shared

    def _check_unused(self, exprs, policy: str) -> None:
        above = ancestors(exprs, stop=self.input_vars)
        used = {id(v) for v in above}
        used |= {id(w) for v in above for w in getattr(v.tag, "depends_on", ())}   # e.g. Rop's wrt
        unused = [v for v in self.input_vars if id(v) not in used]
        if not unused or policy == "ignore":
            return
        msg = (f"egopt.function{' ' + repr(self.name) if self.name else ''}: input(s) "
               f"{', '.join(repr(v) for v in unused)} are not used to compute any output or update. "
               "Pass on_unused_input='warn' or 'ignore' to allow this.")
        if policy == "raise":
            raise UnusedInputError(msg)
        warnings.warn(msg, stacklevel=4)

    def _link(self, leaves: Sequence[Variable], outputs: Sequence[Variable]) -> Program:
        from .backends import require_backend
        from .optimize import OptimizationReport, ruleset_for
        from .scan_opt import optimize_graph
        require_backend(self.mode)    # a device without a backend fails here, before any work
        self.report = OptimizationReport(outcome="optimizer off (mode without 'egraph')")
        self.input_graph = list(outputs)    # before optimization: DebugMode's reference
        if self.mode.optimizer == "egraph":
            from .graph_cache import optimize_cached
            # test values are for the user's graph building (Theano's too): the optimizer's own
            # graphs (rule patterns, rewritten nodes) are built without them
            with config.change_flags(compute_test_value="off"):
                outputs, self.report = optimize_cached(
                    outputs, leaves, self.mode, lambda: optimize_graph(outputs, leaves, ruleset_for(self.mode)))
            n = len(self.outputs)
            self.outputs = list(outputs[:n])
            self.updates = [(k, e) for (k, _), e in zip(self.updates, outputs[n:])]
        self.linker = _linker_for(self.mode)
        on_gpu = [v for v in self.shared_vars if self.linker != "cuda" and is_device_array(v.container[0])]
        if on_gpu:
            raise TypeError(f"{self._label()}: shared variable(s) {', '.join(map(repr, on_gpu))} hold CuPy arrays "
                            f"(made under device='cuda'), but this function runs on the CPU ({self.linker!r} "
                            "linker): compile it with device='cuda', or set_value a NumPy array first")
        from .scan_exec import prepare_scans
        prepare_scans(outputs, leaves, self.linker)       # scan bodies on C kernels too
        if self.linker == "c":
            from .schedule import CProgram
            n, first_shared = len(self.outputs), len(self.input_vars)
            where = {id(v): j for j, v in enumerate(self.shared_vars)}
            inplace = [(n + k, first_shared + where[id(var)])
                       for k, var in enumerate(self.update_vars) if id(var) in where]
            return CProgram(leaves, outputs, inplace)
        if self.linker == "cuda":
            from .cuda_program import CUDAProgram
            return CUDAProgram(leaves, outputs, len(self.outputs),
                               outputs_on_device=bool(self.mode.options.get("device_outputs")))
        return Program(leaves, outputs)

    def optimization_report(self) -> "OptimizationReport":
        """What the e-graph optimizer did: phases, e-graph sizes, rules fired, cost before/after."""
        return self.report

    # ---- calling ---------------------------------------------------------------------------------------
    def _prepare_call(self) -> None:
        """The per-call path, computed once: a generated function checks each positional
        ndarray's dtype and ndim inline and, with fresh results and no shared values or updates,
        runs the program directly; anything else (keywords, defaults, conversions) takes the
        general path."""
        self._fast = None
        # otherwise (shared values, updates, results to check for aliasing): the same inline
        # argument checks, then the general call on the arrays
        direct = (getattr(self.program, "fresh_outputs", False) and not self.shared_vars
                  and not self.update_vars and self.profile is None)
        n = len(self.ins)
        env = {"nd": np.ndarray, "filt": self._filter, "general": self._call_general,
               "run": getattr(self.program, "run_direct", None), "lock": self._lock, "call": self._call}
        names = [f"a{j}" for j in range(n)]
        lines = ["def fast(*args):",
                 f"    if len(args) != {n}:", "        return general(args, {})"]
        if n:
            lines.append("    " + "".join(f"{a}, " for a in names) + "= args")
        for j, (a, v) in enumerate(zip(names, self.input_vars)):
            env[f"d{j}"] = np.dtype(v.type.dtype)
            test = f"type({a}) is nd and {a}.dtype is d{j} and {a}.ndim == {v.ndim}"
            if any(s is not None for s in v.type.shape):
                test = "False"
            lines.append(f"    if not ({test}):")
            lines.append(f"        {a} = filt({j}, {a})")
        single = self.single and len(self.outputs) == 1
        if not direct:
            lines += (["    with lock:", f"        return call([{', '.join(names)}])"] if self.update_vars
                      else [f"    return call([{', '.join(names)}])"])
        else:
            lines.append(f"    return run({', '.join(names)})" if single or len(self.outputs) != 1
                         else f"    return [run({', '.join(names)})]")
        exec(compile("\n".join(lines), "<egopt call>", "exec"), env)
        self._fast = env["fast"]

    def __call__(self, *args, **kwargs):
        if self._fast is not None and not kwargs:
            return self._fast(*args)
        return self._call_general(args, kwargs)

    def _call_general(self, args, kwargs):
        arrays = self._arguments(args, kwargs)
        if not self.update_vars:
            return self._call(arrays)
        with self._lock:        # read shared values, compute, write updates: one transaction per call
            return self._call(arrays)

    def _call(self, arrays):
        shared_vals = [s.container[0] for s in self.shared_vars]
        t0 = time.perf_counter()
        results = (self._checked or self.program).run(arrays + shared_vals, self.profile)
        n = len(self.outputs)
        # nothing returned or stored may share memory with what the caller or another variable holds
        taken = {_root(a) for a in arrays} | self._constant_roots
        taken |= {_root(v) for s, v in zip(self.shared_vars, shared_vals) if id(s) not in self._updated}
        outs = _unaliased(results[:n], taken)
        new_values = _unaliased(results[n:], taken)
        for var, val in zip(self.update_vars, new_values):
            if not var.type.accepts(val):
                raise ValueError(f"{self._label()}: the update of {var!r} computed an array of shape "
                                 f"{val.shape}, but its type is {var.type}; no update was applied")
        for var, val in zip(self.update_vars, new_values):
            var.container[0] = val
        if self.profile is not None:
            self.profile.record_call(time.perf_counter() - t0)
        return outs[0] if self.single else outs

    def _arguments(self, args, kwargs) -> list[np.ndarray]:
        """The explicit inputs' arrays, from positional and keyword arguments and defaults."""
        if len(args) > len(self.ins):
            raise TypeError(f"{self._label()} takes {len(self.ins)} input(s), got {len(args)}")
        values: list[Any] = list(args) + [None] * (len(self.ins) - len(args))
        given = [True] * len(args) + [False] * (len(self.ins) - len(args))
        for key, val in kwargs.items():
            idx = next((j for j, i in enumerate(self.ins) if i.name == key), None)
            if idx is None:
                raise TypeError(f"{self._label()} has no input named {key!r}")
            if given[idx]:
                raise TypeError(f"{self._label()}: input {key!r} given twice")
            values[idx], given[idx] = val, True
        arrays = []
        for j, (val, ok) in enumerate(zip(values, given)):
            if ok:
                arrays.append(self._filter(j, val))
            elif j in self._states:
                arrays.append(self._states[j].container[0])
            elif self.defaults[j] is not None:
                arrays.append(self.defaults[j])
            else:
                raise TypeError(f"{self._label()}: missing value for input {j} ({self.ins[j].variable!r})")
        return arrays

    def _filter(self, j: int, value) -> np.ndarray:
        inp = self.ins[j]
        label = f"{self._label()} input {j} ({inp.name or repr(inp.variable)})"
        if is_device_array(value):      # a CuPy array: used in place on the GPU, else copied to the host
            from ..lang.shared import DEVICE
            if getattr(self, "linker", None) == "cuda":
                return DEVICE.filter(inp.variable.type, value, label, borrow=True)
            value = DEVICE.to_host(value)
        return inp.variable.type.filter(value, name=label, allow_downcast=self.allow_input_downcast)

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "function"

    # ---- the values of inputs with defaults: f[x], f[x] = v (Theano's) --------------------------
    def _input_index(self, key) -> int:
        for j, i in enumerate(self.ins):
            if i.variable is key or (isinstance(key, str) and i.name == key):
                return j
        raise KeyError(f"{self._label()} has no input {key!r}")

    def __getitem__(self, key):
        """The value input ``key`` (a variable or its name) takes when a call does not give it."""
        j = self._input_index(key)
        return self._states[j].get_value() if j in self._states else self.defaults[j]

    def __setitem__(self, key, value) -> None:
        j = self._input_index(key)
        value = self._filter(j, value)
        if j in self._states:
            self._states[j].set_value(value)
        else:
            self.defaults[j] = value

    def dprint(self, **kwargs):
        """PyTensor's ``f.dprint()``: ``debugprint(f)`` (the graph that runs)."""
        from ..lang.printing import debugprint
        return debugprint(self, **kwargs)

    @property
    def value(self) -> "_InputValues":
        """Theano's ``f.value[x]``: the same as ``f[x]`` (readable and settable)."""
        return _InputValues(self)

    @property
    def container(self) -> "_InputValues":
        """Theano's ``f.container[x].value``."""
        return _InputValues(self, cells=True)

    # ---- introspection -----------------------------------------------------------------------------------
    def graph_outputs(self) -> list[Variable]:
        """The graph that runs (after optimization): outputs, then update expressions."""
        return self.outputs + [e for _, e in self.updates]

    @property
    def maker(self) -> SimpleNamespace:
        """Theano's ``f.maker.fgraph`` (``.inputs``, ``.outputs``, ``.toposort()``), for code that looks inside."""
        return SimpleNamespace(fgraph=FunctionGraph(self.input_vars + self.shared_vars, self.graph_outputs()),
                               mode=self.mode)

    def egraph_picture(self, path: str, max_nodes: int = 400) -> str:
        """Draw the e-graph the optimizer saturated (e-classes as clusters, the extracted node of
        each class highlighted) with Graphviz; returns the file written (``.dot`` for the text)."""
        from ..lang.printing import render_dot
        from ..rules.egraph_picture import egraph_dot
        rep = self.report
        if rep.view is None and rep.cached == "hit":     # the graph cache keeps no e-graph: rebuild it
            from .optimize import ruleset_for
            from .scan_opt import optimize_graph
            _, rep = optimize_graph(self.input_graph, self.input_vars + self.shared_vars, ruleset_for(self.mode))
        if rep.view is None:
            raise RuntimeError(f"{self._label()}: no e-graph to draw (optimizer: {rep.outcome}); compile "
                               "with a mode that runs the e-graph optimizer (FAST_RUN)")
        return render_dot(egraph_dot(rep.view, rep.choice, rep.leaf_names, rep.root_classes, max_nodes),
                          path, who="egraph_picture")

    def profile_table(self) -> str:
        """The per-op time table of the calls so far (compile with ``profile=True``)."""
        if self.profile is None:
            return "profiling is off: compile with profile=True"
        return self.profile.table()

    def copy(self, share_memory: bool = False, swap=None, delete_updates: bool = False,
             name: str | None = None, profile: bool | None = None) -> "Function":
        """Theano's ``f.copy``: this function compiled again, with shared variables swapped
        (``swap={old_shared: new_shared}``, in its outputs and updates) or without its updates.
        ``share_memory`` is accepted for compatibility (copies never share intermediate buffers)."""
        swap = dict(swap or {})
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(new, SharedVariable):
                raise TypeError(f"copy: swap maps shared variables to shared variables, got {old!r}: {new!r}")
            _check_same_type(old, new, f"copy: swap[{old!r}]")
        outputs, updates = self._source
        exprs = outputs + [e for _, e in updates]
        exprs = clone_replace(exprs, swap) if swap else exprs
        outs = exprs[:len(outputs)]
        upd = [] if delete_updates else [(swap.get(k, k), e) for (k, _), e in zip(updates, exprs[len(outputs):])]
        spec = self._spec
        return Function(self.ins, None if spec["outputs"] is None else outs[0] if self.single else outs, upd,
                        None, spec["mode"], spec["profile"] if profile is None else profile,
                        "ignore" if delete_updates else spec["on_unused_input"], name or self.name,
                        spec["allow_input_downcast"],
                        True)   # default updates are in self._source already

    # ---- pickling: the graph (as flat data) and its shared variables travel; compiling is redone ----------
    def __reduce__(self):
        if self._states:
            raise TypeError(f"{self._label()}: a function with In(..., update=...) inputs cannot be pickled "
                            "(its state would not travel): keep the state in a shared variable instead")
        outputs, updates = self._source
        graph = flatten(outputs + [e for _, e in updates] + [k for k, _ in updates], self.input_vars)
        spec = {k: v for k, v in self._spec.items() if k not in ("inputs", "outputs", "updates", "givens")}
        if isinstance(spec["mode"], Mode):
            spec["mode"] = spec["mode"].portable()   # user rule files travel as their text
        ins = [(i.name, i.value, i.borrow, i.mutable) for i in self.ins]
        return (_rebuild, (spec, graph, ins, len(outputs), self.single))

    def __repr__(self) -> str:
        return f"<egopt Function {self.name or ''} ({len(self.ins)} inputs, {len(self.outputs)} outputs)>"


class FunctionGraph:
    """A read-only view of the graph a function runs: leaves in, outputs then updates out."""

    def __init__(self, inputs: list[Variable], outputs: list[Variable]):
        self.inputs, self.outputs = inputs, outputs

    def toposort(self) -> list:
        return toposort(self.outputs, stop=self.inputs)

    @property
    def apply_nodes(self) -> set:
        return set(self.toposort())


def _rebuild(spec: dict, graph: FlatGraph, ins: list, n_out: int, single: bool) -> Function:
    roots = graph.rebuild()
    n_upd = (len(roots) - n_out) // 2
    outputs, exprs, keys = roots[:n_out], roots[n_out:n_out + n_upd], roots[n_out + n_upd:]
    inputs = [In(v, name, value, borrow, mutable) for v, (name, value, borrow, mutable) in zip(graph.leaves, ins)]
    return Function(inputs=inputs, outputs=outputs[0] if single else outputs, updates=list(zip(keys, exprs)),
                    givens=None, **{**spec, "no_default_updates": True})


def _linker_for(mode: Mode) -> str:
    """The linker that runs: "cuda" for ``device="cuda"`` (any linker) or linker "cuda"; "c" for
    "c" and "auto" where a C compiler exists, else "py"; "auto" follows ``config.linker``."""
    linker = mode.linker
    if linker == "cuda" or config.device.startswith("cuda"):
        return "cuda"           # require_backend has checked that cupy and a device are there
    if linker == "auto" and config.linker != "auto":
        linker = config.linker
    if linker in ("c", "auto"):
        from .schedule import c_available
        if c_available():
            return "c"
    return "py"


def _missing_message(v: Variable, exprs, inputs) -> str:
    users = [n for n in toposort(exprs, stop=inputs) if any(i is v for i in n.inputs)]
    where = ""
    if users and users[0].loc:
        where = f"\n  it is used by {users[0].op.name}, built at {users[0].loc}"
    return (f"{v!r} ({v.type}) is needed to compute the outputs but is not an input of the "
            f"function: add it to the inputs list, or replace it with givens={{{v!r}: ...}}" + where)


def function(inputs, outputs=None, updates=None, givens=None, mode=None, no_default_updates: bool = False,
             accept_inplace: bool = False, name: str | None = None, rebuild_strict: bool = True,
             allow_input_downcast: bool | None = None, profile: bool = False,
             on_unused_input: str | None = None) -> Function:
    """Compile a function from symbolic inputs to outputs (Theano's argument order).

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
    if isinstance(outputs, dict):       # Theano: a dict of outputs gives a dict of results
        keys = list(outputs)
        if not all(isinstance(k, str) for k in keys):
            raise TypeError("function: the keys of a dict of outputs must be strings")
        f = Function(list(inputs), [outputs[k] for k in keys], updates, givens, mode, profile, on_unused_input,
                     name, allow_input_downcast, no_default_updates)
        f.__class__ = _DictOutputs
        f.output_keys = keys
        return f
    return Function(list(inputs), outputs, updates, givens, mode, profile, on_unused_input, name,
                    allow_input_downcast, no_default_updates)


class _DictOutputs(Function):
    """A function compiled from a dict of outputs: each call returns a dict, keyed as given."""
    output_keys: list

    def __call__(self, *args, **kwargs):
        return dict(zip(self.output_keys, super().__call__(*args, **kwargs)))

    def __reduce__(self):
        return (_rebuild_dict_outputs, (super().__reduce__(), self.output_keys))


def _rebuild_dict_outputs(reduced, keys: list) -> Function:
    rebuild, args = reduced
    f = rebuild(*args)
    f.__class__ = _DictOutputs
    f.output_keys = keys
    return f


_EVAL_CACHE: "weakref.WeakKeyDictionary[Variable, OrderedDict]" = weakref.WeakKeyDictionary()


def _by_name(var: Variable, inputs_to_values: dict) -> dict:
    """``{"x": value}`` keys resolved to the inputs of ``var``'s graph of that name (one each)."""
    named: dict[str, list] = {}
    for v in graph_inputs([var]):
        if v.name is not None and not isinstance(v, (Constant, SharedVariable)):
            named.setdefault(v.name, []).append(v)
    out = {}
    for k, val in inputs_to_values.items():
        if isinstance(k, str):
            found = named.get(k, [])
            if len(found) != 1:
                raise TypeError(f"eval: {'no' if not found else 'more than one'} input of {var!r} is named {k!r}"
                                + ("" if not found else "; give the variable itself as the key"))
            k = found[0]
        out[k] = val
    return out


def eval_variable(var: Variable, inputs_to_values: dict) -> np.ndarray:
    """``Variable.eval``: compile (cached per input set, which the cached function keeps alive) and run."""
    if any(isinstance(k, str) for k in inputs_to_values):     # PyTensor: inputs by name
        inputs_to_values = _by_name(var, inputs_to_values)
    keys = list(inputs_to_values)
    for k in keys:
        if not isinstance(k, Variable):
            raise TypeError(f"eval: the keys must be symbolic variables, got {k!r}")
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
