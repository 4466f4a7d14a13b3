"""Live zero-cost proxies beside the correlations Abdelfattah et al. (ICLR 2021) published for NAS-Bench-201.

Reads what `nasbench-suite validate proxies` writes (`validate_proxies.json`: the sampled archs, each
proxy's score and seconds per arch, the accuracy they are correlated with) and the published table
`data/published/zero_cost_nb201.json`. Per proxy: our Spearman rho over the sampled archs with a 95%
percentile-bootstrap interval (scipy.stats.bootstrap, archs resampled with their scores), the published
|rho| over all 15625 archs (CIFAR-10 column), and the seconds it took. A proxy the paper did not report
prints "published value not available". -inf scores (a singular kernel) rank lowest, as in the live
validation; NaN scores are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from nasbench_suite.analysis.reproduce import NOT_AVAILABLE, PublishedTable, PublishedValue
from nasbench_suite.errors import ResultsError

COLUMN = "CIFAR-10"


@dataclass(frozen=True)
class ProxyComparison:
    proxy: str
    n_archs: int
    spearman: float
    low: float
    high: float
    seconds_per_arch: float
    published: PublishedValue | None  # None: the published table has no row for this proxy


def _ranked(scores: np.ndarray) -> np.ndarray:
    finite = scores[np.isfinite(scores)]
    floor = (finite.min() - 1.0) if finite.size else 0.0
    return np.where(np.isneginf(scores), floor, scores)


def compare(
    validation: Mapping[str, Any],
    published: PublishedTable,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
) -> tuple[ProxyComparison, ...]:
    """One comparison per proxy of `validation` (the JSON of `ProxyValidation.to_json`)."""
    if "scores" not in validation or "accuracy" not in validation:
        raise ResultsError("the validation must be the JSON `validate proxies` writes (scores, accuracy)")
    accuracy = np.array([math.nan if a is None else a for a in validation["accuracy"]], dtype=np.float64)
    names = {r.name: r for r in published.rows}
    out = []
    for proxy in validation["proxies"]:
        raw = validation["scores"][proxy]
        # the JSON writes -inf and NaN as null; the live validation's n_used tells them apart only in total,
        # so a null is taken as NaN (left out) unless the proxy's definition gives -inf (naswot, zen)
        fill = -math.inf if proxy in ("naswot", "zen") else math.nan
        scores = np.array([fill if s is None else s for s in raw], dtype=np.float64)
        keep = ~np.isnan(scores) & ~np.isnan(accuracy)
        x, y = _ranked(scores[keep]), accuracy[keep]
        rho = float(sps.spearmanr(x, y).statistic)
        ci = sps.bootstrap(
            (x, y),
            lambda a, b: sps.spearmanr(a, b).statistic,
            paired=True,
            vectorized=False,
            n_resamples=n_resamples,
            method="percentile",
            rng=rng,
        ).confidence_interval
        seconds = np.array([s for s in validation["seconds"][proxy] if s is not None], dtype=np.float64)
        row = names.get(proxy)
        out.append(
            ProxyComparison(
                proxy,
                int(keep.sum()),
                rho,
                float(ci.low),
                float(ci.high),
                float(seconds.mean()) if seconds.size else math.nan,
                None if row is None else row.cell(COLUMN),
            )
        )
    return tuple(out)


def format_markdown(
    rows: tuple[ProxyComparison, ...],
    validation: Mapping[str, Any],
    published: PublishedTable,
    *,
    wall_s: float | None = None,
) -> str:
    build = np.array([s for s in validation.get("build_seconds", []) if s is not None], dtype=np.float64)
    total = (
        sum(r.seconds_per_arch * r.n_archs for r in rows if math.isfinite(r.seconds_per_arch)) + build.sum()
    )
    n = len(validation["indices"])
    lines = [
        f"# {published.title}",
        "",
        f"Published: {published.citation} ({published.reference}).",
        "",
        f"Ours: live proxies on {n} archs drawn uniformly (seed {validation['seed']}), the full-size CIFAR-10 "
        f"network, one minibatch of {validation['batch']} training images; Spearman rho with cifar10-valid's "
        "200-epoch validation accuracy (seed mean), 95% percentile-bootstrap interval over the archs. "
        f"Published: |rho| over all 15625 archs with the CIFAR-10 test accuracy of the cifar10-valid networks.",
        "",
        "| proxy | ours: Spearman [95% CI] | archs | s / arch | published (CIFAR-10) | published cell |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        p = r.published
        shown = NOT_AVAILABLE if p is None or p.mean is None else f"{p.mean:.3f}"
        status = "no row" if p is None else p.status + (f" ({', '.join(p.sources)})" if p.sources else "")
        ci = f" [{r.low:.3f}, {r.high:.3f}]" if math.isfinite(r.low) and math.isfinite(r.high) else " [–]"
        lines.append(
            f"| {r.proxy} | {r.spearman:.3f}{ci} | {r.n_archs} | {r.seconds_per_arch:.2f} | {shown} | {status} |"
        )
    run = f"{total:,.0f} s of scoring and building ({total / n:.2f} s an arch)"
    if wall_s is not None:
        run += f", {wall_s:,.0f} s wall"
    lines += ["", f"Runtime: {run}.", "", published.note]
    return "\n".join(lines) + "\n"
