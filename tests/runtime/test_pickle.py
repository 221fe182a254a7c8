"""Compiled functions and shared variables pickle and unpickle, with their state."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt import In


@pytest.fixture(params=["FAST_COMPILE", "FAST_RUN"])
def mode(request):
    return request.param


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def test_shared_variable_roundtrip():
    s = egopt.shared(np.arange(4.0).reshape(2, 2), name="w")
    t = roundtrip(s)
    assert t is not s and t.name == "w" and t.type == s.type
    np.testing.assert_array_equal(t.get_value(), s.get_value())
    t.set_value(np.zeros((2, 2)))
    assert s.get_value()[1, 1] == 3.0


def test_function_roundtrip(mode):
    x, y = T.dmatrices("x", "y")
    f = egopt.function([x, y], [x + y, T.exp(x) * y], mode=mode, name="f")
    g = roundtrip(f)
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])
    for got, want in zip(g(a, b), [a + b, np.exp(a) * b]):
        np.testing.assert_allclose(got, want)
    assert g.name == "f" and g.mode == f.mode


def test_function_carries_shared_state(mode):
    state = egopt.shared(np.int64(0), name="state")
    inc = T.lscalar("inc")
    acc = egopt.function([inc], state, updates=[(state, state + inc)], mode=mode)
    acc(10)
    acc2 = roundtrip(acc)                         # alone: a copy of the state travels
    assert acc2(1) == 10 and acc2(1) == 11
    assert state.get_value() == 10                # the original is not touched


def test_function_and_shared_variable_stay_linked(mode):
    state = egopt.shared(np.int64(3), name="state")
    inc = T.lscalar("inc")
    acc = egopt.function([inc], state, updates=[(state, state + inc)], mode=mode)
    acc2, state2 = roundtrip((acc, state))
    acc2(4)
    assert state2.get_value() == 7
    state2.set_value(-1)
    assert acc2(1) == -1 and state2.get_value() == 0


def test_defaults_keywords_givens_and_intermediate_inputs_survive(mode):
    x, y = T.dscalars("x", "y")
    h = x * 3
    z = h + y
    f = egopt.function([h, In(y, value=2.0, name="why")], z * 2, mode=mode)
    g = roundtrip(f)
    assert g(1.0) == 6.0 and g(1.0, why=0.0) == 2.0
    w = T.dscalar("w")
    k = roundtrip(egopt.function([w], x + 1, givens={x: w * 10}, mode=mode))
    assert k(2.0) == 21.0


def test_deep_graph_pickles():
    x = T.dscalar("x")
    y = x
    for _ in range(3000):
        y = y + 1
    f = egopt.function([x], y, mode="FAST_COMPILE")
    assert roundtrip(f)(0.5) == 3000.5


def test_profiled_function_pickles():
    x = T.dvector("x")
    f = roundtrip(egopt.function([x], x * 2, profile=True, mode="FAST_COMPILE"))
    f([1.0])
    assert f.profile.calls == 1


def test_function_with_a_user_rule_file_unpickles_elsewhere(tmp_path, monkeypatch):
    """The pickle carries the rules' text, not a (relative) path to the file."""
    here, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (here / "mine.egg").write_text('(rewrite (Mul (Exp a) (Exp b)) (Exp (Add a b)) '
                                   ':ruleset canonicalize :name "my-exp-mul")\n')
    monkeypatch.chdir(here)
    x, y = T.dvectors("x", "y")
    f = egopt.function([x, y], T.exp(x) * T.exp(y), mode=egopt.Mode(rules=["mine.egg"]))
    data = pickle.dumps(f)
    assert b"mine.egg" not in data.replace(b"mine.egg:", b"")     # only as a rule's origin label
    (here / "mine.egg").unlink()
    monkeypatch.chdir(elsewhere)
    g = pickle.loads(data)
    assert g.optimization_report().fired.get("mine.my-exp-mul") or g.optimization_report().fired.get("my-exp-mul")
    np.testing.assert_allclose(g([1.0, 2.0], [0.5, -1.0]), np.exp([1.5, 1.0]))
