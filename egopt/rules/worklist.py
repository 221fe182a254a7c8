"""The worklist of the bottom-up fixpoints over an e-graph (typed extraction, greedy extraction):
a class is looked at again only when one of its children's results changed."""
from __future__ import annotations

from typing import Iterable, Mapping


def parents_of(classes: Mapping[int, Iterable]) -> dict[int, set[int]]:
    """e-class -> the classes that hold a node with it as a child (``classes``: class -> nodes)."""
    parents: dict[int, set[int]] = {}
    for c, nodes in classes.items():
        for n in nodes:
            for k in n.children:
                parents.setdefault(k, set()).add(c)
    return parents


class Worklist:
    """Classes still to (re)visit, each queued at most once at a time; popped last-in first-out."""

    __slots__ = ("_todo", "_queued", "_parents")

    def __init__(self, classes: Iterable[int], parents: Mapping[int, set[int]]):
        self._todo = list(classes)
        self._queued = set(self._todo)
        self._parents = parents

    def __bool__(self) -> bool:
        return bool(self._todo)

    def pop(self) -> int:
        c = self._todo.pop()
        self._queued.discard(c)
        return c

    def changed(self, c: int) -> None:
        """``c``'s result changed: queue its parents again."""
        for p in self._parents.get(c, ()):
            if p not in self._queued:
                self._queued.add(p)
                self._todo.append(p)
