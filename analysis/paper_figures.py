"""The figures a paper needs beside the anytime curves: where the final accuracies lie, which pairs
differ, how often the optimum was found, and whether validation picked what test confirms.

Pure statistics first (frozen results), then one plotting function per figure, which returns a
`matplotlib.figure.Figure` on an Agg canvas (no pyplot state, nothing shown) with every strategy in its
fixed colour (`analysis.colors`).

- `plot_final_distribution`: per search dataset, a violin of the final test accuracy of every strategy's
  runs with its median, and the best arch of the benchmark as a dashed line;
- `plot_pairwise_matrix`: Vargha-Delaney A12 of the row strategy over the column strategy, with the
  Holm-corrected significance of each pair (`analysis.stats.pairwise_tests` / `analysis.significance`);
- `top_k_hits` / `plot_top_k_hits`: the share of runs whose final incumbent is the benchmark's best arch
  (top 1) or among its 10 / 100 best (by the reported 200-epoch test accuracy);
- `plot_valid_vs_test`: each run's final incumbent, its validation accuracy against its test accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nasbench_suite.analysis.colors import band_hatch, strategy_color
from nasbench_suite.analysis.stats import PairComparison
from nasbench_suite.datasets import report_dataset
from nasbench_suite.errors import ConfigError
from nasbench_suite.store import Store

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EPOCHS = 200
TOP_K = (1, 10, 100)
_RC = {"axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
       "font.size": 9, "legend.fontsize": 8}  # fmt: skip


def _figure(n_panels: int, *, width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * n_panels, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(1, n_panels, squeeze=False)[0])


def _title(dataset: str) -> str:
    shown = report_dataset(dataset)
    return dataset if shown == dataset else f"{dataset} (test on {shown})"


# ========================================================================================== statistics
@dataclass(frozen=True)
class TopKHits:
    """shares[(strategy, dataset)][i]: the fraction of that cell's runs whose final incumbent is among the
    `ks[i]` best archs of the dataset's reported test accuracy (ties at the k-th value count as in)."""

    ks: tuple[int, ...]
    strategies: tuple[str, ...]
    datasets: tuple[str, ...]
    shares: Mapping[tuple[str, str], tuple[float, ...]]
    runs: Mapping[tuple[str, str], int]


def top_k_hits(incumbents: pd.DataFrame, store: Store, *, ks: Sequence[int] = TOP_K) -> TopKHits:
    """From `analysis.tables.final_incumbents` (strategy, dataset, run, arch_index)."""
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ConfigError(f"ks must be whole numbers >= 1, got {ks!r}")
    datasets = tuple(sorted(set(incumbents["dataset"])))
    strategies = tuple(dict.fromkeys(incumbents["strategy"]))
    shares, runs = {}, {}
    for d in datasets:
        values = np.asarray(
            store.table(report_dataset(d), "test_acc", EPOCHS).column("mean"), dtype=np.float64
        )
        ordered = np.sort(values[np.isfinite(values)])[::-1]
        thresholds = [ordered[min(k, ordered.size) - 1] for k in ks]
        for s in strategies:
            archs = incumbents.loc[(incumbents["strategy"] == s) & (incumbents["dataset"] == d), "arch_index"]
            if archs.empty:
                continue
            found = values[archs.to_numpy(dtype=np.int64)]
            shares[(s, d)] = tuple(float((found >= t).mean()) for t in thresholds)
            runs[(s, d)] = len(found)
    return TopKHits(ks, strategies, datasets, shares, runs)


# ============================================================================================= figures
def plot_final_distribution(runs: pd.DataFrame, optima: Mapping[str, float]) -> Figure:
    """One panel per search dataset: a violin of each strategy's final test accuracy over its runs (white
    dot: the median; the body is a kernel density, cut at the observed range) and the benchmark's best
    arch (dashed)."""
    from matplotlib import rc_context

    datasets = sorted(set(runs["dataset"]))
    strategies = list(dict.fromkeys(runs["strategy"]))
    with rc_context(_RC):  # type: ignore[arg-type]  # matplotlib types rc keys as literals
        fig, axes = _figure(len(datasets), width=max(3.6, 0.55 * len(strategies) + 1.4), height=3.4)
        for ax, d in zip(axes, datasets, strict=True):
            shown = [s for s in strategies if ((runs["strategy"] == s) & (runs["dataset"] == d)).any()]
            data = [runs.loc[(runs["strategy"] == s) & (runs["dataset"] == d), "final_test"].dropna().to_numpy()
                    for s in shown]  # fmt: skip
            keep = [i for i, v in enumerate(data) if v.size]
            positions = np.arange(1, len(keep) + 1)
            for pos, i in zip(positions, keep, strict=True):
                color = strategy_color(shown[i])
                if np.ptp(data[i]) > 0:  # a density needs a spread; a constant sample is drawn as a bar
                    (body,) = ax.violinplot(data[i], positions=[pos], showextrema=False, widths=0.8)["bodies"]
                    body.set_facecolor(color)
                    body.set_edgecolor(color)
                    body.set_alpha(0.55)
                else:
                    ax.plot([pos - 0.3, pos + 0.3], [data[i][0]] * 2, color=color, lw=3)
            if keep:
                medians = [float(np.median(data[i])) for i in keep]
                ax.scatter(positions, medians, s=14, color="white", edgecolor="black", zorder=3, lw=0.7,
                           label="median")  # fmt: skip
            if d in optima:
                ax.axhline(optima[d], color="black", ls="--", lw=1, label=f"best arch {optima[d]:.2f}")
            ax.set_xticks(positions, [shown[i] for i in keep], rotation=45, ha="right")
            ax.set_title(_title(d))
            ax.set_ylabel(f"final test accuracy on {report_dataset(d)} (%)")
            ax.legend(loc="lower right")
    return fig


def plot_pairwise_matrix(
    comparisons: Sequence[PairComparison], strategies: Sequence[str], *, title: str = ""
) -> Figure:
    """Cell (row, column): A12 = P(row's run beats column's run) + ties / 2, from blue (column better)
    through white (0.5) to red (row better); '*' marks a Holm-corrected p below each pair's alpha."""
    from matplotlib import rc_context

    names = list(strategies)
    index = {s: i for i, s in enumerate(names)}
    k = len(names)
    a12 = np.full((k, k), np.nan)
    star = np.zeros((k, k), dtype=bool)
    for c in comparisons:
        if c.a not in index or c.b not in index:
            continue
        i, j = index[c.a], index[c.b]
        a12[i, j], a12[j, i] = c.a12, 1.0 - c.a12
        star[i, j] = star[j, i] = c.p_holm < c.alpha
    with rc_context({"font.size": 8}):
        fig, (ax,) = _figure(1, width=1.6 + 0.55 * k, height=1.2 + 0.5 * k)
        image = ax.imshow(np.ma.masked_invalid(a12), cmap="RdBu_r", vmin=0.0, vmax=1.0)
        for i in range(k):
            for j in range(k):
                if i != j and np.isfinite(a12[i, j]):
                    dark = abs(a12[i, j] - 0.5) > 0.3
                    ax.text(j, i, f"{a12[i, j]:.2f}{'*' if star[i, j] else ''}", ha="center", va="center",
                            color="white" if dark else "black")  # fmt: skip
        ax.set_xticks(range(k), names, rotation=45, ha="right")
        ax.set_yticks(range(k), names)
        ax.set_xlabel("column strategy")
        ax.set_ylabel("row strategy")
        if title:
            ax.set_title(title)
        fig.colorbar(image, ax=ax, label="A12 (row over column)", shrink=0.8)
    return fig


def plot_top_k_hits(hits: TopKHits) -> Figure:
    """One panel per search dataset: for each strategy, the share of runs (%) whose final incumbent is
    the best arch, or among the 10 / 100 best; one hatch per k."""
    from matplotlib import rc_context
    from matplotlib.patches import Patch

    n = len(hits.strategies)
    with rc_context(_RC):  # type: ignore[arg-type]  # matplotlib types rc keys as literals
        fig, axes = _figure(len(hits.datasets), width=max(3.8, 0.6 * n + 1.6), height=3.4)
        width = 0.8 / len(hits.ks)
        for ax, d in zip(axes, hits.datasets, strict=True):
            shown = [s for s in hits.strategies if (s, d) in hits.shares]
            for m in range(len(hits.ks)):
                x = np.arange(len(shown)) + (m - (len(hits.ks) - 1) / 2) * width
                y = [100 * hits.shares[(s, d)][m] for s in shown]
                ax.bar(x, y, width, color=[strategy_color(s) for s in shown], edgecolor="black", lw=0.5,
                       hatch=band_hatch(m) if m else None, alpha=0.85)  # fmt: skip
            ax.set_xticks(np.arange(len(shown)), shown, rotation=45, ha="right")
            ax.set_ylim(0, 100)
            ax.set_ylabel("runs (%)")
            ax.set_title(_title(d))
            ax.legend(
                handles=[Patch(facecolor="white", edgecolor="black", hatch=band_hatch(m) if m else None,
                               label="the best arch" if k == 1 else f"top {k}") for m, k in enumerate(hits.ks)],
                loc="upper left",
            )  # fmt: skip
    return fig


def plot_valid_vs_test(runs: pd.DataFrame) -> Figure:
    """One panel per search dataset: every run's final incumbent as a point (its 200-epoch validation
    accuracy on the search dataset, its test accuracy on the reported one), a colour per strategy."""
    from matplotlib import rc_context

    datasets = sorted(set(runs["dataset"]))
    with rc_context(_RC):  # type: ignore[arg-type]  # matplotlib types rc keys as literals
        fig, axes = _figure(len(datasets), width=3.8, height=3.6)
        for ax, d in zip(axes, datasets, strict=True):
            own = runs[runs["dataset"] == d]
            for s in dict.fromkeys(own["strategy"]):
                mine = own[own["strategy"] == s]
                ax.scatter(mine["final_valid"], mine["final_test"], s=7, alpha=0.45, lw=0,
                           color=strategy_color(s), label=f"{s} (n={len(mine)})")  # fmt: skip
            ax.set_xlabel(f"validation accuracy on {d} (%)")
            ax.set_ylabel(f"test accuracy on {report_dataset(d)} (%)")
            ax.set_title(_title(d))
            ax.legend(loc="lower right", markerscale=2)
    return fig
