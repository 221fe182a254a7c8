"""egglog's Rust bindings without egglog's Python API.

egopt talks to egglog through ``egglog.bindings`` (the compiled extension) only, but
``from egglog import bindings`` runs ``egglog/__init__.py``, which builds the whole high-level
API (~0.5 s, a third of a cold compile). This loads the extension module by itself and
registers it as ``egglog.bindings``, so a later ``import egglog`` reuses the same module (an
import hook gives that package its ``bindings`` attribute, which Python only sets for
submodules it loads itself).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType


def bindings() -> ModuleType:
    """The ``egglog.bindings`` extension module (loaded once per process)."""
    mod = sys.modules.get("egglog.bindings")
    if mod is not None:
        return mod
    spec = importlib.util.find_spec("egglog")
    where = list(spec.submodule_search_locations or []) if spec is not None else []
    for d in where:
        for name in sorted(os.listdir(d)):
            if name.startswith("bindings.") and name.endswith((".so", ".pyd")):
                ext = importlib.util.spec_from_file_location("egglog.bindings", os.path.join(d, name))
                if ext is None or ext.loader is None:
                    continue
                mod = importlib.util.module_from_spec(ext)
                ext.loader.exec_module(mod)
                sys.modules["egglog.bindings"] = mod
                if "egglog" in sys.modules:
                    sys.modules["egglog"].bindings = mod
                else:
                    sys.meta_path.insert(0, _GiveEgglogItsBindings())
                return mod
    from egglog import bindings as mod       # an unusual layout: the ordinary (slower) import
    return mod


class _GiveEgglogItsBindings:
    """A one-shot finder: when the ``egglog`` package is imported, it starts with ``bindings`` set."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "egglog":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("egglog")
        if spec is not None and spec.loader is not None:
            spec.loader = _WithBindings(spec.loader)
        return spec


class _WithBindings:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.bindings = sys.modules["egglog.bindings"]
        self.loader.exec_module(module)
