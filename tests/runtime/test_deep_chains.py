"""Long chains of elementwise ops (an unrolled loop): fused bodies and C regions are cut every
MAX_DEPTH ops, so nothing downstream (kernel IR hashing, rendering, pickling) recurses past
Python's limit, and the results stay NumPy's."""
from __future__ import annotations

import numpy as np

import egopt
import egopt.tensor as T
from egopt.extract.fusion import fuse
from egopt.lang.fused import MAX_DEPTH
from egopt.lang.graph import toposort
from egopt.runtime.schedule import plan_regions


def _chain(steps: int):
    x = T.dvector("x")
    y = x
    for _ in range(steps):
        y = T.sin(y) * 0.5 + x
    return x, y


def _numpy_chain(a, steps):
    r = a
    for _ in range(steps):
        r = np.sin(r) * 0.5 + a
    return r


def _depth(nodes, leaves=()):
    """The longest chain of ops among ``nodes`` (values not computed by them count 0)."""
    d: dict[int, int] = {}
    for n in nodes:
        d[id(n.outputs[0])] = 1 + max((d.get(id(v), 0) for v in n.inputs), default=0)
    return max(d.values(), default=0)


def test_fusion_cuts_a_long_chain_into_bodies_of_bounded_depth():
    x, y = _chain(200)                                  # 600 ops in one elementwise region
    nodes = toposort(fuse([y], stop=[x]), stop=[x])
    bodies = [n.params["body"] for n in nodes if n.op.name == "fused_elemwise"]
    assert len(bodies) >= 600 // MAX_DEPTH
    assert all(_depth(b.nodes) <= MAX_DEPTH for b in bodies)


def test_c_regions_of_a_long_chain_have_bounded_depth():
    x, y = _chain(200)
    units = plan_regions(toposort([y], stop=[x]))
    regions = [u for u in units if isinstance(u, list)]
    assert sum(len(r) for r in regions) == 600 and len(regions) >= 600 // MAX_DEPTH
    assert all(_depth(r) <= MAX_DEPTH for r in regions)


def test_a_long_chain_compiles_and_runs_in_every_mode():
    x, y = _chain(400)
    a = np.linspace(-2, 2, 7)
    want = _numpy_chain(a, 400)
    for mode in ("FAST_RUN", egopt.Mode(None, "c"), "FAST_COMPILE"):
        f = egopt.function([x], y, mode=mode)
        np.testing.assert_allclose(f(a), want, rtol=1e-12)
    assert egopt.function([x], y).optimization_report().outcome == "optimized"
