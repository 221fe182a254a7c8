"""egopt.config: global settings, from code, the EGOPT_FLAGS environment variable and ~/.egoptrc.

    >>> import egopt
    >>> egopt.config.floatX in ("float64", "float32", "float16")
    True
    >>> with egopt.config.change_flags(floatX="float32"):
    ...     egopt.config.floatX
    'float32'

Precedence: assignments in code > EGOPT_FLAGS="floatX=float32,device=cuda" > ~/.egoptrc
(lines ``name = value``, ``#`` comments, an optional ``[global]`` header) > defaults.
Every assignment is validated; an unknown flag in EGOPT_FLAGS or ~/.egoptrc is a warning.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from types import ModuleType
from typing import Any, Iterator, Mapping

_CHOICES: dict[str, tuple] = {
    "floatX": ("float64", "float32", "float16"),
    "optimizer": ("egraph", "fast_compile", "None"),
    "compute_test_value": ("off", "raise", "warn", "ignore"),
    "mode": ("FAST_RUN", "FAST_COMPILE", "DEBUG_MODE", "DebugMode", "NanGuardMode", "py"),
    "linker": ("auto", "c", "cuda", "py"),
    "print_rewrites": (False, True),
    "graph_cache": (True, False),
    "exception_verbosity": ("low", "high"),
    "warn_float64": ("ignore", "warn", "raise"),
}
_ALIASES = {"optimizer": {"fast_run": "egraph", None: "None", "none": "None"},
            # Theano's linkers (runtime/mode.py LINKER_ALIASES): the VMs with C thunks are "c"
            "linker": {"cvm": "c", "cvm_nogc": "c", "c|py": "c", "c|py_nogc": "c", "vm": "auto",
                       "vm_nogc": "auto"}}
_DOC = {
    "floatX": "dtype of T.matrix() & co. and of Python floats in graphs",
    "device": "'cpu', or 'cuda' / 'cudaN' for a GPU",
    "optimizer": "'egraph' (full e-graph optimization), 'fast_compile' or 'None'",
    "compiledir": "directory of the compiled-kernel cache (~ is expanded; default: the user cache dir)",
    "compiledir_max_mb": "size limit of compiledir in MB (least recently used entries are removed "
                         "after builds; 0 = no limit)",
    "threads": "OpenMP threads of compiled kernels (0 = all cores); read when a function is compiled",
    "compute_test_value": "'off', or compute tag.test_value while building: 'raise'/'warn'/'ignore' "
                          "when a test value is missing",
    "mode": "the default compilation mode",
    "linker": "'auto', 'c', 'cuda' or 'py' (NumPy)",
    "print_rewrites": "print the optimization report of each compiled function",
    "graph_cache": "keep optimized graphs under compiledir, so a new process skips the e-graph optimizer "
                   "for a graph it has optimized before",
    "exception_verbosity": "'low' or 'high'",
    "warn_float64": "what to do when a float64 variable is built: 'ignore', 'warn', 'raise'",
}


def _defaults() -> dict[str, Any]:
    return {
        "floatX": "float64", "device": "cpu", "optimizer": "egraph", "compute_test_value": "off",
        "mode": "FAST_RUN", "linker": "auto", "print_rewrites": False, "exception_verbosity": "low",
        "compiledir": _default_compiledir(), "compiledir_max_mb": 2048, "threads": 0, "graph_cache": True,
        "warn_float64": "ignore",
    }


def _default_compiledir() -> str:
    try:
        import platformdirs
        return platformdirs.user_cache_dir("egopt")
    except ImportError:
        return os.path.join(os.path.expanduser("~"), ".cache", "egopt")


def _parse_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if str(v).lower() in ("1", "true", "yes", "on"):
        return True
    if str(v).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def _validate(name: str, value: Any) -> Any:
    """The value to store for ``name``, or a ValueError naming the allowed values."""
    value = _ALIASES.get(name, {}).get(value, value)
    if name == "floatX" and not isinstance(value, str):
        value = getattr(value, "__name__", None) or str(value)   # np.float32 -> "float32"
    if name == "device":
        if not (isinstance(value, str) and re.fullmatch(r"cpu|cuda\d*", value)):
            raise ValueError(f"egopt.config.device must be 'cpu', 'cuda' or 'cudaN', not {value!r}")
        return value
    if name == "compiledir":
        return os.path.expanduser(os.fspath(value))
    if name in ("threads", "compiledir_max_mb"):
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = -1
        if n < 0:
            what = "0 = all cores" if name == "threads" else "0 = no limit"
            raise ValueError(f"egopt.config.{name} must be an int >= 0 ({what}), not {value!r}")
        return n
    choices = _CHOICES.get(name)
    if choices is None:
        return value
    if isinstance(choices[0], bool):
        value = _parse_bool(value)
    if value not in choices:
        raise ValueError(f"egopt.config.{name} must be one of {choices}, not {value!r}")
    return value


def _parse_pairs(text: str, source: str) -> dict[str, str]:
    """``name=value`` items separated by commas or newlines; ``#`` comments; ``[section]`` headers."""
    out, section = {}, "global"
    for item in text.replace("\n", ",").split(","):
        item = item.split("#", 1)[0].strip()
        if not item:
            continue
        if item.startswith("[") and item.endswith("]"):
            section = item[1:-1].strip()
            continue
        if "=" not in item:
            raise ValueError(f"{source}: expected name=value, got {item!r}")
        k, v = (s.strip() for s in item.split("=", 1))
        out[k if section == "global" else f"{section}.{k}"] = v
    return out


class _Config(ModuleType):
    """The module object itself holds the settings, so ``egopt.config.floatX = ...`` validates."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name not in _DOC and callable(value):
            return super().__setattr__(name, value)
        if name not in _DOC:
            raise AttributeError(f"egopt.config has no setting {name!r}; known: {', '.join(sorted(_DOC))}")
        super().__setattr__(name, _validate(name, value))

    def load(self, environ: Mapping[str, str] = os.environ, rcfile: str | None = None) -> None:
        """(Re)read the defaults, then ``rcfile`` (default ~/.egoptrc), then EGOPT_FLAGS of ``environ``."""
        for k, v in _defaults().items():
            setattr(self, k, v)
        rcfile = rcfile or os.path.join(os.path.expanduser("~"), ".egoptrc")
        if os.path.isfile(rcfile):
            with open(rcfile) as f:
                self._apply(_parse_pairs(f.read(), rcfile), rcfile)
        self._apply(_parse_pairs(environ.get("EGOPT_FLAGS", ""), "EGOPT_FLAGS"), "EGOPT_FLAGS")

    def _apply(self, pairs: dict[str, str], source: str) -> None:
        for k, v in pairs.items():
            if k not in _DOC:
                warnings.warn(f"{source}: egopt has no setting {k!r} (ignored); known: {', '.join(sorted(_DOC))}",
                              stacklevel=3)
                continue
            try:
                setattr(self, k, v)
            except ValueError as e:
                raise ValueError(f"{source}: {e}") from None

    @contextlib.contextmanager
    def change_flags(self, **flags: Any) -> Iterator[None]:
        """Temporarily set flags (a context manager and a decorator).

        ``with egopt.config.change_flags(floatX='float32'): ...``
        """
        unknown = [k for k in flags if k not in _DOC]
        if unknown:
            raise AttributeError(f"egopt.config has no setting {unknown[0]!r}; known: {', '.join(sorted(_DOC))}")
        old = {k: getattr(self, k) for k in flags}
        try:
            for k, v in flags.items():
                setattr(self, k, v)
            yield
        finally:
            for k, v in old.items():
                setattr(self, k, v)

    def describe(self) -> str:
        """Every setting with its value and meaning."""
        return "\n".join(f"{k} = {getattr(self, k)!r}    # {_DOC[k]}" for k in sorted(_DOC))


floatX: str
device: str
optimizer: str
compiledir: str
compiledir_max_mb: int
threads: int
compute_test_value: str
mode: str
linker: str
print_rewrites: bool
graph_cache: bool
exception_verbosity: str
warn_float64: str
load: Any
change_flags: Any
describe: Any

sys.modules[__name__].__class__ = _Config
sys.modules[__name__].load()
