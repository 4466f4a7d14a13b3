"""Figures of a comparison: anytime performance, regret, average rank over time, a critical-difference
diagram and Pareto fronts for hardware-aware searches.

Array conventions (the statistics are pure functions over them; the plots only draw):

- `Curves`: per (strategy, search dataset) an array `(n_runs, n_points)`, each run's step function on one
  shared grid: the value after the last training evaluation at or before the grid point (the semantics
  of `nasbench_suite.trajectory.step_at`), NaN before the run's first evaluation. Only rows with
  `epoch > 0` count; measurement rows (`epoch == 0`, with or without a `measure` column) are ignored.
- `scores[strategy]`: `(n_runs, n_tasks)` final values, higher is better, runs paired by seed (run r of
  every strategy used the same seeds), for the critical-difference diagram.
- Pareto points: `(n, 2)` arrays of `(latency, accuracy)`; latency is minimized, accuracy maximized.

Every figure is a `matplotlib.figure.Figure` on an Agg canvas made inside the function: nothing touches
pyplot's global state, nothing is shown or printed. `save(fig, path)` writes `path.png` and `path.svg`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nasbench_suite.analysis.colors import band_hatch, strategy_colors
from nasbench_suite.analysis.stats import nemenyi_cd
from nasbench_suite.datasets import report_dataset
from nasbench_suite.errors import ConfigError
from nasbench_suite.seeding import SeedLike, as_generator
from nasbench_suite.store import Store

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis as MplAxis
    from matplotlib.figure import Figure

Axis = Literal["time", "evaluations"]
Statistic = Literal["mean", "median"]
EPOCHS = 200

_X_LABEL = {"time": "simulated time (s)", "evaluations": "evaluations"}
_RC = {
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 9,
    "legend.fontsize": 8,
}


# ================================================================================================ curves
@dataclass(frozen=True, eq=False)
class Curves:
    """values[(strategy, dataset)]: (n_runs, n_points) on `grid`; runs[(strategy, dataset)]: the run
    numbers of those rows. `quantity` names what the values are (it labels the y axis)."""

    axis: Axis
    grid: np.ndarray
    values: Mapping[tuple[str, str], np.ndarray]
    runs: Mapping[tuple[str, str], np.ndarray]
    quantity: str = "incumbent test accuracy (%)"

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(sorted({s for s, _ in self.values}))

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(sorted({d for _, d in self.values}))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def anytime_curves(
    rows: pd.DataFrame,
    *,
    axis: Axis = "time",
    grid: np.ndarray | None = None,
    n_points: int = 200,
    value: str = "incumbent_test",
) -> Curves:
    """Every run's `value` as a step function of simulated time (`axis="time"`, `time_s`) or of the
    number of training evaluations (`axis="evaluations"`), sampled on `grid`.

    The default grid is `n_points` log-spaced times from the earliest first evaluation to the latest
    evaluation (time), or 1..the largest evaluation count (evaluations). Vectorized over all runs: one
    sort, one `searchsorted` on the grid and a forward fill.
    """
    if axis not in _X_LABEL:
        raise ConfigError(f"axis must be one of {', '.join(_X_LABEL)}, but got {axis!r}")
    needed = ["strategy", "dataset", "run", "step", "epoch", "time_s", value]
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise ConfigError(
            f"the rows must have the columns {', '.join(needed)}, but got none named {', '.join(missing)}"
        )
    train = rows.loc[rows["epoch"] > 0, ["strategy", "dataset", "run", "step", "time_s", value]]
    if train.empty:
        raise ConfigError("the rows must hold at least one training evaluation (epoch > 0), but got none")
    run_code = train.groupby(["strategy", "dataset", "run"], sort=True).ngroup().to_numpy()
    step = train["step"].to_numpy()
    order = np.lexsort((step, run_code))
    run_code = run_code[order]
    v = train[value].to_numpy(dtype=np.float64)[order]
    n_runs = int(run_code[-1]) + 1
    starts = np.flatnonzero(np.r_[True, run_code[1:] != run_code[:-1]])
    if axis == "time":
        x = train["time_s"].to_numpy(dtype=np.float64)[order]
        if (np.diff(x)[run_code[1:] == run_code[:-1]] < 0).any():
            raise ConfigError("time_s must not decrease from one step of a run to the next, but it does")
    else:
        x = (np.arange(len(run_code)) - starts[run_code] + 1).astype(np.float64)
    if grid is None:
        if not (isinstance(n_points, int) and n_points >= 2):
            raise ConfigError(f"n_points must be an integer >= 2, but got {n_points!r}")
        lo, hi = float(x[starts].min()), float(x.max())
        if axis == "evaluations":
            grid = np.arange(1.0, hi + 1)
        elif 0 < lo < hi:
            grid = np.geomspace(lo, hi, n_points)
        else:
            grid = np.linspace(lo, hi, n_points) if lo < hi else np.array([hi])
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.isfinite(grid).all() or (np.diff(grid) <= 0).any():
        raise ConfigError(
            f"grid must be a non-empty, finite, strictly increasing 1-D array, but got {grid!r}"
        )
    n_grid = grid.size
    # the evaluation finishing at x holds from the first grid point >= x on (step_at: last point <= t)
    g = np.searchsorted(grid, x, side="left")
    keep = g < n_grid
    flat = run_code[keep] * n_grid + g[keep]
    v = v[keep]
    last = np.r_[flat[1:] != flat[:-1], True]  # within a run the order is by step, so the last one wins
    out = np.full(n_runs * n_grid, np.nan)
    hit = np.zeros(n_runs * n_grid, dtype=bool)
    out[flat[last]], hit[flat[last]] = v[last], True
    grid_out, grid_hit = out.reshape(n_runs, n_grid), hit.reshape(n_runs, n_grid)
    source = np.maximum.accumulate(np.where(grid_hit, np.arange(n_grid), 0), axis=1)
    filled = np.take_along_axis(grid_out, source, axis=1)

    keys = train.iloc[order[starts]][["strategy", "dataset", "run"]].to_numpy()
    values: dict[tuple[str, str], np.ndarray] = {}
    runs: dict[tuple[str, str], np.ndarray] = {}
    bounds = np.flatnonzero(np.r_[True, (keys[1:, :2] != keys[:-1, :2]).any(axis=1), True])
    for a, b in itertools.pairwise(bounds):
        key = (str(keys[a, 0]), str(keys[a, 1]))
        values[key] = _frozen(filled[a:b])
        runs[key] = _frozen(keys[a:b, 2].astype(np.int64))
    return Curves(axis, _frozen(grid), MappingProxyType(values), MappingProxyType(runs))


def optima(store: Store, datasets: Sequence[str]) -> dict[str, float]:
    """Per search dataset, the best 200-epoch seed-mean test accuracy over all archs of the dataset its
    results are reported on (cifar10-valid -> cifar10): cifar10 94.37, cifar100 73.51, ImageNet16-120 47.31."""
    out = {}
    for d in datasets:
        column = np.asarray(store.table(report_dataset(d), "test_acc", EPOCHS).column("mean"))
        out[d] = float(np.nanmax(column))
    return out


def regret_curves(curves: Curves, optima: Mapping[str, float]) -> Curves:
    """optimum - value, per dataset (the optima of `optima`)."""
    missing = sorted({d for _, d in curves.values} - set(optima))
    if missing:
        raise ConfigError(
            f"optima must cover every dataset of the curves, but got none for {', '.join(missing)}"
        )
    values = {k: _frozen(optima[k[1]] - v) for k, v in curves.values.items()}
    return Curves(curves.axis, curves.grid, MappingProxyType(values), curves.runs, "regret (%)")


# ============================================================================================= bootstrap
@dataclass(frozen=True, eq=False)
class Band:
    """A statistic over runs at every grid point and its percentile-bootstrap confidence band; NaN at
    points before every run has made its first evaluation."""

    center: np.ndarray
    low: np.ndarray
    high: np.ndarray
    statistic: Statistic
    confidence: float
    n_runs: int


def bootstrap_band(
    values: np.ndarray,
    *,
    rng: SeedLike,
    statistic: Statistic = "mean",
    n_boot: int = 1000,
    confidence: float = 0.95,
) -> Band:
    """Percentile bootstrap over runs (rows of `values`, `(n_runs, n_points)`): `n_boot` resamples of the
    runs with replacement, the statistic of each at every point, and its (1 - confidence) / 2 quantiles.

    The mean of a resample is a matrix product with the resample's counts, so 1000 resamples of 500 runs
    x 200 points take milliseconds; the median sorts, in chunks."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ConfigError(f"values must be a (n_runs >= 1, n_points) array, but got shape {values.shape}")
    if statistic not in ("mean", "median"):
        raise ConfigError(f"statistic must be 'mean' or 'median', but got {statistic!r}")
    if not (isinstance(n_boot, int) and n_boot >= 1):
        raise ConfigError(f"n_boot must be an integer >= 1, but got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), but got {confidence!r}")
    gen = as_generator(rng)
    n, p = values.shape
    complete = ~np.isnan(values).any(axis=0)
    filled = np.where(complete, values, 0.0)
    picks = gen.integers(0, n, size=(n_boot, n))
    if statistic == "mean":
        center = filled.mean(axis=0)
        counts = np.bincount((np.arange(n_boot)[:, None] * n + picks).ravel(), minlength=n_boot * n)
        boot = counts.reshape(n_boot, n).astype(np.float64) @ filled / n
    else:
        center = np.median(filled, axis=0)
        boot = np.empty((n_boot, p))
        chunk = max(1, 4_000_000 // max(n * p, 1))
        for a in range(0, n_boot, chunk):
            boot[a : a + chunk] = np.median(filled[picks[a : a + chunk]], axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(boot, [tail, 1 - tail], axis=0)
    nan = np.where(complete, 1.0, np.nan)
    return Band(_frozen(center * nan), _frozen(low * nan), _frozen(high * nan), statistic, confidence, n)


# ================================================================================================= ranks
@dataclass(frozen=True, eq=False)
class RankCurves:
    """ranks[i, p]: strategy i's rank (1 = best, ties averaged) at grid point p, averaged over the tasks
    in which every strategy has a value there (`n_tasks[p]` of them; NaN where none)."""

    axis: Axis
    grid: np.ndarray
    strategies: tuple[str, ...]
    ranks: np.ndarray
    n_tasks: np.ndarray


def average_ranks(
    curves: Curves, *, statistic: Statistic = "mean", higher_is_better: bool = True
) -> RankCurves:
    """Rank the strategies' `statistic` over runs in every task (dataset) at every grid point, then
    average the ranks over tasks."""
    from scipy.stats import rankdata

    strategies, datasets = curves.strategies, curves.datasets
    reduce = np.mean if statistic == "mean" else np.median
    stats = np.full((len(strategies), len(datasets), curves.grid.size), np.nan)
    for i, s in enumerate(strategies):
        for j, d in enumerate(datasets):
            if (s, d) in curves.values:
                stats[i, j] = reduce(curves.values[(s, d)], axis=0)
    signed = -stats if higher_is_better else stats
    ranks = rankdata(signed, axis=0, method="average", nan_policy="propagate")
    ranks = np.where(np.isnan(stats).any(axis=0, keepdims=True), np.nan, ranks)
    valid = ~np.isnan(ranks[0])
    n_tasks = valid.sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean_rank = np.where(valid, ranks, 0.0).sum(axis=1) / np.where(n_tasks > 0, n_tasks, np.nan)
    return RankCurves(curves.axis, curves.grid, strategies, _frozen(mean_rank), _frozen(n_tasks))


# ===================================================================================== critical difference
# The Nemenyi critical difference comes from analysis.stats (Demsar 2006, eq. 5). Blocks here are
# (run, task) cells: runs are paired by seed, so each run of each task ranks the strategies once.


@dataclass(frozen=True, eq=False)
class CriticalDifference:
    """Average ranks (1 = best) sorted best first, the Nemenyi critical difference, and the maximal
    groups of strategies whose average ranks differ by less than it (not significantly different)."""

    strategies: tuple[str, ...]
    average_ranks: np.ndarray
    cd: float
    alpha: float
    n_blocks: int
    cliques: tuple[tuple[str, ...], ...]


def final_scores(runs: pd.DataFrame, *, metric: str = "final_test") -> dict[str, np.ndarray]:
    """scores[strategy]: (n_runs, n_tasks) from the run-metadata frame of `load_runs`, rows = run
    numbers, columns = search datasets (sorted), both the union over strategies; NaN where a run is
    missing."""
    frame = runs.pivot_table(index="run", columns=["dataset", "strategy"], values=metric, aggfunc="first")
    run_ids = sorted(set(runs["run"]))
    datasets = sorted(set(runs["dataset"]))
    out = {}
    for s in sorted(set(runs["strategy"])):
        block = np.full((len(run_ids), len(datasets)), np.nan)
        for j, d in enumerate(datasets):
            if (d, s) in frame.columns:
                block[:, j] = frame[(d, s)].reindex(run_ids).to_numpy(dtype=np.float64)
        out[s] = block
    return out


def critical_difference(
    scores: Mapping[str, np.ndarray], *, alpha: float = 0.05, higher_is_better: bool = True
) -> CriticalDifference:
    """Rank the strategies within every block (each (run, task) cell: runs are paired by seed) and
    compare their average ranks with the Nemenyi critical difference (Demsar 2006)."""
    from scipy.stats import rankdata

    names = list(scores)
    if len(names) < 2:
        raise ConfigError(f"a critical-difference diagram needs >= 2 strategies, but got {names}")
    arrays = [np.asarray(scores[s], dtype=np.float64) for s in names]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ConfigError(f"every strategy's scores must have one shape (n_runs, n_tasks), but got {shapes}")
    blocks = np.stack([a.reshape(-1) for a in arrays], axis=1)  # (n_blocks, k)
    bad = np.isnan(blocks).any(axis=1)
    if bad.any() or blocks.shape[0] == 0:
        raise ConfigError(
            f"scores must be complete (every strategy has every (run, task)), but got {int(bad.sum())} of "
            f"{blocks.shape[0]} blocks with a missing value"
        )
    ranks = rankdata(-blocks if higher_is_better else blocks, axis=1, method="average")
    mean_rank = ranks.mean(axis=0)
    order = np.argsort(mean_rank, kind="stable")
    sorted_names = tuple(names[i] for i in order)
    sorted_ranks = mean_rank[order]
    cd = nemenyi_cd(len(names), blocks.shape[0], alpha=alpha)
    cliques: list[tuple[str, ...]] = []
    reach_prev = -1
    for i in range(len(sorted_names)):
        j = int(np.searchsorted(sorted_ranks, sorted_ranks[i] + cd, side="left")) - 1
        if j > i and j > reach_prev:
            cliques.append(sorted_names[i : j + 1])
            reach_prev = j
    return CriticalDifference(sorted_names, _frozen(sorted_ranks), cd, alpha, blocks.shape[0], tuple(cliques))


# ================================================================================================ pareto
def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points of `(n, 2)` (latency, accuracy), latency minimized and
    accuracy maximized, in order of increasing latency. A point is dominated when another is at least
    as good in both and better in one; identical points do not dominate each other, so all are kept."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ConfigError(f"points must be an (n, 2) array of (latency, accuracy), but got shape {pts.shape}")
    if np.isnan(pts).any():
        raise ConfigError("points must not contain NaN, but got some")
    if len(pts) == 0:
        return np.zeros(0, dtype=np.int64)
    lat, acc = pts[:, 0], pts[:, 1]
    order = np.lexsort((np.arange(len(pts)), -acc, lat))  # latency up, accuracy down, index up
    lat, acc = lat[order], acc[order]
    group_start = np.flatnonzero(np.r_[True, lat[1:] != lat[:-1]])
    group = np.cumsum(np.r_[True, lat[1:] != lat[:-1]]) - 1
    best_in_group = acc[group_start][group]
    best_before = np.r_[-np.inf, np.maximum.accumulate(acc)][group_start][group]
    keep = (acc == best_in_group) & (acc > best_before)
    return order[keep].astype(np.int64)


# Ishibuchi et al. 2018, "How to Specify a Reference Point in Hypervolume Calculation for Fair Performance
# Comparison" (Evolutionary Computation 26(3)): the nadir of the Pareto front plus 1/H of its range, so
# the front's extreme points count; H = 10 here.
REFERENCE_MARGIN = 0.1


def reference_point(points: np.ndarray) -> tuple[float, float]:
    """The hypervolume reference for a (latency, accuracy) cloud: the nadir of its true Pareto front
    pushed out by `REFERENCE_MARGIN` of the front's range. (The worst arch of the whole space, ~10%
    accuracy, would let any front that finds one good arch score ~0.99 of the true one.)"""
    front = np.asarray(points, dtype=np.float64)[pareto_front(points)]
    if len(front) == 0:
        raise ConfigError("a reference point needs at least one point")
    (lat_lo, acc_lo), (lat_hi, acc_hi) = front.min(axis=0), front.max(axis=0)
    return (
        float(lat_hi + REFERENCE_MARGIN * (lat_hi - lat_lo)),
        float(acc_lo - REFERENCE_MARGIN * (acc_hi - acc_lo)),
    )


def hypervolume_2d(front: np.ndarray, reference: Sequence[float]) -> float:
    """The area dominated by the points of `front` ((n, 2) latency, accuracy; dominated points allowed)
    and bounded by `reference` (a latency no better and an accuracy no better than what should count);
    points not strictly better than the reference in both objectives add nothing. Exact."""
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (2,) or not np.isfinite(ref).all():
        raise ConfigError(f"reference must be a finite (latency, accuracy) pair, but got {reference!r}")
    pts = np.asarray(front, dtype=np.float64).reshape(-1, 2) if np.size(front) else np.zeros((0, 2))
    pts = pts[(pts[:, 0] < ref[0]) & (pts[:, 1] > ref[1])]
    if len(pts) == 0:
        return 0.0
    nd = pts[pareto_front(pts)]
    lat, acc = nd[:, 0], nd[:, 1]
    widths = np.diff(np.r_[lat, ref[0]])
    return float(np.sum(widths * (acc - ref[1])))


def arch_points(store: Store, dataset: str, latency_metric: str = "latency_s") -> np.ndarray:
    """(n_archs, 2): every arch's `latency_metric` on `dataset` and its 200-epoch seed-mean test accuracy
    on the dataset its results are reported on (cifar10-valid -> cifar10)."""
    every = np.arange(store.n_archs)
    latency = store.query_many(every, dataset, latency_metric)
    accuracy = store.query_many(every, report_dataset(dataset), "test_acc", epochs=EPOCHS, seed="mean")
    return _frozen(np.column_stack([latency, accuracy]))


# ============================================================================================== drawing
def _figure(n_panels: int = 1, *, width: float = 3.6, height: float = 3.0, sharey: bool = False):
    """A Figure on an Agg canvas and its axes, without pyplot (no global state, never shown)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * n_panels, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n_panels, squeeze=False, sharey=sharey)[0]
    return fig, list(axes)


def _colors(strategies: Sequence[str]) -> dict[str, str]:
    """One fixed colour per strategy name, the same in every figure (`analysis.colors`)."""
    return strategy_colors(strategies)


def _title(dataset: str) -> str:
    shown = report_dataset(dataset)
    return dataset if shown == dataset else f"{dataset} (test on {shown})"


def plot_anytime(
    curves: Curves,
    *,
    rng: SeedLike,
    statistic: Statistic = "mean",
    n_boot: int = 1000,
    confidence: float = 0.95,
    log_y: bool = False,
    legend: Literal["inside", "outside"] = "inside",
) -> Figure:
    """One panel per dataset: the `statistic` over runs of every strategy against time (log x) or
    evaluations, with its bootstrap confidence band (a light fill with edges and a hatch per strategy;
    each legend entry shows both). A run that finished before the end of the axis keeps its last value
    (carried forward), so every run counts at every point after its first evaluation."""
    from matplotlib import rc_context

    gen = as_generator(rng)
    colors = _colors(curves.strategies)
    items: dict[str, tuple[tuple[object, object], str]] = {}
    with rc_context(_RC):  # type: ignore[arg-type]  # matplotlib types rc keys as literals
        fig, axes = _figure(len(curves.datasets))
        for ax, d in zip(axes, curves.datasets, strict=True):
            for k, s in enumerate(curves.strategies):
                if (s, d) not in curves.values:
                    continue
                band = bootstrap_band(
                    curves.values[(s, d)], rng=gen, statistic=statistic, n_boot=n_boot, confidence=confidence
                )
                (line,) = ax.step(curves.grid, band.center, where="post", color=colors[s], lw=1.4)
                # a light fill with the strategy's edge and its own hatch: bands stay apart when they overlap
                patch = ax.fill_between(curves.grid, band.low, band.high, step="post", facecolor=colors[s],
                                        alpha=0.12, edgecolor=colors[s], lw=0.6, hatch=band_hatch(k))  # fmt: skip
                items.setdefault(s, ((patch, line), f"{s} (n={band.n_runs})"))
            _decorate(ax, curves.axis, log_y)
            ax.set_title(_title(d))
        axes[0].set_ylabel(f"{statistic} {curves.quantity}")
        handles, labels = [h for h, _ in items.values()], [t for _, t in items.values()]
        title = f"line: {statistic}; band: {confidence:.0%} bootstrap CI"
        if legend == "outside":
            fig.legend(handles, labels, loc="outside right upper", title=title)
        else:
            axes[-1].legend(handles, labels, loc="best", title=title)
    return fig


def plot_regret(
    curves: Curves,
    optima: Mapping[str, float],
    *,
    rng: SeedLike,
    statistic: Statistic = "mean",
    n_boot: int = 1000,
    confidence: float = 0.95,
    legend: Literal["inside", "outside"] = "inside",
) -> Figure:
    """`plot_anytime` of optimum - incumbent test accuracy on a log y scale."""
    return plot_anytime(
        regret_curves(curves, optima),
        rng=rng,
        statistic=statistic,
        n_boot=n_boot,
        confidence=confidence,
        log_y=True,
        legend=legend,
    )


def _decorate(ax: Axes, axis: Axis, log_y: bool) -> None:
    if axis == "time":
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
    if log_y:
        ax.set_yscale("log", nonpositive="mask")
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel(_X_LABEL[axis])


def _plain_log_ticks(axis: MplAxis) -> None:
    """Ticks at 1, 2 and 5 per decade labelled as plain numbers (200, 500, 1000), unlabelled minors."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def plot_average_rank(ranks: RankCurves) -> Figure:
    """Average rank (1 = best) of every strategy over time or evaluations."""
    from matplotlib import rc_context

    colors = _colors(ranks.strategies)
    with rc_context(_RC):  # type: ignore[arg-type]  # matplotlib types rc keys as literals
        fig, (ax,) = _figure(1, width=5.0)
        for i, s in enumerate(ranks.strategies):
            ax.step(ranks.grid, ranks.ranks[i], where="post", color=colors[s], lw=1.4, label=s)
        _decorate(ax, ranks.axis, False)
        ax.set_ylim(len(ranks.strategies) + 0.25, 0.75)  # rank 1 at the top
        n = ranks.n_tasks[ranks.n_tasks > 0]
        tasks = f"{n.min()}" if n.size and n.min() == n.max() else f"{n.min()}-{n.max()}" if n.size else "0"
        ax.set_ylabel(f"average rank over {tasks} task(s)")
        ax.legend(loc="best")
    return fig


def plot_critical_difference(result: CriticalDifference) -> Figure:
    """Demsar's (2006) diagram: an axis of average ranks (1 = best, on the left), each strategy placed
    on it, thick bars joining groups not significantly different, and the critical difference above."""
    from matplotlib import rc_context

    k = len(result.strategies)
    n_left = (k + 1) // 2
    n_cliques = len(result.cliques)
    row = 0.25
    with rc_context({"font.size": 9}):
        fig, (ax,) = _figure(1, width=7.0, height=1.2 + 0.22 * (max(n_left, k - n_left) + n_cliques))
        ax.set_axis_off()
        lo, hi = 1.0, float(k)
        ax.plot([lo, hi], [0, 0], color="black", lw=1)
        for r in range(1, k + 1):
            ax.plot([r, r], [0, 0.06], color="black", lw=1)
            ax.text(r, 0.1, str(r), ha="center", va="bottom")
        for half in np.arange(1.5, k, 1.0):
            ax.plot([half, half], [0, 0.03], color="black", lw=0.7)
        ax.plot([lo, lo + result.cd], [0.45, 0.45], color="black", lw=1.2)
        for x in (lo, lo + result.cd):
            ax.plot([x, x], [0.41, 0.49], color="black", lw=1.2)
        ax.text(lo + result.cd / 2, 0.52, f"CD = {result.cd:.2f} (α = {result.alpha:g}, N = {result.n_blocks})",
                ha="center", va="bottom")  # fmt: skip
        first_label = -(0.2 + 0.12 * n_cliques) - row
        for i, (name, rank) in enumerate(zip(result.strategies, result.average_ranks, strict=True)):
            left = i < n_left
            y = first_label - row * (i if left else k - 1 - i)
            x_text = lo - 0.15 * (k - 1) / 3 - 0.05 if left else hi + 0.15 * (k - 1) / 3 + 0.05
            ax.plot([rank, rank, x_text], [0, y, y], color="black", lw=0.8)
            ax.text(x_text - 0.02 if left else x_text + 0.02, y, f"{name} ({rank:.2f})",
                    ha="right" if left else "left", va="center", clip_on=False)  # fmt: skip
        ranks = dict(zip(result.strategies, result.average_ranks, strict=True))
        for j, clique in enumerate(result.cliques):
            y = -0.12 - 0.12 * j
            ax.plot([ranks[clique[0]] - 0.03, ranks[clique[-1]] + 0.03], [y, y], color="black", lw=3.5,
                    solid_capstyle="butt")  # fmt: skip
        bottom = first_label - row * max(n_left, k - n_left)
        ax.set_xlim(lo - 0.2 * (k - 1) / 3 - 0.1, hi + 0.2 * (k - 1) / 3 + 0.1)
        ax.set_ylim(bottom, 0.75)
    return fig


def plot_pareto_fronts(
    all_points: np.ndarray,
    found: Mapping[str, Sequence[np.ndarray]],
    *,
    latency_label: str = "latency",
    accuracy_label: str = "test accuracy (%)",
    reference: Sequence[float] | None = None,
) -> Figure:
    """Every arch (grey), the true Pareto front (black) and each run's found front (one thin line per
    run, a colour per strategy). The legend gives each strategy's hypervolume as a fraction of the true
    front's (mean ± std over runs), with `reference` (default: `reference_point(all_points)`)."""
    from matplotlib import rc_context

    pts = np.asarray(all_points, dtype=np.float64)
    true = pts[pareto_front(pts)]
    ref = reference_point(pts) if reference is None else tuple(reference)
    true_hv = hypervolume_2d(true, ref)
    colors = _colors(list(found))
    with rc_context(_RC):  # type: ignore[arg-type]  # matplotlib types rc keys as literals
        fig, (ax,) = _figure(1, width=5.5, height=4.0)
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color="0.75", lw=0, rasterized=True, label="all archs")
        _staircase(ax, true, ref, color="black", lw=1.6, label="true front")
        for s, fronts in found.items():
            runs = [np.asarray(f, dtype=np.float64).reshape(-1, 2) for f in fronts]
            hv = np.array([hypervolume_2d(f, ref) for f in runs]) / true_hv if true_hv > 0 else np.array([])
            label = s
            if hv.size:
                spread = f" ± {hv.std(ddof=1):.3f}" if hv.size > 1 else ""
                label = f"{s}: HV/true {hv.mean():.3f}{spread} (n={hv.size})"
            for i, f in enumerate(runs):
                _staircase(ax, f[pareto_front(f)], ref, color=colors[s], lw=0.8, alpha=0.5,
                           label=None if i else label)  # fmt: skip
        ax.set_xlabel(latency_label)
        ax.set_ylabel(accuracy_label)
        ax.legend(loc="lower right")
    return fig


def _staircase(ax: Axes, front: np.ndarray, ref: Sequence[float], **style: Any) -> None:
    """The attainment line of a front sorted by latency: flat to the right of each point."""
    if len(front) == 0:
        return
    x = np.r_[front[:, 0], ref[0]]
    y = np.r_[front[:, 1], front[-1, 1]]
    ax.step(x, y, where="post", **style)
    ax.plot(front[:, 0], front[:, 1], "o", ms=2.5, color=style.get("color"), alpha=style.get("alpha", 1.0))


# ================================================================================================= save
def save(fig: Figure, path_without_suffix: Path | str) -> tuple[Path, Path]:
    """Write `<path>.png` (150 dpi) and `<path>.svg` (no timestamp, so reruns are identical); returns
    both paths. The figure stays open for the caller."""
    base = Path(path_without_suffix)
    if base.suffix.lower() in (".png", ".svg"):
        raise ConfigError(f"path_without_suffix must not end in .png or .svg, but got {str(base)!r}")
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = Path(f"{base}.png"), Path(f"{base}.svg")
    from matplotlib import rc_context

    with rc_context({"svg.hashsalt": "nasbench-suite"}):  # stable element ids
        fig.savefig(png, dpi=150, bbox_inches="tight")
        fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    return png, svg
