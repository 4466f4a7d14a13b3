"""Leave-one-out bandwidths of an Aitchison-Aitken kernel on one categorical column (BOHB's KDEs).

For a column with n rows over c categories, a datum gives weight 1 - bw to its own category and
bw / (c - 1) to each other one. The leave-one-out log likelihood is
L(bw) = sum_i log(m_i (1 - bw) + (n - 1 - m_i) bw / (c - 1)), m_i the other rows sharing x_i's category.
It depends on the column only through its category counts n_k (the n_k rows of category k have
m_i = n_k - 1): L(bw) = sum_k n_k log(a_k + b_k bw), a_k = n_k - 1, b_k = (n - n_k) / (c - 1) - a_k,
which is concave on [0, (c-1)/c]. `loo_bandwidths` finds its maximum exactly (to machine precision) in a
few Newton steps over at most c terms; `bisection_bandwidths` returns, from that maximum, what the
24-step bisection of earlier versions returned, bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

EPS = float(np.finfo(np.float64).eps)
BISECTION_STEPS = 24  # earlier versions bisected [0, (c-1)/c] 24 times (to within 0.8 / 2^24)


def loo_bandwidths(data: np.ndarray, c: int) -> np.ndarray:
    """Per column of `data` (n, d) with categories 0..c-1, the bw in [0, (c-1)/c] maximising L."""
    n, cap = len(data), (c - 1) / c
    out = []
    for counts in _column_counts(np.asarray(data), c):
        out.append(cap if _slope_at_cap(counts, n, c) >= 0 else _root(_groups(counts, n, c), cap)[0])
    return np.array(out)


def bisection_bandwidths(data: np.ndarray, c: int) -> np.ndarray:
    """Per column, what earlier versions' bisection on the slope L' returned: the uniform kernel where
    L'((c-1)/c) >= 0, else the midpoint of the cell of [0, (c-1)/c] halved 24 times that holds the root
    of L'. Every halving step is decided by the exact maximum (the slope is > 0 below it), except where
    a midpoint lies within rounding error of it: there L' is evaluated as the bisection evaluated it,
    row by row in floating point, so the bits are the same (KDE scores of BOHB's candidates tie often,
    and the argmax between tied scores follows their last bits: same bandwidths, same searches)."""
    data = np.asarray(data)
    n = len(data)
    out = []
    for j, counts in enumerate(_column_counts(data, c)):
        # The answer depends on the counts as a multiset (L' is a sum over categories), so the memo is
        # keyed by them sorted: a sum in another order moves the root by ulps, far inside the slack.
        # None: rounding decides a step, so the rows must.
        bw = _bisection_of_counts(tuple(sorted(counts)), n, c)
        out.append(bw if bw is not None else _bisection_on_data(data, c, j, counts))
    return np.array(out)


@functools.lru_cache(maxsize=4096)
def _bisection_of_counts(counts: tuple[int, ...], n: int, c: int) -> float | None:
    """The bisection's answer for a column with these category counts, or None where a step is within
    rounding error of the maximum (only the rows' float sum of L' decides it). A pure function of the
    counts, which repeat from one of BOHB's refits to the next: remembered (bounded; no result changes)."""
    cap = (c - 1) / c
    at_cap = _slope_at_cap(counts, n, c)
    if at_cap != 0:
        return cap if at_cap > 0 else _bisect(*_root(_groups(counts, n, c), cap), cap, None)
    return None


def _bisection_on_data(data: np.ndarray, c: int, column: int, counts: tuple[int, ...]) -> float:
    """`_bisection_of_counts` where rounding decides: the steps near the maximum evaluate L' row by row."""
    n, cap = len(data), (c - 1) / c
    at_cap = _slope_at_cap(counts, n, c)
    if at_cap > 0 or (at_cap == 0 and _float_slope(data, c, column, cap) >= 0):  # 0: rounding decided
        return cap
    bw = _bisect(*_root(_groups(counts, n, c), cap), cap, lambda mid: _float_slope(data, c, column, mid) > 0)
    assert bw is not None  # with a rule for the close steps every step is decided
    return bw


def _bisect(root: float, slack: float, cap: float, rising_at: Callable[[float], bool] | None) -> float | None:
    """The midpoint of the cell of [0, cap] halved 24 times that holds `root`; a midpoint within `slack`
    of it is decided by `rising_at` (None: give up, return None)."""
    lo, hi = 0.0, cap
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        if abs(mid - root) > slack:
            up = mid < root
        elif rising_at is None:
            return None
        else:
            up = rising_at(mid)
        lo, hi = (mid, hi) if up else (lo, mid)
    return (lo + hi) / 2


def _column_counts(data: np.ndarray, c: int) -> list[tuple[int, ...]]:
    """Per column of `data` (n, d), n_k of every category present (in category order)."""
    table = (data[:, :, None] == np.arange(c)).sum(axis=0).tolist()  # (d, c): one pass over the data
    return [tuple(nk for nk in row if nk) for row in table]


def _slope_at_cap(counts: Sequence[int], n: int, c: int) -> int:
    """An integer with the sign of L'((c-1)/c): there every a_k + b_k bw equals (n - 1) / c, so L' is
    c / (n - 1) sum_k n_k b_k, and (c - 1) b_k = (n - n_k) - (c - 1)(n_k - 1) is an integer."""
    return sum(nk * ((n - nk) - (c - 1) * (nk - 1)) for nk in counts)


def _groups(counts: Sequence[int], n: int, c: int) -> list[tuple[int, float, float]]:
    """(n_k, a_k, b_k) of every category present in the column."""
    return [(nk, nk - 1.0, (n - nk) / (c - 1) - (nk - 1.0)) for nk in counts]


def _root(groups: list[tuple[int, float, float]], cap: float) -> tuple[float, float]:
    """Where L' < 0 at cap: the maximiser of L, and how far a point may be from it and a row-by-row
    float sum of L' still come out with the wrong sign.

    0 where L' <= 0 already at 0+ (no singleton category, whose a_k = 0 sends L' to +inf); else the
    root of L' by Newton's method inside a shrinking bracket (bisection whenever a step would leave
    it), until a step moves bw by at most 4 ulp."""
    if all(a > 0 for _, a, _ in groups) and sum(nk * b / a for nk, a, b in groups) <= 0:
        return 0.0, 0.0
    lo, hi, bw = 0.0, cap, cap / 2
    for _ in range(200):  # Newton converges in a handful of steps; the bracket bounds the rest
        slope = curvature = 0.0
        for nk, a, b in groups:  # L'(bw) and -L''(bw), as _slope (inlined: this loop is the hot path)
            r = b / (a + b * bw)
            slope += nk * r
            curvature += nk * r * r
        lo, hi = (bw, hi) if slope > 0 else (lo, bw)
        step = bw + slope / curvature
        step = step if lo < step < hi else (lo + hi) / 2
        done = abs(step - bw) <= 4 * EPS * bw
        bw = step
        if done:
            break
    _, curvature, size = _slope(groups, bw)
    n = sum(nk for nk, _, _ in groups)
    # |L'(x)| >= curvature |x - root| near the root; a row-by-row float sum of L' is off by at most
    # about (n + 2) eps * sum |terms|: closer than that (with a margin of 16), the sign is uncertain
    return bw, 16 * ((n + 2) * EPS * size / curvature + 4 * EPS * bw)


def _slope(groups: list[tuple[int, float, float]], bw: float) -> tuple[float, float, float]:
    """L'(bw), -L''(bw) (> 0) and sum_i |d/dbw log f_-i(x_i)|."""
    slope = curvature = size = 0.0
    for nk, a, b in groups:
        r = b / (a + b * bw)
        slope += nk * r
        curvature += nk * r * r
        size += nk * abs(r)
    return slope, curvature, size


def _float_slope(data: np.ndarray, c: int, column: int, bw: float) -> float:
    """L'(bw) for one column summed row by row in floating point, exactly as the bisection of earlier
    versions computed it (only its sign is used, where the exact root cannot decide)."""
    n = len(data)
    same = (data[:, None, :] == data[None, :, :]).sum(axis=1) - 1  # m_i per row and column: (n, d)
    a, b = same.astype(float), (n - 1 - same) / (c - 1) - same
    with np.errstate(divide="ignore"):
        return float((b / (a + b * np.full(data.shape[1], bw))).sum(axis=0)[column])
