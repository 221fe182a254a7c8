"""The on-disk cache of compiled libraries: content-addressed, atomic, safe across processes.

An entry is ``<compiledir>/<key>.so`` plus ``<key>.sha256`` (the library's own hash, written
after it). The key hashes everything the binary depends on (source, flags, compiler version,
CPU), so nothing is versioned by hand (STYLE P9). Writers hold ``<key>.lock`` (filelock) and
publish by rename, so a reader never sees half a library; an entry whose bytes do not match
its hash (truncated, corrupted) is rebuilt.

The cache is kept under ``config.compiledir_max_mb`` by least-recent use (``prune``): a hit
refreshes an entry's mtime (at most hourly), and after a build, at most every ten minutes, the
oldest entries go until the whole directory (libraries, graphs, rule texts) is back under 80%
of the limit. An entry used in the last hour is never removed, so a process that has just
found an entry can still open it; a removed entry is only a rebuild away, and publishing by
rename keeps even a build racing a removal correct.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

from .. import config


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _valid(path: str) -> bool:
    try:
        with open(path + ".sha256") as f:
            want = f.read().strip()
        return bool(want) and _digest(path) == want
    except OSError:
        return False


def _write_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cached_build(key: str, build: Callable[[str], None], suffix: str = ".so",
                 directory: str | None = None) -> str:
    """The path of the library for ``key``, building it with ``build(tmp_path)`` when the cache
    holds no valid entry. Concurrent callers with the same key build it once."""
    directory = directory or config.compiledir
    path = os.path.join(directory, key + suffix)
    if _valid(path):
        _touch(path)
        return path
    from filelock import FileLock      # imported only to build: a warm process never needs it
    os.makedirs(directory, exist_ok=True)
    with FileLock(path + ".lock"):
        if _valid(path):            # another process built it while we waited
            return path
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
        os.close(fd)
        try:
            build(tmp)
            digest = _digest(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _write_atomic(path + ".sha256", digest.encode())
    _maybe_prune()
    return path


# ---- size limit: least-recently-used entries go ---------------------------------------------------------
RECENT_S = 3600.0          # an entry used this recently is never removed (and is touched at most this often)
PRUNE_EVERY_S = 600.0      # the automatic pass scans the directory at most this often
_MARKER = ".last-prune"


def _touch(path: str) -> None:
    try:
        if time.time() - os.stat(path).st_mtime > RECENT_S:
            os.utime(path)
    except OSError:
        pass


@dataclass
class CacheUsage:
    """What ``prune`` (or ``usage``) found: entries and bytes before, and what it removed."""
    directory: str
    entries: int
    bytes: int
    removed: int = 0
    freed: int = 0

    def __str__(self) -> str:
        mb = lambda b: f"{b / 2**20:.1f} MB"
        text = f"{self.directory}: {self.entries} entries, {mb(self.bytes)}"
        if self.removed:
            text += f"; removed {self.removed} least recently used ({mb(self.freed)})"
        return text


def _entries(directory: str) -> list[tuple[float, int, list[str]]]:
    """Every entry under ``directory`` as (last use, bytes, its files), and leftovers of
    crashed builds (``.tmp-*``) and lock files without an entry, dated by their own mtime."""
    found = []
    for root, _dirs, files in os.walk(directory):
        names = set(files)
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            if name.endswith(".sha256") and name[:-7] in names:
                base = path[:-7]
                group = [base, path] + ([base + ".lock"] if name[:-7] + ".lock" in names else [])
                try:
                    used = os.stat(base).st_mtime
                except OSError:
                    continue
                found.append((used, sum(_size(p) for p in group), group))
            elif name.startswith(".tmp-") or (name.endswith(".lock") and name[:-5] + ".sha256" not in names):
                found.append((st.st_mtime, st.st_size, [path]))
    return found


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def usage(directory: str | None = None) -> CacheUsage:
    directory = directory or config.compiledir
    found = _entries(directory) if os.path.isdir(directory) else []
    return CacheUsage(directory, len(found), sum(b for _, b, _ in found))


def prune(max_bytes: int | None = None, directory: str | None = None,
          recent_s: float = RECENT_S) -> CacheUsage:
    """Remove the least recently used entries until the cache holds at most 80% of
    ``max_bytes`` (default ``config.compiledir_max_mb``; 0 means no limit). Entries used within
    ``recent_s`` seconds stay. ``max_bytes=0`` with ``recent_s=0`` empties the cache."""
    directory = directory or config.compiledir
    if max_bytes is None:
        max_bytes = int(config.compiledir_max_mb) * 2**20
        if max_bytes == 0:
            return usage(directory)
    found = sorted(_entries(directory)) if os.path.isdir(directory) else []
    report = CacheUsage(directory, len(found), sum(b for _, b, _ in found))
    total, goal, now = report.bytes, int(max_bytes * 0.8), time.time()
    for used, size, group in found:
        if total <= goal:
            break
        if now - used < recent_s:
            continue
        for p in reversed(group):          # the hash first: a reader then sees no valid entry
            try:
                os.unlink(p)
            except OSError:
                pass
        total -= size
        report.removed += 1
        report.freed += size
    return report


def _maybe_prune() -> None:
    """The automatic pass after a build: at most every PRUNE_EVERY_S, never an error."""
    if not config.compiledir_max_mb:
        return
    marker = os.path.join(config.compiledir, _MARKER)
    try:
        if time.time() - os.stat(marker).st_mtime < PRUNE_EVERY_S:
            return
    except OSError:
        pass
    try:
        os.makedirs(config.compiledir, exist_ok=True)
        with open(marker, "w"):
            pass
        prune()
    except OSError:
        pass
