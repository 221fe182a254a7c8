"""Build the per-machine pieces of the C linker while the optimizer runs.

A first compile on a machine (an empty ``compiledir``) probes the compiler's flags and builds
the kernel-call extension (``codegen/trampoline.py``): two runs of the C compiler, ~0.7 s, that
do not depend on the graph. They run in a background thread (the compiler is a subprocess, so
the optimizer keeps the GIL for its own work) and are joined before linking, so nothing else
ever sees them half done.
"""
from __future__ import annotations

import threading
from typing import Callable


def _build() -> None:
    try:
        from ..codegen.compile import compiler_flags, find_compiler
        from ..codegen.trampoline import load
        cc = find_compiler()
        if cc is not None:
            compiler_flags(cc)
            load()
    except Exception:        # the linker redoes this in the main thread and reports the failure there
        pass


def start(mode) -> Callable[[], None]:
    """Start building for ``mode``'s C linker when it will need them and they are not built;
    returns the function that waits for the build."""
    from ..codegen.compile import find_compiler
    linker = mode.linker
    if linker == "auto":
        from .. import config
        linker = config.linker if config.linker != "auto" else "c"
    if linker != "c" or find_compiler() is None:
        return lambda: None
    from ..codegen.compile import compiler_flags
    from ..codegen.trampoline import _extension
    if _extension.cache_info().currsize and compiler_flags.cache_info().currsize:
        return lambda: None
    t = threading.Thread(target=_build, name="egopt-c-warmup", daemon=True)
    t.start()
    return t.join
