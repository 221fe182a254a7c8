"""``einsum`` (NumPy's subscripts, PyTensor's ``pt.einsum``), lowered to existing ops.

Each operand first loses its repeated letters (``'ii->i'``: a diagonal, as a product with the
identity summed over one axis) and the letters no one else reads (summed). Operands are then
contracted left to right, each pair as one matrix product: the pair's shared letters that are
still needed become a batch axis, the others are contracted, and every operand is transposed
and reshaped to ``(batch, rows, inner)`` / ``(batch, inner, cols)`` for ``dot``/``matmul``.
No intermediate is larger than a product's operands and result. ``...`` stands for the axes
the letters do not name (aligned from the right; operands that share them must agree on their sizes:
unlike NumPy, a size 1 does not broadcast there).
"""
from __future__ import annotations

import string

from . import frontend as F
from .errors import EgoptTypeError
from .graph import Variable


def _parse(subscripts: str, operands: list[Variable]) -> tuple[list[str], str]:
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise EgoptTypeError(f"einsum: {subscripts!r} names {len(terms)} operand(s), got {len(operands)}")
    used = set(c for c in spec if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = 0
    for t, x in zip(terms, operands):
        named = len(t.replace("...", ""))
        if "..." in t:
            n_ell = max(n_ell, x.ndim - named)
        elif named != x.ndim:
            raise EgoptTypeError(f"einsum: term {t!r} names {named} axes but its operand {x!r} has ndim {x.ndim}")
        if any(not (c.isalpha() or c == ".") for c in t):
            raise EgoptTypeError(f"einsum: bad subscripts {subscripts!r}")
    ell = "".join(free[:n_ell])
    expanded = []
    for t, x in zip(terms, operands):
        if "..." in t:
            k = x.ndim - len(t.replace("...", ""))
            if k < 0:
                raise EgoptTypeError(f"einsum: term {t!r} names more axes than its operand's ndim {x.ndim}")
            t = t.replace("...", ell[n_ell - k:])
        expanded.append(t)
    if arrow:
        out = out.replace("...", ell)
    else:
        counts = {c: sum(t.count(c) for t in expanded) for c in set("".join(expanded))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    for c in out:
        if not any(c in t for t in expanded):
            raise EgoptTypeError(f"einsum: output letter {c!r} of {subscripts!r} is in no operand")
    if len(set(out)) != len(out):
        raise EgoptTypeError(f"einsum: output letters of {subscripts!r} repeat")
    return expanded, out


def _take_diagonals(x: Variable, term: str) -> tuple[Variable, str]:
    while True:
        dup = next((c for c in term if term.count(c) > 1), None)
        if dup is None:
            return x, term
        p = term.index(dup)
        q = term.index(dup, p + 1)
        eye = F.eye(F.shape(x)[p], dtype=x.dtype)
        pattern = ["x"] * x.ndim
        pattern[p], pattern[q] = 0, 1
        x = F.sum(x * eye.dimshuffle(*pattern), axis=q)
        term = term[:q] + term[q + 1:]


def _size(x: Variable, axes: list[int]):
    n = F.constant(1, dtype="int64")
    for a in axes:
        n = n * F.shape(x)[a]
    return n


def _contract(a: Variable, ta: str, b: Variable, tb: str, keep: set[str]) -> tuple[Variable, str]:
    batch = [c for c in ta if c in tb and c in keep]
    inner = [c for c in ta if c in tb and c not in keep]
    rows = [c for c in ta if c not in tb]
    cols = [c for c in tb if c not in ta]
    a2 = a.dimshuffle(*[ta.index(c) for c in batch + rows + inner])
    b2 = b.dimshuffle(*[tb.index(c) for c in batch + inner + cols])
    nb, nr, ni, nc = len(batch), len(rows), len(inner), len(cols)
    sizes_b = [F.shape(a2)[i] for i in range(nb)]
    sizes_r = [F.shape(a2)[nb + i] for i in range(nr)]
    sizes_c = [F.shape(b2)[nb + ni + i] for i in range(nc)]
    k = _size(a2, list(range(nb + nr, nb + nr + ni)))
    r = _size(a2, list(range(nb, nb + nr)))
    c = _size(b2, list(range(nb + ni, nb + ni + nc)))
    if nb:
        bsz = _size(a2, list(range(nb)))
        prod = F.matmul(F.reshape(a2, (bsz, r, k), ndim=3), F.reshape(b2, (bsz, k, c), ndim=3))
    else:
        prod = F.dot(F.reshape(a2, (r, k), ndim=2), F.reshape(b2, (k, c), ndim=2))
    out_sizes = sizes_b + sizes_r + sizes_c
    res = F.reshape(prod, tuple(out_sizes), ndim=len(out_sizes)) if out_sizes else F.reshape(prod, (), ndim=0)
    return res, "".join(batch + rows + cols)


def _sum_unneeded(x: Variable, t: str, needed: set[str]) -> tuple[Variable, str]:
    lone = [j for j, c in enumerate(t) if c not in needed]
    if not lone:
        return x, t
    return F.sum(x, axis=lone), "".join(c for j, c in enumerate(t) if j not in lone)


def einsum(subscripts: str, *operands) -> Variable:
    """The Einstein summation of ``operands`` (``np.einsum``; no ``optimize=`` path search: the
    operands are contracted left to right)."""
    xs = [F.as_tensor_variable(x) for x in operands]
    terms, out = _parse(subscripts, xs)
    items = [_take_diagonals(x, t) for x, t in zip(xs, terms)]
    acc, tacc = None, ""
    for i, (x, t) in enumerate(items):
        needed = set(out) | set("".join(tt for _, tt in items[i + 1:]))
        x, t = _sum_unneeded(x, t, needed | set(tacc))
        if acc is None:
            acc, tacc = x, t
            continue
        acc, tacc = _sum_unneeded(acc, tacc, needed | set(t))
        acc, tacc = _contract(acc, tacc, x, t, needed)
    acc, tacc = _sum_unneeded(acc, tacc, set(out))
    if tacc != out:
        acc = acc.dimshuffle(*[tacc.index(c) for c in out])
    return acc
