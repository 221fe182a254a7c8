"""Multi-output fused elementwise nodes on the C linker: outputs of the kernel's whole index
space are one kernel; an output of another shape (it reads only some inputs) cannot be a
buffer of that kernel, so the node runs its NumPy perform, with the right shapes."""
from __future__ import annotations

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.codegen.compile import find_compiler
from egopt.lang.fused import fuse_elemwise
from egopt.runtime.schedule import KernelStep, NodeStep

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="needs a C compiler")
C = egopt.Mode(None, "c")


def test_outputs_of_different_shapes_fall_back_to_the_perform():
    x, r = T.dmatrix("x"), T.drow("r")
    a, b = fuse_elemwise([x, r], [T.exp(x) + r, T.sin(r) * 2])
    assert a.type.shape != b.type.shape
    f = egopt.function([x, r], [a, b], mode=C)
    assert [type(s) for s in f.program.steps] == [NodeStep]
    rng = np.random.default_rng(0)
    xv, rv = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    ga, gb = f(xv, rv)
    assert ga.shape == (3, 4) and gb.shape == (1, 4)
    np.testing.assert_allclose(ga, np.exp(xv) + rv, rtol=1e-15)
    np.testing.assert_allclose(gb, np.sin(rv) * 2, rtol=1e-15)


def test_outputs_with_unknown_sizes_from_different_inputs_fall_back():
    # both (?,): at run time they can differ, so they cannot share one index space
    x, y = T.dvector("x"), T.dvector("y")
    a, b = fuse_elemwise([x, y], [T.exp(x), T.log1p(abs(y))])
    f = egopt.function([x, y], [a, b], mode=C)
    assert [type(s) for s in f.program.steps] == [NodeStep]
    xv, yv = np.linspace(-1, 1, 5), np.linspace(0, 2, 8)
    ga, gb = f(xv, yv)
    np.testing.assert_allclose(ga, np.exp(xv), rtol=1e-15)
    np.testing.assert_allclose(gb, np.log1p(yv), rtol=1e-15)


def test_outputs_over_the_whole_index_space_are_one_kernel():
    x, r, s = T.dmatrix("x"), T.drow("r"), T.dscalar("s")
    a, b = fuse_elemwise([x, r, s], [T.exp(x) * s + r, x * r])    # b does not read s: still full size
    f = egopt.function([x, r, s], [a, b], mode=C)
    assert [type(st) for st in f.program.steps] == [KernelStep]
    rng = np.random.default_rng(1)
    xv, rv = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    ga, gb = f(xv, rv, 1.5)
    np.testing.assert_allclose(ga, np.exp(xv) * 1.5 + rv, rtol=1e-14)
    np.testing.assert_allclose(gb, xv * rv, rtol=1e-15)
