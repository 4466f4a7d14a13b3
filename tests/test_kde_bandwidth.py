"""BOHB's leave-one-out KDE bandwidths (`strategies.kde_bandwidth`) against the 24-step bisection over
every row that earlier versions ran (kept here as the reference), closed forms and a grid search; and
the KDE's kernel products against the array of kernel terms written out."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.strategies.bohb import CategoricalKDE, RungModel
from nasbench_suite.strategies.kde_bandwidth import loo_bandwidths

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


# ---------------------------------------------------------------- the KDE's kernel products
def kernel_terms(kde: CategoricalKDE, x: np.ndarray) -> np.ndarray:
    """(m, n, d): column j's kernel weight between candidate x and datum i, written out."""
    c, bw = kde.c, kde.bw
    own, other = 1 - bw, bw / (c - 1)
    uniform = bw == (c - 1) / c
    own[uniform] = other[uniform] = 1 / c
    return np.where(x[:, None, :] == kde.data[None, :, :], own, other)


@pytest.mark.parametrize("d", [1, 3, 6, 7, 9])
def test_kde_densities_equal_the_mean_product_of_the_kernel_terms_bit_for_bit(d: int) -> None:
    """pdf multiplies the columns' weights gathered from tables, column by column; the densities must be
    the bits of multiplying the (m, n, d) array of weights along d and averaging over n."""
    rng = np.random.default_rng(d)
    for _ in range(50):
        c, n, m = int(rng.integers(2, 7)), int(rng.integers(d + 2, 90)), int(rng.integers(1, 80))
        kde = CategoricalKDE(rng.integers(c, size=(n, d)), c, 1e-3)
        x = rng.integers(c, size=(m, d))
        expected = np.multiply.reduce(kernel_terms(kde, x), axis=2).sum(axis=1) / n
        assert np.array_equal(kde.pdf(x), expected)
        assert np.array_equal(kde.pdf(x), expected)  # the tables, built at the first call, are reused


def test_the_models_ratio_is_the_good_density_over_the_bad_one() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        c, d = int(rng.integers(2, 7)), int(rng.integers(1, 8))
        good = CategoricalKDE(rng.integers(c, size=(int(rng.integers(d + 1, 20)), d)), c, 1e-3)
        bad = CategoricalKDE(rng.integers(c, size=(int(rng.integers(d + 1, 90)), d)), c, 1e-3)
        x = rng.integers(c, size=(64, d))
        model = RungModel(good, bad, b"", b"")
        assert np.array_equal(model.ratio(x), good.pdf(x) / bad.pdf(x))


def test_a_uniform_column_weighs_every_category_exactly_alike() -> None:
    """Column 0 holds every category equally often in both KDEs, so its bandwidth is the uniform
    kernel's: candidates that differ only there have the same density and ratio, bit for bit, and the
    argmax takes the first (1 - 0.8 and 0.8 / 4 differ in their last bit; used as they are, they
    would rank such candidates). Column 2 is not uniform, and there the category matters."""
    rng = np.random.default_rng(5)

    def data(n: int) -> np.ndarray:
        return np.column_stack(
            [np.tile(np.arange(5), n // 5), rng.integers(5, size=n), rng.integers(2, size=n)]
        )

    good, bad = CategoricalKDE(data(20), 5, 1e-3), CategoricalKDE(data(60), 5, 1e-3)
    assert good.bw[0] == bad.bw[0] == 0.8 and good.bw[2] < 0.8
    x = np.array([[v, 1, 0] for v in range(5)])
    assert len(set(good.pdf(x).tolist())) == 1
    ratio = RungModel(good, bad, b"", b"").ratio(x)
    assert len(set(ratio.tolist())) == 1 and np.argmax(ratio) == 0
    assert good.pdf(np.array([[0, 1, 0]]))[0] > good.pdf(np.array([[0, 1, 4]]))[0]  # 4 is never seen there
