"""Deferred retirement: a stability rule's ``:subsume`` takes effect when its phase ends.

egglog hides a subsumed e-node from every later match. Applied at once, a stability rule that
retires node n takes n away from every other rule that would have matched it one iteration
later, once a child class gained the form that rule needs: log1m retires log(1 - erf(x)) before
log-erfc can see log(erfc(x)) through the same node, so two repairs of one node retire each
other's matches, and the graph keeps the worse one. Here each subsuming rule runs in its phase
as a plain rewrite, and a copy of it with ``:subsume`` runs once in the ``retire`` ruleset after
the phase: every rule sees every naive form while the phase saturates; then all the forms the
phase repaired are retired together (the extractor may not pick them, see rules/typed.py).
"""
from __future__ import annotations

import re

RULESET = "retire"
_NAME = re.compile(r':name "((?:[^"\\]|\\.)*)"')
_RULESET = re.compile(r":ruleset \S+")


def split(texts) -> tuple[str, dict[str, str]]:
    """The rules' egglog text with every ``:subsume`` rewrite made a plain rewrite of its phase,
    and, by rule name, the subsuming copy of each for the ``retire`` ruleset.

    The copies are loaded only for rules that matched in a phase (``saturate``): egglog compiles
    every rule it is given, and most stability rules never match a given graph, so loading all
    copies up front would cost compile time for nothing."""
    out, copies = [], {}
    for t in texts:
        if not t.startswith("(rewrite ") or " :subsume" not in t:
            out.append(t)
            continue
        out.append(t.replace(" :subsume", "", 1))
        m = _NAME.search(t)
        retire = _RULESET.sub(f":ruleset {RULESET}", t, count=1)
        retire = _NAME.sub(lambda m: f':name "{m.group(1)}!retire"', retire, count=1)
        if " :ruleset " not in retire:
            retire = retire[:-1] + f" :ruleset {RULESET})"
        copies[m.group(1) if m else t] = retire
    return "\n".join(out), copies


def deferred(texts) -> str:
    """The rules' egglog text with every ``:subsume`` rewrite split into its phase's plain
    rewrite and a subsuming copy in the ``retire`` ruleset."""
    text, copies = split(texts)
    return "\n".join([text, *copies.values()]) if copies else text
