"""Ctrl-C during a compile returns at once; saturation stops between iterations; limits hold."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import rules
from egopt.rules import engine
from egopt.rules.loader import load_egg_text

EXPLOSIVE = rules.RuleSet(load_egg_text(
    '(birewrite (Add a (Add b c)) (Add (Add a b) c) :ruleset canonicalize :name "add-assoc")\n'
    '(birewrite (Mul a (Add b c)) (Add (Mul a b) (Mul a c)) :ruleset canonicalize :name "distribute")\n',
    "explosive.egg"), name="explosive")


def _big_sum():
    xs = T.dvectors(*[f"x{i}" for i in range(14)])
    out = xs[0]
    for v in xs[1:]:
        out = v * (out + 1.0)
    return xs, out


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals go to the main thread")
def test_ctrl_c_during_compile_returns_within_half_a_second(monkeypatch):
    monkeypatch.setattr(engine, "DEFAULT_PHASES", (engine.Phase("canonicalize", iters=10_000, nodes=10**8, seconds=60),))
    xs, out = _big_sum()
    fired_at = []

    def interrupt():
        fired_at.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.5, interrupt)
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        egopt.function(xs, out, mode=egopt.Mode(rules=EXPLOSIVE))
    caught = time.perf_counter()
    assert fired_at, f"the compile finished in {caught - t0:.2f} s, before the interrupt"
    print(f"Ctrl-C returned after {caught - fired_at[0]:.3f} s")
    assert caught - fired_at[0] < 0.5, f"Ctrl-C took {caught - fired_at[0]:.2f} s to return"
    # the worker stops at its next iteration boundary
    for th in threading.enumerate():
        if th.name == "egopt-saturate":
            th.join(30)
            assert not th.is_alive()


def test_memory_guard_stops_a_phase(monkeypatch):
    monkeypatch.setattr(engine, "MEMORY_LIMIT_BYTES", -1)      # any growth at all is too much
    x = T.dvector("x")
    f = egopt.function([x], T.log(1 + T.exp(x)) * 1 + 0)
    stops = [p.stop for p in f.optimization_report().phases]
    assert any(s.startswith("memory limit") for s in stops), stops
    np.testing.assert_allclose(f([0.0, 2.0]), np.log1p(np.exp([0.0, 2.0])))


def _explosive():
    """Associativity both ways with commutativity over a 40-term sum: the e-graph of all
    bracketings grows without end (one unguarded iteration reached 7.7 M e-nodes, +2.1 GiB)."""
    a, b, c = rules.pattern_vars("a b c")
    return rules.RuleSet([rules.rewrite((a + b) + c, a + (b + c), name="assoc-r"),
                          rules.rewrite(a + (b + c), (a + b) + c, name="assoc-l"),
                          rules.rewrite(a + b, b + a, name="comm")], name="boom")


def test_memory_guard_bounds_each_iteration_of_an_explosive_rule_set(monkeypatch):
    from egopt.rules.encode import encode
    limit = 48 << 20
    monkeypatch.setattr(engine, "MEMORY_LIMIT_BYTES", limit)
    monkeypatch.setattr(engine, "MATCH_LIMIT", 10 ** 7)       # the per-rule cap alone would not hold it
    x = T.dvector("x")
    e = x
    for i in range(1, 40):
        e = e + x * i
    phase = engine.Phase("canonicalize", iters=1000, nodes=10 ** 9, seconds=60)
    sat = engine.saturate(encode([e], [x]), _explosive(), (phase,))
    (rep,) = sat.phases
    assert rep.stop.startswith("memory limit"), rep
    assert rep.iterations >= 2 and rep.nodes > 10_000           # it did explode, then stopped
    assert 0 < sat.memory_grown <= limit * 1.1, (sat.memory_grown >> 20, rep)   # the e-graph is alive here
