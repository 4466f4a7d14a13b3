"""BOHB's leave-one-out KDE bandwidths (`strategies.kde_bandwidth`) against the 24-step bisection of the
previous version (kept here as the reference), closed forms and a grid search; and BOHB's searches
against trajectories recorded with the previous version (fits before the random draw, bisection)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.protocol import Fidelity, Observation, SearchProblem
from nasbench_suite.space import CellSpace
from nasbench_suite.strategies.kde_bandwidth import bisection_bandwidths, loo_bandwidths

BISECTION_TOLERANCE = 0.8 / 2**24  # the reference's bracket after 24 halvings of [0, (c-1)/c <= 0.8]


def reference_bisection(data: np.ndarray, c: int) -> np.ndarray:
    """The previous version's `bohb._loo_bandwidth`, verbatim: bisection on the slope over all rows."""
    n = len(data)
    same = (data[:, None, :] == data[None, :, :]).sum(axis=1) - 1
    a, b = same.astype(float), (n - 1 - same) / (c - 1) - same
    lo, hi = np.zeros(data.shape[1]), np.full(data.shape[1], (c - 1) / c)

    def slope(u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return (b / (a + b * u)).sum(axis=0)

    rising = slope(hi) >= 0
    for _ in range(24):
        mid = (lo + hi) / 2
        up = slope(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return np.where(rising, (c - 1) / c, (lo + hi) / 2)


def column(counts: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A shuffled column with counts[k] rows of category k."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


# Columns whose answer sits on a boundary or exactly on one of the bisection's midpoints: the slope at
# the uniform kernel is exactly 0 (c=2, counts 10 and 6), the root is exactly 0.2 = cap / 4 or
# 0.5 = cap * 3 / 4, every row in one category, all rows distinct.
PLANTED = [
    (2, (10, 6)),
    (5, (0, 1, 1, 7, 7)),
    (5, (0, 1, 3, 5, 7)),
    (3, (1, 1, 4)),
    (3, (6, 15, 15)),
    (5, (0, 0, 9, 0, 0)),
    (5, (1, 1, 1, 1, 1)),
    (5, (1, 1, 1, 1, 4)),
]


def planted_data(rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    out = [(c, np.stack([column(counts, rng)] * 3, axis=1)) for c, counts in PLANTED]
    for _ in range(400):  # tied rows: skewed category probabilities, small and large n
        c = int(rng.integers(2, 7))
        n = int(rng.integers(2, 60))
        p = rng.dirichlet(np.full(c, rng.choice([0.2, 1.0, 5.0])))
        out.append((c, rng.choice(c, size=(n, 6), p=p)))
    return out


def test_the_exact_maximum_equals_the_bisection_within_its_tolerance() -> None:
    for c, data in planted_data(np.random.default_rng(0)):
        np.testing.assert_allclose(
            loo_bandwidths(data, c), reference_bisection(data, c), rtol=0, atol=BISECTION_TOLERANCE
        )


def test_the_bisection_result_is_reproduced_bit_for_bit() -> None:
    for c, data in planted_data(np.random.default_rng(1)):
        np.testing.assert_array_equal(bisection_bandwidths(data, c), reference_bisection(data, c))


def test_the_maximum_matches_the_two_category_closed_form_and_the_boundaries() -> None:
    # two categories: n1 b1 / (a1 + b1 u) + n2 b2 / (a2 + b2 u) = 0 solves to
    # u = -(n1 b1 a2 + n2 b2 a1) / ((n1 + n2) b1 b2)
    rng = np.random.default_rng(2)
    for n1, n2 in ((1, 9), (2, 30), (1, 1), (3, 4), (5, 5)):
        n = n1 + n2
        (a1, b1), (a2, b2) = ((k - 1, (n - k) - (k - 1)) for k in (n1, n2))
        rising = n1 * b1 + n2 * b2 >= 0  # the slope at the uniform kernel 1/2 has this sign
        expected = 0.5 if rising else max(-(n1 * b1 * a2 + n2 * b2 * a1) / (n * b1 * b2), 0.0)
        got = loo_bandwidths(column((n1, n2), rng)[:, None], 2)[0]
        assert got == pytest.approx(expected, rel=1e-14, abs=1e-15), (n1, n2)
    assert loo_bandwidths(np.zeros((9, 1), dtype=int), 5)[0] == 0.0  # one category: no smoothing
    assert loo_bandwidths(np.arange(5)[:, None], 5)[0] == 0.8  # all distinct: the uniform kernel


def test_the_maximum_beats_every_point_of_a_fine_grid() -> None:
    rng = np.random.default_rng(3)
    grid = np.linspace(0, 0.8, 8001)
    for n in (6, 15, 40):
        data = rng.choice(5, size=(n, 4), p=rng.dirichlet(np.full(5, 0.5)))
        best = loo_bandwidths(data, 5)
        for j in range(4):
            m = (data[:, j][:, None] == data[:, j][None, :]).sum(axis=1) - 1
            u = np.append(grid, best[j])
            with np.errstate(divide="ignore"):
                loglik = np.log(m[:, None] * (1 - u) + (n - 1 - m[:, None]) * u / 4).sum(axis=0)
            assert loglik[-1] >= loglik[:-1].max() - 1e-12


# ---------------------------------------------------------------- BOHB against the previous version
TARGET = np.array([3, 3, 2, 3, 1, 0])


def bohb_trajectory(seed: int, steps: int, hparams: dict) -> str:
    """Arch op strings proposed by BOHB on one 12-epoch rung (one config per bracket, a model after 14
    results) told integer accuracies with many ties: 90 - 10 * (edges that differ from TARGET)."""
    space, fidelity = CellSpace.nb201(), Fidelity(12, 12)
    problem = SearchProblem(space, (fidelity,), fidelity)
    bohb = strategies.build("bohb", problem, np.random.default_rng(seed), hparams)
    out = []
    for t in range(steps):
        proposal = bohb.ask()
        out.append("".join(map(str, proposal.arch.ops)))
        acc = 90.0 - 10 * float(np.sum(np.array(proposal.arch.ops) != TARGET))
        bohb.tell(proposal, Observation(proposal.arch, proposal.fidelity, acc, 1.0, t + 1.0))
    return " ".join(out)


# Recorded with the previous version (strategies/bohb.py before the model was fitted only when used
# and the bisection replaced) by this file's bohb_trajectory: 120 proposals per setting.
RECORDED: dict[tuple[int, str], str] = {
    (0, "{}"): (
        "432110 000434 234332 241430 142033 400402 012220 000323 133124 441343 433140 234211 223404 "
        "213211 232140 431040 433130 231221 233322 234110 403222 234100 333130 033140 412012 133434 "
        "334140 332410 332110 332410 333130 232443 432110 332410 332410 332410 332410 332410 143142 "
        "332410 312443 221222 030222 332410 020134 332410 332410 023143 332410 332410 242430 332110 "
        "443302 332410 332410 332410 043401 332410 332410 141213 332410 332410 332410 332110 332410 "
        "332410 332410 332410 322324 332410 334020 241232 030102 243242 332410 101001 120232 334142 "
        "332410 332410 332410 332410 332410 031200 220444 204444 332410 222014 332410 241300 332410 "
        "332410 332410 232012 332410 332410 332410 332410 332410 332410 332110 332110 332110 003444 "
        "332410 332410 332110 420213 332410 344332 332410 332410 143410 332410 332410 034124 332410 "
        "301414 332410 244340"
    ),
    (1, '{"num_samples": 4, "random_fraction": 0.0, "min_bandwidth": 0.3}'): (
        "223400 441142 141232 004342 412301 024012 412103 012204 340312 413014 221023 231334 203242 "
        "102334 443041 133101 141321 030422 324310 141331 314143 442321 143304 231100 310412 223320 "
        "344124 113330 033310 002443 444240 341132 332344 000304 224300 444343 041340 103414 032332 "
        "230224 421334 233302 444031 000302 434224 130002 221322 133330 030441 431013 131044 430401 "
        "233043 004343 132314 224312 420410 421312 431323 330210 434324 131200 131303 230313 221300 "
        "032210 022040 012300 323440 103230 244213 330211 032202 134122 012440 342022 132142 112331 "
        "442332 323320 102311 331411 141311 332014 131344 440212 341211 320412 232012 402014 130201 "
        "103414 220133 241012 100340 323422 032022 031331 112130 332010 443412 123123 342004 134332 "
        "133332 314221 223320 402312 220304 432014 314310 332001 434040 012403 021301 044320 310011 "
        "023313 030314 330241"
    ),
}


@pytest.mark.parametrize(("seed", "hparams"), sorted(RECORDED))
def test_bohb_reproduces_the_previous_versions_searches_bit_for_bit(seed: int, hparams: str) -> None:
    """Default hyperparameters (a third of the configs uniform: the draw now comes before the fit) and
    NATS-Bench's (4 samples, no random configs, min_bandwidth 0.3)."""
    expected = RECORDED[seed, hparams]
    assert bohb_trajectory(seed, len(expected.split()), json.loads(hparams)) == expected


@pytest.mark.parametrize("d", [1, 3, 6, 7])
def test_kde_scores_equal_the_sum_over_the_array_of_kernel_terms_bit_for_bit(d: int) -> None:
    """log_pdf reads each column's terms from a table and adds them left to right; the scores must be the
    bits of summing the (m, n, d) array of terms (what earlier versions computed), since BOHB's argmax
    between tied candidates follows the last bits."""
    from nasbench_suite.strategies.bohb import CategoricalKDE

    rng = np.random.default_rng(d)
    for _ in range(50):
        c, n, m = int(rng.integers(2, 7)), int(rng.integers(d + 2, 90)), int(rng.integers(1, 80))
        kde = CategoricalKDE(rng.integers(c, size=(n, d)), c, 1e-3)
        x = rng.integers(c, size=(m, d))
        terms = np.where(x[:, None, :] == kde.data[None, :, :], np.log1p(-kde.bw), np.log(kde.bw / (c - 1)))
        log_k = terms.sum(axis=2)
        top = log_k.max(axis=1, keepdims=True)
        expected = top[:, 0] + np.log(np.exp(log_k - top).mean(axis=1))
        assert np.array_equal(kde.log_pdf(x), expected)
        assert np.array_equal(kde.log_pdf(x), expected)  # the tables, built at the first call, are reused
