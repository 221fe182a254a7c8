"""Typed extraction: an e-class may hold terms of different dtypes; the extractor must not mix them.

Rules are written over real numbers, so a rule can merge terms whose NumPy types differ:
``x / y * y -> x`` with a float32 ``x`` and a float64 ``y`` puts the float32 ``x`` in the class
of a float64 value. Rather than trusting every rule to check dtypes, the view handed to the
extractor is split by type: its classes are pairs (e-class, type), where a type is a dtype and
an ndim (or a weak Python scalar kind), and a node appears in the pair only with children of
the types that make its op's type rule give that type. The roots ask for their IR type, so
whatever the extractor chooses decodes to the input graph's types.

Stability rules subsume the naive form. A subsumed node is used only for a (class, type) that
has no other term of that type (the naive form is what the user wrote; a wrongly typed
replacement is not an option).
"""
from __future__ import annotations

import ast
import functools
import itertools
from typing import Iterable

from ..lang.errors import EgoptError
from ..lang.ops import get_op
from ..lang.types import TensorType
from .decode import DecodeError, EGraphView, ENode, Worklist, parents_of
from .encode import Encoding
from .schema import by_name

MAX_TYPES_PER_CLASS = 8
MAX_COMBOS = 64
MAX_NDIM = 8
_WEAK_VALUE = {"weak:float": 1.0, "weak:int": 1, "weak:bool": True}


def _weak_kind(value) -> str:
    if isinstance(value, bool):
        return "weak:bool"
    if isinstance(value, int):
        return "weak:int"
    return "weak:float"


class _Typer:
    """The type (dtype, ndim) of an e-node from its children's types, via the op's type rule."""

    def __init__(self, view: EGraphView, enc: Encoding):
        self.view, self.enc = view, enc
        self.ctors = by_name()
        self.cache: dict = {}

    def __call__(self, c: int, node: ENode, kids: tuple):
        """``kids``: the children's full types (dtype or kind, static shape); returns the node's."""
        key = (node.op, node.payload, kids, c if node.op == "Ew" else None)
        if key not in self.cache:
            try:
                self.cache[key] = self._infer(c, node, kids)
            except (EgoptError, TypeError, ValueError, OverflowError, KeyError, IndexError):
                self.cache[key] = None
        return self.cache[key]

    def _infer(self, c: int, node: ENode, kids: tuple):
        op = node.op
        if op == "Input":
            t = self.enc.leaves[node.payload[0]].type
            return (t.dtype, t.shape)
        if op == "Lit":
            return ("weak:float", ())
        if op == "Int":
            return ("weak:int", ())
        if op == "Bool":
            return ("weak:bool", ())
        if op == "Ld":
            return None if _weak(kids[0]) else kids[0]
        if op == "TNil":
            return (("list",), ())
        if op == "TCons":
            return (("list",), (kids[0],) + kids[1][1])
        if op == "Ew":
            if not _weak(kids[0]):
                return kids[0]
            t = self.view.types.get(c)       # a weak body becomes a 0-d constant of the class's type
            return (t.dtype, ()) if t is not None and t.ndim == 0 else None
        ctor = self.ctors[op]
        o = get_op(ctor.op)
        params = _params(node.payload[-1]) if ctor.has_params else {}
        if o.kind == "elemwise":
            return self._elemwise(o, params, kids)
        if o.nin is None:
            types = [_tensor_type(k) for k in kids[0][1]]
        else:
            types = [_tensor_type(k) for k in kids]
        # an op whose e-graph constructor decodes to more than the op itself (gemm: to the
        # ordinary ops where BLAS does not apply) declares the type rule of its decoding
        out = o.extra.get("decoded_infer", o.infer)(params, *types)
        if not isinstance(out, TensorType):
            return None
        return (out.dtype, out.shape) if out.ndim <= MAX_NDIM else None

    def _elemwise(self, o, params, kids):
        import numpy as np
        from ..lang import dtypes
        if all(_weak(k) for k in kids):   # folded in Python by the decoder
            with np.errstate(all="ignore"):
                val = np.asarray(o.perform(params, *[np.asarray(_WEAK_VALUE[d]) for d, _ in kids])).item()
            return (_weak_kind(val), ())
        ctx = dtypes.upcast(*[d for d, _ in kids if not _weak((d, ()))])
        types = [TensorType(dtypes.weak_scalar_dtype(_WEAK_VALUE[k[0]], ctx), ()) if _weak(k)
                 else _tensor_type(k) for k in kids]
        out = o.infer(params, *types)
        return (out.dtype, out.shape)


@functools.lru_cache(maxsize=4096)
def _params_tuple(text: str) -> tuple:
    return tuple(ast.literal_eval(text))


def _params(text: str) -> dict:
    return dict(_params_tuple(text))


def _weak(full) -> bool:
    return isinstance(full[0], str) and full[0].startswith("weak")


def _tensor_type(full) -> TensorType:
    d, shape = full
    if not isinstance(d, str) or d.startswith("weak"):
        raise TypeError("not a tensor")
    return TensorType(d, shape)


def _key(full) -> tuple:
    """What a (class, type) pair is split on: dtype (or kind) and ndim; a list by its elements."""
    d, shape = full
    if d == ("list",):
        return ("list", shape)        # a list's "shape" is its elements' full types
    return (d, len(shape))


def _merge_shape(old, new):
    """Static sizes both terms of a class have (they are equal values): known sizes win."""
    return tuple(a if a is not None else b for a, b in zip(old, new))


def _achievable(view: EGraphView, typer: _Typer, nodes_of, parents) -> tuple[dict, dict]:
    """Fixpoint from the leaves up: (class -> {type key: static shape}, (class, node index) ->
    {type key: [kid type keys]}).

    A type enters a class only once its node's children already have theirs, so every
    (class, type) found has an acyclic term. Static sizes are merged over a class's terms (a
    size 1 known for one term holds for all: they are the same value)."""
    types: dict[int, dict] = {}
    derive: dict[tuple[int, int], dict] = {}
    work = Worklist(nodes_of, parents)
    while work:
        c = work.pop()
        grew = False
        for i, node in nodes_of[c]:
            kid_sets = [types.get(k) for k in node.children]
            if any(not s for s in kid_sets):
                continue
            combos = itertools.islice(itertools.product(*[sorted(s, key=repr) for s in kid_sets]), MAX_COMBOS)
            for combo in combos:
                full = typer(c, node, tuple(_full(k, kt, types) for k, kt in zip(node.children, combo)))
                if full is None:
                    continue
                t = _key(full)
                d = derive.setdefault((c, i), {})
                if combo not in d.setdefault(t, []):
                    d[t].append(combo)
                cs = types.setdefault(c, {})
                if t not in cs:
                    if len(cs) >= MAX_TYPES_PER_CLASS:
                        continue
                    irt = view.types.get(c)
                    shape = full[1]
                    if irt is not None and (irt.dtype, irt.ndim) == t:
                        shape = _merge_shape(irt.shape, shape)
                    cs[t] = shape
                    grew = True
                elif t[0] != "list" and cs[t] != full[1]:
                    merged = _merge_shape(cs[t], full[1])
                    if merged != cs[t]:
                        cs[t] = merged
                        grew = True
        if grew:
            work.changed(c)
    return types, derive


def _full(k: int, key: tuple, types: dict) -> tuple:
    if key[0] == "list":
        return (("list",), key[1])
    return (key[0], types[k][key])


def typed_view(view: EGraphView, enc: Encoding, subsumed: dict[int, list[ENode]] | None = None
               ) -> "TypedView":
    """``view`` split into (class, type) classes; roots keep their IR types (see the module doc)."""
    subsumed = view.subsumed if subsumed is None else subsumed
    typer = _Typer(view, enc)
    plain = {c: list(enumerate(nodes)) for c, nodes in view.classes.items()}
    order = list(view.classes) + [c for c in subsumed if c not in view.classes]
    everything = {c: plain.get(c, []) + [(len(view.classes.get(c, ())) + j, n)
                                         for j, n in enumerate(subsumed.get(c, ()))]
                  for c in order}
    parents = parents_of({c: [n for _, n in nodes] for c, nodes in everything.items()})
    types1, derive1 = _achievable(view, typer, plain, parents)
    if any(subsumed.values()):
        types2, derive2 = _achievable(view, typer, everything, parents)
    else:                            # nothing subsumed: the second fixpoint would be the first
        types2, derive2 = types1, derive1

    out = TypedView()
    ids: dict[tuple[int, tuple], int] = {}

    def tid(c, t) -> int:
        if (c, t) not in ids:
            ids[(c, t)] = len(ids)
            out.base[ids[(c, t)]] = (c, t)
        return ids[(c, t)]

    for c in order:           # ids in the view's order: the extractor breaks ties the same way
        for t in sorted(types2.get(c, {}), key=repr):
            tid(c, t)
    for c, nodes in everything.items():
        for i, node in nodes:
            for t, combos in derive2.get((c, i), {}).items():
                if t not in types2.get(c, ()):
                    continue
                if t in types1.get(c, ()) and t not in derive1.get((c, i), {}):
                    continue   # a subsumed node, where a non-subsumed term of this type exists
                for combo in combos:
                    if any(ct not in types2.get(k, ()) for k, ct in zip(node.children, combo)):
                        continue
                    kids = tuple(tid(k, ct) for k, ct in zip(node.children, combo))
                    tc = tid(c, t)
                    out.classes.setdefault(tc, []).append(ENode(node.op, kids, node.payload))
                    out.sort[tc] = view.sort.get(c, "T")
    for name, c in view.roots.items():
        irt = enc.types[name]
        t = (irt.dtype, irt.ndim)
        if t in types2.get(c, ()):
            out.roots[name] = tid(c, t)
            out.types[tid(c, t)] = irt
    missing = [r for r in enc.roots if r not in out.roots]
    if missing:
        raise DecodeError(f"no term of the output's type {enc.types[missing[0]]} is left in its e-class")
    return out


class TypedView(EGraphView):
    """An ``EGraphView`` over (class, type) pairs; ``base`` maps each back to the e-class and type."""

    def __init__(self):
        super().__init__()
        self.base: dict[int, tuple[int, tuple]] = {}


def classes_of(view: EGraphView, ids: Iterable[int]) -> list[int]:
    """The e-classes behind typed class ids (identity for an untyped view)."""
    base = getattr(view, "base", None)
    return [base[i][0] if base else i for i in ids]
