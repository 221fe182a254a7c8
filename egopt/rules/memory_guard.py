"""The memory guard of saturation, bounding each iteration, not only the phase.

egglog cannot be stopped inside a run, and one iteration of an explosive rule set can add
millions of e-nodes (gigabytes). Checking the process's memory between iterations therefore
bounds a phase only up to one iteration's growth. So the guard also sizes each iteration: the
back-off scheduler applies at most ``match_limit`` matches of each rule per iteration (a rule
with more is skipped for that iteration), and each match adds at most as many e-nodes as the
rule's text has constructors. The limit is chosen so that even the worst case of the coming
iteration fits in what is left of the budget:

    rules' constructors x match limit x bytes per e-node + overhead <= budget left

where the overhead is the most any iteration so far grew beyond its new e-nodes (egglog's
search buffers: an iteration whose rules are all over the cap adds no e-node but still grows).
Bytes per e-node start at a measured, rounded-up figure (about 290 bytes at millions of e-nodes
in egglog 13.2) and grow if the run shows more. When the budget cannot afford a useful
iteration any more, the phase stops with "memory limit".
"""
from __future__ import annotations

import os
import re

BYTES_PER_ENODE = 512          # measured ~290 B/e-node (7.7 M e-nodes, +2.1 GiB), with margin
MIN_MATCHES = 16               # below this an iteration does too little to be worth running
_CTOR = re.compile(r"\(\s*([A-Z][A-Za-z0-9_]*)")


def rss_bytes() -> int:
    """The process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def nodes_per_match(rule_text: str, ctors) -> int:
    """An upper bound on the e-nodes one match of the rule adds: the constructors in its text."""
    return max(1, sum(1 for name in _CTOR.findall(rule_text) if name in ctors))


class MemoryGuard:
    """Tracks growth since saturation began against ``limit`` bytes and sizes each iteration."""

    def __init__(self, limit: int, match_limit: int):
        self.limit = limit
        self.max_matches = match_limit
        self.rss0 = rss_bytes()
        self.per_node = BYTES_PER_ENODE
        self.overhead = 0              # the most an iteration grew beyond its e-nodes (search buffers)
        self._last = (self.rss0, None)

    def grown(self) -> int:
        return rss_bytes() - self.rss0

    def left(self) -> int:
        return self.limit - (rss_bytes() - self.rss0)

    def exceeded(self) -> bool:
        return self.left() < 0

    def match_limit(self, constructors: int) -> int:
        """Matches per rule for the next iteration of rules with ``constructors`` in all (0: stop)."""
        n = (self.left() - self.overhead) // (max(1, constructors) * self.per_node)
        if n < MIN_MATCHES:
            return 0
        if n >= self.max_matches:
            return self.max_matches
        return 1 << (int(n).bit_length() - 1)      # a power of two: few distinct schedules to parse

    def observe(self, nodes: int) -> None:
        """After an iteration: learn bytes per e-node from a large enough growth, and the
        growth that new e-nodes do not explain."""
        rss = rss_bytes()
        last_rss, last_nodes = self._last
        if last_nodes is not None:
            new = max(0, nodes - last_nodes)
            if new >= 1_000:
                self.per_node = max(self.per_node, (rss - last_rss) // new)
            self.overhead = max(self.overhead, rss - last_rss - new * self.per_node)
        self._last = (rss, nodes)
