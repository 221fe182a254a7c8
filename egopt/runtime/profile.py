"""Per-op time profiles of compiled functions (``egopt.function(..., profile=True)``).

The linker adds one ``(op name, seconds)`` record per executed node; ``ProfileStats.table()``
prints calls, total time, time per call and share of the time, slowest op first. Profiles of
functions still alive are printed when the process exits, as in Theano.
"""
from __future__ import annotations

import atexit
import sys
import weakref


class ProfileStats:
    """Time per op of one compiled function, accumulated over its calls.

    ``stats.ops[name] == [calls, seconds]``; ``stats.calls`` and ``stats.seconds`` count whole
    function calls. Indexing (``stats["add"]``) reads ``ops``.
    """

    def __init__(self, name: str = "function"):
        self.name = name
        self.ops: dict[str, list] = {}
        self.calls = 0
        self.seconds = 0.0

    def record(self, op: str, seconds: float) -> None:
        rec = self.ops.setdefault(op, [0, 0.0])
        rec[0] += 1
        rec[1] += seconds

    def record_call(self, seconds: float) -> None:
        self.calls += 1
        self.seconds += seconds

    def __getitem__(self, op: str) -> list:
        return self.ops[op]

    def __contains__(self, op: str) -> bool:
        return op in self.ops

    def __iter__(self):
        return iter(self.ops)

    def table(self) -> str:
        """The per-op table: calls, total seconds, microseconds per call, % of op time."""
        total = sum(t for _, t in self.ops.values()) or 1e-12
        lines = [f"Profile of {self.name}: {self.calls} call(s), {self.seconds:.6f} s in total",
                 f"{'op':<24}{'calls':>8}{'total s':>12}{'per call us':>14}{'%':>8}"]
        for op, (n, t) in sorted(self.ops.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"{op:<24}{n:>8}{t:>12.6f}{1e6 * t / max(n, 1):>14.2f}{100 * t / total:>8.1f}")
        return "\n".join(lines)

    __str__ = table

    def summary(self, file=None) -> None:
        """Print the table (Theano's ``f.profile.summary()``)."""
        print(self.table(), file=file or sys.stdout)

    def __repr__(self) -> str:
        return f"<ProfileStats of {self.name}: {self.calls} calls, {len(self.ops)} ops>"


_AT_EXIT: "weakref.WeakSet[ProfileStats]" = weakref.WeakSet()
_REGISTERED = False


def print_at_exit(stats: ProfileStats) -> None:
    """Print ``stats`` when the process exits, unless it was garbage-collected by then."""
    global _REGISTERED
    _AT_EXIT.add(stats)
    if not _REGISTERED:
        atexit.register(_print_all)
        _REGISTERED = True


def _print_all() -> None:
    for stats in list(_AT_EXIT):
        if stats.calls:
            print(stats.table(), file=sys.stderr)
