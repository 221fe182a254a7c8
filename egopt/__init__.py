"""egopt: a symbolic tensor-expression compiler whose optimizer is an e-graph.

    >>> import egopt, egopt.tensor as T
    >>> x = T.dvector("x")
    >>> f = egopt.function([x], (x ** 2).sum())
    >>> float(f([1.0, 2.0]))
    5.0

Theano programs run after ``import egopt as theano``.
"""
from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# The C kernels' OpenMP threads (libgomp, which reads this when it is loaded, with the first
# compiled library) spin only briefly before sleeping. With libgomp's default (a long spin)
# they and NumPy's BLAS threads, which spin after each product, take turns for whole
# timeslices when both have a thread per core: a 2-thread MLP step ran 15x slower than at 1
# thread. A user's own setting wins.
_os.environ.setdefault("GOMP_SPINCOUNT", "3000")

from . import config  # noqa: E402,F401
from . import lang as _lang  # noqa: E402,F401
from . import grad as _grad_pkg  # noqa: E402
from . import tensor  # noqa: E402,F401
from . import printing  # noqa: E402,F401
from . import gradient  # noqa: E402,F401
from .lang.shared import SharedVariable, shared  # noqa: E402,F401
from .lang.scan import map, reduce, foldl, foldr  # noqa: E402,F401  (Theano's views)
from . import scan_module  # noqa: E402,F401
from . import scan  # noqa: E402,F401  (a callable module: egopt.scan(...), pytensor.scan.utils.until)
from .runtime import Function, In, Mode, Out, function, get_mode  # noqa: E402,F401
from .runtime import BadKernel, BadOptimization, NanGuardError, NanGuardMode  # noqa: E402,F401
from .printing import pp, dprint  # noqa: E402,F401  (theano.pp, pytensor.dprint)
from .lang.pyop import Apply, Op  # noqa: E402,F401  (theano.Op, theano.Apply: the user's Python ops)
from .lang.frontend import dot  # noqa: E402,F401  (theano.dot)
from .graph.replace import clone, clone_replace  # noqa: E402,F401  (theano.clone, pytensor.clone_replace)
from . import graph, gof, scalar  # noqa: E402,F401

grad = _grad_pkg.grad
Lop, Rop, jacobian, hessian = _grad_pkg.Lop, _grad_pkg.Rop, _grad_pkg.jacobian, _grad_pkg.hessian


def __getattr__(name: str):
    """``egopt.rules`` after a plain ``import egopt`` (loaded on first use: it imports egglog)."""
    if name == "rules":
        import importlib
        return importlib.import_module(".rules", __name__)
    raise AttributeError(f"module 'egopt' has no attribute {name!r}")
from . import compile  # noqa: E402,F401  (theano.compile.nanguardmode, theano.compile.io)
from . import ifelse as _ifelse_module  # noqa: E402,F401  (theano.ifelse.ifelse)
