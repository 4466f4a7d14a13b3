"""The scatter plot of two measurements of the same archs with their rank agreement
(`nasbench_suite.rank_agreement`: Spearman's rho and Kendall's tau-b)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.rank_agreement import rank_correlation

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
