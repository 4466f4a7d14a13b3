"""Significance statements, in words, for every pair of strategies on every dataset of a results directory.

The metric is `final_test`: the 200-epoch seed-mean test accuracy (percent) of each run's final
incumbent, on the report dataset (cifar10 for a search on cifar10-valid). Per dataset, every pair is
tested (Wilcoxon signed-rank when both strategies hold the same runs, which share their seeds;
Mann-Whitney U otherwise), the p-values are Holm-corrected over the pairs of that dataset, and a pair
differs significantly when its adjusted p is below alpha (0.05). Effect sizes: Vargha-Delaney A12 and the
mean difference in accuracy points with a percentile-bootstrap 95% CI (not adjusted for multiplicity).
With >= 3 strategies on >= 2 datasets a Friedman test across datasets is added.

    report = significance(load_runs(out))          # or significance_of(out)
    text = format_markdown(report)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_suite.analysis.stats import (
    FriedmanResult,
    PairComparison,
    Verdict,
    friedman_test,
    pairwise_tests,
)
from nasbench_suite.datasets import report_dataset
from nasbench_suite.errors import ResultsError
from nasbench_suite.results import load_runs
from nasbench_suite.seeding import as_generator

METRIC = "final_test"
# columns of a report of several directories (`analysis.combined.merged_runs`): where each run comes
# from, and its seed scheme (the kind of search and its root seed); runs pair only within one scheme
DIRECTORY = "directory"
SEED_SCHEME = "seed_scheme"

DISPLAY_NAMES: dict[str, str] = {
    "random": "random search",
    "rea": "REA",
    "bananas": "BANANAS",
    "bohb": "BOHB",
    "gp_bo": "GP-BO",
    "hyperband": "Hyperband",
    "local_search": "local search",
    "reinforce": "REINFORCE",
    "sh": "successive halving",
    "tpe": "TPE",
}


def display_name(strategy: str) -> str:
    """The name used in sentences; the registry name for strategies not in DISPLAY_NAMES."""
    return DISPLAY_NAMES.get(strategy, strategy)


@dataclass(frozen=True)
class Statement:
    """One pair on one dataset, oriented so that `comparison.a` is the winner when there is one and
    otherwise the strategy with the higher mean."""

    dataset: str  # search dataset
    report_dataset: str  # where final_test was measured
    comparison: PairComparison
    text: str

    @property
    def verdict(self) -> Verdict:
        return self.comparison.verdict


@dataclass(frozen=True)
class DatasetSignificance:
    dataset: str
    report_dataset: str
    strategies: tuple[str, ...]
    n_runs: tuple[int, ...]
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class SignificanceReport:
    metric: str
    alpha: float
    confidence: float
    n_resamples: int
    seed: int
    datasets: tuple[DatasetSignificance, ...]
    friedman: FriedmanResult | None  # None: fewer than 3 strategies or 2 datasets (see notes)
    notes: tuple[str, ...]


# ---------------------------------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------------------------------


def significance_of(
    out: Path,
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> SignificanceReport:
    """`significance` of the results directory `out` (read with `load_runs`)."""
    return significance(
        load_runs(out), alpha=alpha, confidence=confidence, n_resamples=n_resamples, seed=seed
    )


def significance(
    runs: pd.DataFrame,
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> SignificanceReport:
    """Statements for every pair of strategies on every dataset of the run-metadata frame of `load_runs`.

    Runs are matched by (root seed, run number); runs without a final test accuracy (nothing evaluated)
    are left out and named in the notes. The bootstrap draws from one Generator seeded with `seed`,
    dataset after dataset and pair after pair, so the CIs are reproducible for a given set of runs.
    """
    missing = {"run", "strategy", "dataset", METRIC} - set(runs.columns)
    if missing:
        raise ResultsError(f"the runs frame lacks the columns {sorted(missing)}; read it with load_runs")
    rng = as_generator(seed)
    notes: list[str] = []
    lost = runs[runs[METRIC].isna()]
    for (strategy, dataset), group in lost.groupby(["strategy", "dataset"], sort=True):
        notes.append(
            f"{len(group)} run(s) of {strategy} on {dataset} have no final test accuracy (nothing was "
            f"evaluated) and are left out: runs {', '.join(map(str, sorted(group['run'])))}"
        )
    kept = runs[runs[METRIC].notna()]
    results = []
    for dataset, frame in kept.groupby("dataset", sort=True):
        results.append(_dataset_significance(str(dataset), frame, rng, alpha, confidence, n_resamples))
        if len(results[-1].strategies) < 2:
            notes.append(f"{dataset}: only {results[-1].strategies[0]} ran there; nothing to compare")
    if SEED_SCHEME in runs.columns and DIRECTORY in runs.columns:
        notes.append(_pairing_note(runs))
    friedman = _friedman(kept, notes)
    return SignificanceReport(
        metric=METRIC,
        alpha=alpha,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        datasets=tuple(results),
        friedman=friedman,
        notes=tuple(notes),
    )


def _dataset_significance(
    dataset: str,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    alpha: float,
    confidence: float,
    n_resamples: int,
) -> DatasetSignificance:
    by_strategy = {str(s): g.sort_values("run") for s, g in frame.groupby("strategy", sort=True)}
    names = tuple(by_strategy)
    statements: tuple[Statement, ...] = ()
    if len(names) >= 2:
        scores = {s: g[METRIC].to_numpy(dtype=np.float64) for s, g in by_strategy.items()}
        run_ids = {s: _run_ids(g) for s, g in by_strategy.items()}
        comparisons = pairwise_tests(
            scores, rng=rng, run_ids=run_ids, alpha=alpha, n_resamples=n_resamples, confidence=confidence
        )
        why = _unpaired_reasons(by_strategy)
        statements = tuple(
            _statement(dataset, o, why.get((o.a, o.b), "")) for o in map(_oriented, comparisons)
        )
    return DatasetSignificance(
        dataset=dataset,
        report_dataset=report_dataset(dataset),
        strategies=names,
        n_runs=tuple(len(g) for g in by_strategy.values()),
        statements=statements,
    )


def _run_ids(group: pd.DataFrame) -> np.ndarray:
    """Runs pair across strategies when both the root seed and the run number agree; in a report of
    several directories (a `seed_scheme` column, `analysis.combined`), when the seed scheme (the kind of
    search and its root seed) and the run number agree."""
    if SEED_SCHEME in group.columns:
        seeds = group[SEED_SCHEME].astype(str)
    else:
        seeds = group["seed"].astype(str) if "seed" in group.columns else pd.Series("", index=group.index)
    return (seeds + "/" + group["run"].astype(str)).to_numpy()


def _unpaired_reasons(by_strategy: dict[str, pd.DataFrame]) -> dict[tuple[str, str], str]:
    """In a report of several directories, why each unpaired pair is unpaired (both orders)."""
    if not all(DIRECTORY in g.columns and SEED_SCHEME in g.columns for g in by_strategy.values()):
        return {}
    where = {s: (str(g[DIRECTORY].iloc[0]), str(g[SEED_SCHEME].iloc[0])) for s, g in by_strategy.items()}
    reasons = {}
    for a, (dir_a, scheme_a) in where.items():
        for b, (dir_b, scheme_b) in where.items():
            if a == b:
                continue
            if scheme_a != scheme_b:
                reasons[(a, b)] = f"different seed schemes ({scheme_a} in {dir_a}; {scheme_b} in {dir_b})"
            else:
                reasons[(a, b)] = f"one seed scheme ({scheme_a}) but not the same runs on both sides"
    return reasons


def _pairing_note(runs: pd.DataFrame) -> str:
    schemes = runs.groupby(DIRECTORY, sort=False)[SEED_SCHEME].first()
    shared = schemes.nunique() == 1
    return (
        "runs of two directories are paired by seed (Wilcoxon) only when both have the same seed scheme (the "
        "same kind of search, table, one-shot or live, with the same root seed: run r then has the same "
        "random streams on both sides) and the two strategies hold the same runs; otherwise the pair is "
        "tested unpaired (Mann-Whitney U) and its statement says why. Seed schemes: "
        + "; ".join(f"{d}: {s}" for d, s in schemes.items())
        + (
            " (one scheme for all)"
            if shared
            else " (more than one: pairs across them are unpaired, whatever their run counts)"
        )
    )


def _oriented(c: PairComparison) -> PairComparison:
    if c.verdict is Verdict.B_BETTER or (c.verdict is Verdict.NO_DIFFERENCE and c.mean_diff < 0):
        return c.flipped()
    return c


def _friedman(kept: pd.DataFrame, notes: list[str]) -> FriedmanResult | None:
    strategies = sorted(kept["strategy"].unique())
    datasets = sorted(kept["dataset"].unique())
    if len(strategies) < 3 or len(datasets) < 2:
        return None
    means = kept.groupby(["dataset", "strategy"])[METRIC].mean().unstack("strategy")
    if means.isna().any().any():
        notes.append("no Friedman test across datasets: not every strategy ran on every dataset")
        return None
    # per-task means are what the test uses, so each strategy enters as one 'run' per dataset
    scores = {s: means.loc[datasets, s].to_numpy()[None, :] for s in strategies}
    return friedman_test(scores)


# ---------------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------------


def format_p(p: float) -> str:
    if p == 0.0:
        return "< 1e-300"
    return f"= {p:.0e}" if p < 1e-3 else f"= {p:.2g}"


def _pairing(c: PairComparison, why: str = "") -> str:
    if c.paired:
        return f"{c.test}, {c.n_a} runs paired by seed"
    return f"{c.test}, {c.n_a} vs {c.n_b} unpaired runs" + (f": {why}" if why else "")


def _statement(dataset: str, c: PairComparison, why: str = "") -> Statement:
    """`why`: the reason an unpaired pair is unpaired, said after the test (reports of several
    directories give one; a single directory's statements keep their words)."""
    report = report_dataset(dataset)
    a, b = display_name(c.a), display_name(c.b)
    numbers = (
        f"p {format_p(c.p_holm)} after Holm, A12 = {c.a12:.2f}, {c.mean_diff:+.2f} points, "
        f"{c.ci.confidence:.0%} CI [{c.ci.low:.2f}, {c.ci.high:.2f}]; {_pairing(c, why)}"
    )
    if c.verdict is Verdict.A_BETTER and c.ci.low > 0:
        text = f"{a} beats {b} on {report} test accuracy ({numbers})"
    elif c.verdict is Verdict.A_BETTER:
        direction = "points the other way" if c.mean_diff < 0 else "is not resolved: its CI includes 0"
        text = (
            f"the {c.test} test ranks {a} above {b} on {report} test accuracy ({numbers}), but the mean "
            f"difference {direction}: the test compares distributions (ranks), not means"
        )
    else:
        text = f"no significant difference between {a} and {b} on {report} test accuracy ({numbers})"
    return Statement(dataset, report, c, text)


_VERDICT_CELL = {
    Verdict.A_BETTER: "first better",
    Verdict.B_BETTER: "second better",
    Verdict.NO_DIFFERENCE: "no significant difference",
}


def format_markdown(report: SignificanceReport) -> str:
    """The report as Markdown: per dataset the statements, then a table of every number behind them."""
    lines = [
        "## Significance",
        "",
        f"Metric: final test accuracy (%) of each run's final incumbent, 200-epoch seed mean, on the report "
        f"dataset. Two-sided tests at alpha = {report.alpha:g}, Holm-corrected over the pairs of each "
        f"dataset; Wilcoxon signed-rank where both strategies hold the same runs (paired by seed), "
        f"Mann-Whitney U otherwise. A12 = P(first > second) + P(tie) / 2 (Vargha & Delaney: 0.56 small, "
        f"0.64 medium, 0.71 large). Differences are first minus second in accuracy points with "
        f"{report.confidence:.0%} percentile-bootstrap CIs ({report.n_resamples} resamples, seed "
        f"{report.seed}; not adjusted for multiplicity).",
    ]
    for ds in report.datasets:
        runs = ", ".join(f"{display_name(s)} {n}" for s, n in zip(ds.strategies, ds.n_runs, strict=True))
        lines += ["", f"### {ds.dataset} (test accuracy on {ds.report_dataset}; runs: {runs})", ""]
        if not ds.statements:
            lines.append("- only one strategy ran here; nothing to compare")
            continue
        lines += [f"- {s.text}" for s in ds.statements]
        lines += [
            "",
            "| first | second | test | n | mean first | mean second | diff | CI low | CI high "
            "| p | p (Holm) | A12 | Cliff's delta | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in ds.statements:
            c = s.comparison
            n = str(c.n_a) if c.paired else f"{c.n_a}/{c.n_b}"
            lines.append(
                f"| {display_name(c.a)} | {display_name(c.b)} | {c.test} | {n} | {c.mean_a:.2f} "
                f"| {c.mean_b:.2f} | {c.mean_diff:+.2f} | {c.ci.low:.2f} | {c.ci.high:.2f} "
                f"| {c.p_value:.3g} | {c.p_holm:.3g} | {c.a12:.2f} | {c.cliffs_delta:+.2f} | {_VERDICT_CELL[c.verdict]} |"
            )
    if report.friedman is not None:
        f = report.friedman
        ranks = ", ".join(
            f"{display_name(s)} {r:.2f}"
            for s, r in sorted(zip(f.strategies, f.average_ranks, strict=True), key=lambda x: x[1])
        )
        lines += [
            "",
            f"### Across {f.n_tasks} datasets",
            "",
            f"Friedman test over per-dataset mean accuracies: chi2 = {f.statistic:.2f}, p {format_p(f.p_value)} "
            f"(Iman-Davenport F = {f.iman_davenport_f:.2f}, p {format_p(f.iman_davenport_p)}). "
            f"Average ranks (1 = best): {ranks}.",
            *[f"- caveat: {c}" for c in f.caveats],
        ]
    if report.notes:
        lines += ["", *[f"note: {n}" for n in report.notes]]
    return "\n".join(lines)


def statements(report: SignificanceReport) -> tuple[str, ...]:
    """Every statement's text, dataset after dataset."""
    return tuple(s.text for ds in report.datasets for s in ds.statements)


__all__ = [
    "DIRECTORY",
    "DISPLAY_NAMES",
    "METRIC",
    "SEED_SCHEME",
    "DatasetSignificance",
    "SignificanceReport",
    "Statement",
    "display_name",
    "format_markdown",
    "format_p",
    "significance",
    "significance_of",
    "statements",
]
