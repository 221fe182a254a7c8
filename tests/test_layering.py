"""Import directions (DESIGN.md, STYLE.md P12/P14), checked by parsing every module with ``ast``.

    lang  <-  grad, rules  <-  extract (lang + rules.decode)  ;  codegen (lang)  <-  runtime  <-  egopt
egglog and sympy only in egopt/rules, cupy only in CUDA modules, hypothesis only in egopt/testing
and tests; the rule library in rules/ sees only egopt.tensor and egopt.rules. And ``import egopt``
must not load egglog, sympy or hypothesis.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "egopt"

# package -> egopt modules it may import (prefixes); egopt.config is a leaf anyone may read
ALLOWED = {
    "egopt.config": (),
    "egopt.lang": ("egopt.lang", "egopt.config"),
    "egopt.grad": ("egopt.grad", "egopt.lang", "egopt.config"),
    "egopt.rules": ("egopt.rules", "egopt.lang", "egopt.config"),
    "egopt.extract": ("egopt.extract", "egopt.lang", "egopt.rules.decode", "egopt.config"),
    "egopt.codegen": ("egopt.codegen", "egopt.lang", "egopt.config"),
}
# module -> upward imports it may make lazily, inside a function (each documented there):
# verify_grad compiles the graphs it checks
LAZY_EXCEPTIONS = {"egopt.grad.verify": ("egopt.runtime",)}
# third-party module -> where it may be imported (path prefixes relative to the repository)
CONFINED = {
    "egglog": ("egopt/rules/",),
    "sympy": ("egopt/rules/",),
    "hypothesis": ("egopt/testing/",),
    "dask": ("egopt/dask/",),
    "distributed": ("egopt/dask/",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _statements(tree: ast.AST):
    """(import node, whether it runs lazily inside a function) for every import statement."""
    todo = [(tree, False)]
    while todo:
        node, lazy = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, lazy
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        todo.extend((child, inner) for child in ast.iter_child_nodes(node))


def imports(path: Path, with_lazy: bool = False) -> list:
    """(line, absolute module name[, lazy]) for every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = []
    for node, lazy in sorted(_statements(tree), key=lambda nl: nl[0].lineno):
        start = len(found)
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if is_module(sub) else base))
        if with_lazy:
            found[start:] = [(line, target, lazy) for line, target in found[start:]]
    return found


def package_of(mod: str) -> str | None:
    for pkg in ALLOWED:
        if mod == pkg or mod.startswith(pkg + "."):
            return pkg
    return None


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def egopt_modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def test_parses_the_whole_package():
    mods = {module_name(p) for p in egopt_modules()}
    assert {"egopt", "egopt.config", "egopt.lang.graph", "egopt.runtime.function"} <= mods
    assert any(m == "egopt.lang.frontend" for _, m in imports(PKG / "runtime" / "function.py"))
    assert any(m == "egopt.config" for _, m in imports(PKG / "lang" / "ops.py"))   # "from .. import config"


@pytest.mark.parametrize("path", egopt_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_import_directions(path):
    mod = module_name(path)
    pkg = package_of(mod)
    if pkg is None:             # runtime, testing and the top-level re-export modules may import all
        return
    bad = [f"{path.relative_to(ROOT)}:{line} imports {target}"
           for line, target, lazy in imports(path, with_lazy=True)
           if _within(target, ("egopt",)) and not _within(target, ALLOWED[pkg])
           and not (lazy and _within(target, LAZY_EXCEPTIONS.get(mod, ())))]
    assert not bad, f"{pkg} may import only {ALLOWED[pkg] or 'nothing of egopt'}:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", egopt_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_heavy_dependencies_are_confined(path):
    rel = path.relative_to(ROOT).as_posix()
    bad = []
    for line, target, lazy in imports(path, with_lazy=True):
        top = target.split(".")[0]
        if top == "sympy" and lazy and rel.startswith("egopt/lang/"):
            continue            # an op record's SymPy translation, imported only when called
        if top in CONFINED and not rel.startswith(CONFINED[top]):
            bad.append(f"{rel}:{line} imports {top} (allowed only under {', '.join(CONFINED[top])})")
        if top == "cupy" and "cuda" not in path.stem:
            bad.append(f"{rel}:{line} imports cupy outside a CUDA module")
    assert not bad, "\n".join(bad)


RULE_FILES = sorted((ROOT / "rules").glob("*.py"))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_library_uses_the_public_surface_only(path):
    bad = []
    for line, target in imports(path):
        if target == "egopt" or _within(target, ("egopt",)) and not _within(target, ("egopt.tensor", "egopt.rules")):
            bad.append(f"rules/{path.name}:{line} imports {target}")
        if target.split(".")[0] in CONFINED:
            bad.append(f"rules/{path.name}:{line} imports {target}")
    assert not bad, "rule files import only egopt.tensor and egopt.rules:\n" + "\n".join(bad)


def test_checker_catches_violations(tmp_path, monkeypatch):
    # a lang module importing the runtime, and sympy at module level, must be reported
    fake = tmp_path / "egopt" / "lang"
    fake.mkdir(parents=True)
    (tmp_path / "egopt" / "__init__.py").write_text("")
    (tmp_path / "egopt" / "runtime.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "bad.py").write_text("import sympy\nfrom .. import runtime\nf = lambda: __import__('sympy')\n"
                                 "def g():\n    import sympy, egglog\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = imports(fake / "bad.py", with_lazy=True)
    assert found == [(1, "sympy", False), (2, "egopt.runtime", False), (5, "sympy", True), (5, "egglog", True)]
    with pytest.raises(AssertionError, match="bad.py:2 imports egopt.runtime"):
        test_import_directions(fake / "bad.py")
    with pytest.raises(AssertionError, match="bad.py:1 imports sympy") as e:
        test_heavy_dependencies_are_confined(fake / "bad.py")
    assert "bad.py:5 imports egglog" in str(e.value) and "bad.py:5 imports sympy" not in str(e.value)


def test_import_egopt_stays_light():
    code = ("import sys, time; t = time.perf_counter(); import egopt, egopt.tensor; "
            "print(time.perf_counter() - t); "
            "print(' '.join(m for m in ('egglog', 'sympy', 'hypothesis', 'cupy', 'scipy', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, loaded = (out.stdout.splitlines() + [""])[:2]
    assert loaded.strip() == "", f"import egopt loaded {loaded.strip()}"
    assert float(seconds) < 5.0
