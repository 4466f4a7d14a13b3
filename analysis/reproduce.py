"""Reports of reproduced published tables: this suite's runs beside the published numbers.

This module only reads results: `nasbench_suite.reproduction` runs a paper's protocol (described as data
in `reproduction.protocols`) into results directories, and the functions here read them.

- `nb201_report`: NAS-Bench-201's Table 5 (Dong & Yang, ICLR 2020): searches on cifar10-valid with the
  12-epoch validation accuracy under 12000 simulated seconds; the found archs are reported on all three
  datasets (`analysis.tables.nb201_table`). The weight-sharing, ResNet and optimal rows are
  published-only; the optimal row is also recomputed from the store. `sweep_points` reads a sweep of
  one hyperparameter beside the same published row.
- `nats_report`: NATS-Bench's topology-search Table 4 (Dong et al., TPAMI 2021): searches on each dataset
  with its own budget, read *at* the budget as NATS-Bench reads it (`test_at_budget` of the run
  metadata; the validation accuracy the same way from the rows).

Published values come from `data/published/*.json` (see its README): each cell has its mean, std, runs
and a verification status with its sources. A null value is "published value not available": it is
printed as such and never filled in.

Per cell, the difference in standard errors of the difference of two independent means (Welch's
statistic from the summaries):

    z = (mean_ours - mean_pub) / sqrt(sd_ours^2 / n_ours + sd_pub^2 / n_pub)

Reports are frozen; `format_markdown` returns a string.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_suite.analysis.summary import caveats
from nasbench_suite.analysis.tables import (
    EPOCHS,
    NB201_COLUMNS,
    PerformanceTable,
    final_incumbents,
    nb201_table,
)
from nasbench_suite.datasets import report_dataset
from nasbench_suite.errors import ConfigError, ResultsError
from nasbench_suite.results import load_rows, load_runs, read_config
from nasbench_suite.store import Store
from nasbench_suite.trajectory import value_at

PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "data" / "published"
STATUSES = ("verified-primary", "verified-secondary", "unverified", "not-available")
NOT_AVAILABLE = "published value not available"
OPTIMAL_TOLERANCE = 0.005  # the published optimum is rounded to 2 decimals: half a unit of the last one
Z_FORMULA = "z = (mean_ours − mean_pub) / sqrt(sd_ours² / n_ours + sd_pub² / n_pub)"


# --------------------------------------------------------------------------------------------- statistics
def se_difference(
    mean_ours: float, sd_ours: float, n_ours: int, mean_pub: float, sd_pub: float, n_pub: int
) -> float:
    """(mean_ours - mean_pub) / sqrt(sd_ours^2 / n_ours + sd_pub^2 / n_pub): the difference of two
    independent means in units of its standard error (Welch's t from summaries). NaN when the standard
    error is zero or undefined (both spreads zero, a count below one)."""
    if n_ours < 1 or n_pub < 1:
        return math.nan
    se = math.sqrt(sd_ours**2 / n_ours + sd_pub**2 / n_pub)
    if not se > 0:
        return math.nan
    return (mean_ours - mean_pub) / se


# ---------------------------------------------------------------------------------------- published data
@dataclass(frozen=True)
class PublishedValue:
    """One published cell. `mean` None: not available (never filled in). `std` None: not applicable (a
    single architecture) or not available. `runs`: how many runs the mean is over (None: one arch)."""

    mean: float | None
    std: float | None
    runs: int | None
    status: str
    sources: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.mean is not None


@dataclass(frozen=True)
class PublishedRow:
    name: str
    kind: str  # search, weight-sharing, reference, optimal
    strategy: str | None  # this suite's strategy for a search row
    runs: int | None
    cells: tuple[tuple[str, PublishedValue], ...]  # (column, value) in column order

    def cell(self, column: str) -> PublishedValue:
        for key, value in self.cells:
            if key == column:
                return value
        raise ConfigError(f"published row {self.name!r} has no column {column!r}")


@dataclass(frozen=True)
class PublishedTable:
    key: str
    title: str
    citation: str
    reference: str  # arXiv id and table
    available: bool
    note: str
    columns: tuple[str, ...]
    rows: tuple[PublishedRow, ...]
    sources: tuple[tuple[str, str], ...]  # (id, what it is)

    def row(self, name: str) -> PublishedRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise ConfigError(
            f"{self.key}: no published row {name!r}; rows: {', '.join(r.name for r in self.rows)}"
        )

    def search_rows(self) -> tuple[PublishedRow, ...]:
        return tuple(r for r in self.rows if r.kind == "search")


def load_published(which: str | Path) -> PublishedTable:
    """A published table: `which` is "nb201", "nats_tss" (in `data/published`) or a JSON file path.
    Every row must have every column, every status must be known, and a null mean must say so."""
    path = Path(which) if str(which).endswith(".json") else PUBLISHED_DIR / f"{which}.json"
    if not path.is_file():
        raise ResultsError(f"no published table at {path}")
    doc = json.loads(path.read_text(encoding="utf-8"))
    columns = tuple(c["key"] for c in doc["columns"])
    rows = []
    for r in doc["rows"]:
        if set(r["cells"]) != set(columns):
            raise ResultsError(
                f"{path}: row {r['name']!r} must have exactly the columns {', '.join(columns)}, but got "
                f"{', '.join(r['cells'])}"
            )
        cells = []
        for key in columns:
            c = r["cells"][key]
            if c["status"] not in STATUSES:
                raise ResultsError(
                    f"{path}: status of {r['name']} / {key} must be one of {', '.join(STATUSES)}, but got {c['status']!r}"
                )
            if (c["mean"] is None) != (c["status"] == "not-available"):
                raise ResultsError(
                    f"{path}: {r['name']} / {key} must have a null mean exactly when its status is "
                    f"'not-available', but got mean={c['mean']!r}, status={c['status']!r}"
                )
            cells.append(
                (
                    key,
                    PublishedValue(
                        mean=None if c["mean"] is None else float(c["mean"]),
                        std=None if c["std"] is None else float(c["std"]),
                        runs=r["runs"],
                        status=c["status"],
                        sources=tuple(c.get("sources", ())),
                        conflicts=tuple(c.get("conflicts", ())),
                    ),
                )
            )
        rows.append(PublishedRow(r["name"], r["kind"], r.get("strategy"), r["runs"], tuple(cells)))
    return PublishedTable(
        key=path.stem,
        title=doc["title"],
        citation=doc["citation"],
        reference=f"arXiv {doc['arxiv']}, {doc['table']}",
        available=bool(doc["available"]),
        note=doc.get("note", ""),
        columns=columns,
        rows=tuple(rows),
        sources=tuple((k, v["what"]) for k, v in doc.get("sources", {}).items()),
    )


# ------------------------------------------------------------------------------------------------ report
@dataclass(frozen=True)
class CellComparison:
    """Our runs of `strategy` in one column beside the published `method`'s value."""

    method: str
    strategy: str
    column: str
    ours_mean: float
    ours_std: float  # ddof=1
    ours_n: int
    published: PublishedValue

    @property
    def difference(self) -> float | None:
        """ours - published; None when the published value is not available."""
        return None if self.published.mean is None else self.ours_mean - self.published.mean

    @property
    def z(self) -> float | None:
        """The difference in standard errors (`se_difference`); None without a published mean, std and
        run count."""
        p = self.published
        if p.mean is None or p.std is None or p.runs is None:
            return None
        return se_difference(self.ours_mean, self.ours_std, self.ours_n, p.mean, p.std, p.runs)


@dataclass(frozen=True)
class OptimalCheck:
    """The published optimum of a column beside the best seed-mean value in the store."""

    column: str
    published: PublishedValue
    store_max: float
    arch_index: int

    @property
    def matches(self) -> bool | None:
        if self.published.mean is None:
            return None
        return abs(self.store_max - self.published.mean) <= OPTIMAL_TOLERANCE + 1e-9


@dataclass(frozen=True)
class SweepPoint:
    """One setting of a swept hyperparameter: our runs in every column beside one published row."""

    value: float
    cells: tuple[CellComparison, ...]  # in column order


@dataclass(frozen=True)
class SweepTable:
    method: str
    hparam: str
    chosen: float  # the value the reported row uses
    points: tuple[SweepPoint, ...]


@dataclass(frozen=True, eq=False)
class ReproductionReport:
    key: str
    title: str
    citation: str
    reference: str
    published_available: bool
    published_note: str
    protocol: tuple[str, ...]
    results_dirs: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[CellComparison, ...]
    published_only: tuple[PublishedRow, ...]
    optimal: tuple[OptimalCheck, ...]
    notes: tuple[str, ...]
    sources_of_difference: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    table: PerformanceTable | None = None  # nb201: the per-run values behind `cells`
    labels: tuple[tuple[str, str], ...] = ()  # (method, how its row was run) where that needs saying
    sweeps: tuple[SweepTable, ...] = ()
    findings: tuple[str, ...] = ()  # what the sweeps show
    sections: tuple[
        tuple[str, str], ...
    ] = ()  # (title, Markdown body) added by the caller, e.g. one-shot rows

    def cell(self, method: str, column: str) -> CellComparison:
        for c in self.cells:
            if c.method == method and c.column == column:
                return c
        raise ConfigError(f"the report has no cell {method!r} / {column!r}")

    def to_frame(self) -> pd.DataFrame:
        """One row per compared cell."""
        return pd.DataFrame(
            [
                {
                    "method": c.method,
                    "strategy": c.strategy,
                    "column": c.column,
                    "ours_mean": c.ours_mean,
                    "ours_std": c.ours_std,
                    "ours_n": c.ours_n,
                    "published_mean": c.published.mean,
                    "published_std": c.published.std,
                    "published_n": c.published.runs,
                    "difference": c.difference,
                    "z": c.z,
                    "status": c.published.status,
                }
                for c in self.cells
            ]
        )


# ------------------------------------------------------------------------------------ NAS-Bench-201 (T5)
def nb201_report(
    store: Store,
    results_dirs: Path | Sequence[Path],
    published: PublishedTable | None = None,
    *,
    methods: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    sweeps: Sequence[SweepTable] = (),
    findings: Sequence[str] = (),
    differences: Sequence[str] = (),
) -> ReproductionReport:
    """The report of existing NAS-Bench-201-protocol results directories (one per group of rows).

    `methods`: strategy name in the results -> published row (default: the rows' `strategy` fields);
    `labels`: method -> how its row was run; `sweeps` and their `findings`; `differences`: the known
    sources of difference from the paper's runs (from the protocol)."""
    published = published or load_published("nb201")
    columns = tuple(c.label for c in NB201_COLUMNS)
    if published.columns != columns:
        raise ResultsError(
            f"{published.key}: the columns must be {', '.join(columns)} in this order, but got {', '.join(published.columns)}"
        )
    dirs = [Path(results_dirs)] if isinstance(results_dirs, str | Path) else [Path(d) for d in results_dirs]
    methods = dict(methods or {r.strategy: r.name for r in published.search_rows() if r.strategy})
    configs = [read_config(d) for d in dirs]
    runs = pd.concat([load_runs(d) for d in dirs], ignore_index=True)
    incumbents = pd.concat([final_incumbents(load_rows(d)) for d in dirs], ignore_index=True)
    order = [s for c in configs for s in c["spec"]["strategies"] if s in methods]
    table = nb201_table(incumbents, store, strategies=order)
    cells = _cells(table, methods, published)
    optimal = _optimal(store, published)
    # caveats' last note (accuracies, overhead) is said better by the table's own notes
    notes = [
        *caveats(runs, configs[0])[:-1],
        *table.notes,
        f"the published standard deviations are over {_published_runs(published)} runs with an unstated ddof; "
        "ours use ddof=1 (at 500 runs the two differ by a factor of 1.001)",
        "|z| > 2 is unlikely if both are independent samples of one distribution, but with "
        f"{len(cells)} cells about 1 in 20 exceeds it by chance",
        _wall_time_note(
            pd.concat([load_rows(d, columns=["strategy", "run", "overhead_s"]) for d in dirs]), runs
        ),
    ]
    notes += [
        f"optimal {o.column}: the best seed mean in the store is {o.store_max:.2f} (arch {o.arch_index}), the "
        f"published optimum {o.published.mean:.2f}"
        for o in optimal
        if o.matches is False
    ]
    return ReproductionReport(
        key=published.key,
        title=f"{published.title}: Table 5 reproduced",
        citation=published.citation,
        reference=published.reference,
        published_available=published.available,
        published_note=published.note,
        protocol=_protocol(
            [(c, int((runs["strategy"].isin(c["spec"]["strategies"])).sum())) for c in configs]
        ),
        results_dirs=tuple(str(d) for d in dirs),
        columns=columns,
        cells=tuple(cells),
        published_only=tuple(r for r in published.rows if r.kind in ("weight-sharing", "reference")),
        optimal=optimal,
        notes=tuple(notes),
        sources_of_difference=tuple(differences),
        sources=published.sources,
        table=table,
        labels=tuple((m, t) for m, t in (labels or {}).items()),
        sweeps=tuple(sweeps),
        findings=tuple(findings),
    )


def _cells(
    table: PerformanceTable, methods: Mapping[str, str], published: PublishedTable
) -> list[CellComparison]:
    mean, std, n = table.mean(), table.std(), table.counts()
    return [
        CellComparison(
            methods[s],
            s,
            label,
            float(mean[i, j]),
            float(std[i, j]),
            int(n[i, j]),
            published.row(methods[s]).cell(label),
        )
        for i, s in enumerate(table.strategies)
        for j, label in enumerate(published.columns)
    ]


def sweep_points(
    store: Store,
    points: Sequence[tuple[float, Path]],
    strategy: str,
    published: PublishedTable,
    method: str,
) -> tuple[SweepPoint, ...]:
    """Each (value, results directory) of a sweep of `strategy`, beside the published row `method`."""
    out = []
    for value, directory in points:
        incumbents = final_incumbents(load_rows(directory))
        table = nb201_table(incumbents, store, strategies=[strategy])
        out.append(SweepPoint(float(value), tuple(_cells(table, {strategy: method}, published))))
    return tuple(out)


def _wall_time_note(rows: pd.DataFrame, runs: pd.DataFrame) -> str:
    """The real seconds the strategies spent per step and per run, beside the simulated budget."""
    per_run = rows.groupby(["strategy", "run"])["overhead_s"].sum()
    per_step_ms = 1000 * rows["overhead_s"].mean()
    worst = per_run.max()
    budget = float(runs["spent_seconds"].max()) if "spent_seconds" in runs else math.nan
    return (
        f"wall time: the official scripts also add each step's real seconds to the simulated clock; the "
        f"strategies here take {per_step_ms:.2f} ms a step on average and at most {worst:.2f} s in a whole run "
        f"({100 * worst / budget:.3f}% of the ~{budget:,.0f} simulated seconds a run spends, under one "
        "evaluation's price): negligible, so simulated time alone is charged"
    )


def _optimal(store: Store, published: PublishedTable) -> tuple[OptimalCheck, ...]:
    rows = [r for r in published.rows if r.kind == "optimal"]
    if not rows:
        return ()
    checks = []
    for col in NB201_COLUMNS:
        values = np.asarray(store.table(col.dataset, col.metric, EPOCHS).column("mean"), dtype=np.float64)
        best = int(np.nanargmax(values))
        checks.append(OptimalCheck(col.label, rows[0].cell(col.label), float(values[best]), best))
    return tuple(checks)


# ------------------------------------------------------------------------------- NATS-Bench tss (Table 4)
def nats_report(
    store: Store,
    results_dirs: Mapping[str, Path] | Sequence[tuple[str, Path]],
    published: PublishedTable | None = None,
    *,
    methods: Mapping[str, str] | None = None,
    differences: Sequence[str] = (),
    title: str = "",
    bohb_note: bool = True,
) -> ReproductionReport:
    """The report of existing results directories read at their budget as NATS-Bench reads a run:
    (search dataset, directory) pairs, or one directory per dataset (`methods`, `differences`: as for
    `nb201_report`; `bohb_note`: add the note on BOHB's rungs)."""
    pairs = list(results_dirs.items()) if isinstance(results_dirs, Mapping) else list(results_dirs)
    published = published or load_published("nats_tss")
    methods = dict(methods or {r.strategy: r.name for r in published.search_rows() if r.strategy})
    by_strategy = {s: published.row(m) for s, m in methods.items()}
    cells, notes = [], []
    configs: list[tuple[Mapping[str, Any], int]] = []
    order: list[str] = []
    for dataset, directory in pairs:
        config, runs, rows = read_config(directory), load_runs(directory), load_rows(directory)
        budget = float(config["spec"]["budget"]["limit"])
        configs.append((config, len(runs)))
        notes += [n for n in caveats(runs, config) if n not in notes]
        order += [s for s in config["spec"]["strategies"] if s in by_strategy and s not in order]
        group = report_dataset(dataset)
        for strategy in config["spec"]["strategies"]:
            if strategy not in by_strategy:
                continue
            mine = runs[(runs["strategy"] == strategy) & (runs["dataset"] == dataset)].sort_values("run")
            valid = _valid_at_budget(rows, strategy, dataset, budget)
            test = mine["test_at_budget"].to_numpy(dtype=np.float64)
            for split, values in (("valid", valid), ("test", test)):
                column = f"{group} {split}"
                cells.append(
                    CellComparison(
                        by_strategy[strategy].name,
                        strategy,
                        column,
                        float(values.mean()),
                        float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                        len(values),
                        by_strategy[strategy].cell(column),
                    )
                )
    columns = tuple(c for c in published.columns if any(x.column == c for x in cells))
    rank = {s: k for k, s in enumerate(order)}
    cells.sort(key=lambda c: (rank[c.strategy], columns.index(c.column)))
    notes += [
        "accuracies are read at the budget as NATS-Bench's tables do: linear interpolation between the two "
        "training evaluations nearest in time to the budget (test: the run metadata's test_at_budget; valid: "
        "the same reading of the incumbent's 200-epoch validation accuracy)",
    ]
    if published.key == "nats_tss":
        notes.append("NATS-Bench's standard deviations are numpy's np.std (ddof=0); ours use ddof=1")
    curves = {d: len(store.table(d, "valid_acc", 12).spec.points) > 1 for d, _ in pairs}
    return ReproductionReport(
        key=published.key,
        title=f"{published.title}: {title or 'topology search space, multi-trial methods, reproduced'}",
        citation=published.citation,
        reference=published.reference,
        published_available=published.available,
        published_note=published.note,
        protocol=_protocol(configs),
        results_dirs=tuple(str(d) for _, d in pairs),
        columns=columns,
        cells=tuple(cells),
        published_only=(),
        optimal=(),
        notes=tuple(notes),
        sources_of_difference=(*differences, _nats_bohb_note(curves)) if bohb_note else tuple(differences),
        sources=published.sources,
    )


def _valid_at_budget(rows: pd.DataFrame, strategy: str, dataset: str, budget: float) -> np.ndarray:
    """Per run (in run order), the incumbent's validation accuracy read at the budget like
    `test_at_budget`: training rows only (epoch > 0; measurement rows are ignored)."""
    mine = rows[(rows["strategy"] == strategy) & (rows["dataset"] == dataset) & (rows["epoch"] > 0)]
    mine = mine.sort_values(["run", "step"], kind="stable")
    return np.array(
        [
            value_at(g["time_s"].to_numpy(), g["incumbent_valid"].to_numpy(), budget)
            for _, g in mine.groupby("run", sort=True)
        ],
        dtype=np.float64,
    )


def _nats_bohb_note(curves: Mapping[str, bool]) -> str:
    flat = [d for d, has in curves.items() if not has]
    return (
        "BOHB: NATS-Bench's hpbandster used budgets of 1 to 12 epochs of the 12-epoch schedule (rungs 1, 4, 12); "
        + (
            f"the store has no per-epoch 12-epoch curves for {', '.join(flat)}, so BOHB there has a single rung "
            "(every evaluation a full 12-epoch one) and works like a sequential KDE model"
            if flat
            else "the store has the per-epoch curves, so the same rungs are used"
        )
        + "; NATS-Bench ran 300 iterations regardless of the budget and read the result at the budget"
    )


# ------------------------------------------------------------------------------------------------ shared
def _published_runs(published: PublishedTable) -> str:
    counts = sorted({r.runs for r in published.search_rows() if r.runs is not None})
    return "/".join(str(c) for c in counts) or "an unknown number of"


def _protocol(configs: Sequence[tuple[Mapping[str, Any], int]]) -> tuple[str, ...]:
    """What was run, from the config.json of each comparison (with its number of finished runs)."""
    first = configs[0][0]
    spec = first["spec"]
    budgets = ", ".join(
        dict.fromkeys(
            f"{', '.join(c['spec']['datasets'])} {c['spec']['budget']['limit']:g} {c['spec']['budget']['kind']}"
            for c, _ in configs
        )
    )
    strategies = list(dict.fromkeys(s for c, _ in configs for s in c["spec"]["strategies"]))
    hp: dict[str, Any] = {}
    for c, _ in configs:
        hp.update(c["spec"].get("hparams") or {})
    finished = sum(n for _, n in configs)
    return (
        f"search with the {spec['schedule']}-epoch validation accuracy, noise {spec['noise']}; budget per run: "
        f"{budgets}",
        f"strategies {', '.join(strategies)}; {spec['runs']} runs each per dataset ({finished} finished), "
        f"root seed {spec['seed']}, runs paired by seed",
        "hyperparameters: "
        + ("; ".join(f"{s} {json.dumps(h, sort_keys=True)}" for s, h in sorted(hp.items())) or "defaults"),
        f"suite {first.get('suite_version', '?')}, data {str(first.get('data_checksum', '?'))[:12]}",
    )


# ------------------------------------------------------------------------------------------- formatting
def _pm(mean: float | None, std: float | None, n: int | None = None) -> str:
    if mean is None:
        return NOT_AVAILABLE
    text = f"{mean:.2f}" if std is None or std != std else f"{mean:.2f}±{std:.2f}"
    return text if n is None else f"{text} (n={n})"


def _signed(x: float | None, digits: int) -> str:
    return "–" if x is None or x != x else f"{x:+.{digits}f}"


def _status(p: PublishedValue) -> str:
    text = p.status + (f" ({', '.join(p.sources)})" if p.sources else "")
    return text + ("; a source disagrees" if p.conflicts else "")


def _row_status(values: Sequence[PublishedValue]) -> str:
    """ "6 verified-secondary (relizo-2024, rmi-nas)": cells per status, then every source named."""
    counts: dict[str, int] = {}
    sources: dict[str, None] = {}
    for v in values:
        counts[v.status] = counts.get(v.status, 0) + 1
        sources.update(dict.fromkeys(v.sources))
    text = ", ".join(f"{n} {status}" for status, n in counts.items())
    return text + (f" ({', '.join(sources)})" if sources else "")


def format_markdown(report: ReproductionReport) -> str:
    """The report as Markdown: protocol, our cells beside the published ones (difference and z), the
    published-only rows, the optimum check, notes, known sources of difference and the sources cited."""
    lines = [
        f"# {report.title}",
        "",
        f"Published: {report.citation} ({report.reference}).",
        "",
        "## Protocol",
        "",
        *[f"- {p}" for p in report.protocol],
        *[f"- results: `{d}`" for d in report.results_dirs],
        "",
        "## Ours beside the published numbers",
        "",
        f"Accuracies in %, mean±std over runs. z is the difference in standard errors, {Z_FORMULA}.",
    ]
    if not report.published_available:
        lines += ["", f"**{NOT_AVAILABLE}**: {report.published_note}"]
    lines += [
        "",
        "| method | strategy | column | ours | published | ours − published | z | published cell |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for c in report.cells:
        p = c.published
        lines.append(
            f"| {c.method} | {c.strategy} | {c.column} | {_pm(c.ours_mean, c.ours_std, c.ours_n)} | "
            f"{_pm(p.mean, p.std, p.runs if p.available else None)} | {_signed(c.difference, 2)} | "
            f"{_signed(c.z, 1)} | {_status(p)} |"
        )
    if report.labels:
        lines += ["", *[f"- **{m}**: {text}" for m, text in report.labels]]
    for sweep in report.sweeps:
        n = sorted({c.ours_n for p in sweep.points for c in p.cells})
        lines += [
            "",
            f"## Sensitivity of {sweep.method} to {sweep.hparam}",
            "",
            f"{', '.join(map(str, n))} runs per setting (the same root seed); each cell is ours (z against the "
            f"published row). The reported row uses {sweep.hparam} = {sweep.chosen:g}.",
            "",
            f"| {sweep.hparam} | " + " | ".join(report.columns) + " | max abs(z) |",
            "|---:|" + "---:|" * (len(report.columns) + 1),
        ]
        for point in sweep.points:
            zs = [abs(c.z) for c in point.cells if c.z is not None and c.z == c.z]
            mark = " (reported)" if point.value == sweep.chosen else ""
            worst = f"{max(zs):.1f}" if zs else "–"
            cells = " | ".join(f"{c.ours_mean:.2f} ({_signed(c.z, 1)})" for c in point.cells)
            lines.append(f"| {point.value:g}{mark} | {cells} | {worst} |")
    if report.findings:
        lines += ["", *[f"{f}." for f in report.findings]]
    for title, body in report.sections:
        lines += ["", f"## {title}", "", body.rstrip("\n")]
    if report.published_only:
        lines += [
            "",
            "## Published only",
            "",
            "| method | runs | " + " | ".join(report.columns) + " | published cells |",
            "|---|---:|" + "---:|" * len(report.columns) + "---|",
        ]
        for r in report.published_only:
            values = [r.cell(k) for k in report.columns]
            lines.append(
                f"| {r.name} | {r.runs if r.runs is not None else 1} | "
                + " | ".join(_pm(v.mean, v.std) for v in values)
                + f" | {_row_status(values)} |"
            )
    if report.optimal:
        lines += [
            "",
            "## Optimal: published beside the best seed mean in the store",
            "",
            f"| column | published | store | arch | within {OPTIMAL_TOLERANCE} | published cell |",
            "|---|---:|---:|---:|---|---|",
        ]
        for o in report.optimal:
            verdict = "–" if o.matches is None else ("yes" if o.matches else "**no**")
            lines.append(
                f"| {o.column} | {_pm(o.published.mean, None)} | {o.store_max:.2f} | {o.arch_index} | "
                f"{verdict} | {_status(o.published)} |"
            )
    lines += ["", "## Notes", "", *[f"- {n}" for n in report.notes]]
    lines += ["", "## Known sources of difference", "", *[f"- {d}" for d in report.sources_of_difference]]
    conflicts = sorted(
        {f"{c.method} / {c.column}: {text}" for c in report.cells for text in c.published.conflicts}
    )
    if conflicts:
        lines += ["", "## Disagreeing sources", "", *[f"- {t}" for t in conflicts]]
    if report.sources:
        lines += ["", "## Sources of the published values", "", *[f"- `{k}`: {v}" for k, v in report.sources]]
    return "\n".join(lines) + "\n"
