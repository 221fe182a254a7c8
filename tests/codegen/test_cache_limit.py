"""The cache's size limit: least recently used entries go, recent ones stay, a pruned entry is rebuilt."""
from __future__ import annotations

import os
import time

import pytest

import egopt
from egopt.codegen import cache
from egopt.cli import main as cli


def _entry(directory, key, nbytes, age_s, suffix=".so"):
    """An entry built through cached_build, then dated ``age_s`` seconds back."""
    def build(tmp):
        with open(tmp, "wb") as f:
            f.write(b"x" * nbytes)
    with egopt.config.change_flags(compiledir_max_mb=0):       # no automatic pass while setting up
        path = cache.cached_build(key, build, suffix=suffix, directory=str(directory))
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def _keys(directory):
    return sorted(n[:-7] for _, _, files in os.walk(directory) for n in files if n.endswith(".sha256"))


def test_prune_removes_the_least_recently_used_entries_first(tmp_path):
    (tmp_path / "graphs").mkdir()
    for i, age in enumerate([9000, 8000, 7000, 6000]):
        _entry(tmp_path, f"k{i}", 100_000, age)
    _entry(tmp_path / "graphs", "g", 100_000, 8500, suffix=".graph")
    before = cache.usage(str(tmp_path))
    assert before.entries == 5 and before.bytes >= 500_000
    rep = cache.prune(max_bytes=300_000, directory=str(tmp_path))
    # down to 80% of the limit: the three oldest go (subfolders too), with their hash and lock files
    assert rep.removed == 3 and _keys(tmp_path) == ["k2.so", "k3.so"]
    assert not [n for n in os.listdir(tmp_path) if n.startswith(("k0", "k1"))]
    assert cache.usage(str(tmp_path)).bytes <= 240_000


def test_prune_keeps_entries_used_within_the_hour_even_over_the_limit(tmp_path):
    _entry(tmp_path, "old", 100_000, 7200)
    _entry(tmp_path, "new", 100_000, 60)
    rep = cache.prune(max_bytes=1000, directory=str(tmp_path))
    assert rep.removed == 1 and _keys(tmp_path) == ["new.so"]


def test_a_hit_makes_an_entry_recent_and_a_pruned_entry_is_rebuilt(tmp_path):
    old = _entry(tmp_path, "a", 10, 7200)
    _entry(tmp_path, "b", 10, 3600 * 5)
    builds = []
    path = cache.cached_build("a", builds.append, directory=str(tmp_path))      # a hit: no build
    assert path == old and not builds and time.time() - os.stat(old).st_mtime < 60
    cache.prune(max_bytes=30, directory=str(tmp_path))           # "b" is now the oldest
    assert _keys(tmp_path) == ["a.so"]

    def build(tmp):
        builds.append(tmp)
        with open(tmp, "wb") as f:
            f.write(b"again")
    path = cache.cached_build("b", build, directory=str(tmp_path))
    assert len(builds) == 1 and open(path, "rb").read() == b"again"


def test_the_automatic_pass_runs_after_a_build_at_most_every_ten_minutes(tmp_path):
    with egopt.config.change_flags(compiledir=str(tmp_path)):
        for i in range(3):
            _entry(tmp_path, f"old{i}", 500_000, 9000 - i)
        small = lambda tmp: open(tmp, "wb").close()
        with egopt.config.change_flags(compiledir_max_mb=1):
            cache.cached_build("fresh", small)         # a build: the pass runs, the oldest go
            assert _keys(tmp_path) == ["fresh.so", "old2.so"]
            _entry(tmp_path, "old3", 2_000_000, 7200)
            cache.cached_build("fresh2", small)        # within ten minutes of the last pass: none
            assert "old3.so" in _keys(tmp_path)


def test_cli_cache_info_prune_and_clear(tmp_path, capsys):
    _entry(tmp_path, "a", 2_000_000, 60)
    _entry(tmp_path, "b", 10, 30)
    with egopt.config.change_flags(compiledir=str(tmp_path)):
        assert cli(["cache"]) == 0
        assert "2 entries, 1.9 MB" in capsys.readouterr().out
        assert cli(["cache", "prune", "--max-mb", "1"]) == 0         # explicit size: recent ones too
        assert "removed 1" in capsys.readouterr().out and _keys(tmp_path) == ["b.so"]
        assert cli(["cache", "clear"]) == 0
        assert _keys(tmp_path) == [] and cache.usage(str(tmp_path)).entries == 0


def test_the_limit_is_a_validated_setting():
    with pytest.raises(ValueError, match="compiledir_max_mb must be an int >= 0"):
        egopt.config.compiledir_max_mb = -1
    with egopt.config.change_flags(compiledir_max_mb="512"):
        assert egopt.config.compiledir_max_mb == 512
