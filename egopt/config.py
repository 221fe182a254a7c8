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


# Theano/PyTensor flags that configure what egopt does not have (C compiler flags, BLAS link
# flags, GPU allocators, warnings about old Theano bugs, optimizer tracing): a program may set
# and read them; they change nothing. Dotted names are sections (``config.warn.sum_div_dimshuffle_bug``).
_NO_EFFECT: dict[str, Any] = {
    "allow_gc": True, "optimizer_verbose": False, "optimizer_including": "", "optimizer_excluding": "",
    "optimizer_requiring": "", "on_opt_error": "warn", "on_shape_error": "warn", "print_test_value": False,
    "compute_test_value_opt": "off", "check_input": True, "cxx": "g++", "openmp": False,
    "openmp_elemwise_minsize": 200000, "cast_policy": "custom", "int_division": "int", "assert_no_cpu_op": "ignore",
    "unpickle_function": True, "reoptimize_unpickled_function": False, "cycle_detection": "regular",
    "deterministic": "default", "allow_output_prealloc": True, "traceback__limit": 8, "blas__ldflags": "",
    "gcc__cxxflags": "", "cmodule__warn_no_version": False, "cmodule__compilation_warning": False,
    "cmodule__remove_gxx_opt": False, "lib__cnmem": 0.0, "gpuarray__preallocate": 0.0, "dnn__enabled": "auto",
    "nvcc__fastmath": False, "numba__fastmath": True, "scan__allow_gc": False, "scan__allow_output_prealloc": True,
    "profile": False, "profile_memory": False, "profile_optimizer": False, "DebugMode__check_c": True,
    "DebugMode__check_py": True, "DebugMode__patience": 10, "NanGuardMode__nan_is_error": True,
    "NanGuardMode__inf_is_error": True, "NanGuardMode__big_is_error": True, "floatX_policy": "",
    "warn__ignore_bug_before": "0.9", "warn__subtensor_merge_bug": False, "warn__sum_div_dimshuffle_bug": False,
    "warn__gpusum_01_011_0111_bug": False, "warn__sum_sum_bug": False, "warn__argmax_pushdown_bug": False,
    "warn__signal_conv2d_interface": False, "warn__reduce_join": False, "warn__identify_1pexp_bug": False,
    "warn__round": False, "warn__inc_set_subtensor1": False, "warn__vm_gc_bug": False,
    "warn__sum_div_dimshuffle_bug": False,
}
_SECTIONS = {k.split("__", 1)[0] for k in _NO_EFFECT if "__" in k}


def _no_effect_name(name: str) -> str | None:
    """The ``_NO_EFFECT`` key of a Theano flag name (``blas.ldflags``, ``blas__ldflags``), or None.
    Any ``warn.*`` flag is one (Theano added one per fixed bug)."""
    key = name.replace(".", "__")
    if key in _NO_EFFECT or key.startswith("warn__"):
        return key
    return None


class _Section:
    """``config.warn`` & co.: a section of no-effect flags, readable and settable by attribute."""

    def __init__(self, config, prefix: str):
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str):
        return getattr(self._config, f"{self._prefix}__{name}")

    def __setattr__(self, name: str, value) -> None:
        setattr(self._config, f"{self._prefix}__{name}", value)


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
        key = _no_effect_name(name) if name not in _DOC else None
        if key is not None:
            self.__dict__.setdefault("_no_effect", {})[key] = value
            return None
        if name not in _DOC:
            raise AttributeError(f"egopt.config has no setting {name!r}; known: {', '.join(sorted(_DOC))}")
        super().__setattr__(name, _validate(name, value))

    def __getattr__(self, name: str) -> Any:
        """Theano/PyTensor flags that have no effect here (``_NO_EFFECT``) and their sections."""
        if name in _SECTIONS:
            return _Section(self, name)
        key = _no_effect_name(name)
        if key is None:
            raise AttributeError(f"egopt.config has no setting {name!r}; known: {', '.join(sorted(_DOC))}")
        return self.__dict__.get("_no_effect", {}).get(key, _NO_EFFECT.get(key, False))

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
            if k not in _DOC and _no_effect_name(k) is not None:
                continue
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
        unknown = [k for k in flags if k not in _DOC and _no_effect_name(k) is None]
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
