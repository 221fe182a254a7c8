"""The on-disk cache of optimized graphs (egopt/runtime/graph_cache.py): a hit computes what a
miss computes, the key sees everything that changes the result, bad entries are rebuilt, and
concurrent processes agree."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.runtime import graph_cache


@pytest.fixture
def cache_dir(tmp_path):
    with egopt.config.change_flags(compiledir=str(tmp_path), graph_cache=True):
        yield tmp_path


def _entries(d):
    return glob.glob(str(d / "graphs" / "*.graph"))


def _softmax_step(dtype="float64", n_in=6, seed=0, lr=0.1):
    """A softmax-regression SGD step (shared weights, updates): fresh variables on every call."""
    rng = np.random.default_rng(seed)
    W = egopt.shared(rng.normal(size=(n_in, 3)).astype(dtype), name="W")
    b = egopt.shared(np.zeros(3, dtype=dtype), name="b")
    x = T.matrix("x", dtype=dtype)
    y = T.ivector("y")
    p = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = T.grad(cost, [W, b])
    return [x, y], cost, [(W, W - lr * gW), (b, b - lr * gb)], (W, b)


def _numpy_step(W, b, x, y, lr=0.1):
    z = x @ W + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    cost = -np.mean(np.log(p[np.arange(len(y)), y]))
    g = p.copy()
    g[np.arange(len(y)), y] -= 1
    g /= len(y)
    return cost, W - lr * x.T @ g, b - lr * g.sum(axis=0)


def _data(n_in=6, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(20, n_in)), rng.integers(0, 3, 20).astype(np.int32)


def test_a_hit_computes_what_a_miss_computes(cache_dir):
    xv, yv = _data()
    results = []
    for expect in ("stored", "hit"):
        ins, cost, upd, (W, b) = _softmax_step()
        W0, b0 = W.get_value(), b.get_value()
        f = egopt.function(ins, cost, updates=upd)
        rep = f.optimization_report()
        assert rep.cached == expect and rep.outcome == "optimized"
        c = f(xv, yv)
        c_ref, W_ref, b_ref = _numpy_step(W0, b0, xv, yv)
        np.testing.assert_allclose(c, c_ref, rtol=1e-10)
        # the updates went to THIS function's shared variables (rebound by position)
        np.testing.assert_allclose(W.get_value(), W_ref, rtol=1e-10)
        np.testing.assert_allclose(b.get_value(), b_ref, rtol=1e-10, atol=1e-15)
        results.append((rep, [n.op.name for n in f.maker.fgraph.toposort()]))
    (miss, ops_miss), (hit, ops_hit) = results
    assert ops_hit == ops_miss
    assert (hit.nodes_in, hit.nodes_out, hit.cost_after, hit.fired) == \
        (miss.nodes_in, miss.nodes_out, miss.cost_after, miss.fired)
    assert [p.name for p in hit.phases] == [p.name for p in miss.phases]
    assert "from the graph cache" in str(hit)
    assert len(_entries(cache_dir)) == 1


def test_a_hit_loads_neither_egglog_nor_the_rules(cache_dir):
    script = textwrap.dedent("""
        import sys, numpy as np, egopt, egopt.tensor as T
        x = T.dvector("x")
        f = egopt.function([x], T.log(1 + x) * 2)
        assert np.allclose(f(np.arange(3.0)), np.log1p(np.arange(3.0)) * 2)
        print(f.optimization_report().cached, "egglog" in sys.modules, "sympy" in sys.modules,
              "egopt.rules.dsl" in sys.modules)
    """)
    env = {**os.environ, "EGOPT_FLAGS": f"compiledir={cache_dir}"}
    outs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                           timeout=300) for _ in range(2)]
    assert all(o.returncode == 0 for o in outs), outs[0].stderr + outs[1].stderr
    assert outs[0].stdout.split()[0] == "stored"
    assert outs[1].stdout.split() == ["hit", "False", "False", "False"]


def _key(outputs, leaves, mode=None):
    return graph_cache.graph_key(outputs, leaves, egopt.get_mode(mode))[0]


def test_key_ignores_names_and_identity_but_sees_types_constants_and_structure():
    def graph(dtype="float64", shape=(None,), const=2.0, name="x", op=T.exp):
        x = T.tensor(dtype, shape=shape, name=name)
        return [op(x) * const], [x]
    base = _key(*graph())
    assert _key(*graph(name="other")) == base                     # names and identity do not count
    assert _key(*graph(dtype="float32")) != base
    assert _key(*graph(shape=(1,))) != base                       # broadcastable
    assert _key(*graph(shape=(5,))) != base                       # static shape
    assert _key(*graph(const=3.0)) != base                        # a constant's bytes
    assert _key(*graph(op=T.sin)) != base                         # an op
    x, y = T.dvectors("x", "y")
    assert _key([x - y], [x, y]) != _key([x - y], [y, x])         # leaves by position


def test_key_sees_shared_values_only_through_their_type():
    a = egopt.shared(np.zeros(3), name="a")
    b = egopt.shared(np.ones(3), name="b")
    x = T.dvector("x")
    assert _key([x + a], [x, a]) == _key([x + b], [x, b])
    c = egopt.shared(np.zeros(3, dtype="float32"))
    assert _key([x + a], [x, a]) != _key([x + c], [x, c])


def test_key_sees_the_rules_and_the_mode(tmp_path):
    x = T.dvector("x")
    e = [T.cos(x) ** 2 + T.sin(x) ** 2]
    rule = tmp_path / "mine.py"
    rule.write_text("from egopt import rules\nimport egopt.tensor as T\nx, = rules.pattern_vars('x')\n"
                    "rules.rewrite(T.cos(x) ** 2 + T.sin(x) ** 2, T.second(x, 1.0), name='pythagoras')\n")
    with_rule = _key(e, [x], egopt.Mode(rules=[str(rule)]))
    assert with_rule != _key(e, [x], egopt.Mode())
    rule.write_text(rule.read_text().replace("1.0", "1.00"))   # the same rule set, edited
    assert _key(e, [x], egopt.Mode(rules=[str(rule)])) != with_rule
    assert _key(e, [x], egopt.Mode(linker="py")) != _key(e, [x], egopt.Mode(linker="c"))


def test_user_rules_are_applied_on_a_hit(cache_dir, tmp_path):
    rule = tmp_path / "mine.py"
    rule.write_text("from egopt import rules\nimport egopt.tensor as T\nx, = rules.pattern_vars('x')\n"
                    "rules.rewrite(T.cos(x) ** 2 + T.sin(x) ** 2, T.second(x, 1.0), name='pythagoras')\n")
    for expect in ("stored", "hit"):
        x = T.dvector("x")
        f = egopt.function([x], T.cos(x) ** 2 + T.sin(x) ** 2, mode=egopt.Mode(rules=[str(rule)]))
        assert f.optimization_report().cached == expect
        assert f.optimization_report().fired.get("pythagoras")
        assert {n.op.name for n in f.maker.fgraph.toposort()} <= {"second"}
        np.testing.assert_array_equal(f(np.arange(3.0)), np.ones(3))


@pytest.mark.parametrize("damage", ["truncate", "garbage with a matching hash"])
def test_a_damaged_entry_is_rebuilt(cache_dir, damage):
    import hashlib
    x = T.dvector("x")
    egopt.function([x], T.exp(x) + 1)
    (entry,) = _entries(cache_dir)
    if damage == "truncate":
        with open(entry, "r+b") as f:
            f.truncate(os.path.getsize(entry) // 2)
    else:
        junk = b"not a pickle at all"
        with open(entry, "wb") as f:
            f.write(junk)
        with open(entry + ".sha256", "w") as f:
            f.write(hashlib.sha256(junk).hexdigest())
    x = T.dvector("x")
    f = egopt.function([x], T.exp(x) + 1)
    assert f.optimization_report().cached == "stored"
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)) + 1)
    x = T.dvector("x")
    assert egopt.function([x], T.exp(x) + 1).optimization_report().cached == "hit"


def test_a_failed_optimization_is_never_stored(cache_dir, monkeypatch):
    class FakePanic(BaseException):
        pass

    def boom(*a, **k):
        raise FakePanic("rust panic")
    monkeypatch.setattr(egopt.rules.engine, "saturate_to_view", boom)
    for _ in range(2):            # the fallback stays visible: it warns again, nothing is stored
        x = T.dvector("x")
        with pytest.warns(egopt.runtime.optimize.OptimizerFallbackWarning):
            f = egopt.function([x], T.log(1 + x))
        assert f.optimization_report().fell_back and f.optimization_report().cached == ""
    assert _entries(cache_dir) == []


def test_switched_off_and_checking_modes_bypass_it(cache_dir):
    x = T.dvector("x")
    with egopt.config.change_flags(graph_cache=False):
        assert egopt.function([x], T.exp(x) * 2).optimization_report().cached == ""
    assert egopt.function([x], T.exp(x) * 2, mode="DebugMode").optimization_report().cached == ""
    assert _entries(cache_dir) == []


def test_egraph_picture_after_a_hit(cache_dir, tmp_path):
    for _ in range(2):
        x = T.dvector("x")
        f = egopt.function([x], T.log(1 + x))
    assert f.optimization_report().cached == "hit"
    path = f.egraph_picture(str(tmp_path / "e.dot"))
    assert "cluster_" in open(path).read()


def _dot_plus_one():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    return egopt.function([x, y], T.dot(x, y) + 1)       # the first compile's line


def test_error_messages_name_this_programs_lines_on_a_hit(cache_dir):
    import inspect
    assert _dot_plus_one().optimization_report().cached == "stored"
    x, y = T.dmatrix("x"), T.dmatrix("y")
    line = inspect.currentframe().f_lineno + 1
    f = egopt.function([x, y], T.dot(x, y) + 1)               # this line, not the first compile's
    assert f.optimization_report().cached == "hit"
    with pytest.raises(Exception) as err:
        f(np.ones((2, 3)), np.ones((4, 5)))
    assert f"test_graph_cache.py:{line}" in str(err.value), str(err.value)


SCRIPT = textwrap.dedent("""
    import numpy as np, egopt, egopt.tensor as T
    x = T.dmatrix("x")
    W = egopt.shared(np.full((4, 3), 0.5), name="W")
    out = T.nnet.softmax(T.tanh(T.dot(x, W)) * 3)
    f = egopt.function([x], out)
    a = np.linspace(-1, 1, 8).reshape(2, 4)
    z = np.tanh(a @ np.full((4, 3), 0.5)) * 3
    e = np.exp(z - z.max(1, keepdims=True))
    assert np.allclose(f(a), e / e.sum(1, keepdims=True))
    print(f.optimization_report().cached)
""")


def test_two_processes_optimizing_the_same_graph_at_once(cache_dir):
    env = {**os.environ, "EGOPT_FLAGS": f"compiledir={cache_dir}"}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(out.strip())
    assert sorted(outs) == ["hit", "stored"]            # optimized once, by one of them
    assert len(_entries(cache_dir)) == 1
    assert not glob.glob(str(cache_dir / "graphs" / ".tmp-*"))


def test_the_rule_library_from_its_entry_is_the_checked_library(cache_dir):
    from egopt import rules
    from egopt.runtime.optimize import optimize
    fresh = rules.builtin()
    stored = graph_cache.builtin_library()              # loads the files and writes the entry
    (entry,) = glob.glob(str(cache_dir / "rules" / "*.rules"))
    loaded = graph_cache.builtin_library()              # reads the entry
    assert loaded is not stored
    assert [(r.name, r.phase, r.egg()) for r in loaded] == [(r.name, r.phase, r.egg()) for r in fresh]
    x, y = T.dvectors("x", "y")
    e = [T.log(1 + x) * 1 + T.sqrt(y ** 2)]      # small: saturates well within the phase time limits
    a, ra = optimize(e, [x, y], fresh)
    b, rb = optimize(e, [x, y], loaded)
    assert all(p.stop in ("saturated", "no rules") for p in ra.phases + rb.phases)
    assert (ra.outcome, ra.fired, ra.nodes_out) == (rb.outcome, rb.fired, rb.nodes_out)
    assert ra.outcome == "optimized" and ra.fired.get("log1p")
    with open(entry, "wb") as f:                       # a damaged entry: the files are loaded again
        f.write(b"junk")
    again = graph_cache.builtin_library()
    assert [r.name for r in again] == [r.name for r in fresh]


def test_a_scan_graph_bypasses_the_cache(cache_dir):
    A = T.dvector("A")
    k = T.iscalar("k")
    res, updates = egopt.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A,
                              n_steps=k)
    f = egopt.function([A, k], res[-1], updates=updates)
    assert f.optimization_report().cached == "" and _entries(cache_dir) == []
    np.testing.assert_allclose(f(np.arange(4.0), 3), np.arange(4.0) ** 3)
