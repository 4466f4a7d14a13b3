"""The final-performance table in the NAS-Bench-201 style (Dong & Yang, ICLR 2020, Table 5).

For each run the found architecture is the incumbent after its last training evaluation (rows with
`epoch > 0`; cheap measurements such as latency or zero-cost lookups have `epoch == 0` and are ignored).
Its 200-epoch seed-mean accuracies are looked up in the store, and each cell is mean ± std (ddof=1)
over runs. Two layouts:

- `nb201_table`: the paper's layout. Every row (strategy x search dataset) reports the found archs on
  all three datasets: cifar10 valid = cifar10-valid's validation accuracy (trained on 25k images),
  cifar10 test = cifar10's test accuracy (trained on all 50k), cifar100 and ImageNet16-120 valid / test
  = their validation / test halves.
- `per_search_dataset_table`: one row per strategy; the column pair of each dataset is filled by the
  runs that searched on it (a search on cifar10-valid reports its test accuracy on cifar10).

`PerformanceTable` is immutable; `to_markdown`, `to_latex` and `to_csv` are pure and return strings.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from nasbench_suite.datasets import SEARCH_DATASETS, report_dataset
from nasbench_suite.errors import ConfigError
from nasbench_suite.store import Store

Split = Literal["valid", "test"]
Layout = Literal["nas-bench-201", "per-search-dataset"]
EPOCHS = 200  # the found archs are reported at the end of the 200-epoch schedule, as the paper does

_INCUMBENT_COLUMNS = ("strategy", "dataset", "run", "step", "epoch", "incumbent_index")


@dataclass(frozen=True)
class Column:
    """One column: its header `group` (a dataset) and `split`, where its numbers come from (`dataset`,
    `metric` at 200 epochs, seed mean) and the search dataset of the runs that fill it (None: the row's)."""

    group: str
    split: Split
    dataset: str
    metric: str
    search: str | None = None

    @property
    def label(self) -> str:
        return f"{self.group} {self.split}"


def _column_pair(search: str, own_runs: bool) -> tuple[Column, Column]:
    """valid from the search dataset, test from where its results are reported (cifar10-valid -> cifar10)."""
    group = report_dataset(search)
    run_source = search if own_runs else None
    return (
        Column(group, "valid", search, "valid_acc", run_source),
        Column(group, "test", report_dataset(search), "test_acc", run_source),
    )


NB201_COLUMNS: tuple[Column, ...] = tuple(c for s in SEARCH_DATASETS for c in _column_pair(s, False))


@dataclass(frozen=True, eq=False)
class PerformanceTable:
    """cells[row][column]: the per-run accuracies (read-only, in run order) of the runs of that row's
    strategy that searched on `searched_on[row]` (or on the column's `search` dataset)."""

    layout: Layout
    strategies: tuple[str, ...]
    searched_on: tuple[str | None, ...]
    columns: tuple[Column, ...]
    cells: tuple[tuple[np.ndarray, ...], ...]
    notes: tuple[str, ...]

    def counts(self) -> np.ndarray:
        """(n_rows, n_columns) number of runs."""
        return np.array([[len(c) for c in row] for row in self.cells], dtype=np.int64)

    def mean(self) -> np.ndarray:
        """(n_rows, n_columns) mean over runs; NaN where there are none."""
        return np.array([[c.mean() if len(c) else np.nan for c in row] for row in self.cells])

    def std(self) -> np.ndarray:
        """(n_rows, n_columns) sample standard deviation (ddof=1) over runs; NaN below two runs."""
        return np.array([[c.std(ddof=1) if len(c) > 1 else np.nan for c in row] for row in self.cells])

    def to_frame(self) -> pd.DataFrame:
        """One row per table row: strategy, searched_on, then `<group>_<split>_{mean,std,n}` per column."""
        data: dict[str, object] = {"strategy": list(self.strategies), "searched_on": list(self.searched_on)}
        mean, std, n = self.mean(), self.std(), self.counts()
        for j, col in enumerate(self.columns):
            key = f"{col.group}_{col.split}"
            data[f"{key}_mean"], data[f"{key}_std"], data[f"{key}_n"] = mean[:, j], std[:, j], n[:, j]
        return pd.DataFrame(data)


# ---------------------------------------------------------------------------------------------- building
def final_incumbents(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per run: strategy, dataset, run, arch_index = the incumbent after the run's last training
    evaluation (`epoch > 0`; measurement rows, with or without a `measure` column, are ignored).

    A run without an incumbent (under a constraint no evaluated arch met) has nothing to report: it is
    left out, and the number left out is in `.attrs["without_incumbent"]`."""
    missing = [c for c in _INCUMBENT_COLUMNS if c not in rows.columns]
    if missing:
        raise ConfigError(
            f"the rows must have the columns of `load_rows` ({', '.join(_INCUMBENT_COLUMNS)}), but got "
            f"none named {', '.join(missing)}"
        )
    train = rows.loc[rows["epoch"] > 0, ["strategy", "dataset", "run", "step", "incumbent_index"]]
    last = train.sort_values(["strategy", "dataset", "run", "step"], kind="stable").drop_duplicates(
        ["strategy", "dataset", "run"], keep="last"
    )
    out = last.drop(columns="step").rename(columns={"incumbent_index": "arch_index"})
    found = out["arch_index"] >= 0
    out = out[found].reset_index(drop=True)
    out.attrs["without_incumbent"] = int((~found).sum())
    return out


def nb201_table(
    incumbents: pd.DataFrame, store: Store, *, strategies: Sequence[str] | None = None
) -> PerformanceTable:
    """The paper's layout: one row per strategy x search dataset, each reporting the found archs on
    cifar10 (valid from cifar10-valid, test from cifar10), cifar100 and ImageNet16-120."""
    order = _strategy_order(incumbents, strategies)
    searched = [d for d in SEARCH_DATASETS if (incumbents["dataset"] == d).any()]
    rows: list[tuple[str, str | None]] = [
        (s, d) for s in order for d in searched if _select(incumbents, s, d).size
    ]
    return _build(
        "nas-bench-201",
        incumbents,
        store,
        rows,
        NB201_COLUMNS,
        (
            "cifar10 valid is cifar10-valid's validation split (trained on 25k images); cifar10 test is the "
            "arch trained on all 50k images (the cifar10 table), as NAS-Bench-201's Table 5 reports it",
            "cifar100 and ImageNet16-120 valid / test are the two halves of their test sets",
        ),
    )


def per_search_dataset_table(
    incumbents: pd.DataFrame, store: Store, *, strategies: Sequence[str] | None = None
) -> PerformanceTable:
    """One row per strategy; each dataset's valid / test pair is filled by the runs that searched on it."""
    order = _strategy_order(incumbents, strategies)
    searched = [d for d in SEARCH_DATASETS if (incumbents["dataset"] == d).any()]
    columns = tuple(c for d in searched for c in _column_pair(d, True))
    return _build(
        "per-search-dataset",
        incumbents,
        store,
        [(s, None) for s in order],
        columns,
        (
            "each dataset's columns come from the runs that searched on it; a search on cifar10-valid "
            "reports validation accuracy on cifar10-valid and test accuracy on cifar10 (trained on all 50k "
            "images), as NAS-Bench-201 does",
        ),
    )


def _strategy_order(incumbents: pd.DataFrame, strategies: Sequence[str] | None) -> list[str]:
    present = sorted(set(incumbents["strategy"]))
    if strategies is None:
        return present
    unknown = [s for s in strategies if s not in present]
    if unknown:
        raise ConfigError(
            f"strategies must be among those in the results ({', '.join(present)}), but got {', '.join(unknown)}"
        )
    return list(strategies)


def _select(incumbents: pd.DataFrame, strategy: str, dataset: str) -> np.ndarray:
    mask = (incumbents["strategy"] == strategy) & (incumbents["dataset"] == dataset)
    part = incumbents.loc[mask].sort_values("run")
    return part["arch_index"].to_numpy(dtype=np.int64)


def _build(
    layout: Layout,
    incumbents: pd.DataFrame,
    store: Store,
    rows: list[tuple[str, str | None]],
    columns: tuple[Column, ...],
    notes: tuple[str, ...],
) -> PerformanceTable:
    cells = []
    for strategy, search in rows:
        row = []
        for col in columns:
            archs = _select(incumbents, strategy, col.search or search or "")
            values = store.query_many(archs, col.dataset, col.metric, epochs=EPOCHS, seed="mean")
            values.setflags(write=False)
            row.append(values)
        cells.append(tuple(row))
    general = (
        f"accuracies (%) of each run's final incumbent (best validation accuracy seen), {EPOCHS}-epoch "
        "seed means from the benchmark; mean ± std (ddof=1) over runs",
    )
    return PerformanceTable(
        layout,
        tuple(s for s, _ in rows),
        tuple(d for _, d in rows),
        columns,
        tuple(cells),
        general + notes,
    )


# -------------------------------------------------------------------------------------------- formatting
def format_cell(mean: float, std: float, n: int, digits: int = 2) -> str:
    """ "93.74±0.34"; the mean alone for one run; "–" for none."""
    if n == 0:
        return "–"
    if n == 1 or std != std:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f}±{std:.{digits}f}"


def _formatted(
    table: PerformanceTable, digits: int, bold_best: bool, bold: tuple[str, str]
) -> list[list[str]]:
    mean, std, n = table.mean(), table.std(), table.counts()
    best = np.zeros(mean.shape, dtype=bool)
    if bold_best and mean.size:
        with np.errstate(invalid="ignore"):
            rounded = np.round(mean, digits)
            best = rounded == np.nanmax(np.where(np.isnan(rounded), -np.inf, rounded), axis=0)
    out = []
    for i in range(len(table.strategies)):
        cells = []
        for j in range(len(table.columns)):
            text = format_cell(mean[i, j], std[i, j], int(n[i, j]), digits)
            cells.append(f"{bold[0]}{text}{bold[1]}" if best[i, j] and n[i, j] else text)
        out.append(cells)
    return out


def _has_search_column(table: PerformanceTable) -> bool:
    return table.layout == "nas-bench-201"


def to_markdown(
    table: PerformanceTable, *, digits: int = 2, bold_best: bool = False, notes: bool = False
) -> str:
    """A GitHub-flavoured Markdown table (notes below it as a list when `notes`)."""
    head = ["strategy"] + (["searched on"] if _has_search_column(table) else [])
    header = head + [c.label for c in table.columns]
    align = ["---"] * len(head) + ["---:"] * len(table.columns)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    cells = _formatted(table, digits, bold_best, ("**", "**"))
    for i, strategy in enumerate(table.strategies):
        lead = [strategy] + ([str(table.searched_on[i])] if _has_search_column(table) else [])
        lines.append("| " + " | ".join(lead + cells[i]) + " |")
    if notes:
        lines += ["", *[f"- {n}" for n in table.notes]]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(
    table: PerformanceTable,
    *,
    digits: int = 2,
    bold_best: bool = False,
    caption: str | None = None,
    label: str | None = None,
) -> str:
    """A booktabs tabular with one column group per dataset; wrapped in a `table` float when a caption
    or label is given. Needs `\\usepackage{booktabs}`."""
    lead = ["strategy"] + (["searched on"] if _has_search_column(table) else [])
    n_lead = len(lead)
    groups: list[tuple[str, int]] = []
    for col in table.columns:
        if groups and groups[-1][0] == col.group:
            groups[-1] = (col.group, groups[-1][1] + 1)
        else:
            groups.append((col.group, 1))
    top = (
        " & " * (n_lead - 1)
        + " & "
        + " & ".join(rf"\multicolumn{{{w}}}{{c}}{{{latex_escape(g)}}}" for g, w in groups)
    )
    rules, start = [], n_lead + 1
    for _, w in groups:
        rules.append(rf"\cmidrule(lr){{{start}-{start + w - 1}}}")
        start += w
    sub = " & ".join([latex_escape(h) for h in lead] + [latex_escape(c.split) for c in table.columns])
    body = []
    cells = _formatted(table, digits, bold_best, (r"\textbf{", "}"))
    for i, strategy in enumerate(table.strategies):
        first = [latex_escape(strategy)]
        if _has_search_column(table):
            first.append(latex_escape(str(table.searched_on[i])))
        body.append(" & ".join(first + [c.replace("±", r"$\pm$") for c in cells[i]]) + r" \\")
    lines = [
        rf"\begin{{tabular}}{{{'l' * n_lead}{'c' * len(table.columns)}}}",
        r"\toprule",
        top + r" \\",
        " ".join(rules),
        sub + r" \\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
    ]
    if caption is not None or label is not None:
        inner = [r"\begin{table}[t]", r"\centering"]
        if caption is not None:
            inner.append(rf"\caption{{{latex_escape(caption)}}}")
        if label is not None:
            inner.append(rf"\label{{{label}}}")
        lines = [*inner, *lines, r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(table: PerformanceTable, *, formatted: bool = False, digits: int = 2) -> str:
    """Numbers at full precision (`<group>_<split>_{mean,std,n}` columns), or with `formatted` one
    "93.74±0.34" cell per column."""
    if not formatted:
        frame = table.to_frame()
        if not _has_search_column(table):
            frame = frame.drop(columns="searched_on")
        return frame.to_csv(index=False, lineterminator="\n")
    data: dict[str, list[str]] = {"strategy": list(table.strategies)}
    if _has_search_column(table):
        data["searched on"] = [str(d) for d in table.searched_on]
    cells = _formatted(table, digits, False, ("", ""))
    for j, col in enumerate(table.columns):
        data[col.label] = [row[j] for row in cells]
    buf = io.StringIO()
    pd.DataFrame(data).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def render(table: PerformanceTable, fmt: str) -> str:
    """`table` as `report --table FMT` prints it: FMT is md, latex or csv (their defaults)."""
    renderers: dict[str, Callable[[PerformanceTable], str]] = {
        "md": to_markdown,
        "latex": to_latex,
        "csv": to_csv,
    }
    if fmt not in renderers:
        raise ConfigError(f"the table format must be one of {', '.join(renderers)}, but got {fmt!r}")
    return renderers[fmt](table)
