"""Loading rule files: ``.egg`` (egglog text over the schema) and ``.py`` (the rule DSL).

In ``.egg`` files each ``rewrite``/``birewrite``/``rule`` form names its phase with
``:ruleset <phase>`` and may name itself with ``:name "..."`` (else it is named file:line).
Syntax and schema errors report the file, the line and what egglog expected.
"""
from __future__ import annotations

import re
import runpy
from pathlib import Path

from .dsl import PHASES, _COLLECTING, Rule, RuleSet

# a source checkout without an install: the repository's rules/ directory
_CHECKOUT_LIBRARY = Path(__file__).resolve().parents[2] / "rules"


class RuleFileError(ValueError):
    """A rule file that does not parse or does not fit the schema."""


def load(path: str | Path) -> RuleSet:
    """A ``RuleSet`` from a ``.egg`` or ``.py`` file (or a directory of them)."""
    path = Path(path)
    if path.is_dir():
        out = RuleSet(name=path.name)
        for p in sorted(path.iterdir()):
            if p.suffix in (".egg", ".py") and not p.name.startswith("_"):
                out = out + load(p)
        return out
    if not path.exists():
        raise FileNotFoundError(f"rule file {path} does not exist")
    if path.suffix == ".egg":
        rules = load_egg_text(path.read_text(), str(path))
    elif path.suffix == ".py":
        rules = _load_py(path)
    else:
        raise RuleFileError(f"{path}: rule files end in .egg or .py")
    _check_against_schema(rules)
    names = set()
    for r in rules:
        if r.name in names:
            raise RuleFileError(f"{r.loc}: rule name {r.name!r} is used twice in {path}")
        names.add(r.name)
    return RuleSet(rules, name=path.stem)


def library_path() -> Path:
    """Where the built-in library is: the installed package ``egopt.builtin_rules`` (the
    project's ``rules/`` directory, mapped there by the build in editable and normal installs)."""
    from importlib import resources
    try:
        root = resources.files("egopt.builtin_rules")
    except ModuleNotFoundError:
        root = None
    if root is not None and root.joinpath("algebra.egg").is_file():
        return Path(str(root))
    if _CHECKOUT_LIBRARY.is_dir():
        return _CHECKOUT_LIBRARY
    raise FileNotFoundError("egopt's built-in rule library (package egopt.builtin_rules) is not installed; "
                            "reinstall egopt (pip install egopt)")


def builtin() -> RuleSet:
    """The built-in rule library (the project's ``rules/``, installed as ``egopt.builtin_rules``)."""
    return load(library_path())


def _load_py(path: Path) -> list[Rule]:
    _COLLECTING.append([])
    try:
        ns = runpy.run_path(str(path), run_name=f"egopt_rules_{path.stem}")
    except (ValueError, TypeError) as e:
        raise RuleFileError(f"{path}: {e}") from e
    finally:
        collected = _COLLECTING.pop()
    extra = [r for r in ns.get("RULES", []) if r not in collected]
    return collected + extra


def _forms(text: str):
    """Top-level s-expressions with their 1-based starting line; comments dropped."""
    depth, start, line, start_line = 0, None, 1, 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == ";":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            line += text.count("\n", i, j)
            i = j + 1
            continue
        if ch == "\n":
            line += 1
        elif ch == "(":
            if depth == 0:
                start, start_line = i, line
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise RuleFileError(f"line {line}: unbalanced ')'")
            if depth == 0:
                yield start_line, text[start:i + 1]
        i += 1
    if depth:
        raise RuleFileError(f"line {start_line}: unclosed '(' (expected ')')")


_HEAD = re.compile(r"^\(\s*([A-Za-z-]+)")
_RULESET = re.compile(r":ruleset\s+([A-Za-z_-]+)")
_NAME = re.compile(r':name\s+"((?:[^"\\]|\\.)*)"')


def load_egg_text(text: str, filename: str = "<egg>") -> list[Rule]:
    rules = []
    try:
        forms = list(_forms(text))
    except RuleFileError as e:
        raise RuleFileError(f"{filename}: {e}") from None
    for line, form in forms:
        head = _HEAD.match(form)
        kind = head.group(1) if head else ""
        if kind not in ("rewrite", "birewrite", "rule"):
            raise RuleFileError(f"{filename}:{line}: expected (rewrite ...), (birewrite ...) or (rule ...), "
                                f"got {form[:40]!r}")
        m = _RULESET.search(form)
        if not m or m.group(1) not in PHASES:
            raise RuleFileError(f"{filename}:{line}: the rule needs ':ruleset PHASE' with PHASE one of {PHASES}")
        nm = _NAME.search(form)
        name = nm.group(1) if nm else f"{Path(filename).name}:{line}"
        if not nm:
            form = form[:-1] + f' :name "{name}")'
        rules.append(Rule(name, m.group(1), text=form, loc=f"{filename}:{line}", meta={"line": line}))
    return rules


def _check_against_schema(rules: list[Rule]) -> None:
    """Parse every rule against the schema now, so errors name the rule's own file and line."""
    from egglog import bindings as b
    from .schema import schema_text
    eg = b.EGraph()
    eg.run_program(*eg.parse_program(schema_text() + "".join(f"(ruleset {p})\n" for p in PHASES)))
    for r in rules:
        file, _, line = r.loc.rpartition(":")
        pad = "\n" * (int(line) - 1) if line.isdigit() and r.text is not None and "line" in r.meta else ""
        try:
            eg.run_program(*eg.parse_program(pad + r.egg(), filename=file or "<rules>"))
        except Exception as e:   # EggSmolError: its text says where and what was expected
            raise RuleFileError(f"{r.loc}: rule {r.name!r}: {e}") from None
