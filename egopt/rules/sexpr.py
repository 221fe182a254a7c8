"""A small reader for egglog s-expressions (rule text), used by the soundness checker."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Str:
    value: str


def parse(text: str):
    """One s-expression -> nested lists of symbols (str), numbers (int/float) and ``Str``."""
    tokens = _tokens(text)
    pos = 0

    def read():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            out = []
            while tokens[pos] != ")":
                out.append(read())
            pos += 1
            return out
        return tok

    expr = read()
    return expr


def _tokens(text: str) -> list:
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "()":
            out.append(ch)
            i += 1
        elif ch == '"':
            j, buf = i + 1, []
            while text[j] != '"':
                if text[j] == "\\":
                    j += 1
                buf.append(text[j])
                j += 1
            out.append(Str("".join(buf)))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n()";':
                j += 1
            out.append(_atom(text[i:j]))
            i = j
    return out


def _atom(tok: str):
    try:
        return int(tok)
    except ValueError:
        pass
    try:
        if any(c.isdigit() for c in tok) and tok not in ("+", "-"):
            return float(tok)
    except ValueError:
        pass
    return tok


def rule_parts(text: str):
    """(kind, lhs, rhs, when-facts, options) of a rewrite/birewrite text."""
    form = parse(text)
    kind, lhs, rhs, rest = form[0], form[1], form[2], form[3:]
    opts, when, i = {}, [], 0
    while i < len(rest):
        key = rest[i]
        val = rest[i + 1] if i + 1 < len(rest) else None
        if key == ":when":
            when = list(val)
        else:
            opts[key] = val
        i += 2
    return kind, lhs, rhs, when, opts
