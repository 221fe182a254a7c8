"""Random streams: reproducible from the seed, advanced at every call, never merged by the
optimizer, drawn once per call even when used by an output and an update; distributions
checked against their moments."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.lang.graph import toposort


def _ops(f):
    return [n.op.name for n in f.maker.fgraph.toposort()]


def test_same_seed_same_numbers_and_every_call_advances():
    def run(seed):
        s = T.random.RandomStream(seed)
        f = egopt.function([], [s.normal((4,)), s.uniform((3,))])
        return [f() for _ in range(3)]
    a, b, c = run(7), run(7), run(8)
    for (n1, u1), (n2, u2) in zip(a, b):
        np.testing.assert_array_equal(n1, n2)
        np.testing.assert_array_equal(u1, u2)
    assert not np.allclose(a[0][0], c[0][0])
    assert not np.allclose(a[0][0], a[1][0]) and not np.allclose(a[1][0], a[2][0])


def test_seed_restarts_the_stream():
    s = T.random.RandomStream(3)
    f = egopt.function([], s.normal((5,)))
    first, second = f(), f()
    s.seed(3)
    np.testing.assert_array_equal(f(), first)
    np.testing.assert_array_equal(f(), second)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_identical_looking_draws_are_not_merged(mode):
    s = T.random.RandomStream(0)
    a, b = s.normal((6,)), s.normal((6,))
    f = egopt.function([], [a, b, a - b], mode=mode)
    if mode == "FAST_RUN":
        assert f.optimization_report().outcome == "optimized"
    assert _ops(f).count("random_standard_normal") == 2
    x, y, d = f()
    assert not np.allclose(x, y)
    np.testing.assert_allclose(d, x - y)


def test_a_draw_is_taken_once_per_call_for_outputs_and_updates():
    s = T.random.RandomStream(1)
    d = s.uniform((3,))
    acc = egopt.shared(np.zeros(3), name="acc")
    f = egopt.function([], [d, d * 2], updates=[(acc, acc + d)])
    total = np.zeros(3)
    for _ in range(3):
        out, twice = f()
        total += out
        np.testing.assert_allclose(twice, 2 * out)
        np.testing.assert_allclose(acc.get_value(), total)   # the update saw this call's draw


def test_no_default_updates_keeps_the_key():
    s = T.random.RandomStream(2)
    f = egopt.function([], s.normal((3,)), no_default_updates=True)
    np.testing.assert_array_equal(f(), f())
    assert len(s.updates()) == 1


def test_moments_and_supports():
    s = T.random.RandomStream(11)
    n = 40000
    m, sd = T.dscalar("m"), T.dscalar("sd")
    outs = [s.normal((n,), m, sd), s.uniform((n,), -2.0, 3.0), s.binomial((n,), n=5, p=0.3),
            s.choice((n,), a=4, p=[0.5, 0.0, 0.25, 0.25]), s.permutation(n=50),
            s.choice((10,), a=np.arange(10) * 3, replace=False)]
    nrm, uni, bino, ch, perm, nor = egopt.function([m, sd], outs)(1.5, 2.0)
    assert abs(nrm.mean() - 1.5) < 0.05 and abs(nrm.std() - 2.0) < 0.05
    assert uni.min() >= -2.0 and uni.max() < 3.0 and abs(uni.mean() - 0.5) < 0.05
    assert bino.dtype == np.int64 and abs(bino.mean() - 1.5) < 0.05 and bino.max() <= 5
    assert not (ch == 1).any() and abs((ch == 0).mean() - 0.5) < 0.02
    assert sorted(perm) == list(range(50))
    assert sorted(nor) == list(range(0, 30, 3))


def test_float32_dtype_and_symbolic_size():
    s = T.random.RandomStream(5)
    x = T.fmatrix("x")
    d = s.normal(x.shape, dtype="float32")
    out = egopt.function([x], d)(np.zeros((2, 3), dtype="float32"))
    assert out.shape == (2, 3) and out.dtype == np.float32 and d.dtype == "float32"


def test_gradient_flows_to_location_and_scale():
    s = T.random.RandomStream(4)
    m, sd = T.dscalar("m"), T.dscalar("sd")
    d = s.normal((1000,), m, sd)
    gm, gs = T.grad(d.sum(), [m, sd])
    f = egopt.function([m, sd], [d, gm, gs], no_default_updates=True)
    draw, vm, vs = f(1.0, 3.0)
    assert vm == 1000.0
    np.testing.assert_allclose(vs, ((draw - 1.0) / 3.0).sum())


def test_theano_names():
    assert T.shared_randomstreams.RandomStreams is T.random.RandomStream
    assert T.shared_randomstreams.MRG_RandomStreams is T.random.RandomStream
    s = T.shared_randomstreams.MRG_RandomStreams(seed=234)
    mask = s.binomial(size=(4,), p=0.5, dtype="float64")
    assert mask.dtype == "float64"
    assert {n.op.name for n in toposort([mask])} >= {"random_binomial"}


def test_shuffle_rows():
    s = T.random.RandomStream(9)
    x = T.dmatrix("x")
    v = np.arange(12.0).reshape(6, 2)
    out = egopt.function([x], s.shuffle_row_elements(x))(v)
    assert sorted(map(tuple, out)) == sorted(map(tuple, v))


def test_positional_arguments_in_theano_and_pytensor_order():
    """Theano's methods take the size first, PyTensor's RandomStream the parameters first; the
    first positional argument (a shape, or a parameter) tells which (found by the robustness sweep:
    ``srng.normal(0, 1, size=(2, 2))`` was a TypeError)."""
    def draws(make):
        s = T.random.RandomStream(21)
        return egopt.function([], make(s))()
    np.testing.assert_array_equal(draws(lambda s: s.normal(3.0, 2.0, size=(2, 2))),
                                  draws(lambda s: s.normal((2, 2), 3.0, 2.0)))
    np.testing.assert_array_equal(draws(lambda s: s.normal(3.0, 2.0, (2, 2))),
                                  draws(lambda s: s.normal(size=(2, 2), avg=3.0, std=2.0)))
    u = draws(lambda s: s.uniform(5.0, 6.0, size=(50,)))
    assert u.shape == (50,) and (u >= 5).all() and (u < 6).all()
    np.testing.assert_array_equal(u, draws(lambda s: s.uniform((50,), 5.0, 6.0)))
    b = draws(lambda s: s.binomial(10, 0.5, size=(40,)))
    assert b.shape == (40,) and b.max() <= 10 and b.max() > 1
    c = draws(lambda s: s.choice(3, (30,)))
    assert c.shape == (30,) and set(np.unique(c)) <= {0, 1, 2}
    assert draws(lambda s: s.uniform(4)).shape == (4,)      # a lone int is a size (NumPy, Theano)
    with pytest.raises(TypeError, match="multiple values"):
        T.random.RandomStream(0).normal(0.0, size=(2,), avg=1.0)
