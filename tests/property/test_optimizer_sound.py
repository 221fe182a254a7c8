"""The optimizer never changes an answer: random graphs, optimized vs the unoptimized NumPy run.

300 graphs in `make test` (the default Hypothesis profile), 5,000 in `make test-slow`; the wider
sweep below (views, joins, indexing writes, integer graphs, gradients) runs 25-60 per test in
`make test` and 1,000-2,000 in `make test-slow`.
Every mismatch found during development is kept below as a regression example.
"""
from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

import egopt.tensor as T
from egopt import testing


@given(testing.graph_and_arrays())
def test_random_graphs_are_optimized_soundly(case):
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)


@given(testing.graph_and_arrays(dtypes=("float32",)))
def test_random_float32_graphs(case):
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)


@settings(max_examples=100)
@given(testing.graph_and_arrays(dtypes=("float32", "float64"), mixed=True))
def test_random_mixed_precision_graphs(case):
    """float32 and float64 inputs in one graph: rewrites must keep NumPy's promotions."""
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)


# The wider sweep (views, joins, comparisons, clip, reshapes, advanced indexing, set/inc_subtensor,
# var/std/prod, argmax, casts; integer graphs; gradients): fewer examples in `make test`, many more
# in `make test-slow`.
_SLOW = os.environ.get("EGOPT_HYPOTHESIS_PROFILE") == "slow"


@settings(max_examples=2000 if _SLOW else 60)
@given(testing.graph_and_arrays(kinds=testing.EXTENDED_KINDS, max_steps=10))
def test_random_graphs_with_views_joins_and_indexing(case):
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)


@settings(max_examples=2000 if _SLOW else 40)
@given(testing.graph_and_arrays(dtypes=("int64", "int32"), mixed=True, kinds=testing.EXTENDED_KINDS, max_steps=10))
def test_random_integer_graphs(case):
    """Integer arithmetic (floor division and modulo by zero included) must match NumPy exactly."""
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)


@settings(max_examples=1000 if _SLOW else 25)
@given(testing.graphs(kinds=testing.SMOOTH_KINDS, max_steps=8), st.data())
def test_gradients_of_random_graphs_are_optimized_soundly(graph, data):
    """The gradient graphs (reductions broadcast back, inc_subtensor, transposes) through the optimizer."""
    arrays = data.draw(testing.arrays_for(graph, edge=False))
    cost = sum((o * (1.0 + 0.5 * k)).sum() for k, o in enumerate(graph.outputs))
    grads = T.grad(cost, graph.inputs, disconnected_inputs="ignore")
    testing.assert_sound(grads, graph.inputs, arrays)


@settings(max_examples=2000 if _SLOW else 40)
@given(testing.graphs(kinds=testing.EXTENDED_KINDS, max_steps=8, dtypes=("float64", "float32", "int32"), mixed=True,
                      unary=testing.ALL_UNARY, binary=testing.ALL_BINARY), st.data())
def test_random_graphs_on_the_configured_linker_with_other_layouts(graph, data):
    """FAST_RUN as users compile (the C linker unless --linker=py), called with Fortran-order,
    reversed and strided inputs: the inputs are left as they were and the second call's results
    leave the first's alone."""
    arrays = data.draw(testing.arrays_for(graph))
    testing.assert_sound(graph.outputs, graph.inputs, arrays, mode="FAST_RUN",
                         call_arrays=data.draw(testing.relayout(arrays)))


@settings(max_examples=2000 if _SLOW else 30)
@given(testing.graphs(kinds=testing.EXTENDED_KINDS, max_steps=8, mixed=True,
                      dtypes=("int8", "uint8", "int16", "int32", "int64")), st.data())
def test_random_small_integer_graphs_on_the_configured_linker(graph, data):
    """int8/uint8/int16 mixed with wider ints: promotions, wrap-around, floor division and
    modulo by zero and of negatives as NumPy, on the C kernels, with other layouts."""
    arrays = data.draw(testing.arrays_for(graph))
    testing.assert_sound(graph.outputs, graph.inputs, arrays, mode="FAST_RUN",
                         call_arrays=data.draw(testing.relayout(arrays)))


@settings(max_examples=1000 if _SLOW else 15)
@given(testing.graphs(kinds=testing.SMOOTH_KINDS, max_steps=6), st.data())
def test_compiled_gradients_of_random_graphs_match_finite_differences(graph, data):
    """T.grad of a random graph, optimized and on the C kernels, against central differences
    (egopt.grad.check_grads), through reductions with keepdims, max/min, switch, clip and
    indexing; at points away from 0 (|x| in [0.3, 1.7]). Where the unoptimized gradient itself
    disagrees (a kink hit exactly, or NaN through sqrt(0) of a one-element std), it is not
    the optimizer's to fix, and the compiled one is not checked."""
    import numpy as np
    from egopt.grad import GradientError, check_grads
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    shapes = [testing._universe_shape(graph, v) for v in graph.inputs]
    arrays = [rng.uniform(0.3, 1.7, s) * rng.choice([-1.0, 1.0], s) for s in shapes]
    cost = sum((o * (1.0 + 0.5 * k)).sum() for k, o in enumerate(graph.outputs))
    try:
        with np.errstate(all="ignore"):
            check_grads(graph.inputs, cost, arrays, mode="FAST_COMPILE")
    except GradientError:
        return
    with np.errstate(all="ignore"):
        check_grads(graph.inputs, cost, arrays, mode="FAST_RUN")
