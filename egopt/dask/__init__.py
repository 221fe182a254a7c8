"""egopt on Dask: compiled functions over ``dask.array`` inputs, and data-parallel training.

Install with ``pip install egopt[dask]``. ``import egopt`` never imports Dask; this module does.

    >>> import egopt.dask                                            # doctest: +SKIP
    >>> y = egopt.dask.map(f, x_dask, y_dask)      # lazy dask.array   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Sequence

from ..runtime import Function
from .kernel import Kernel, rebuild_count
from .cluster import compute, dashboard, local_cluster
from .split import DaskSplitError, RechunkWarning, Splitter
from .train import TrainResult, sgd, train


def map(fn: Function, *arrays):
    """``fn`` applied to Dask arrays (NumPy arrays are taken as one chunk): lazy Dask array(s).

    The graph ``fn`` runs (already optimized) is split over the chunks: elementwise and
    broadcasting work runs per block, reductions over chunked axes become Dask tree reductions
    of compiled partials, ops that need whole axes rechunk with a ``RechunkWarning``.
    Returns one array, or a list for a function with a list of outputs.
    """
    outs = Splitter(fn, arrays).run()
    return outs[0] if fn.single else outs


def wrap(fn: Function):
    """A callable that runs ``fn`` on Dask arrays: ``egopt.dask.wrap(f)(x, y)`` is ``map(f, x, y)``."""
    def on_dask(*arrays):
        return map(fn, *arrays)
    on_dask.__doc__ = f"{fn!r} on Dask arrays (lazy)."
    on_dask.function = fn
    return on_dask


__all__ = ["map", "wrap", "compute", "train", "sgd", "TrainResult", "local_cluster", "dashboard", "Kernel",
           "rebuild_count", "RechunkWarning", "DaskSplitError"]
