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
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise RuleFileError(f"{path}: not a text file (UTF-8): {e}") from None
        rules = load_egg_text(text, str(path))
    elif path.suffix == ".py":
        rules = _load_py(path)
    else:
        raise RuleFileError(f"{path}: rule files end in .egg or .py")
    if not rules:
        raise RuleFileError(f"{path}: no rules in this file (an .egg file holds (rewrite ...) forms; "
                            "a .py file calls rules.rewrite(...))")
    first: dict[str, Rule] = {}
    for r in rules:      # before egglog sees them: a repeated name is a panic there
        if r.name in first:
            raise RuleFileError(f"{r.loc}: rule name {r.name!r} is used twice in {path} "
                                f"(first at {first[r.name].loc})")
        first[r.name] = r
    _check_against_schema(rules)
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


def as_text(rs: RuleSet) -> RuleSet:
    """``rs`` as egglog text only (no pattern graphs, no file paths): what a pickle carries."""
    return RuleSet([Rule(r.name, r.phase, text=r.egg(), loc=r.loc) for r in rs], name=rs.name)


def namespaced(rs: RuleSet, taken: set[str]) -> RuleSet:
    """``rs`` with each rule whose name is in ``taken`` (e.g. the built-in library's) renamed
    ``<set name>.<rule name>``, so a user file may reuse a built-in rule's name."""
    out = []
    for r in rs:
        if r.name in taken:
            new = f"{rs.name or 'user'}.{r.name}"
            k = 2
            while new in taken:
                new, k = f"{rs.name or 'user'}.{r.name}.{k}", k + 1
            r = _renamed(r, new)
        out.append(r)
    return RuleSet(out, name=rs.name)


def _renamed(r: Rule, name: str) -> Rule:
    from dataclasses import replace
    from .dsl import _string
    text = None
    if r.lhs is None and r.text is not None:      # an .egg rule: its text names it
        old = _string(r.name)
        at = r.text.rfind(f":name {old}")
        text = r.text[:at] + f":name {_string(name)}" + r.text[at + len(old) + 6:] if at >= 0 else r.text
    return replace(r, name=name, text=text)


def _load_py(path: Path) -> list[Rule]:
    _COLLECTING.append([])
    try:
        ns = runpy.run_path(str(path), run_name=f"egopt_rules_{path.stem}")
    except RuleFileError:
        raise
    except Exception as e:      # the user's Python: a syntax error, a bad pattern, ...
        line = next((f.lineno for f in reversed(__import__("traceback").extract_tb(e.__traceback__))
                     if f.filename == str(path)), getattr(e, "lineno", None))
        raise RuleFileError(f"{path}:{line or '?'}: {type(e).__name__}: {e}") from e
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
        if ch == '"' and depth:
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            line += text.count("\n", i, j)
            i = j + 1
            continue
        if ch == "\n":
            line += 1
        elif depth == 0 and ch not in "() \t\r\f":
            j = i
            while j < n and text[j] not in "() \t\r\n;":
                j += 1
            raise RuleFileError(f"line {line}: {text[i:j][:40]!r} is outside any (...) form; "
                                "a rule file holds s-expressions such as (rewrite lhs rhs :ruleset PHASE)")
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
    from .egglog_bindings import bindings
    b = bindings()
    from .schema import schema_text
    eg = b.EGraph()
    eg.run_program(*eg.parse_program(schema_text() + "".join(f"(ruleset {p})\n" for p in PHASES)))
    for r in rules:
        file, _, line = r.loc.rpartition(":")
        pad = "\n" * (int(line) - 1) if line.isdigit() and r.text is not None and "line" in r.meta else ""
        try:
            eg.run_program(*eg.parse_program(pad + r.egg(), filename=file or "<rules>"))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:   # EggSmolError (or a Rust panic): its text says where and what
            raise RuleFileError(f"{r.loc}: rule {r.name!r}: {e}") from None
