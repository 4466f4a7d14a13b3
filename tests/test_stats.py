"""Statistics (analysis/stats.py) against independently computed values, and the significance
statements (analysis/significance.py) on a small real comparison."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nasbench_suite import strategies
from nasbench_suite.analysis import stats
from nasbench_suite.analysis.significance import (
    display_name,
    format_markdown,
    format_p,
    significance,
    significance_of,
    statements,
)
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError
from nasbench_suite.results import load_runs
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store

# Demsar (2006), Table 6: AUC of C4.5, C4.5+m, C4.5+cf, C4.5+m+cf on 14 UCI data sets.
DEMSAR_NAMES = ("C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf")
DEMSAR_AUC = np.array(
    [
        [0.763, 0.768, 0.771, 0.798],
        [0.599, 0.591, 0.590, 0.569],
        [0.954, 0.971, 0.968, 0.967],
        [0.628, 0.661, 0.654, 0.657],
        [0.882, 0.888, 0.886, 0.898],
        [0.936, 0.931, 0.916, 0.931],
        [0.661, 0.668, 0.609, 0.685],
        [0.583, 0.583, 0.563, 0.625],
        [0.775, 0.838, 0.866, 0.875],
        [1.000, 1.000, 1.000, 1.000],
        [0.940, 0.962, 0.965, 0.962],
        [0.619, 0.666, 0.614, 0.669],
        [0.972, 0.981, 0.975, 0.975],
        [0.957, 0.978, 0.946, 0.970],
    ]
)
DEMSAR_SCORES = {name: DEMSAR_AUC[:, j][None, :] for j, name in enumerate(DEMSAR_NAMES)}  # 1 run, 14 tasks


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------------
# Holm
# ---------------------------------------------------------------------------------------------------


def test_holm_matches_the_textbook_example() -> None:
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 -> max(0.06, 0.04) = 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([0.2]) == pytest.approx([0.2])  # a family of one is left alone


def test_holm_rejects_what_the_sequential_procedure_rejects() -> None:
    # Holm's procedure as stated in the 1979 paper: walk up the sorted p-values, reject while
    # p_(j) <= alpha / (m - j + 1), stop at the first that is not.
    gen = rng(1)
    for _ in range(200):
        p = gen.uniform(0, 0.1, size=gen.integers(1, 9))
        for alpha in (0.01, 0.05, 0.1):
            rejected = set()
            for j, i in enumerate(np.argsort(p)):
                if p[i] > alpha / (p.size - j):
                    break
                rejected.add(int(i))
            assert set(np.flatnonzero(stats.holm(p) <= alpha).tolist()) == rejected


def test_holm_refuses_non_probabilities() -> None:
    with pytest.raises(ConfigError, match="probabilities"):
        stats.holm([0.1, 1.2])


# ---------------------------------------------------------------------------------------------------
# effect sizes
# ---------------------------------------------------------------------------------------------------


def test_a12_and_cliffs_delta_on_a_hand_example() -> None:
    # a = [1, 2, 3] vs b = [2, 3, 4]: of 9 pairs, a wins 1 (3 > 2), ties 2 (2 = 2, 3 = 3), loses 6
    assert stats.a12([1, 2, 3], [2, 3, 4]) == pytest.approx((1 + 0.5 * 2) / 9)
    assert stats.cliffs_delta([1, 2, 3], [2, 3, 4]) == pytest.approx((1 - 6) / 9)
    assert stats.a12([5, 6], [1, 2, 3]) == 1.0 and stats.a12([1.0] * 4, [1.0] * 3) == 0.5


def test_a12_equals_brute_force_counting_and_the_mann_whitney_u() -> None:
    gen = rng(2)
    a, b = gen.integers(0, 6, size=17).astype(float), gen.integers(0, 6, size=11).astype(float)
    wins = sum(x > y for x in a for y in b)
    ties = sum(x == y for x in a for y in b)
    assert stats.a12(a, b) == pytest.approx((wins + 0.5 * ties) / (a.size * b.size))
    u = sps.mannwhitneyu(a, b).statistic
    assert stats.a12(a, b) == pytest.approx(u / (a.size * b.size))


# ---------------------------------------------------------------------------------------------------
# pairwise tests
# ---------------------------------------------------------------------------------------------------


def test_wilcoxon_p_value_equals_the_exact_null_distribution() -> None:
    # no ties, no zeros: enumerate all 2^10 sign assignments of the ranks (the exact null of T+)
    a = np.array([8.1, 7.3, 9.0, 6.2, 7.7, 8.8, 9.9, 5.4, 7.0, 8.4])
    b = np.array([7.0, 7.8, 6.9, 6.0, 7.1, 7.4, 8.5, 6.3, 6.2, 7.6])
    d = a - b
    ranks = sps.rankdata(np.abs(d))
    t_plus = ranks[d > 0].sum()
    null = np.array([np.dot(s, ranks) for s in itertools.product((0, 1), repeat=d.size)])
    exact = min(1.0, 2 * min((null <= t_plus).mean(), (null >= t_plus).mean()))
    c = stats.compare_pair(a, b, paired=True, rng=rng(), n_resamples=200)
    assert c.test is stats.PairTest.WILCOXON and c.p_value == pytest.approx(exact)
    assert c.statistic == min(t_plus, ranks.sum() - t_plus)
    assert c.rank_biserial == pytest.approx((2 * t_plus - ranks.sum()) / ranks.sum())


def test_mann_whitney_p_value_equals_the_exact_null_distribution() -> None:
    a = np.array([3.1, 4.7, 5.2, 6.0, 2.2])
    b = np.array([1.0, 2.5, 0.7, 3.3, 1.9, 2.8])
    ranks = sps.rankdata(np.concatenate([a, b]))
    u = ranks[: a.size].sum() - a.size * (a.size + 1) / 2
    null = np.array(
        [ranks[list(s)].sum() - a.size * (a.size + 1) / 2 for s in itertools.combinations(range(11), 5)]
    )
    exact = min(1.0, 2 * min((null <= u).mean(), (null >= u).mean()))
    c = stats.compare_pair(a, b, paired=False, rng=rng(), n_resamples=200)
    assert c.test is stats.PairTest.MANN_WHITNEY and c.p_value == pytest.approx(exact)
    assert c.statistic == u and c.rank_biserial == pytest.approx(c.cliffs_delta)


def test_pair_tests_with_ties_match_scipy() -> None:
    gen = rng(3)
    a = np.round(gen.normal(93.9, 0.3, size=60), 1)
    b = np.round(gen.normal(93.7, 0.3, size=60), 1)
    paired = stats.compare_pair(a, b, paired=True, rng=rng(), n_resamples=200)
    unpaired = stats.compare_pair(a, b, paired=False, rng=rng(), n_resamples=200)
    assert paired.p_value == pytest.approx(sps.wilcoxon(a, b).pvalue)
    assert unpaired.p_value == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert paired.mean_diff == pytest.approx(a.mean() - b.mean())


def test_identical_runs_are_no_difference_without_warnings() -> None:
    with np.errstate(all="raise"):
        c = stats.compare_pair([93.0, 94.0, 94.0], [93.0, 94.0, 94.0], paired=True, rng=rng(), n_resamples=50)
    assert c.p_value == 1.0 and c.a12 == 0.5 and c.verdict is stats.Verdict.NO_DIFFERENCE


def test_pairwise_tests_pair_by_run_id_and_holm_correct_every_pair() -> None:
    gen = rng(4)
    scores = {
        "rea": gen.normal(1.0, 1, 20),
        "random": gen.normal(0.0, 1, 20),
        "tpe": gen.normal(0.1, 1, 15),
    }
    run_ids = {"rea": np.arange(20)[::-1], "random": np.arange(20), "tpe": np.arange(15)}
    comparisons = stats.pairwise_tests(scores, rng=rng(), run_ids=run_ids, n_resamples=300)
    assert [(c.a, c.b) for c in comparisons] == [("rea", "random"), ("rea", "tpe"), ("random", "tpe")]
    assert [c.test for c in comparisons] == [
        stats.PairTest.WILCOXON,
        stats.PairTest.MANN_WHITNEY,
        stats.PairTest.MANN_WHITNEY,
    ]
    # rea's run ids are reversed: run i of rea must meet run i of random
    assert comparisons[0].p_value == pytest.approx(sps.wilcoxon(scores["rea"][::-1], scores["random"]).pvalue)
    raw = [c.p_value for c in comparisons]
    assert [c.p_holm for c in comparisons] == pytest.approx(stats.holm(raw).tolist())
    flipped = comparisons[0].flipped()
    assert (flipped.a, flipped.a12, flipped.mean_diff) == (
        "random",
        1 - comparisons[0].a12,
        -comparisons[0].mean_diff,
    )
    assert (flipped.ci.low, flipped.ci.high) == (-comparisons[0].ci.high, -comparisons[0].ci.low)


def test_bad_scores_are_refused() -> None:
    with pytest.raises(ConfigError, match="finite"):
        stats.compare_pair([1.0, np.nan], [1.0, 2.0], paired=True, rng=rng())
    with pytest.raises(ConfigError, match="equal lengths"):
        stats.compare_pair([1.0, 2.0], [1.0], paired=True, rng=rng())
    with pytest.raises(ConfigError, match="Generator"):
        stats.bootstrap_mean_diff([1.0], [2.0], paired=False, rng=0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------------


def test_bootstrap_ci_has_the_normal_width_and_covers_the_true_difference() -> None:
    gen = rng(5)
    a, b = gen.normal(1.0, 1.0, 400), gen.normal(0.0, 2.0, 300)
    ci = stats.bootstrap_mean_diff(a, b, paired=False, rng=rng(6))
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert ci.high - ci.low == pytest.approx(2 * 1.96 * se, rel=0.05)
    assert ci.low < 1.0 < ci.high and ci.method == "percentile" and ci.n_resamples == 10_000
    # paired: the width follows the spread of the differences, not of the two samples
    x = gen.normal(90, 3, 200)
    y = x - 0.2 + gen.normal(0, 0.5, 200)
    paired = stats.bootstrap_mean_diff(x, y, paired=True, rng=rng(7))
    assert paired.high - paired.low == pytest.approx(2 * 1.96 * (x - y).std(ddof=1) / np.sqrt(200), rel=0.05)
    # coverage over repeated experiments (percentile method, n = 40: close to the nominal 95%)
    covered = 0
    for _ in range(100):
        ci = stats.bootstrap_mean_diff(
            gen.normal(0.5, 1, 40), gen.normal(0, 1, 40), paired=False, rng=gen, n_resamples=1000
        )
        covered += ci.low < 0.5 < ci.high
    assert 87 <= covered <= 100


def test_bootstrap_is_reproducible_from_its_generator() -> None:
    a, b = np.arange(10.0), np.arange(10.0)[::-1] + 0.5
    first = stats.bootstrap_mean_diff(a, b, paired=True, rng=rng(8), n_resamples=500)
    assert first == stats.bootstrap_mean_diff(a, b, paired=True, rng=rng(8), n_resamples=500)


# ---------------------------------------------------------------------------------------------------
# Friedman, Nemenyi
# ---------------------------------------------------------------------------------------------------


def test_friedman_matches_scipy_and_the_textbook_formula() -> None:
    # 3 strategies x 5 tasks, no ties: chi2 = 12 / (N k (k + 1)) sum R_j^2 - 3 N (k + 1)
    means = np.array([[0.9, 0.8, 0.7], [0.6, 0.8, 0.5], [0.95, 0.9, 0.91], [0.7, 0.75, 0.6], [0.5, 0.4, 0.3]])
    scores = {s: np.stack([means[:, j], means[:, j]]) for j, s in enumerate("xyz")}  # 2 identical runs
    result = stats.friedman_test(scores)
    n, k = means.shape
    rank_sums = sps.rankdata(-means, axis=1).sum(axis=0)
    assert result.statistic == pytest.approx(12 / (n * k * (k + 1)) * (rank_sums**2).sum() - 3 * n * (k + 1))
    assert result.p_value == pytest.approx(sps.friedmanchisquare(*means.T).pvalue)
    assert result.ranks == pytest.approx(dict(zip("xyz", rank_sums / n, strict=True)))


def test_friedman_on_demsars_example() -> None:
    result = stats.friedman_test(DEMSAR_SCORES)
    assert result.p_value == pytest.approx(sps.friedmanchisquare(*DEMSAR_AUC.T).pvalue)
    # Demsar prints 3.143, 2.000, 2.893, 1.964: the last two are half a rank apart on one data set from
    # the ranks of his printed (3-decimal) table, which give 2.929 and 1.929
    assert result.average_ranks == pytest.approx((3.143, 2.000, 2.929, 1.929), abs=1e-3)
    # from his average ranks Demsar gets chi2_F = 9.28 and F_F = 3.69
    assert stats.iman_davenport(9.28, 14, 4) == pytest.approx(3.69, abs=0.005)


def test_friedman_with_three_tasks_states_its_low_power() -> None:
    perfect = {s: np.array([[3.0 - j] * 3]) for j, s in enumerate("abc")}  # every task: a > b > c
    result = stats.friedman_test(perfect)
    # chi2 = N (k - 1) = 6; the chi-square(2) survival function is exp(-x / 2)
    assert result.statistic == pytest.approx(6.0) and result.p_value == pytest.approx(np.exp(-3))
    assert result.min_p_value == pytest.approx(np.exp(-3))
    assert any("low power" in c and "0.05" in c for c in result.caveats)
    tied = stats.friedman_test({s: np.ones((2, 3)) for s in "abc"})
    assert (tied.statistic, tied.p_value, tied.average_ranks) == (0.0, 1.0, (2.0, 2.0, 2.0))
    with pytest.raises(ConfigError, match=">= 3 strategies"):
        stats.friedman_test({"a": np.ones((2, 3)), "b": np.ones((2, 3))})


def test_nemenyi_q_table_matches_the_studentized_range() -> None:
    for alpha, table in stats.NEMENYI_Q.items():
        for k, q in enumerate(table, start=2):
            exact = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
            assert q == pytest.approx(exact, abs=1e-3)
    assert stats.nemenyi_q(12) == pytest.approx(sps.studentized_range.ppf(0.95, 12, np.inf) / np.sqrt(2))


def test_nemenyi_cd_and_groups_on_demsars_example() -> None:
    # "CD = 2.569 sqrt(4 * 5 / (6 * 14)) = 1.25" at alpha = 0.05, and 1.12 at alpha = 0.10
    assert stats.nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.005)
    assert stats.nemenyi_cd(4, 14, alpha=0.10) == pytest.approx(1.12, abs=0.005)
    # at 0.05 no pair differs (best and worst are 1.21 apart); at 0.10 Demsar's Figure 1(a): C4.5 is worse
    # than C4.5+m and C4.5+m+cf, C4.5+cf belongs to both groups
    assert stats.cd_diagram(DEMSAR_SCORES).groups == (("C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"),)
    diagram = stats.cd_diagram(DEMSAR_SCORES, alpha=0.10)
    assert diagram.groups == (("C4.5+m+cf", "C4.5+m", "C4.5+cf"), ("C4.5+cf", "C4.5"))
    assert diagram.strategies[0] == "C4.5+m+cf" and diagram.n_tasks == 14


# ---------------------------------------------------------------------------------------------------
# significance statements
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_comparison(real_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("significance")
    spec = ComparisonSpec(
        ("random", "rea"), ("cifar10-valid",), 30, Budget(BudgetKind.EVALUATIONS, 100), seed=3
    )
    run_comparison(real_store, spec, out, strategies.build, jobs=1, progress=False)
    return out


@pytest.mark.realdata
def test_statements_from_a_real_comparison_carry_the_numbers_of_the_stats_functions(
    small_comparison: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = load_runs(small_comparison)
    report = significance_of(small_comparison, seed=5)
    assert capsys.readouterr() == ("", "")  # nothing prints
    (ds,) = report.datasets
    assert (ds.dataset, ds.report_dataset, ds.n_runs) == ("cifar10-valid", "cifar10", (30, 30))
    (statement,) = ds.statements
    rea = runs[runs.strategy == "rea"].sort_values("run")["final_test"].to_numpy()
    rs = runs[runs.strategy == "random"].sort_values("run")["final_test"].to_numpy()
    p = sps.wilcoxon(rea, rs).pvalue
    a12 = np.mean([(x > y) + 0.5 * (x == y) for x in rea for y in rs])
    ci = stats.bootstrap_mean_diff(rea, rs, paired=True, rng=np.random.default_rng(5))
    c = statement.comparison
    assert (c.a, c.b) == ("rea", "random") and c.test is stats.PairTest.WILCOXON
    assert c.p_holm == pytest.approx(p) and c.a12 == pytest.approx(a12)
    assert (c.ci.estimate, c.ci.low, c.ci.high) == pytest.approx((ci.estimate, ci.low, ci.high))
    assert statement.text == (
        f"REA beats random search on cifar10 test accuracy (p {format_p(p)} after Holm, A12 = {a12:.2f}, "
        f"{rea.mean() - rs.mean():+.2f} points, 95% CI [{ci.low:.2f}, {ci.high:.2f}]; "
        "Wilcoxon signed-rank, 30 runs paired by seed)"
    )
    assert p < 0.05 and statement.verdict is stats.Verdict.A_BETTER
    markdown = format_markdown(report)
    assert statement.text in markdown and "test accuracy on cifar10" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| REA | random search"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert float(cells[4]) == pytest.approx(rea.mean(), abs=0.005)
    assert float(cells[5]) == pytest.approx(rs.mean(), abs=0.005)
    assert float(cells[9]) == pytest.approx(p, rel=1e-2)


@pytest.mark.realdata
def test_runs_that_do_not_pair_are_compared_with_mann_whitney(small_comparison: Path) -> None:
    runs = load_runs(small_comparison)
    partial = runs[(runs.strategy == "random") | (runs.run < 20)]
    (statement,) = statements(significance(partial, n_resamples=500))
    rea = partial[partial.strategy == "rea"]["final_test"].to_numpy()
    rs = partial[partial.strategy == "random"]["final_test"].to_numpy()
    assert "Mann-Whitney U, 20 vs 30 unpaired runs" in statement
    assert f"p {format_p(sps.mannwhitneyu(rea, rs).pvalue)} after Holm" in statement


def _synthetic_runs() -> pd.DataFrame:
    gen = rng(9)
    rows = []
    for dataset, shift in (("cifar10-valid", 0.0), ("cifar100", -20.0)):
        base = gen.normal(93.7 + shift, 0.3, 25)
        for strategy, values in (
            ("random", base),
            ("rea", base + 0.3 + gen.normal(0, 0.1, 25)),
            ("my_search", base + gen.normal(0, 0.3, 25)),
        ):
            rows += [
                {"run": r, "strategy": strategy, "dataset": dataset, "seed": 0, "final_test": v}
                for r, v in enumerate(values)
            ]
    runs = pd.DataFrame(rows)
    runs.loc[
        (runs.strategy == "my_search") & (runs.run == 7) & (runs.dataset == "cifar100"), "final_test"
    ] = np.nan
    return runs


def test_statements_with_three_strategies_on_two_datasets() -> None:
    runs = _synthetic_runs()
    report = significance(runs, n_resamples=500)
    assert [d.report_dataset for d in report.datasets] == ["cifar10", "cifar100"]
    for ds in report.datasets:
        raw = [s.comparison.p_value for s in ds.statements]
        assert [s.comparison.p_holm for s in ds.statements] == pytest.approx(stats.holm(raw).tolist())
        by_pair = {frozenset((s.comparison.a, s.comparison.b)): s for s in ds.statements}
        assert by_pair[frozenset(("rea", "random"))].text.startswith(
            f"REA beats random search on {ds.report_dataset}"
        )
        same = by_pair[frozenset(("random", "my_search"))]
        assert same.text.startswith("no significant difference between") and "my_search" in same.text
        assert same.comparison.mean_diff >= 0  # the higher mean is named first
    cifar100 = report.datasets[1]
    assert cifar100.n_runs == (24, 25, 25)  # my_search lost run 7: no longer paired with the others
    assert all("unpaired" in s.text for s in cifar100.statements if "my_search" in s.text)
    assert any("run(s) of my_search on cifar100" in n and "runs 7" in n for n in report.notes)
    assert report.friedman is not None and report.friedman.n_tasks == 2
    markdown = format_markdown(report)
    assert "Friedman test" in markdown and "caveat: with N = 2 tasks" in markdown
    assert display_name("rea") == "REA" and display_name("my_search") == "my_search"
