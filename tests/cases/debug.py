"""Cases for debugging ops (egopt/lang/printing.py)."""
from __future__ import annotations

from egopt.printing import Print
from tests.cases import Case, array, dtype, shape

CASES = [
    Case("print", lambda d: [array(d, shape(d), dtype(d))], lambda x: Print("case")(x) * 2,
         lambda x: x * 2, also_covers=("mul",)),
]
