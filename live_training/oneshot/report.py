"""The weight-sharing rows of NAS-Bench-201's Table 5 from a `nasbench-suite oneshot` results directory,
beside the published values (`data/published/nb201.json`).

`oneshot_rows(results_dir, store)` returns one `OneShotRow` per method: the final derived cells' 200-epoch
seed-mean accuracies in the table on the published columns (cifar10 valid / test, cifar100 valid / test,
ImageNet16-120 valid / test; mean and sample std over runs), each run's skip-connection and parameter-free
op counts, and the measured search wall seconds. `format_markdown` prints them with the published row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench_suite.live_training.oneshot.methods import DISPLAY
from nasbench_suite.results import load_runs, read_config
from nasbench_suite.store import Store

PUBLISHED = Path(__file__).resolve().parents[2] / "data" / "published" / "nb201.json"


@dataclass(frozen=True)
class OneShotRow:
    """One method's runs: `cells[column] = (mean, std)` over runs (std ddof=1, NaN for one run), `published`
    the same from the paper (None where it gives none)."""

    method: str
    name: str
    runs: int
    archs: tuple[str, ...]
    skip_counts: tuple[int, ...]
    param_free_counts: tuple[int, ...]
    cells: Mapping[str, tuple[float, float]]
    published: Mapping[str, tuple[float | None, float | None]]
    wall_s: float  # mean measured search seconds per run
    table_equiv_s: float  # the same in table-equivalent seconds


def _published(path: Path) -> tuple[list[dict], dict[str, dict]]:
    data = json.loads(Path(path).read_text())
    return data["columns"], {row["name"]: row for row in data["rows"]}


def oneshot_rows(
    results_dir: Path | str, store: Store, *, published: Path | str = PUBLISHED
) -> tuple[OneShotRow, ...]:
    """The rows of every method in `results_dir`, in the order of its config."""
    runs = load_runs(Path(results_dir))
    columns, paper = _published(Path(published))
    order = read_config(Path(results_dir))["spec"]["strategies"]
    rows = []
    for method in order:
        mine = runs[runs["strategy"] == method].sort_values("run")
        if mine.empty:
            continue
        index = [store.index(a) for a in mine["derived_arch"]]
        cells = {}
        for col in columns:
            values = np.asarray(store.table(col["dataset"], col["metric"], 200).column("mean"))[index]
            std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
            cells[col["key"]] = (float(np.mean(values)), std)
        name = DISPLAY.get(method, method)
        prow = paper.get(name, {}).get("cells", {})
        rows.append(
            OneShotRow(
                method=method,
                name=name,
                runs=len(mine),
                archs=tuple(mine["derived_arch"]),
                skip_counts=tuple(int(x) for x in mine["skip_count"]),
                param_free_counts=tuple(int(x) for x in mine["param_free_count"]),
                cells=cells,
                published={k: (v.get("mean"), v.get("std")) for k, v in prow.items()},
                wall_s=float(mine["search_wall_s"].mean()),
                table_equiv_s=float(mine["table_equiv_s"].mean()),
            )
        )
    return tuple(rows)


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.2f}" if std is None or std != std else f"{mean:.2f} ± {std:.2f}"


def format_markdown(rows: tuple[OneShotRow, ...], *, published: Path | str = PUBLISHED) -> str:
    """Ours (measured) and the paper's row per method, then each run's cell and op counts."""
    columns = [c["key"] for c in _published(Path(published))[0]]
    head = ["method", "", *columns, "search wall s / run", "table-equiv. s / run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ours = [_pm(*r.cells[c]) for c in columns]
        lines.append(
            f"| {r.name} | ours ({r.runs} runs) | "
            + " | ".join(ours)
            + f" | {r.wall_s:.0f} | {r.table_equiv_s:.0f} |"
        )
        if r.published:
            paper = [_pm(*r.published.get(c, (None, None))) for c in columns]
            lines.append(f"| {r.name} | published | " + " | ".join(paper) + " | | |")
    lines += [
        "",
        "| method | run | derived cell | skip_connect | parameter-free ops |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        for k, (arch, skip, free) in enumerate(zip(r.archs, r.skip_counts, r.param_free_counts, strict=True)):
            lines.append(f"| {r.name} | {k} | `{arch}` | {skip} | {free} |")
    return "\n".join(lines)
