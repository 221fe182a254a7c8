"""Compilation modes: which optimizer and which linker a function gets."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from .. import config

LINKERS = ("auto", "c", "cuda", "py")
OPTIMIZERS = ("egraph", "fast_compile", "None", None)
# Theano's and PyTensor's linker and optimizer names, for programs that spell them out
# (``theano.Mode(linker='vm')`` in the tutorial on ifelse); the VMs with C thunks are the C linker
LINKER_ALIASES = {"cvm": "c", "cvm_nogc": "c", "c|py": "c", "c|py_nogc": "c", "vm": "auto",
                  "vm_nogc": "auto", "numba": "auto", "jax": "auto"}
OPTIMIZER_ALIASES = {"fast_run": "egraph", "default": "egraph", "fast_compile": "fast_compile", "o4": "egraph", "o3": "egraph", "unsafe": "egraph",
                     "stabilize": "egraph", "o1": "fast_compile", "merge": "fast_compile"}


@dataclass(frozen=True)
class Mode:
    """``Mode(optimizer="egraph", linker="py", rules=[...])``.

    optimizer: "egraph" (full e-graph optimization), "fast_compile" (none yet), None.
    linker: "py" (NumPy reference), "c", "cuda"; "auto" picks the best available.
    rules: extra user rule sets (paths or RuleSet objects) on top of the built-in library.
    """
    optimizer: str | None = "egraph"
    linker: str = "auto"
    rules: tuple[Any, ...] = ()
    name: str = "custom"
    options: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if isinstance(self.linker, str) and self.linker.lower() in LINKER_ALIASES:
            object.__setattr__(self, "linker", LINKER_ALIASES[self.linker.lower()])
        if isinstance(self.optimizer, str) and self.optimizer.lower() in OPTIMIZER_ALIASES:
            object.__setattr__(self, "optimizer", OPTIMIZER_ALIASES[self.optimizer.lower()])
        if self.linker not in LINKERS:
            raise ValueError(f"Mode: linker must be one of {LINKERS}, not {self.linker!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Mode: optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        rules = self.rules
        if isinstance(rules, (str, os.PathLike)) or hasattr(rules, "by_phase"):   # one path or one RuleSet
            rules = (rules,)
        object.__setattr__(self, "rules", tuple(rules))

    def including(self, *rules) -> "Mode":
        """This mode with extra rule sets (paths or RuleSet objects). Theano's optimizer tags
        (``mode.including('fast_run')``: a word that is not a rule file) select nothing here: the
        e-graph applies the whole library at once, so they are accepted and left out."""
        return replace(self, rules=self.rules + tuple(r for r in rules if not _theano_tag(r)))

    def excluding(self, *tags) -> "Mode":
        """Theano's ``mode.excluding('fusion', 'inplace')``: the e-graph library has no per-tag
        switches, so this is the same mode (egopt never computes in place in a user-visible way)."""
        return self

    def requiring(self, *tags) -> "Mode":
        return self

    def portable(self) -> "Mode":
        """This mode with its rule files read in, as egglog text: it pickles without file paths."""
        if not self.rules:
            return self
        from ..rules import load
        from ..rules.loader import as_text
        return replace(self, rules=tuple(as_text(r if hasattr(r, "by_phase") else load(r)) for r in self.rules))

    def checked_program(self, fn):
        """What runs a compiled function when this mode checks values (DebugMode, NanGuardMode)."""
        check = self.options.get("check")
        if check == "debug":
            from .debugmode import DebugProgram
            return DebugProgram(fn)
        if check == "monitor":
            from .monitor import MonitorProgram
            return MonitorProgram(fn, **self.options.get("monitor", {}))
        if check == "nanguard":
            from .nanguard import NanGuardProgram
            return NanGuardProgram(fn, **self.options.get("nanguard", {}))
        return None


def _theano_tag(r) -> bool:
    return isinstance(r, str) and not os.path.exists(r) and not r.endswith(".egg") and "(" not in r


def get_default_mode() -> "Mode":
    """Theano's ``theano.compile.mode.get_default_mode()``: the mode ``function`` uses by default."""
    return get_mode(None)


PREDEFINED = {
    "FAST_RUN": Mode("egraph", "auto", name="FAST_RUN"),
    "FAST_COMPILE": Mode(None, "py", name="FAST_COMPILE"),
    "DEBUG_MODE": Mode("egraph", "py", name="DEBUG_MODE", options={"check": "debug"}),
    "DebugMode": Mode("egraph", "py", name="DEBUG_MODE", options={"check": "debug"}),
    "NanGuardMode": Mode("egraph", "py", name="NanGuardMode", options={"check": "nanguard"}),
    "py": Mode(None, "py", name="py"),
}
# PyTensor's mode names (its compiled backends): the e-graph optimizer and the best linker
PYTENSOR_MODES = {"C": "c", "CVM": "c", "NUMBA": "auto", "JAX": "auto", "PYTORCH": "auto", "MLX": "auto"}


def get_mode(mode) -> Mode:
    """The Mode for ``function(mode=...)``: a Mode, a predefined name, or None for the configured
    default (``config.mode``, with ``config.optimizer`` / ``config.linker`` where they are set)."""
    if mode is None:
        return _configured()
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str) and mode in PREDEFINED:
        return PREDEFINED[mode]
    if isinstance(mode, str) and mode in PYTENSOR_MODES:
        return Mode("egraph", PYTENSOR_MODES[mode], name=mode)
    raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(PREDEFINED)} or egopt.Mode(...)")


def _configured() -> Mode:
    mode = get_mode(config.mode)
    if config.optimizer != "egraph":
        mode = replace(mode, optimizer=None if config.optimizer == "None" else config.optimizer)
    if config.linker != "auto":
        mode = replace(mode, linker=config.linker)
    return mode
