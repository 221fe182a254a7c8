"""PyTensor's ``pytensor.scan`` package path (``from pytensor.scan import until``,
``pytensor.scan.utils.until``, ``pytensor.scan.basic.scan``). The module itself is callable, so
``egopt.scan(fn, ...)`` stays the scan function whichever way it was imported."""
from .._modules import callable_module
from ..lang.scan import foldl, foldr, map, reduce, scan as _scan, scan_last, until  # noqa: F401
from . import basic, utils, views  # noqa: F401,E402

callable_module(__name__, _scan)
