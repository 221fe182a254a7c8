"""Rule provenance: which rules rewrote the e-classes that extraction picks (DebugMode only).

egglog 13.2's Python bindings have no usable proofs or explanations (``prove`` needs an
e-graph built in proof mode, which the bindings cannot make), and a run report counts matches
per rule, not where they matched. So, when provenance is on, every rule is rewritten into an
equivalent ``rule`` form whose actions also add ``(prov_<sort> class "rule name")`` for the
e-class it rewrites. The relation is keyed by the e-class, so when classes merge their rule
names merge too: after saturation each class knows every rule that rewrote into it (or into a
class merged with it). Decoded variables get the rules of the classes they were decoded from,
and a fused node the union over the variables of its body.

The same rule with and without the extra action matches and unions the same terms, so
DebugMode optimizes exactly as FAST_RUN does; FAST_RUN never loads the instrumented rules.
"""
from __future__ import annotations

from ..lang.graph import Variable, toposort
from .dsl import RuleSet
from .schema import by_name

SORTS = ("T", "S", "TL")
PREFIX = "prov_"        # egraph_size leaves these tables out: they are bookkeeping, not e-nodes


class ProvenanceRuleSet(RuleSet):
    """A rule set whose saturation records rule provenance (``with_provenance``)."""

    provenance = True


def with_provenance(rs: RuleSet) -> RuleSet:
    return ProvenanceRuleSet(rs.rules, name=rs.name)


def wanted(rs) -> bool:
    return bool(getattr(rs, "provenance", False))


def schema_text() -> str:
    return "".join(f"(relation {PREFIX}{s} ({s} String))\n" for s in SORTS)


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
        [f"({PREFIX}{sort} __prov_root {_string(name)})"]
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

def read(eg, view) -> dict[int, frozenset]:
    """e-class id (the view's numbering) -> the names of the rules that rewrote into it."""
    frozen = eg.freeze()
    out: dict[int, set] = {}
    for sort in SORTS:
        fn = frozen.functions.get(PREFIX + sort)
        if fn is None:
            continue
        for row in fn.rows:
            cls, name = row.inputs
            c = view.ids.get((sort, cls))
            if c is not None:
                out.setdefault(c, set()).add(eg.value_to_string(name))
    return {c: frozenset(s) for c, s in out.items()}


def attribute(decoded: dict, fused: dict, by_class: dict[int, frozenset], base: dict | None = None
              ) -> dict[int, tuple]:
    """id(optimized variable) -> (variable, rules): a decoded variable gets the rules of every
    class decoded as it; a variable the fusion pass made gets the union over the decoded
    variables of its node's body (all outputs of a multi-output fused node share it).
    ``base``: the typed view's class -> (e-class, type), where decoding used a typed view."""
    base = base or {}
    rules: dict[int, set] = {}
    var: dict[int, Variable] = {}
    for k, v in decoded.items():
        if isinstance(v, Variable):
            c = base[k][0] if k in base else k
            rules.setdefault(id(v), set()).update(by_class.get(c, ()))
            var[id(v)] = v
    new_to_old = {id(nv): var[old] for old, nv in fused.items() if old in var}
    done: set[int] = set()
    for old_id, nv in fused.items():
        node = nv.owner
        if node is None or id(node) in done or old_id not in var:
            continue
        done.add(id(node))
        olds = [new_to_old[id(o)] for o in node.outputs if id(o) in new_to_old]
        if node.op.name in ("fused_elemwise", "fused_reduce"):
            stop = [new_to_old.get(id(i), i) for i in node.inputs]
            body: set = set()
            for n in toposort(olds, stop=stop):
                for o in n.outputs:
                    body |= rules.get(id(o), set())
        else:
            body = set().union(*(rules.get(id(o), set()) for o in olds))
        for o in node.outputs:
            rules[id(o)] = set(body)
            var[id(o)] = o
    return {i: (var[i], frozenset(r)) for i, r in rules.items()}
