"""Statistics for comparing strategies: pure functions over one array convention, frozen results.

The convention (as in rliable / autorank), higher scores are better (accuracies):

- one task: ``scores: Mapping[str, np.ndarray]``, ``scores[strategy]`` of shape ``(n_runs,)``;
- across tasks (tasks = datasets): ``scores[strategy]`` of shape ``(n_runs, n_tasks)``, column t
  holding task t for every strategy.

Runs are *paired* when both sides hold the same runs: with ``run_ids`` given, when the two strategies'
run ids are the same set (they are matched by id); without, when the arrays have the same length (row i
is run i on both sides). In a results directory run r of every strategy uses the same seeds, so paired
runs differ only in the strategy.

Which library does what (hand-written code only where no maintained library does the job):

- scipy.stats: Wilcoxon signed-rank (`wilcoxon`), Mann-Whitney U (`mannwhitneyu`, whose U gives A12),
  Friedman (`friedmanchisquare`), the percentile bootstrap (`bootstrap`), the studentized range behind
  the Nemenyi critical value beyond Demsar's published table (`studentized_range`), ranks (`rankdata`);
- statsmodels: Holm's correction (`stats.multitest.multipletests(method="holm")`);
- scikit-posthocs: the Nemenyi post-hoc p-values after a Friedman test (`posthoc_nemenyi_friedman`);
- hand-written, because no maintained library computes them from these inputs: the matched-pairs
  rank-biserial correlation (Kerby 2014), the Iman-Davenport F from a Friedman chi-square, the groups
  of a CD diagram, and the Friedman test's smallest attainable p (its low-power caveat).

What is here, with the choice behind each:

- `compare_pair`: Wilcoxon signed-rank on paired runs (differences of zero dropped, scipy's
  ``zero_method="wilcox"``), Mann-Whitney U otherwise; both two-sided, ``method="auto"`` (exact for
  small untied samples, normal approximation with tie correction otherwise). Effect sizes: Vargha-Delaney
  A12 and Cliff's delta (= 2 A12 - 1), and the rank-biserial correlation of the test that was used
  (matched pairs for Wilcoxon, Kerby 2014; Cliff's delta for Mann-Whitney), whose sign says which side
  the test favours. Mean difference with a bootstrap confidence interval.
- `pairwise_tests`: every pair of one task, Holm-corrected over all pairs.
- `holm`: Holm's (1979) step-down adjusted p-values.
- `bootstrap_mean_diff`: percentile bootstrap CI of mean(a) - mean(b); pairs are resampled together
  for paired data, each side on its own otherwise; an explicit Generator, 10000 resamples by default.
- `friedman_test`: Friedman test across tasks over per-task mean scores (blocks = tasks), average
  ranks (1 = best) and the Iman-Davenport F; with few tasks its power is low (see its caveats).
- `nemenyi_cd` / `cd_diagram`: Nemenyi critical difference, CD = q_alpha sqrt(k (k + 1) / (6 N))
  (Demsar 2006), and the groups of strategies a CD diagram joins with a bar; `nemenyi_pairwise`: the
  post-hoc p-value of every pair.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from scipy import stats as sps

from nasbench_suite.errors import ConfigError

# Demsar (2006), Table 5(a): critical values q_alpha of the two-tailed Nemenyi test (the studentized
# range statistic at infinite degrees of freedom divided by sqrt 2), for k = 2..10 classifiers.
NEMENYI_Q: dict[float, tuple[float, ...]] = {
    0.05: (1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164),
    0.10: (1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920),
}


class PairTest(StrEnum):
    WILCOXON = "Wilcoxon signed-rank"
    MANN_WHITNEY = "Mann-Whitney U"


class Verdict(StrEnum):
    A_BETTER = "a better"
    B_BETTER = "b better"
    NO_DIFFERENCE = "no significant difference"


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile bootstrap confidence interval of mean(a) - mean(b)."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    paired: bool
    method: str = "percentile"

    def negated(self) -> BootstrapCI:
        return replace(self, estimate=-self.estimate, low=-self.high, high=-self.low)


@dataclass(frozen=True)
class PairComparison:
    """One two-sided test of strategy `a` against `b` on one task; differences are a - b."""

    a: str
    b: str
    test: PairTest
    n_a: int
    n_b: int
    statistic: float  # Wilcoxon: min(T+, T-); Mann-Whitney: U of a
    p_value: float
    p_holm: float  # Holm-adjusted over the family the comparison was made in (itself alone: = p_value)
    alpha: float
    a12: float  # P(a > b) + P(a = b) / 2 over all pairs of runs (Vargha & Delaney 2000)
    cliffs_delta: float  # 2 * a12 - 1
    rank_biserial: float  # effect size of the test used; > 0 favours a
    mean_a: float
    mean_b: float
    ci: BootstrapCI

    @property
    def paired(self) -> bool:
        return self.test is PairTest.WILCOXON

    @property
    def mean_diff(self) -> float:
        return self.ci.estimate

    @property
    def significant(self) -> bool:
        return self.p_holm < self.alpha

    @property
    def verdict(self) -> Verdict:
        if not self.significant or self.rank_biserial == 0:
            return Verdict.NO_DIFFERENCE
        return Verdict.A_BETTER if self.rank_biserial > 0 else Verdict.B_BETTER

    def flipped(self) -> PairComparison:
        """The same comparison read as b against a."""
        statistic = self.statistic if self.paired else self.n_a * self.n_b - self.statistic
        return replace(
            self,
            a=self.b,
            b=self.a,
            n_a=self.n_b,
            n_b=self.n_a,
            statistic=statistic,
            a12=1.0 - self.a12,
            cliffs_delta=-self.cliffs_delta,
            rank_biserial=-self.rank_biserial,
            mean_a=self.mean_b,
            mean_b=self.mean_a,
            ci=self.ci.negated(),
        )


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test over per-task mean scores (blocks = tasks, treatments = strategies)."""

    strategies: tuple[str, ...]
    average_ranks: tuple[float, ...]  # 1 = best, ties share the average rank
    n_tasks: int
    statistic: float  # chi-square, tie-corrected (scipy)
    p_value: float
    iman_davenport_f: float  # F_F = (N - 1) chi2 / (N (k - 1) - chi2), Demsar (2006) eq. 2
    iman_davenport_p: float  # against F(k - 1, (k - 1)(N - 1))
    min_p_value: float  # the smallest p the chi-square test can give with these N and k
    caveats: tuple[str, ...]

    @property
    def ranks(self) -> dict[str, float]:
        return dict(zip(self.strategies, self.average_ranks, strict=True))


@dataclass(frozen=True)
class CDDiagram:
    """What a critical-difference diagram draws: average ranks, the CD and the joined groups."""

    strategies: tuple[str, ...]  # best (lowest average rank) first
    average_ranks: tuple[float, ...]
    cd: float
    alpha: float
    n_tasks: int
    groups: tuple[tuple[str, ...], ...]  # maximal runs of strategies whose ranks differ by less than cd


# ---------------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------------


def _sample(values: object, what: str, ndim: int = 1) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim or arr.shape[0] == 0:
        shape = "(n_runs,)" if ndim == 1 else "(n_runs, n_tasks)"
        raise ConfigError(f"{what} must be a non-empty array of shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ConfigError(f"{what} must hold finite scores, got {int((~np.isfinite(arr)).sum())} NaN/inf")
    return arr


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must lie in (0, 1), got {alpha!r}")
    return float(alpha)


# ---------------------------------------------------------------------------------------------------
# multiplicity and effect sizes
# ---------------------------------------------------------------------------------------------------


def holm(p_values: object) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order (Holm 1979; statsmodels' `multipletests`).

    Sorted ascending, p_(i) becomes max_{j <= i} min(1, (m - j + 1) p_(j)); reject where it is < alpha.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise ConfigError(f"p_values must be a 1-d array of probabilities in [0, 1], got {p!r}")
    if p.size == 0:
        return p.copy()
    return np.asarray(multipletests(p, method="holm")[1], dtype=np.float64)


def a12(a: object, b: object) -> float:
    """Vargha-Delaney A12 = P(A > B) + P(A = B) / 2 over all pairs (one run of each side).

    A12 = U_a / (m n) with U_a the Mann-Whitney statistic of a (scipy; Vargha & Delaney 2000, eq. 14).
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    u = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").statistic  # U of x
    return float(u / (x.size * y.size))


def cliffs_delta(a: object, b: object) -> float:
    """Cliff's delta = P(A > B) - P(A < B) = 2 A12 - 1."""
    return 2.0 * a12(a, b) - 1.0


def _matched_pairs_rank_biserial(d: np.ndarray) -> float:
    """(T+ - T-) / (T+ + T-) over the non-zero differences (Kerby 2014); 0 when all are zero."""
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    r = sps.rankdata(np.abs(d))
    return float((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


# ---------------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------------


def bootstrap_mean_diff(
    a: object,
    b: object,
    *,
    paired: bool,
    rng: np.random.Generator,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
) -> BootstrapCI:
    """Percentile bootstrap CI of mean(a) - mean(b).

    Paired: resample the runs (the differences a_i - b_i) together. Independent: resample each side on
    its own. The interval is the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the
    resampled differences (the percentile method, no bias correction).
    """
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    if not (isinstance(n_resamples, int) and n_resamples >= 1):
        raise ConfigError(f"n_resamples must be a whole number >= 1, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie in (0, 1), got {confidence!r}")
    x, y = _sample(a, "a"), _sample(b, "b")
    if paired and x.size != y.size:
        raise ConfigError(f"paired samples must have equal lengths, got {x.size} and {y.size}")
    constant = (x - y == (x - y)[0]).all() if paired else (x == x[0]).all() and (y == y[0]).all()
    if constant:  # no spread: every resample is the estimate (scipy would warn of a degenerate sample)
        d = float(x.mean() - y.mean())
        return BootstrapCI(d, d, d, confidence, n_resamples, paired)
    res = sps.bootstrap(
        (x - y,) if paired else (x, y),
        _mean if paired else _mean_difference,
        n_resamples=n_resamples,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        method="percentile",
        rng=rng,
    )
    low, high = res.confidence_interval
    return BootstrapCI(float(x.mean() - y.mean()), float(low), float(high), confidence, n_resamples, paired)


def _mean(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return d.mean(axis=axis)


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return x.mean(axis=axis) - y.mean(axis=axis)


# ---------------------------------------------------------------------------------------------------
# pairwise tests
# ---------------------------------------------------------------------------------------------------


def compare_pair(
    a: object,
    b: object,
    *,
    paired: bool,
    rng: np.random.Generator,
    names: tuple[str, str] = ("a", "b"),
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
) -> PairComparison:
    """Two-sided test of a against b: Wilcoxon signed-rank when `paired` (a[i] and b[i] are the same
    run), Mann-Whitney U otherwise; effect sizes and the bootstrap CI of the mean difference."""
    x, y = _sample(a, names[0]), _sample(b, names[1])
    alpha = _check_alpha(alpha)
    if paired:
        if x.size != y.size:
            raise ConfigError(f"paired samples must have equal lengths, got {x.size} and {y.size}")
        d = x - y
        if not d.any():  # every run found the same: scipy would divide by zero
            statistic, p = 0.0, 1.0
        else:
            res = sps.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided", method="auto")
            statistic, p = float(res.statistic), float(res.pvalue)
        rank_biserial = _matched_pairs_rank_biserial(d)
        test = PairTest.WILCOXON
    else:
        res = sps.mannwhitneyu(x, y, alternative="two-sided", method="auto")
        statistic, p = float(res.statistic), float(res.pvalue)
        rank_biserial = cliffs_delta(x, y)
        test = PairTest.MANN_WHITNEY
    effect = a12(x, y)
    ci = bootstrap_mean_diff(x, y, paired=paired, rng=rng, n_resamples=n_resamples, confidence=confidence)
    return PairComparison(
        a=names[0],
        b=names[1],
        test=test,
        n_a=x.size,
        n_b=y.size,
        statistic=statistic,
        p_value=p,
        p_holm=p,
        alpha=alpha,
        a12=effect,
        cliffs_delta=2.0 * effect - 1.0,
        rank_biserial=rank_biserial,
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        ci=ci,
    )


def _aligned(
    scores: Mapping[str, np.ndarray], run_ids: Mapping[str, object] | None, a: str, b: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    x, y = _sample(scores[a], a), _sample(scores[b], b)
    if run_ids is None:
        return x, y, x.size == y.size
    ids_a, ids_b = np.asarray(run_ids[a]), np.asarray(run_ids[b])
    for name, ids, values in ((a, ids_a, x), (b, ids_b, y)):
        if ids.shape != values.shape or np.unique(ids).size != ids.size:
            raise ConfigError(
                f"run_ids[{name!r}] must be {values.size} distinct ids, one per score, got {ids.tolist()!r}"
            )
    if np.array_equal(ids_a, ids_b):  # same runs in the same order: keep the caller's order
        return x, y, True
    order_a, order_b = np.argsort(ids_a, kind="stable"), np.argsort(ids_b, kind="stable")
    paired = np.array_equal(ids_a[order_a], ids_b[order_b])
    return (x[order_a], y[order_b], True) if paired else (x, y, False)


def pairwise_tests(
    scores: Mapping[str, np.ndarray],
    *,
    rng: np.random.Generator,
    run_ids: Mapping[str, object] | None = None,
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
) -> tuple[PairComparison, ...]:
    """Every pair (a, b) of one task, a before b in the order of `scores`, Holm-corrected over all pairs.

    A pair is tested with Wilcoxon when its runs are paired (see the module docstring), with
    Mann-Whitney otherwise. The bootstrap draws from `rng` pair after pair, in that order.
    """
    names = list(scores)
    if len(names) < 2:
        raise ConfigError(f"pairwise tests need at least 2 strategies, got {names!r}")
    if run_ids is not None and set(run_ids) != set(names):
        raise ConfigError(f"run_ids must name the same strategies as scores, got {sorted(run_ids)!r}")
    raw = []
    for a, b in itertools.combinations(names, 2):
        x, y, paired = _aligned(scores, run_ids, a, b)
        raw.append(
            compare_pair(
                x,
                y,
                paired=paired,
                rng=rng,
                names=(a, b),
                alpha=alpha,
                n_resamples=n_resamples,
                confidence=confidence,
            )
        )
    adjusted = holm([c.p_value for c in raw])
    return tuple(replace(c, p_holm=float(p)) for c, p in zip(raw, adjusted, strict=True))


# ---------------------------------------------------------------------------------------------------
# across tasks: Friedman, Nemenyi
# ---------------------------------------------------------------------------------------------------


def _task_means(scores: Mapping[str, np.ndarray]) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (n_tasks, k) matrix of per-task mean scores)."""
    names = tuple(scores)
    arrays = [_sample(scores[s], s, ndim=2) for s in names]
    n_tasks = {arr.shape[1] for arr in arrays}
    if len(n_tasks) != 1:
        raise ConfigError(
            "every strategy must have the same number of tasks (columns), got "
            + ", ".join(f"{s}: {arr.shape[1]}" for s, arr in zip(names, arrays, strict=True))
        )
    return names, np.column_stack([arr.mean(axis=0) for arr in arrays])


def average_ranks(scores: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Mean over tasks of each strategy's rank by per-task mean score (1 = best, ties averaged)."""
    names, means = _task_means(scores)
    ranks = sps.rankdata(-means, axis=1).mean(axis=0)
    return dict(zip(names, ranks.tolist(), strict=True))


def friedman_test(scores: Mapping[str, np.ndarray]) -> FriedmanResult:
    """Friedman test across tasks (scipy.stats.friedmanchisquare over per-task mean scores).

    Needs k >= 3 strategies and N >= 2 tasks. Power with a handful of tasks is low: with N tasks and k
    strategies the chi-square statistic is at most N (k - 1) (every task ranks the strategies the same
    way), so with N = 3 and k = 3 the smallest possible p is 0.0498; `caveats` says so.
    """
    names, means = _task_means(scores)
    n, k = means.shape
    if k < 3 or n < 2:
        raise ConfigError(f"the Friedman test needs >= 3 strategies and >= 2 tasks, got k={k}, N={n}")
    if (means == means[:, :1]).all():  # every task ties every strategy: scipy would divide by zero
        chi2, p_value = 0.0, 1.0
    else:
        res = sps.friedmanchisquare(*means.T)
        chi2, p_value = float(res.statistic), float(res.pvalue)
    ranks = sps.rankdata(-means, axis=1).mean(axis=0)
    df1, df2 = k - 1, (k - 1) * (n - 1)
    denominator = n * (k - 1) - chi2
    ff = (n - 1) * chi2 / denominator if denominator > 0 else float("inf")
    ff_p = float(sps.f.sf(ff, df1, df2)) if np.isfinite(ff) else 0.0
    min_p = float(sps.chi2.sf(n * (k - 1), k - 1))
    caveats = []
    if n < 10:
        caveats.append(
            f"with N = {n} tasks the Friedman test has low power: even if every task ranked the "
            f"strategies identically, p would be {min_p:.2g}; a non-significant result is weak evidence "
            "of no difference"
        )
    if n <= 10 or k <= 5:
        caveats.append(
            "the chi-square approximation is rough for N <= 10 tasks or k <= 5 strategies (Demsar 2006)"
        )
    return FriedmanResult(
        strategies=names,
        average_ranks=tuple(float(r) for r in ranks),
        n_tasks=n,
        statistic=chi2,
        p_value=p_value,
        iman_davenport_f=float(ff),
        iman_davenport_p=ff_p,
        min_p_value=min_p,
        caveats=tuple(caveats),
    )


def iman_davenport(chi2: float, n_tasks: int, k: int) -> float:
    """Iman-Davenport F_F = (N - 1) chi2 / (N (k - 1) - chi2) from a Friedman chi-square."""
    return (n_tasks - 1) * chi2 / (n_tasks * (k - 1) - chi2)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Critical value q_alpha of the Nemenyi test for k strategies: Demsar's published Table 5(a) for
    k <= 10 and alpha in {0.05, 0.10} (the values CD diagrams in papers use), otherwise scipy's studentized
    range quantile at infinite df over sqrt 2 (which the table rounds to 3 decimals)."""
    alpha = _check_alpha(alpha)
    if not (isinstance(k, int | np.integer) and k >= 2):
        raise ConfigError(f"the Nemenyi test needs k >= 2 strategies, got {k!r}")
    if alpha in NEMENYI_Q and k <= 10:
        return NEMENYI_Q[alpha][k - 2]
    return float(sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / np.sqrt(2.0))


def nemenyi_cd(k: int, n_tasks: int, *, alpha: float = 0.05) -> float:
    """Nemenyi critical difference CD = q_alpha sqrt(k (k + 1) / (6 N)) (Demsar 2006, eq. 5)."""
    if not (isinstance(n_tasks, int | np.integer) and n_tasks >= 1):
        raise ConfigError(f"n_tasks must be a whole number >= 1, got {n_tasks!r}")
    return nemenyi_q(k, alpha) * float(np.sqrt(k * (k + 1) / (6.0 * n_tasks)))


def cd_diagram(scores: Mapping[str, np.ndarray], *, alpha: float = 0.05) -> CDDiagram:
    """Average ranks, the Nemenyi CD, and the groups a CD diagram joins: maximal runs of strategies
    (in rank order) whose average ranks differ by less than the CD."""
    ranks = average_ranks(scores)
    names = tuple(sorted(ranks, key=lambda s: (ranks[s], s)))
    values = np.array([ranks[s] for s in names])
    n_tasks = next(iter(scores.values())).shape[1]
    cd = nemenyi_cd(len(names), n_tasks, alpha=alpha)
    groups: list[tuple[str, ...]] = []
    last_end = 0
    for i in range(len(names)):
        end = int(np.searchsorted(values, values[i] + cd, side="left"))  # first j with r_j >= r_i + cd
        if end - i >= 2 and end > last_end:
            groups.append(names[i:end])
            last_end = end
    return CDDiagram(names, tuple(values.tolist()), cd, alpha, n_tasks, tuple(groups))


def nemenyi_pairwise(scores: Mapping[str, np.ndarray]) -> dict[tuple[str, str], float]:
    """Nemenyi post-hoc p-values of every pair after a Friedman test over per-task mean scores
    (scikit-posthocs' `posthoc_nemenyi_friedman`; blocks = tasks), keyed (a, b) in the order of `scores`."""
    import scikit_posthocs as sp

    names, means = _task_means(scores)
    table = np.asarray(sp.posthoc_nemenyi_friedman(means), dtype=np.float64)
    return {(names[i], names[j]): float(table[i, j]) for i, j in itertools.combinations(range(len(names)), 2)}
