"""Theano's ``theano.gof.graph`` path: ``inputs``, ``ancestors``, ``io_toposort``, the graph classes."""
from ..graph.basic import *  # noqa: F401,F403
from ..graph.basic import inputs, io_toposort  # noqa: F401
