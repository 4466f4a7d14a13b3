"""Rank agreement between two measurements of the same archs (live training vs the table, a proxy vs
accuracy): Spearman's rho and Kendall's tau-b with p-values, from scipy.stats. In the core because both
the live trainer's validation and the analysis read it; the scatter plot is `analysis.correlation`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nasbench_suite.errors import ConfigError


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
