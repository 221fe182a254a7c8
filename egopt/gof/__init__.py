"""Theano's ``theano.gof`` path: graph classes and traversal (``gof.graph.inputs``), ``gof.Op``."""
from . import graph  # noqa: F401
from ..lang.graph import Constant, Variable  # noqa: F401
from ..lang.pyop import Apply, Op  # noqa: F401
