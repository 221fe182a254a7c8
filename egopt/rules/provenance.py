"""Rule provenance: which rules built the e-nodes and rewrote the e-classes that extraction picks
(DebugMode only).

egglog 13.2's Python bindings have no usable proofs or explanations (``prove`` needs an
e-graph built in proof mode, which the bindings cannot make), and a run report counts matches
per rule, not where they matched. So, when provenance is on, every rule is rewritten into an
equivalent ``rule`` form whose actions also record the rule's name twice:

- on each e-node its right side builds, ``(prov_n_<Ctor> children... "rule")`` (one relation
  per constructor, keyed like the e-node itself): the rules that *built* a node;
- on the e-class it rewrites, ``(prov_<sort> class "rule")``: keyed by the class, so when classes
  merge their names merge too, and each class knows every rule that *rewrote* into it (needed
  where the node extraction picks is an input's, e.g. ``sqrt(x * x) -> x``).

A decoded variable gets the rules of the nodes chosen for the classes it was decoded from and of
those classes; a fused node the union over the variables of its body.

The same rule with and without the extra actions matches and unions the same terms, and an
iteration that added only provenance rows counts as no change (``fingerprint``), so DebugMode
optimizes as FAST_RUN does, unless a phase's time or memory limit comes sooner (recording costs
both); FAST_RUN never loads the instrumented rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..lang.graph import Variable, toposort
from .decode import ENode
from .dsl import RuleSet
from .schema import by_name, constructors

SORTS = ("T", "S", "TL")
PREFIX = "prov_"        # egraph_size leaves these tables out: they are bookkeeping, not e-nodes


class ProvenanceRuleSet(RuleSet):
    """A rule set whose saturation records rule provenance (``with_provenance``)."""

    provenance = True


def with_provenance(rs: RuleSet) -> RuleSet:
    return ProvenanceRuleSet(rs.rules, name=rs.name)


def wanted(rs) -> bool:
    return bool(getattr(rs, "provenance", False))


def fingerprint(eg) -> tuple:
    """The e-graph's state without the provenance tables: rows, e-classes and subsumed rows.

    An iteration whose only change is a provenance row (a rule matched again where it had built
    nothing new) counts as no change, so a phase stops after as many iterations as without
    provenance."""
    rows = subsumed = 0
    classes = set()
    for name, fn in eg.freeze().functions.items():
        if name.startswith(PREFIX):
            continue
        for row in fn.rows:
            rows += 1
            subsumed += row.subsumed
            classes.add((fn.output_sort, row.output))
    return rows, len(classes), subsumed


def schema_text() -> str:
    text = "".join(f"(relation {PREFIX}{s} ({s} String))\n" for s in SORTS)
    return text + "".join(f"(relation {PREFIX}n_{c.name} ({' '.join(c.args + ('String',))}))\n"
                          for c in constructors())


def _built(term: str, name: str) -> list[str]:
    """Actions recording ``name`` on every constructor application in ``term``."""
    if not term.startswith("("):
        return []
    parts = items(term)
    out = []
    ctor = by_name().get(parts[0])
    if ctor is not None and len(ctor.args) == len(parts) - 1:
        out.append(f"({PREFIX}n_{ctor.name} {' '.join(parts[1:] + [_string(name)])})")
    for p in parts[1:]:
        out.extend(_built(p, name))
    return out


# ---- rewriting rule text -------------------------------------------------------------------------

def items(form: str) -> list[str]:
    """The top-level elements of one s-expression ``(a b (c d) "e")`` as source substrings."""
    inner = form.strip()
    assert inner[0] == "(" and inner[-1] == ")", form
    out, i, n = [], 1, len(inner) - 1
    while i < n:
        ch = inner[i]
        if ch in " \t\r\n":
            i += 1
        elif ch == ";":
            while i < n and inner[i] != "\n":
                i += 1
        elif ch == "(":
            depth, j = 0, i
            while True:
                c = inner[j]
                if c == '"':
                    j = _string_end(inner, j)
                    continue
                if c == ";":
                    while inner[j] != "\n":
                        j += 1
                    continue
                depth += c == "("
                depth -= c == ")"
                j += 1
                if depth == 0:
                    break
            out.append(inner[i:j])
            i = j
        elif ch == '"':
            j = _string_end(inner, i)
            out.append(inner[i:j])
            i = j
        else:
            j = i
            while j < n and inner[j] not in ' \t\r\n()";':
                j += 1
            out.append(inner[i:j])
            i = j
    return out


def _string_end(text: str, i: int) -> int:
    j = i + 1
    while text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _head(term: str) -> str | None:
    return items(term)[0] if term.startswith("(") else None


def _sort_of(term: str) -> str | None:
    ctor = by_name().get(_head(term) or "")
    return ctor.sort if ctor is not None else None


def _string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def instrument(text: str, name: str) -> str:
    """``text`` (a rewrite, birewrite or rule form) with provenance actions for rule ``name``;
    the text unchanged where its shape is not understood (that rule then records nothing)."""
    parts = items(text)
    kind = parts[0]
    if kind in ("rewrite", "birewrite"):
        lhs, rhs, rest = parts[1], parts[2], parts[3:]
        keys, subsume, i = {}, False, 0
        while i < len(rest):
            if rest[i] == ":subsume":
                subsume, i = True, i + 1
            elif i + 1 < len(rest):
                keys[rest[i]], i = rest[i + 1], i + 2
            else:
                return text
        if kind == "birewrite":
            if subsume or ":when" in keys:
                return text
            return "\n".join(_rule(a, b, keys, False, name, f"{name}{arrow}")
                             for a, b, arrow in ((lhs, rhs, "=>"), (rhs, lhs, "<=")))
        return _rule(lhs, rhs, keys, subsume, name, name)
    if kind == "rule":
        return _instrument_rule(text, parts, name)
    return text


def _rule(lhs: str, rhs: str, keys: dict, subsume: bool, name: str, rule_name) -> str:
    sort = _sort_of(lhs)
    if sort is None:
        raise _Unknown
    when = items(keys[":when"]) if ":when" in keys else []
    facts = " ".join([f"(= __prov_root {lhs})"] + when)
    actions = [f"(union __prov_root {rhs})"] + ([f"(subsume {lhs})"] if subsume else []) + \
        [f"({PREFIX}{sort} __prov_root {_string(name)})"] + _built(rhs, name)
    return (f"(rule ({facts}) ({' '.join(actions)}) :ruleset {keys[':ruleset']}"
            f" :name {_string(rule_name or name)})")


class _Unknown(Exception):
    pass


def _instrument_rule(text: str, parts: list[str], name: str) -> str:
    """A ``(rule (facts) (actions) ...)``: each ``(union a b)`` also records the rule on a."""
    if len(parts) < 3 or not parts[2].startswith("("):
        return text
    bound: dict[str, str] = {}
    for fact in (items(parts[1]) if parts[1].startswith("(") else []):
        f = items(fact) if fact.startswith("(") else []
        if len(f) == 3 and f[0] == "=":
            for a, b in ((f[1], f[2]), (f[2], f[1])):
                s = _sort_of(b) if b.startswith("(") else None
                if s and not a.startswith("("):
                    bound[a] = s
    extra = []
    for act in items(parts[2]):
        a = items(act) if act.startswith("(") else []
        if len(a) == 3 and a[0] == "union":
            sort = next((s for s in (_sort_of(t) if t.startswith("(") else bound.get(t) for t in a[1:]) if s),
                        None)
            if sort is not None:
                extra.append(f"({PREFIX}{sort} {a[1]} {_string(name)})")
                extra.extend(_built(a[2], name))
    if not extra:
        return text
    actions = parts[2][:-1] + " " + " ".join(extra) + ")"
    return "(" + " ".join([parts[0], parts[1], actions] + parts[3:]) + ")"


def instrumented(rule) -> str:
    try:
        return instrument(rule.egg(), rule.name)
    except (_Unknown, IndexError, AssertionError):
        return rule.egg()


# ---- reading it back -----------------------------------------------------------------------------

@dataclass
class Provenance:
    """What saturation recorded, in the view's class numbering."""
    classes: dict[int, frozenset] = field(default_factory=dict)    # e-class -> rules that rewrote into it
    nodes: dict[ENode, frozenset] = field(default_factory=dict)    # e-node -> rules that built it


def read(eg, view) -> Provenance:
    frozen = eg.freeze()
    conv = {"i64": eg.value_to_i64, "f64": eg.value_to_f64, "String": eg.value_to_string}
    classes: dict[int, set] = {}
    for sort in SORTS:
        fn = frozen.functions.get(PREFIX + sort)
        for row in (fn.rows if fn is not None else ()):
            cls, name = row.inputs
            c = view.ids.get((sort, cls))
            if c is not None:
                classes.setdefault(c, set()).add(eg.value_to_string(name))
    nodes: dict[ENode, set] = {}
    for ctor in constructors():
        fn = frozen.functions.get(f"{PREFIX}n_{ctor.name}")
        for row in (fn.rows if fn is not None else ()):
            *args, name = row.inputs
            kids, payload = [], []
            for sort, val in zip(ctor.args, args):
                if sort in conv:
                    payload.append(conv[sort](val))
                else:
                    kids.append(view.ids.get((sort, val)))
            if None not in kids:
                nodes.setdefault(ENode(ctor.name, tuple(kids), tuple(payload)), set()).add(eg.value_to_string(name))
    return Provenance({c: frozenset(s) for c, s in classes.items()}, {n: frozenset(s) for n, s in nodes.items()})


@dataclass
class Origin:
    """The rules behind one optimized variable."""
    var: Variable
    built: frozenset = frozenset()        # rules that built the e-nodes it was decoded from
    rewritten: frozenset = frozenset()    # rules that rewrote into the e-classes it was decoded from

    @property
    def rules(self) -> frozenset:
        return self.built | self.rewritten


def attribute(decoded: dict, fused: dict, prov: Provenance, choice: dict, base: dict | None = None
              ) -> dict[int, Origin]:
    """id(optimized variable) -> ``Origin``: a decoded variable gets the rules of the nodes chosen
    for the classes decoded as it, and of those classes; a variable the fusion pass made gets the
    union over the decoded variables of its node's body (all outputs of a multi-output fused node
    share it). ``base``: the typed view's class -> (e-class, type), where decoding used one."""
    base = base or {}

    def plain(k):
        return base[k][0] if k in base else k

    out: dict[int, Origin] = {}
    for k, v in decoded.items():
        if not isinstance(v, Variable):
            continue
        o = out.setdefault(id(v), Origin(v))
        node = choice.get(k)
        if node is not None:
            key = ENode(node.op, tuple(plain(ch) for ch in node.children), node.payload)
            o.built |= prov.nodes.get(key, frozenset())
        o.rewritten |= prov.classes.get(plain(k), frozenset())
    new_to_old = {id(nv): out[old].var for old, nv in fused.items() if old in out}
    done: set[int] = set()
    for old_id, nv in fused.items():
        node = nv.owner
        if node is None or id(node) in done or old_id not in out:
            continue
        done.add(id(node))
        olds = [new_to_old[id(o)] for o in node.outputs if id(o) in new_to_old]
        if node.op.name in ("fused_elemwise", "fused_reduce"):
            stop = [new_to_old.get(id(i), i) for i in node.inputs]
            body = [o for n in toposort(olds, stop=stop) for o in n.outputs]
        else:
            body = olds
        parts = [out[id(o)] for o in body if id(o) in out]
        built = frozenset().union(*(p.built for p in parts))
        rewritten = frozenset().union(*(p.rewritten for p in parts))
        for o in node.outputs:
            out[id(o)] = Origin(o, built, rewritten)
    return out
