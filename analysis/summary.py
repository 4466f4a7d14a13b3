"""Per strategy x dataset summary of a results directory (the `report` command's table).

`summarize`, `caveats` and `to_json` work on `load_runs`' frame; `summary_rows`, `metas_caveats` and
`metas_text` give the text report from the runs' metadata as plain data, without importing pandas
(`compare` prints that text after every comparison)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nasbench_suite.datasets import report_dataset

if TYPE_CHECKING:
    import pandas as pd


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (strategy, dataset) from the run-metadata frame of `nasbench_suite.results.load_runs`."""
    grouped = runs.groupby(["strategy", "dataset"], sort=True)
    table = grouped.agg(
        runs=("run", "size"),
        test_mean=("final_test", "mean"),
        test_std=("final_test", "std"),
        valid_mean=("final_valid", "mean"),
        valid_std=("final_valid", "std"),
        evaluations=("evaluations", "mean"),
        overhead_s=("overhead_s", "mean"),
    ).reset_index()
    table.insert(2, "test_on", table["dataset"].map(report_dataset))
    return table


@dataclass(frozen=True)
class SummaryRow:
    """One row of `summarize` as plain data."""

    strategy: str
    dataset: str
    test_on: str
    runs: int
    test_mean: float
    test_std: float
    valid_mean: float
    valid_std: float
    evaluations: float
    overhead_s: float


def summary_rows(metas: Sequence[Mapping[str, Any]]) -> list[SummaryRow]:
    """`summarize` of the runs' metadata (`results.load_run_metas`), without pandas: the same groups in
    the same order, means and sample standard deviations over the runs that have a value (NaN skipped)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for meta in metas:
        groups.setdefault((meta["strategy"], meta["dataset"]), []).append(meta)
    rows = []
    for (strategy, dataset), runs in sorted(groups.items()):
        test, valid = [r["final_test"] for r in runs], [r["final_valid"] for r in runs]
        rows.append(
            SummaryRow(
                strategy,
                dataset,
                report_dataset(dataset),
                len(runs),
                _mean(test),
                _std(test),
                _mean(valid),
                _std(valid),
                _mean([r["evaluations"] for r in runs]),
                _mean([r["overhead_s"] for r in runs]),
            )
        )
    return rows


def _present(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if not _missing(v)]


def _mean(values: Sequence[Any]) -> float:
    present = _present(values)
    return math.fsum(present) / len(present) if present else math.nan


def _std(values: Sequence[Any]) -> float:
    present = _present(values)
    if len(present) < 2:
        return math.nan
    mean = math.fsum(present) / len(present)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in present) / (len(present) - 1))


def _missing(x: Any) -> bool:
    """None or NaN (`pandas.isna` of one number)."""
    return x is None or x != x


def metas_caveats(
    metas: Sequence[Mapping[str, Any]], set_aside: list[str], config: dict[str, Any]
) -> list[str]:
    """`caveats` of the runs' metadata, without pandas, for every directory but a one-shot one."""
    spec = config["spec"]
    if spec.get("oneshot") and not spec.get("live"):
        raise ValueError("a one-shot directory's caveats need its runs' frame: use `caveats`")
    return _left_out(set_aside) + _notes(
        spec,
        {m["dataset"] for m in metas},
        {f for m in metas for f in m.get("noise_fallbacks", [])},
        {m["strategy"] for m in metas if m.get("sequential_fallback")},
    )


def metas_text(metas: Sequence[Mapping[str, Any]], set_aside: list[str], config: dict[str, Any]) -> str:
    """The `report` command's text of a directory without hypervolumes (no objective, no constraint),
    from its runs' metadata: `format_text` of `summary_rows` and `metas_caveats`."""
    return format_text(summary_rows(metas), metas_caveats(metas, set_aside, config), config)


def caveats(runs: pd.DataFrame, config: dict[str, Any]) -> list[str]:
    """What a reader must know to read the numbers right; first, the run files `load_runs` left out."""
    return _left_out(runs.attrs.get("set_aside", [])) + _caveats(runs, config)


def _left_out(set_aside: list[str]) -> list[str]:
    if not set_aside:
        return []
    shown = ", ".join(set_aside[:5]) + (f" and {len(set_aside) - 5} more" if len(set_aside) > 5 else "")
    return [
        f"{len(set_aside)} run file{'s' * (len(set_aside) > 1)} in the directory left out (unreadable or not "
        f"of this comparison; a rerun of the comparison moves them to set-aside/ and redoes them): {shown}"
    ]


def _caveats(runs: pd.DataFrame, config: dict[str, Any]) -> list[str]:
    spec = config["spec"]
    if spec.get("oneshot") and not spec.get("live"):
        return _oneshot_caveats(runs, spec)
    if spec.get("live"):
        return _notes(spec, set(), set(), set())
    sequential = (
        set(runs.loc[runs["sequential_fallback"], "strategy"]) if spec.get("workers", 1) > 1 else set()
    )
    return _notes(spec, set(runs["dataset"]), {f for fs in runs["noise_fallbacks"] for f in fs}, sequential)


def _notes(
    spec: Mapping[str, Any], datasets: set[str], fallbacks: set[str], sequential: set[str]
) -> list[str]:
    """The notes of a live or table comparison whose runs searched `datasets`, fell back to the seed
    mean at `fallbacks` and ran `sequential` strategies one evaluation at a time."""
    notes = []
    if spec.get("live"):
        live = spec["live"]
        notes = [
            f"live training: every evaluation trained a network for real ({live['scale_text']}); costs and times are "
            "measured wall seconds on this machine, not comparable across machines or with the table",
            "accuracies are the incumbent's own live validation and test accuracy (test measured after training, "
            "never shown to the strategy); a cifar10-valid search is tested on CIFAR-10's test images",
        ]
        if spec.get("constraint"):
            c = spec["constraint"]
            notes.append(
                f"constraint {c['metric']} <= {c['limit']:g}: the incumbent is the best arch that satisfies it"
            )
        return notes
    if "cifar10-valid" in datasets:
        notes.append(
            "searches on cifar10-valid report the found arch's test accuracy on cifar10 (trained on all 50k "
            "images), as NAS-Bench-201 does; validation accuracy is from cifar10-valid"
        )
    if fallbacks:
        notes.append(
            f"noise 'random' fell back to the seed mean at fidelities {', '.join(sorted(fallbacks))}: the store holds "
            "only seed means there (the wide table's 12-epoch results)"
        )
    if spec.get("workers", 1) > 1:
        notes.append(
            f"{spec['workers']} simulated workers share the budget"
            + (
                f"; {', '.join(sorted(sequential))} cannot propose while results are pending and ran one evaluation at a time"
                if sequential
                else ""
            )
        )
    if spec.get("constraint"):
        c = spec["constraint"]
        notes.append(
            f"constraint {c['metric']} <= {c['limit']:g}: the incumbent is the best arch that satisfies it (none while no evaluated arch does)"
        )
    notes.append(
        "accuracies are 200-epoch seed means of the final incumbent (best validation seen); overhead is real seconds per run, not part of the simulated budget"
    )
    return notes


def _oneshot_caveats(runs: pd.DataFrame, spec: dict[str, Any]) -> list[str]:
    """The notes of a `nasbench-suite oneshot` directory (spec["oneshot"] holds its settings)."""
    o = spec["oneshot"]
    notes = [
        f"one-shot (weight-sharing) searches on a supernet of C={o['channels']}, {o['cells_per_stage']} cell(s)/stage, "
        f"{o['train_subset'] or 'all'} train images; the incumbent is the cell derived after each search epoch; "
        "evals = search epochs",
        "costs and times are measured wall seconds on this machine, not the table strategies' simulated seconds; "
        "the rows' table_equiv_s gives them in table-equivalent seconds (wall time x the table's recorded "
        "training time of the reference cell / its measured time at this scale)",
        "accuracies are the derived cell's 200-epoch seed means in the table (reporting only, never seen by the "
        "search); a cifar10-valid search is tested on cifar10, as NAS-Bench-201 does",
    ]
    if spec.get("constraint") and "meets_constraint" in runs:
        c = spec["constraint"]
        met = runs.groupby("strategy")["meets_constraint"].mean()
        notes.append(
            f"constraint {c['metric']} <= {c['limit']:g} (true table latency of the derived cell) met by "
            + ", ".join(f"{name} {share:.0%}" for name, share in met.items())
            + " of runs"
        )
    return notes


def format_text(
    table: pd.DataFrame | list[SummaryRow],
    notes: list[str],
    config: dict[str, Any],
    hypervolume: pd.DataFrame | None = None,
) -> str:
    """The `report` command's text of `summarize`'s table (or `summary_rows`). `hypervolume`
    (`analysis.hypervolume.hypervolume_table`), for a multi-objective or constrained comparison, adds a
    column per metric: mean HV / true HV over runs."""
    spec = config["spec"]
    hv = hypervolume if hypervolume is not None and len(hypervolume) else None
    metrics = list(dict.fromkeys(hv["metric"])) if hv is not None else []
    budget = spec["budget"]
    lines = [
        f"comparison: {budget['limit']:g} {budget['kind']} budget, {spec['schedule']}-epoch search schedule, "
        f"noise {spec['noise']}, root seed {spec['seed']}, suite {config['suite_version']}, data {config['data_checksum'][:12]}",
        "",
        header_text() + "".join(f" {'HV ' + m:>24}" for m in metrics),
    ]
    for row in table if isinstance(table, list) else table.itertuples():
        lines.append(row_text(row) + "".join(f" {hv_text(hv, row, m):>24}" for m in metrics))
    if metrics:
        notes = [*notes, HV_NOTE]
    lines += ["", *[f"note: {n}" for n in notes]]
    return "\n".join(lines)


HV_NOTE = (
    "HV: hypervolume of each run's front (test accuracy against the metric, every arch it trained) as a "
    "fraction of the true front's, mean ± std over runs; reference point: the true front's nadir pushed "
    "out by a tenth of its range"
)


def header_text(width: int = 12) -> str:
    """The column heads of `row_text` (`width`: of the strategy column)."""
    return (
        f"{'strategy':<{width}} {'dataset':<15} {'test on':<15} {'runs':>5} {'test acc':>15} {'valid acc':>15} "
        f"{'evals':>7} {'overhead':>9}"
    )


def row_text(row: Any, width: int = 12) -> str:
    """One row of `summarize` as the `report` command prints it."""
    return (
        f"{row.strategy:<{width}} {row.dataset:<15} {row.test_on:<15} {row.runs:>5} "
        f"{row.test_mean:>7.2f} ± {_fmt(row.test_std):>5} {row.valid_mean:>7.2f} ± {_fmt(row.valid_std):>5} "
        f"{row.evaluations:>7.1f} {row.overhead_s:>8.3f}s"
    )


def hv_text(hypervolume: pd.DataFrame | None, row: Any, metric: str) -> str:
    """The hypervolume cell of one summary row (`analysis.hypervolume.hypervolume_table`): mean ± std."""
    import pandas as pd

    hv = hypervolume if hypervolume is not None else pd.DataFrame(columns=["strategy", "dataset", "metric"])
    cell = hv[(hv["strategy"] == row.strategy) & (hv["dataset"] == row.dataset) & (hv["metric"] == metric)]
    return "n/a" if cell.empty else f"{cell['hv_mean'].iloc[0]:.3f} ± {_fmt3(cell['hv_std'].iloc[0])}"


def to_json(table: pd.DataFrame, notes: list[str], config: dict[str, Any]) -> dict[str, Any]:
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return {"config": config, "summary": records, "notes": notes}


def _fmt(x: float) -> str:
    return "n/a" if _missing(x) else f"{x:.2f}"


def _fmt3(x: float) -> str:
    return "n/a" if _missing(x) else f"{x:.3f}"
