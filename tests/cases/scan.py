"""Cases for the scan op (egopt/lang/scan.py): a recurrence with a sequence, a state and a non-sequence."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import egopt
import egopt.tensor as T
from tests.cases import Case, array


def _gen(draw):
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    return [array(draw, (n, m)), array(draw, (m,)), array(draw, (m,))]


def _build(x, h0, w):
    hs, _ = egopt.scan(lambda x_t, h, w: T.tanh(x_t + h * w), sequences=x, outputs_info=h0, non_sequences=w)
    return hs


def _ref(x, h0, w):
    out, h = [], h0
    for row in x:
        h = np.tanh(row + h * w)
        out.append(h)
    return np.array(out)


CASES = [Case("scan", _gen, _build, _ref, symbolic=lambda vals: [T.dmatrix(), T.dvector(), T.dvector()],
              also_covers=("tanh",))]


def _gen_last(draw):
    n, m = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    return [array(draw, (n, m)), array(draw, (m,))]


def _ref_last(hist, init):
    return hist[-1] if len(hist) else init


CASES.append(Case("scan_last", _gen_last, lambda h, i: egopt.scan_module.scan_last(h, i), _ref_last,
                  symbolic=lambda vals: [T.dmatrix(), T.dvector()]))
