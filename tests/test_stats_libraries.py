"""The statistics now come from scipy, statsmodels and scikit-posthocs: they equal the hand-written
formulas they replaced, and the wording says when a rank test and the mean difference disagree."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from nasbench_suite.analysis import stats
from nasbench_suite.analysis.significance import _statement


def _holm_by_hand(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out


def test_holm_from_statsmodels_equals_the_step_down_formula() -> None:
    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 45):
        p = rng.random(m) ** 3
        np.testing.assert_allclose(stats.holm(p), _holm_by_hand(p), rtol=0, atol=1e-15)
    assert stats.holm([]).size == 0


def test_a12_from_the_mann_whitney_u_equals_the_mid_rank_formula() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 6, 40).astype(float), rng.integers(1, 7, 33).astype(float)  # many ties
    ranks = sps.rankdata(np.concatenate([a, b]))
    by_hand = (ranks[:40].sum() / 40 - 41 / 2) / 33
    assert stats.a12(a, b) == pytest.approx(by_hand, abs=1e-15)


def test_the_nemenyi_q_and_the_pairwise_p_values_from_scikit_posthocs_are_the_studentized_range() -> None:
    for alpha, table in stats.NEMENYI_Q.items():
        for k, q in enumerate(table, start=2):
            assert stats.nemenyi_q(k, alpha) == q  # Demsar's published values, as papers' CD diagrams use
            exact = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
            assert q == pytest.approx(exact, abs=1e-3)
    assert stats.nemenyi_q(11) == pytest.approx(sps.studentized_range.ppf(0.95, 11, np.inf) / np.sqrt(2))
    rng = np.random.default_rng(2)
    scores = {
        name: rng.normal(shift, 1.0, size=(5, 12)) for name, shift in (("a", 0.0), ("b", 0.3), ("c", 1.0))
    }
    ranks = stats.average_ranks(scores)  # 1 = best; the p-values do not depend on the direction
    pairs = stats.nemenyi_pairwise(scores)
    assert list(pairs) == [("a", "b"), ("a", "c"), ("b", "c")]
    k, n = 3, 12
    for x, y in itertools.combinations("abc", 2):
        q = abs(ranks[x] - ranks[y]) / np.sqrt(k * (k + 1) / (6 * n)) * np.sqrt(2)
        assert pairs[(x, y)] == pytest.approx(sps.studentized_range.sf(q, k, np.inf), rel=1e-6, abs=1e-12)


def test_the_scipy_bootstrap_matches_a_hand_percentile_bootstrap_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 150), rng.normal(0.0, 2.0, 120)
    ci = stats.bootstrap_mean_diff(a, b, paired=False, rng=np.random.default_rng(4), n_resamples=20_000)
    g = np.random.default_rng(5)
    diffs = a[g.integers(0, 150, (20_000, 150))].mean(1) - b[g.integers(0, 120, (20_000, 120))].mean(1)
    low, high = np.quantile(diffs, [0.025, 0.975])
    se = np.sqrt(a.var(ddof=1) / 150 + b.var(ddof=1) / 120)
    # two independent Monte-Carlo estimates of the same quantiles: they agree to a few percent of an se
    assert ci.low == pytest.approx(low, abs=0.05 * se) and ci.high == pytest.approx(high, abs=0.05 * se)
    same = stats.bootstrap_mean_diff(a, a + 0.5, paired=True, rng=np.random.default_rng(0))
    assert (same.low, same.estimate, same.high) == (-0.5, -0.5, -0.5)  # constant differences, no warning


@pytest.mark.parametrize(
    ("outlier", "direction"), [(-1.9, "is not resolved: its CI includes 0"), (-2.5, "points the other way")]
)
def test_a_significant_rank_test_whose_mean_ci_includes_0_does_not_say_beats(
    outlier: float, direction: str
) -> None:
    b = np.linspace(90.0, 94.0, 21)
    a = b + np.r_[np.full(20, 0.1), outlier]  # 20 small wins, one large loss
    c = stats.compare_pair(a, b, paired=True, rng=np.random.default_rng(0), names=("rea", "random"))
    assert c.p_value < 0.01 and c.verdict is stats.Verdict.A_BETTER and c.ci.low < 0 < c.ci.high
    text = _statement("cifar10-valid", c).text
    assert "beats" not in text
    assert text.startswith(
        "the Wilcoxon signed-rank test ranks REA above random search on cifar10 test accuracy"
    )
    assert f"but the mean difference {direction}" in text and "not means" in text
