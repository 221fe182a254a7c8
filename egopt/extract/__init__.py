"""Choosing the best graph from an e-graph: the cost model and the extractors."""
from .cost import CostModel  # noqa: F401
from .greedy import dag_cost, extract  # noqa: F401
