"""Theano's ``theano.compile.debugmode`` path: ``DebugMode(...)`` is the ``'DebugMode'`` mode
(its options, such as ``check_c_code``, are accepted: egopt always checks both linkers)."""
from ..runtime.debugmode import BadOptimization  # noqa: F401
from ..runtime.mode import PREDEFINED as _PREDEFINED


def DebugMode(*_args, **_kwargs):
    return _PREDEFINED["DebugMode"]
