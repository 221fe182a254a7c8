"""profile=True: a per-op time table, available as f.profile and f.profile_table()."""
from __future__ import annotations

import numpy as np

import egopt
import egopt.tensor as T
from egopt.runtime.profile import ProfileStats


def test_profile_counts_calls_per_op():
    x = T.dvector("x")
    f = egopt.function([x], T.exp(x).sum() + (x * 2).sum(), profile=True, name="p",
                       mode=egopt.Mode("fast_compile", "py"))     # per op: the NumPy linker's table
    for _ in range(3):
        f(np.ones(5))
    prof = f.profile
    assert isinstance(prof, ProfileStats)
    assert prof.calls == 3 and prof.seconds > 0
    assert prof["exp"][0] == 3 and prof["mul"][0] == 3 and prof["sum"][0] == 6
    assert "exp" in prof and "dot" not in prof
    table = f.profile_table()
    lines = table.splitlines()
    assert lines[0].startswith("Profile of function 'p': 3 call(s)")
    assert lines[1].split() == ["op", "calls", "total", "s", "per", "call", "us", "%"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"exp", "mul", "sum", "add"}
    assert rows["sum"][1] == "6"
    assert abs(sum(float(r[4]) for r in rows.values()) - 100.0) < 0.5


def test_profile_off_by_default():
    x = T.dvector("x")
    f = egopt.function([x], x + 1)
    assert f.profile is None
    assert "profile=True" in f.profile_table()


def test_table_sorted_slowest_first():
    p = ProfileStats("demo")
    p.record("fast", 0.001)
    p.record("slow", 0.5)
    p.record("slow", 0.5)
    p.record_call(1.2)
    lines = p.table().splitlines()
    assert lines[0] == "Profile of demo: 1 call(s), 1.200000 s in total"
    assert lines[2].split() == ["slow", "2", "1.000000", "500000.00", "99.9"]
    assert lines[3].split() == ["fast", "1", "0.001000", "1000.00", "0.1"]


def test_summary_prints_the_table(capsys):
    p = ProfileStats("s")
    p.record("exp", 0.25)
    p.record_call(0.5)
    p.summary()
    assert capsys.readouterr().out == p.table() + "\n"
