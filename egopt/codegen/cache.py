"""The on-disk cache of compiled libraries: content-addressed, atomic, safe across processes.

An entry is ``<compiledir>/<key>.so`` plus ``<key>.sha256`` (the library's own hash, written
after it). The key hashes everything the binary depends on (source, flags, compiler version,
CPU), so nothing is versioned by hand (STYLE P9). Writers hold ``<key>.lock`` (filelock) and
publish by rename, so a reader never sees half a library; an entry whose bytes do not match
its hash (truncated, corrupted) is rebuilt.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
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
    return path
