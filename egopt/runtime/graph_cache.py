"""The on-disk cache of optimized graphs: a new process that compiles a graph it has seen before
skips encode, saturation, extraction and decode (and never loads the rule library or egglog).

An entry ``<compiledir>/graphs/<key>.graph`` (with ``.sha256``, written through
``codegen.cache.cached_build``: atomic, file-locked, a corrupt or truncated entry is rebuilt)
holds the optimized graph as flat data whose leaves are positions in the function's leaf list
(explicit inputs, then shared variables), plus the optimization report. The key hashes:

- the input graph canonically: ops, params, output types (dtype, static shape, hence
  broadcastable), constants' dtype, shape and bytes, and the structure, with leaves by position
  and type (never by identity or name);
- the rule library: the bytes of the built-in rule files and of the mode's user rule files
  (the text of RuleSet objects), hashed without parsing them;
- the mode (optimizer, linker, options) and the config settings the optimizer reads;
- the egopt version and a fingerprint (path, size, mtime) of its source files, so an edited
  optimizer never reads entries an older one wrote.

A hit rebinds the cached graph to this function's leaves and gives each node the source line
of the input-graph node the original one had (the same position in the canonical order), so
error messages name this program's lines. The report is the original one (outcome, phases,
rules fired, costs) with ``cached = "hit"``; what it cannot carry (the e-graph, DebugMode's
equivalences) is absent, so modes that check values bypass the cache and
``Function.egraph_picture`` reruns the optimizer. A failed optimization (a fallback: an engine
panic, an ill-typed rule) is never stored: it reruns, and warns, in every process.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from .. import config
from ..lang.graph import Apply, Constant, Variable, toposort
from ..lang.types import TensorType

FORMAT = "egopt-graph-1"


class Uncacheable(Exception):
    """The graph holds something with no canonical form (e.g. a variable inside params)."""


# ---- the key -------------------------------------------------------------------------------------------
def _encode(x: Any, out: list) -> None:
    """Append a canonical, type-tagged text of ``x`` (a param value) to ``out``."""
    if x is None or isinstance(x, (bool, int, float, str, complex)):
        out.append(f"{type(x).__name__}:{x!r}")
    elif isinstance(x, bytes):
        out.append(f"bytes:{x.hex()}")
    elif isinstance(x, (tuple, list)):
        out.append(f"{type(x).__name__}[{len(x)}")
        for y in x:
            _encode(y, out)
        out.append("]")
    elif isinstance(x, dict):
        out.append(f"dict[{len(x)}")
        for k in sorted(x, key=repr):
            _encode(k, out)
            _encode(x[k], out)
        out.append("]")
    elif isinstance(x, (frozenset, set)):
        out.append(f"set[{len(x)}")
        for y in sorted(x, key=repr):
            _encode(y, out)
        out.append("]")
    elif isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        out.append(f"nd:{a.dtype.str}:{a.shape}:{hashlib.sha256(a.tobytes()).hexdigest()}")
    elif isinstance(x, np.generic):
        out.append(f"np:{x.dtype.str}:{x.tobytes().hex()}")
    elif isinstance(x, np.dtype):
        out.append(f"dtype:{x.str}")
    elif isinstance(x, TensorType):
        out.append(f"T:{x.dtype}:{x.shape}")
    elif isinstance(x, slice):
        out.append("slice")
        _encode((x.start, x.stop, x.step), out)
    elif isinstance(x, Variable):
        raise Uncacheable(f"a variable inside params ({x!r})")
    elif type(x).__name__ == "Op" and hasattr(x, "defined_in"):
        out.append(f"op:{x.name}:{x.defined_in}")
    elif type(x).__name__ == "FusedBody":
        out.append("body")
        _encode(x._key, out)
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        out.append(f"dc:{type(x).__module__}.{type(x).__qualname__}")
        _encode({f.name: getattr(x, f.name) for f in dataclasses.fields(x)}, out)
    else:
        raise Uncacheable(f"a {type(x).__name__} inside params")


def graph_text(outputs: Sequence[Variable], leaves: Sequence[Variable]) -> tuple[str, list[Apply]]:
    """The canonical text of the graph from ``leaves`` to ``outputs`` and its nodes in that order."""
    refs: dict[int, str] = {}
    out: list[str] = []
    for i, v in enumerate(leaves):
        refs.setdefault(id(v), f"L{i}")
        out.append(f"leaf {i} {'shared' if hasattr(v, 'container') else 'input'} T:{v.type.dtype}:{v.type.shape}")
    consts = 0

    def ref(v: Variable) -> str:
        nonlocal consts
        r = refs.get(id(v))
        if r is not None:
            return r
        if isinstance(v, Constant):
            data = np.ascontiguousarray(v.data)
            out.append(f"const {consts} T:{v.type.dtype}:{v.type.shape} {data.dtype.str}:{data.shape}:"
                       f"{hashlib.sha256(data.tobytes()).hexdigest()}")
            refs[id(v)] = r = f"C{consts}"
            consts += 1
            return r
        raise Uncacheable(f"{v!r} is neither a leaf nor a constant")

    nodes = toposort(outputs, stop=leaves)
    for k, node in enumerate(nodes):
        ins = [ref(v) for v in node.inputs]
        parts: list[str] = []
        _encode(node.params, parts)
        out.append(f"node {k} {node.op.name}:{node.op.defined_in} ({' '.join(ins)}) "
                   f"[{' '.join(parts)}] -> {' '.join(f'T:{o.type.dtype}:{o.type.shape}' for o in node.outputs)}")
        for j, o in enumerate(node.outputs):
            refs[id(o)] = f"N{k}.{j}"
    out.append("roots " + " ".join(ref(o) for o in outputs))
    return "\n".join(out), nodes


def _files_digest(paths: Sequence[Path], h) -> None:
    for p in paths:
        if p.is_dir():
            _files_digest(sorted(q for q in p.iterdir() if q.suffix in (".egg", ".py")), h)
        else:
            h.update(str(p.name).encode() + b"\0" + p.read_bytes() + b"\0")


def _library_dir() -> Path:
    """The built-in rule library's directory, found without importing the rules package."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("egopt.builtin_rules")
    except ModuleNotFoundError:
        spec = None
    for where in (spec.submodule_search_locations or []) if spec is not None else []:
        if os.path.isfile(os.path.join(where, "algebra.egg")):
            return Path(where)
    from ..rules.loader import library_path
    return library_path()


def _rules_digest(mode) -> str:
    """Hash of the rule texts the optimizer would load (file bytes; nothing is parsed)."""
    h = hashlib.sha256()
    _files_digest([_library_dir()], h)
    for r in mode.rules:
        if hasattr(r, "by_phase"):          # a RuleSet object: its rules' egglog text
            for rule in r:
                h.update(f"{rule.name}\0{rule.phase}\0{rule.egg()}\0".encode())
            h.update(f"set:{r.name}\0".encode())
        else:
            _files_digest([Path(r)], h)
    return h.hexdigest()


_SOURCE_DIGEST: str | None = None
# the parts of egopt whose code decides the optimized graph (lang: op type rules and decode)
_OPTIMIZER_CODE = ("lang", "grad", "rules", "extract", "runtime/optimize.py", "runtime/scan_opt.py",
                   "runtime/graph_cache.py")


def _source_digest() -> str:
    """egopt's version and the name, size and mtime of each source file of the optimizer (once per
    process): a checkout edited since an entry was written never reads it."""
    global _SOURCE_DIGEST
    if _SOURCE_DIGEST is None:
        from .. import __version__
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        h = hashlib.sha256(__version__.encode())
        for part in _OPTIMIZER_CODE:
            path = os.path.join(root, part)
            if not os.path.exists(path):
                continue
            entries = sorted(os.scandir(path), key=lambda e: e.name) if os.path.isdir(path) else [path]
            for e in entries:
                name = e if isinstance(e, str) else e.path
                if name.endswith(".py"):
                    st = os.stat(name)
                    h.update(f"{os.path.relpath(name, root)}:{st.st_size}:{st.st_mtime_ns}\0".encode())
        _SOURCE_DIGEST = h.hexdigest()
    return _SOURCE_DIGEST


def graph_key(outputs: Sequence[Variable], leaves: Sequence[Variable], mode) -> tuple[str, list[Apply]]:
    """The cache key of optimizing this graph in ``mode`` and the input graph's canonical nodes."""
    text, nodes = graph_text(outputs, leaves)
    opts = []
    _encode({k: v for k, v in mode.options.items()}, opts)
    setting = (f"{FORMAT}\0{_source_digest()}\0{_rules_digest(mode)}\0optimizer={mode.optimizer}\0"
               f"linker={mode.linker}\0options={' '.join(opts)}\0floatX={config.floatX}\0"
               f"device={config.device}\0config.linker={config.linker}\0")
    return hashlib.sha256((setting + text).encode()).hexdigest(), nodes


# ---- entries ---------------------------------------------------------------------------------------------
def _portable_report(rep):
    """The report without what is tied to this process (the e-graph, the rule set, object ids)."""
    # phases as plain records: loading them must not import the rules package (and its engine)
    phases = [SimpleNamespace(**{f.name: getattr(p, f.name) for f in dataclasses.fields(p)})
              if dataclasses.is_dataclass(p) else p for p in rep.phases]
    names = {f.name for f in dataclasses.fields(rep)}
    drop = {k: v for k, v in (("view", None), ("choice", None), ("ruleset", None), ("equivalents", {}),
                              ("provenance", {})) if k in names}
    new = dataclasses.replace(rep, phases=phases, **drop)
    if hasattr(rep, "scan_bodies"):
        new.scan_bodies = [_portable_report(r) for r in rep.scan_bodies]
    return new


def _flat(outputs: Sequence[Variable], leaves: Sequence[Variable], input_nodes: list[Apply]) -> tuple:
    """The optimized graph as data: leaves are positions, locations are input-node positions."""
    pos: dict[int, Any] = {id(v): ("L", i) for i, v in enumerate(leaves)}
    loc_at: dict = {}
    for k in range(len(input_nodes) - 1, -1, -1):
        if input_nodes[k].loc is not None:
            loc_at[input_nodes[k].loc] = k
    consts: list[Constant] = []

    def ref(v: Variable):
        r = pos.get(id(v))
        if r is None:
            if not isinstance(v, Constant):
                raise Uncacheable(f"the optimized graph reads {v!r}, neither a leaf nor a constant")
            consts.append(v)
            r = pos[id(v)] = ("C", len(consts) - 1)
        return r

    nodes = []
    for k, node in enumerate(toposort(outputs, stop=leaves)):
        ins = [ref(v) for v in node.inputs]
        loc = ("at", loc_at[node.loc]) if node.loc in loc_at else ("loc", node.loc)
        nodes.append((node.op, node.params, ins, [o.type for o in node.outputs], loc,
                      [o.name for o in node.outputs]))
        for j, o in enumerate(node.outputs):
            pos[id(o)] = ("N", k, j)
    return consts, nodes, [ref(o) for o in outputs]


def _unflat(data: tuple, leaves: Sequence[Variable], input_nodes: list[Apply]) -> list[Variable]:
    consts, nodes, roots = data
    built: list[list[Variable]] = []

    def get(r):
        if r[0] == "L":
            return leaves[r[1]]
        if r[0] == "C":
            return consts[r[1]]
        return built[r[1]][r[2]]

    for op, params, ins, types, loc, names in nodes:
        where = input_nodes[loc[1]].loc if loc[0] == "at" else loc[1]
        node = Apply(op, params, [get(r) for r in ins], types, where)
        for v, name in zip(node.outputs, names):
            v.name = name
        built.append(node.outputs)
    return [get(r) for r in roots]


def _entry_path(key: str) -> str:
    return os.path.join(config.compiledir, "graphs", key + ".graph")


def _load(path: str) -> tuple:
    with open(path, "rb") as f:
        entry = pickle.load(f)
    if not (isinstance(entry, dict) and entry.get("format") == FORMAT):
        raise ValueError("not an egopt graph-cache entry")
    return entry["graph"], entry["report"]


def _discard(path: str) -> None:
    for p in (path, path + ".sha256"):
        try:
            os.unlink(p)
        except OSError:
            pass


def _with_warmup(run, mode, c_warmup):
    """``run`` with the C linker's per-machine build going on beside it (c_warmup.py)."""
    def both():
        wait = c_warmup.start(mode)
        try:
            return run()
        finally:
            wait()
    return both


def optimize_cached(outputs: Sequence[Variable], leaves: Sequence[Variable], mode,
                    run: Callable[[], tuple[list[Variable], Any]]) -> tuple[list[Variable], Any]:
    """``run()`` (the optimizer: optimized outputs and report), or its result from the cache.

    Bypassed (``run()`` alone) when ``config.graph_cache`` is off, when the mode checks values
    (DebugMode, NanGuardMode need the e-graph's equivalences), and for graphs with no canonical
    form (a variable inside params, as scan's)."""
    from . import c_warmup
    run = _with_warmup(run, mode, c_warmup)
    if not config.graph_cache or mode.options.get("check"):
        return run()
    try:
        key, input_nodes = graph_key(outputs, leaves, mode)
    except Uncacheable:
        return run()
    from ..codegen.cache import cached_build
    path = _entry_path(key)
    fresh: list = []

    def build(tmp: str) -> None:
        new, rep = run()
        fresh.append((new, rep))
        if rep.fell_back:
            raise Uncacheable(f"the optimizer failed ({rep.outcome})")
        data = pickle.dumps({"format": FORMAT, "graph": _flat(new, leaves, input_nodes),
                             "report": _portable_report(rep)}, protocol=pickle.HIGHEST_PROTOCOL)
        with open(tmp, "wb") as f:
            f.write(data)

    for attempt in (1, 2):
        try:
            cached_build(key, build, suffix=".graph", directory=os.path.dirname(path))
        except Uncacheable:
            return fresh[0] if fresh else run()
        if fresh:                                  # this process optimized (and stored) it
            new, rep = fresh[0]
            rep.cached = "stored"
            return new, rep
        try:
            data, rep = _load(path)
            if rep.fell_back:
                raise ValueError("a failed optimization is never stored")
            new = _unflat(data, leaves, input_nodes)
        except Exception:                          # unreadable (e.g. garbage with a valid hash): rebuild
            _discard(path)
            continue
        rep.cached = "hit"
        return new, rep
    return run()


# ---- the built-in rule library, as checked egglog text --------------------------------------------------
def builtin_library():
    """The built-in rule library; with ``config.graph_cache`` on, from ``compiledir/rules``.

    Loading the library runs its ``.py`` files (the rule DSL) and parses every rule against the
    schema (~0.4 s); a process that optimizes a graph the graph cache has not seen needs only
    the rules' checked egglog text, which is what the entry holds (keyed by the rule files'
    bytes and the optimizer's code, like a graph entry)."""
    from ..rules import RuleSet, builtin
    from ..rules.dsl import Rule
    if not config.graph_cache:
        return builtin()
    from ..codegen.cache import cached_build
    h = hashlib.sha256(f"{FORMAT}\0rules\0{_source_digest()}\0".encode())
    _files_digest([_library_dir()], h)
    key = h.hexdigest()
    directory = os.path.join(config.compiledir, "rules")
    loaded: list = []

    def build(tmp: str) -> None:
        rs = builtin()
        loaded.append(rs)
        data = [(r.name, r.phase, r.egg(), r.loc) for r in rs]
        with open(tmp, "wb") as f:
            f.write(pickle.dumps({"format": FORMAT, "name": rs.name, "rules": data}))

    for attempt in (1, 2):
        path = cached_build(key, build, suffix=".rules", directory=directory)
        if loaded:
            return loaded[0]
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f)
            if entry.get("format") != FORMAT:
                raise ValueError("not a rule-library entry")
            return RuleSet([Rule(n, p, text=t, loc=loc) for n, p, t, loc in entry["rules"]], name=entry["name"])
        except Exception:
            _discard(path)
    return builtin()
