"""Hypervolume of each run's Pareto front (accuracy against a minimized metric), as a fraction of the
true front's: the multi-objective column of the text report and the HTML report's Pareto tables.

A run's front is made of every arch it trained; points are (metric on the search dataset, 200-epoch
test accuracy on the reported dataset); archs whose metric or accuracy the store lacks are left out.
The reference point is `plots.reference_point` of all archs (the true front's nadir pushed out by a
tenth of its range, Ishibuchi et al. 2018).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasbench_suite.analysis import plots
from nasbench_suite.datasets import report_dataset
from nasbench_suite.store import Store


def run_fronts(
    rows: pd.DataFrame, store: Store, dataset: str, metric: str
) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
    """(every known arch's point, strategy -> one array of points per run) on `dataset`."""
    accuracy = np.asarray(
        store.table(report_dataset(dataset), "test_acc", plots.EPOCHS).column("mean"), dtype=np.float64
    )
    cost = np.asarray(store.table(dataset, metric).column("mean"), dtype=np.float64)
    known = np.isfinite(cost) & np.isfinite(accuracy)
    points = np.column_stack([cost, accuracy])
    own = rows[(rows["epoch"] > 0) & (rows["dataset"] == dataset)]
    found: dict[str, list[np.ndarray]] = {}
    for (strategy, _run), group in own.groupby(["strategy", "run"], sort=True):
        archs = np.unique(group["arch_index"].to_numpy(dtype=np.int64))
        found.setdefault(str(strategy), []).append(points[archs[known[archs]]])
    return points[known], found


def fractions(points: np.ndarray, found: Mapping[str, Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
    """strategy -> each run's HV / the true front's HV (empty arrays when the true front has none)."""
    reference = plots.reference_point(points)
    true_hv = plots.hypervolume_2d(points[plots.pareto_front(points)], reference)
    if true_hv <= 0:
        return {s: np.array([]) for s in found}
    return {
        s: np.array([plots.hypervolume_2d(f, reference) for f in fronts]) / true_hv
        for s, fronts in found.items()
    }


def hypervolume_table(rows: pd.DataFrame, spec: Mapping[str, Any], store: Store) -> pd.DataFrame:
    """One row per (strategy, dataset, metric) of a comparison with an objective or constraint metric:
    runs, mean, std (ddof=1) of HV / true HV; empty when the comparison has neither."""
    constraint = spec.get("constraint")
    metrics = list(
        dict.fromkeys(m for m in (spec.get("objective"), constraint and constraint["metric"]) if m)
    )
    records = []
    for dataset in sorted(set(rows.loc[rows["epoch"] > 0, "dataset"])):
        for metric in metrics:
            for strategy, hv in fractions(*run_fronts(rows, store, dataset, metric)).items():
                records.append(
                    {
                        "strategy": strategy,
                        "dataset": dataset,
                        "metric": metric,
                        "runs": int(hv.size),
                        "hv_mean": float(hv.mean()) if hv.size else float("nan"),
                        "hv_std": float(hv.std(ddof=1)) if hv.size > 1 else float("nan"),
                    }
                )
    return pd.DataFrame(records, columns=["strategy", "dataset", "metric", "runs", "hv_mean", "hv_std"])
