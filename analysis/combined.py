"""Several results directories in one report (`nasbench-suite report DIR1 DIR2 ...`).

Each directory is read on its own, exactly as `report DIR` reads it (`load_runs` / `load_rows` check every
run file against that directory's own config.json and stamps), and the strategies of all of them are then
put side by side. The directories may differ in everything but their strategy names: a name in two of
them is refused (`load_sources`), since the report could not tell their runs apart.

What they share is the accuracy: every directory reports the found archs' 200-epoch seed means looked up
in the table (a live comparison reports its own measured accuracies; `report` refuses to mix those into a
table or HTML report). What they do not share is the cost:

- a table comparison (`compare`) charges simulated seconds, the table's recorded training times;
- a one-shot directory (`oneshot`) records measured wall seconds, and its rows' `table_equiv_s` the same
  in table-equivalent seconds (wall seconds x the table's per-image training time of the reference cell
  at NAS-Bench-201's scale / its measured per-image time at the search's scale, per run);
- a live comparison (`compare --live`) records measured wall seconds.

So each directory's budget and cost unit are stated next to its strategies, and the shared anytime axis
(`anytime_rows`) puts table strategies at their simulated seconds and one-shot methods at their
table-equivalent seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from nasbench_suite.analysis.significance import DIRECTORY, SEED_SCHEME
from nasbench_suite.analysis.summary import HV_NOTE, caveats, header_text, hv_text, row_text, summarize
from nasbench_suite.errors import ConfigError, ResultsError
from nasbench_suite.results import load_runs, read_config

__all__ = [
    "FAMILY_WORDS",
    "Family",
    "Source",
    "anytime_rows",
    "format_text",
    "load_sources",
    "merged_runs",
    "notes_of",
    "summary_table",
    "to_json",
]

Family = Literal["table", "oneshot", "live"]
FAMILY_WORDS: dict[Family, str] = {
    "table": "table search",
    "oneshot": "one-shot search",
    "live": "live-trained search",
}
_UNIT: dict[Family, str] = {"table": "simulated s", "oneshot": "wall s", "live": "wall s"}


@dataclass(frozen=True, eq=False)
class Source:
    """One results directory of a combined report: the path as given, its label ("[1]", "[2]", ... in
    the order given), its config.json and its run-metadata frame (`load_runs`)."""

    directory: str
    label: str
    config: Mapping[str, Any]
    runs: pd.DataFrame

    @property
    def spec(self) -> Mapping[str, Any]:
        spec: Mapping[str, Any] = self.config["spec"]
        return spec

    @property
    def family(self) -> Family:
        if self.spec.get("live"):
            return "live"
        return "oneshot" if isinstance(self.spec.get("oneshot"), dict) else "table"

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.runs["strategy"])))

    @property
    def seed_scheme(self) -> str:
        """The kind of search and its root seed: runs pair by seed only within one scheme."""
        return f"{FAMILY_WORDS[self.family]} with root seed {self.spec['seed']}"

    @property
    def unit(self) -> str:
        return _UNIT[self.family]

    def budget_text(self) -> str:
        budget = self.spec["budget"]
        if self.family == "oneshot":
            epochs = sorted({int(e) for e in self.spec["oneshot"].get("epochs", {}).values()})
            shown = "/".join(map(str, epochs)) if epochs else f"{budget['limit']:g}"
            return f"{shown} search epochs per run"
        unit = {
            "seconds": "wall seconds" if self.family == "live" else "simulated seconds",
            "evaluations": "evaluations",
            "epochs": "training epochs",
        }.get(budget["kind"], budget["kind"])
        return f"{budget['limit']:g} {unit} per run"

    def cost_text(self) -> str:
        if self.family == "table":
            return "costs in simulated seconds (the table's recorded training times)"
        if self.family == "live":
            return "costs in measured wall seconds of live training on the machine that ran it"
        return (
            "costs in measured wall seconds on the machine that ran it; table-equivalent s = wall s x "
            f"{self.scale_text()} (the table's per-image training time of the reference cell at NAS-Bench-201 "
            "scale / its measured per-image time at the search's scale, per run)"
        )

    def scale_text(self) -> str:
        scale = self.runs["table_equiv_scale"] if "table_equiv_scale" in self.runs else pd.Series(dtype=float)
        scale = scale.dropna()
        if scale.empty:
            return "n/a (no table-equivalent scale recorded)"
        lo, hi = float(scale.min()), float(scale.max())
        return f"{lo:.3g}" if f"{lo:.3g}" == f"{hi:.3g}" else f"{lo:.3g}-{hi:.3g}"


# ============================================================================================== reading
def load_sources(directories: Sequence[str | os.PathLike[str]]) -> tuple[Source, ...]:
    """Each directory's config and runs, in the order given. ResultsError for a directory given twice
    or a strategy name in two of them (naming both), before any run file is read."""
    shown = [str(d) for d in directories]
    configs = [read_config(Path(d)) for d in shown]
    seen_dir: dict[Path, str] = {}
    for d in shown:
        key = Path(d).resolve()
        if key in seen_dir:
            raise ResultsError(f"{d!r} is given twice (also as {seen_dir[key]!r}); give each directory once")
        seen_dir[key] = d
    owner: dict[str, str] = {}
    for d, config in zip(shown, configs, strict=True):
        for name in config["spec"]["strategies"]:
            if name in owner:
                raise ResultsError(
                    f"strategy {name!r} is in both {owner[name]!r} and {d!r}: a report of several directories "
                    "needs each strategy name in one of them; report them separately"
                )
            owner[name] = d
    return tuple(
        Source(d, f"[{k}]", config, load_runs(Path(d)))
        for k, (d, config) in enumerate(zip(shown, configs, strict=True), start=1)
    )


def merged_runs(sources: Sequence[Source]) -> pd.DataFrame:
    """Every source's run metadata in one frame, with the `directory` and `seed_scheme` of each run
    (what `analysis.significance` pairs runs by); the run files left out in `.attrs["set_aside"]`."""
    parts = [s.runs.assign(**{DIRECTORY: s.directory, SEED_SCHEME: s.seed_scheme}) for s in sources]
    runs = pd.concat(parts, ignore_index=True)
    runs.attrs = {"set_aside": [item for s in sources for item in s.runs.attrs.get("set_aside", [])]}
    return runs


def anytime_rows(source: Source, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` (of `load_rows(source.directory)`) on the shared anytime axis: `time_s` is simulated
    seconds for a table comparison, and a one-shot run's table-equivalent seconds (`table_equiv_s`)
    for a one-shot directory. A live directory has no table-equivalent time: ConfigError."""
    if source.family == "table":
        return rows
    if source.family == "live":
        raise ConfigError(
            f"{source.directory!r} holds live runs, whose wall seconds have no table-equivalent time; "
            "report it on its own"
        )
    if "table_equiv_s" not in rows.columns or rows.loc[rows["epoch"] > 0, "table_equiv_s"].isna().any():
        raise ResultsError(
            f"{source.directory!r} has one-shot rows without table-equivalent seconds (table_equiv_s), "
            "which the shared anytime axis needs; rerun its `nasbench-suite oneshot` command into a new --out"
        )
    return rows.assign(time_s=rows["table_equiv_s"].to_numpy(dtype="float64"))


# ============================================================================================== summary
def summary_table(sources: Sequence[Source]) -> pd.DataFrame:
    """`analysis.summary.summarize` of each source, sources in the order given, with each row's
    `directory`, `label`, mean cost per run in the directory's unit (`cost_s`, `unit`) and, for a
    one-shot directory, the mean search cost in table-equivalent seconds (`table_equiv_s`, else NaN)."""
    parts = []
    for s in sources:
        table = summarize(s.runs)
        by = s.runs.groupby(["strategy", "dataset"], sort=True)
        cost = by["spent_seconds"].mean().reindex(pd.MultiIndex.from_frame(table[["strategy", "dataset"]]))
        equiv = (
            by["table_equiv_s"].mean().reindex(cost.index)
            if s.family == "oneshot" and "table_equiv_s" in s.runs
            else pd.Series(float("nan"), index=cost.index)
        )
        parts.append(
            table.assign(
                directory=s.directory,
                label=s.label,
                cost_s=cost.to_numpy(dtype="float64"),
                unit=s.unit,
                table_equiv_s=equiv.to_numpy(dtype="float64"),
            )
        )
    return pd.concat(parts, ignore_index=True)


def notes_of(sources: Sequence[Source]) -> list[str]:
    """Each directory's caveats (`analysis.summary.caveats`): once, unlabelled, when every directory has
    it, else labelled with the directories that have it; then what a reader of several must know."""
    per = [caveats(s.runs, dict(s.config)) for s in sources]
    order = list(dict.fromkeys(n for notes in per for n in notes))
    out = []
    for note in order:
        having = [s.label for s, notes in zip(sources, per, strict=True) if note in notes]
        out.append(note if len(having) == len(sources) else f"{' '.join(having)} {note}")
    families = {s.family for s in sources}
    out.append(
        "accuracies of every directory are the found archs' 200-epoch table seed means, so they compare "
        "directly; costs do not: each directory's budget and cost unit are above"
        if "live" not in families
        else "a live directory's accuracies are its own measured ones, not the table's: compare them with "
        "the other directories' with care"
    )
    if "oneshot" in families and len(families) > 1:
        out.append(
            "one-shot search costs are measured wall seconds, the table strategies' are simulated seconds; "
            "a one-shot search's cost in table-equivalent seconds (after '=') is what the table would charge "
            "for the same training, the time axis both families share in the HTML report's anytime figures"
        )
    return out


def format_text(
    sources: Sequence[Source],
    table: pd.DataFrame,
    notes: Sequence[str],
    hypervolume: pd.DataFrame | None = None,
) -> str:
    """The text of `report DIR1 DIR2 ...`: each directory with its setup, budget and cost unit, then one
    table of every strategy (the columns of `report DIR`, then its directory's label and its cost per
    run in that directory's unit)."""
    hv = hypervolume if hypervolume is not None and len(hypervolume) else None
    metrics = list(dict.fromkeys(hv["metric"])) if hv is not None else []
    lines = [f"report of {len(sources)} results directories:"]
    for s in sources:
        spec = s.spec
        lines += [
            f"{s.label} {s.directory}: {FAMILY_WORDS[s.family]}es, {s.budget_text()}, "
            f"{spec['schedule']}-epoch search schedule, noise {spec['noise']}, root seed {spec['seed']}, "
            f"suite {s.config.get('suite_version', 'unknown')}, data {str(s.config.get('data_checksum'))[:12]}",
            f"    {s.cost_text()}",
            f"    strategies: {', '.join(s.strategies)}",
        ]
    checksums = {str(s.config.get("data_checksum")) for s in sources}
    width = max(12, *(len(str(name)) for name in table["strategy"]))
    lines += [
        "",
        header_text(width) + "".join(f" {'HV ' + m:>24}" for m in metrics) + f" {'dir':>4}  cost / run",
    ]
    for row in table.itertuples():
        hv_cells = "".join(f" {hv_text(hv, row, m):>24}" for m in metrics)
        lines.append(f"{row_text(row, width)}{hv_cells} {row.label:>4}  {_cost(row)}")
    shown = list(notes)
    if len(checksums) > 1:
        shown.insert(
            0,
            "the directories ran on different data (checksums "
            + ", ".join(f"{s.label} {str(s.config.get('data_checksum'))[:12]}" for s in sources)
            + "): their looked-up accuracies may not compare",
        )
    if metrics:
        shown.append(HV_NOTE)
    lines += ["", *[f"note: {n}" for n in shown]]
    return "\n".join(lines)


def _cost(row: Any) -> str:
    text = f"{row.cost_s:.0f} {row.unit}"
    if row.table_equiv_s == row.table_equiv_s:  # not NaN: a one-shot directory
        text += f" = {row.table_equiv_s:.0f} table-equiv. s"
    return text


def to_json(sources: Sequence[Source], table: pd.DataFrame, notes: Sequence[str]) -> dict[str, Any]:
    """`report DIR1 DIR2 ... --json`: each directory (label, family, budget, cost unit, config), the
    summary rows (with their directory and cost per run) and the notes."""
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return {
        "directories": [
            {
                "directory": s.directory,
                "label": s.label,
                "family": s.family,
                "strategies": list(s.strategies),
                "budget": s.budget_text(),
                "cost_unit": s.unit,
                "costs": s.cost_text(),
                "seed_scheme": s.seed_scheme,
                "config": dict(s.config),
            }
            for s in sources
        ],
        "summary": records,
        "notes": list(notes),
    }
