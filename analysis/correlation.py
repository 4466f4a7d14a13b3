"""Rank agreement between two measurements of the same archs (live training vs the table, a proxy vs
accuracy): Spearman's rho and Kendall's tau-b with p-values, and the scatter plot that shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class RankCorrelation:
    n: int
    spearman: float
    spearman_p: float
    kendall: float
    kendall_p: float

    def __str__(self) -> str:
        return (
            f"Spearman {self.spearman:+.3f} (p={self.spearman_p:.1e}), "
            f"Kendall {self.kendall:+.3f} (p={self.kendall_p:.1e}), n={self.n}"
        )


def rank_correlation(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, keep_infinite: bool = False
) -> RankCorrelation:
    """Spearman and Kendall (tau-b, ties counted) over the pairs where both values are finite, or with
    `keep_infinite` not NaN (a proxy's -inf, e.g. NASWOT of a cell without a path, ranks lowest)."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ConfigError(f"rank_correlation needs two 1-d arrays of one length, got {x.shape} and {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y)) if keep_infinite else np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3:
        raise ConfigError(f"rank correlation needs at least 3 pairs of finite values, got {len(x)}")
    rho = stats.spearmanr(x, y)
    tau = stats.kendalltau(x, y)
    return RankCorrelation(
        len(x), float(rho.statistic), float(rho.pvalue), float(tau.statistic), float(tau.pvalue)
    )


def plot_correlation(
    x: np.ndarray,
    y: np.ndarray,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    highlight: Sequence[int] = (),
) -> Figure:
    """Scatter of `y` against `x` with the rank correlations in the title; `highlight` marks some points."""
    from nasbench_suite.analysis.plots import _figure

    result = rank_correlation(x, y)
    fig, (ax,) = _figure(width=4.2, height=3.6)
    ax.scatter(x, y, s=22, color="#1f77b4", alpha=0.85, edgecolors="none")
    if highlight:
        ax.scatter(
            np.asarray(x)[list(highlight)],
            np.asarray(y)[list(highlight)],
            s=60,
            facecolors="none",
            edgecolors="#d62728",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(
        f"{title}\nSpearman {result.spearman:.2f}, Kendall {result.kendall:.2f} (n={result.n})", fontsize=9
    )
    ax.grid(alpha=0.3)
    return fig
