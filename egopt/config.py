"""egopt.config: global settings, from code, the EGOPT_FLAGS environment variable and ~/.egoptrc.

    >>> import egopt
    >>> egopt.config.floatX in ("float64", "float32")
    True

Precedence: assignments in code > EGOPT_FLAGS="floatX=float32,device=cuda" > ~/.egoptrc
(lines ``name = value``, ``#`` comments, an optional ``[global]`` header).
"""
from __future__ import annotations

import contextlib
import os
import sys
from types import ModuleType

_CHOICES = {
    "floatX": ("float64", "float32", "float16"),
    "device": ("cpu", "cuda"),
    "optimizer": ("egraph", "None", "fast_compile"),
    "compute_test_value": ("off", "raise", "warn", "ignore"),
    "mode": ("FAST_RUN", "FAST_COMPILE", "DEBUG_MODE", "NanGuardMode"),
    "linker": ("auto", "c", "cuda", "py"),
    "print_rewrites": (False, True),
    "exception_verbosity": ("low", "high"),
}
_DEFAULTS = {
    "floatX": "float64",
    "device": "cpu",
    "optimizer": "egraph",
    "compute_test_value": "off",
    "mode": "FAST_RUN",
    "linker": "auto",
    "print_rewrites": False,
    "exception_verbosity": "low",
    "compiledir": os.path.join(os.path.expanduser("~"), ".cache", "egopt"),
    "warn_float64": "ignore",
}


def _parse_bool(v: str) -> bool:
    if v.lower() in ("1", "true", "yes", "on"):
        return True
    if v.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def _parse_pairs(text: str, source: str) -> dict[str, str]:
    out = {}
    for item in text.replace("\n", ",").split(","):
        item = item.split("#", 1)[0].strip()
        if not item or item.startswith("["):
            continue
        if "=" not in item:
            raise ValueError(f"{source}: expected name=value, got {item!r}")
        k, v = (s.strip() for s in item.split("=", 1))
        out[k] = v
    return out


class _Config(ModuleType):
    """The module object itself holds the settings, so ``egopt.config.floatX = ...`` validates."""

    def __setattr__(self, name, value):
        if name.startswith("_") or callable(value) and name not in _DEFAULTS:
            return super().__setattr__(name, value)
        if name not in _DEFAULTS:
            raise AttributeError(f"egopt.config has no setting {name!r}; known: {', '.join(sorted(_DEFAULTS))}")
        choices = _CHOICES.get(name)
        if choices is not None:
            if isinstance(choices[0], bool) and isinstance(value, str):
                value = _parse_bool(value)
            if value not in choices:
                raise ValueError(f"egopt.config.{name} must be one of {choices}, not {value!r}")
        super().__setattr__(name, value)

    def load(self, environ=os.environ, rcfile: str | None = None) -> None:
        """(Re)read ~/.egoptrc and EGOPT_FLAGS on top of the defaults."""
        for k, v in _DEFAULTS.items():
            setattr(self, k, v)
        rcfile = rcfile or os.path.join(os.path.expanduser("~"), ".egoptrc")
        if os.path.exists(rcfile):
            with open(rcfile) as f:
                for k, v in _parse_pairs(f.read(), rcfile).items():
                    setattr(self, k, v)
        for k, v in _parse_pairs(environ.get("EGOPT_FLAGS", ""), "EGOPT_FLAGS").items():
            setattr(self, k, v)

    @contextlib.contextmanager
    def change_flags(self, **flags):
        """Temporarily set flags: ``with egopt.config.change_flags(floatX='float32'): ...``"""
        old = {k: getattr(self, k) for k in flags}
        try:
            for k, v in flags.items():
                setattr(self, k, v)
            yield
        finally:
            for k, v in old.items():
                setattr(self, k, v)


floatX: str
device: str
optimizer: str
compute_test_value: str
mode: str
linker: str
print_rewrites: bool
compiledir: str

sys.modules[__name__].__class__ = _Config
sys.modules[__name__].load()
