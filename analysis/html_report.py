"""One self-contained HTML report of a results directory: opens in any browser, offline, as a single file.

    html = build_html(Path("results/zoo-c10"), Store("data/store"))
    write_html(Path("results/zoo-c10"), Store("data/store"), Path("report.html"))
    nasbench-suite report results/zoo-c10 --html [--html-out report.html]

What it holds, all computed by the other analysis modules (this one only lays them out):

- the comparison's setup from config.json (suite version, data checksum, store, budget, schedule, noise,
  root seed, runs, workers, constraint / objective) and the caveats of `analysis.summary.caveats`;
- the summary table (`analysis.summary.summarize`) and the final-performance table of `analysis.tables`:
  the NAS-Bench-201 layout over three datasets for searches on cifar10-valid, one row per strategy with
  each search dataset's own runs for the others;
- figures (`analysis.plots`): anytime test accuracy against simulated time and against evaluations,
  regret against time, the average rank over time when there are >= 2 datasets, the critical-difference
  diagram when there are >= 2 strategies, and per dataset the Pareto fronts of test accuracy against the
  comparison's objective / constraint metric when it has one, with each run's hypervolume as a fraction
  of the true front's;
- the significance statements and the numbers behind them (`analysis.significance`).

Figures are PNGs embedded as base64 data URIs, CSS is inline, every text is HTML-escaped, and the only
links are to anchors inside the page. A few lines of inline script (not needed to read the page) record
on `<body>` how many images loaded (`data-images-loaded`, `data-images-total`), so a headless browser can
check that the page renders.

Every run file is opened once: its footer gives the run's metadata (as `load_runs`) and the columns the
figures need are read from it (as `load_rows`); reading both with those two functions takes 18 s for
10 strategies x 500 runs on two cores, this about 5 s. Rows with `epoch == 0` (cheap measurements) count
for nothing but nothing breaks when they, or a `measure` column, are there.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nasbench_suite import __version__
from nasbench_suite.analysis import hypervolume, paper_figures, plots, tables
from nasbench_suite.analysis.significance import SignificanceReport, format_markdown, significance
from nasbench_suite.analysis.summary import caveats, summarize
from nasbench_suite.datasets import report_dataset
from nasbench_suite.errors import ConfigError, ResultsError
from nasbench_suite.results import atomic_write_bytes, load_rows, load_runs, read_config
from nasbench_suite.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure

    Export = Callable[[Figure, str], None]  # (figure, its alt text) -> None
    # called after each part of a report is built, with the part's name and the number of parts in all
    Progress = Callable[[str, int], None]

__all__ = [
    "SIMULATED",
    "TimeAxis",
    "build_html",
    "load_results",
    "markdown_to_html",
    "progress_bar",
    "write_html",
]


def _no_progress(part: str, total: int) -> None:
    pass


def progress_bar(desc: str = "html report") -> tuple[Progress, Callable[[], None]]:
    """A `Progress` (called after each part of a report with its name and the number of parts) that draws
    a tqdm bar on stderr, only on a terminal; and what closes the bar."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="part", leave=False, disable=None)

    def step(part: str, total: int) -> None:
        bar.total = total
        bar.set_postfix_str(part, refresh=False)
        bar.update()

    return step, bar.close


# the columns of `load_rows` the report uses; a file may have more (e.g. `measure`) or be older
_ROW_COLUMNS = (
    "run",
    "strategy",
    "dataset",
    "step",
    "arch_index",
    "epoch",
    "time_s",
    "incumbent_index",
    "incumbent_test",
)
DPI = 110
CARRY_FORWARD = (
    "A run that has finished keeps its last value to the end of the axis (carried forward), so every run "
    "counts at every point after its first evaluation."
)


# ============================================================================================== reading


def load_results(results_dir: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """(config, runs, rows) of a results directory; `rows` holds only the columns the report uses."""
    return read_config(results_dir), load_runs(results_dir), load_rows(results_dir, columns=_ROW_COLUMNS)


# ============================================================================================ rendering
def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_INLINE_BOLD = re.compile(r"\*\*(.+?)\*\*")
_INLINE_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    return _INLINE_CODE.sub(r"<code>\1</code>", _INLINE_BOLD.sub(r"<strong>\1</strong>", _e(text)))


def _table_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_html(text: str, *, heading_offset: int = 0) -> str:
    """The Markdown subset that `analysis` writes, as HTML: `#` headings (moved down `heading_offset`
    levels), `- ` lists, `|` tables (`---:` right-aligns a column), `**bold**`, `` `code` ``, and paragraphs. Every
    text is escaped; nothing else is interpreted."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif m := re.match(r"(#{1,6})\s+(.*)", stripped):
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif stripped.startswith("- "):
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif stripped.startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(_table_cells(lines[i]))
                i += 1
            out.append(_markdown_table(block))
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"(#{1,6}\s|- |\|)", lines[i].strip()):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(out)


def _markdown_table(block: list[list[str]]) -> str:
    header, body = block[0], block[1:]
    right = [False] * len(header)
    if body and all(re.fullmatch(r":?-{3,}:?", c) for c in body[0]):
        right = [c.endswith(":") for c in body[0]]
        body = body[1:]

    def cell(tag: str, text: str, j: int) -> str:
        cls = ' class="num"' if j < len(right) and right[j] else ""
        return f"<{tag}{cls}>{_inline(text)}</{tag}>"

    head = "<tr>" + "".join(cell("th", c, j) for j, c in enumerate(header)) + "</tr>"
    rows = ["<tr>" + "".join(cell("td", c, j) for j, c in enumerate(r)) + "</tr>" for r in body]
    return f'<div class="scroll"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    # the figures use constrained layout, so they need no cropping (bbox_inches="tight" draws twice)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig: Figure, alt: str, caption: str, export: Export | None = None) -> str:
    if export is not None:
        export(fig, alt)
    return (
        f'<figure><img src="data:image/png;base64,{_png(fig)}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _pm(mean: float, std: float) -> str:
    if mean != mean:
        return "n/a"
    return f"{mean:.2f}" if std != std else f"{mean:.2f} ± {std:.2f}"


@dataclass(frozen=True)
class _Section:
    anchor: str
    title: str
    body: str


# ============================================================================================= sections
def _budget_text(budget: Mapping[str, Any]) -> str:
    unit = {"seconds": "simulated seconds", "evaluations": "evaluations", "epochs": "training epochs"}
    return f"{budget['limit']:g} {unit.get(budget['kind'], budget['kind'])} per run"


def _setup(
    results_dir: Path, config: Mapping[str, Any], runs: pd.DataFrame, store: Store
) -> tuple[_Section, list[str]]:
    items, notes = _setup_items(results_dir, config, runs, store)
    return _Section("setup", "Setup", _meta_table(items)), notes


def _meta_table(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<table class="meta"><tbody>'
        + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
        + "</tbody></table>"
    )


def _setup_items(
    results_dir: Path, config: Mapping[str, Any], runs: pd.DataFrame, store: Store
) -> tuple[list[tuple[str, str]], list[str]]:
    """The setup table's (name, value) pairs of one results directory, and the warnings it needs."""
    spec = config["spec"]
    counts = runs.groupby(["strategy", "dataset"]).size()
    expected = len(spec["strategies"]) * len(spec["datasets"]) * spec["runs"]
    finished = (
        f"{spec['runs']}"
        if len(runs) == expected and (counts == spec["runs"]).all()
        else f"{spec['runs']} asked; {len(runs)} of {expected} runs finished"
    )
    constraint = spec.get("constraint")
    items: list[tuple[str, str]] = [
        ("results directory", str(Path(results_dir).resolve())),
        ("suite version", str(config.get("suite_version", "unknown"))),
        ("data checksum", str(config.get("data_checksum", "unknown"))),
        ("store (comparison)", str(config.get("store", "not recorded"))),
        ("store (this report)", str(store.path.resolve())),
        ("strategies", ", ".join(spec["strategies"])),
        (
            "search datasets",
            ", ".join(
                f"{d} (test on {report_dataset(d)})" if report_dataset(d) != d else d
                for d in spec["datasets"]
            ),
        ),
        ("budget", _budget_text(spec["budget"])),
        ("search schedule", f"{spec['schedule']} epochs"),
        ("noise", str(spec["noise"])),
        ("root seed", str(spec["seed"])),
        ("runs per strategy and dataset", finished),
        ("simulated workers", str(spec.get("workers", 1))),
        ("constraint", f"{constraint['metric']} ≤ {constraint['limit']:g}" if constraint else "none"),
        ("second objective (minimized)", str(spec.get("objective") or "none")),
        (
            "hyperparameters",
            json.dumps(spec.get("hparams") or {}, sort_keys=True) if spec.get("hparams") else "defaults",
        ),
    ]
    notes = []
    if len(runs) != expected:
        notes.append(f"the comparison is incomplete: {len(runs)} of {expected} runs have finished")
    if store.checksum != config.get("data_checksum"):
        notes.append(
            f"the store read for this report ({store.path}, checksum {store.checksum[:12]}) is not the data "
            f"the comparison ran on (checksum {str(config.get('data_checksum'))[:12]}): looked-up accuracies "
            "may differ from the run metadata"
        )
    return items, notes


def _summary(runs: pd.DataFrame) -> _Section:
    table = summarize(runs)
    head = [
        "strategy",
        "searched on",
        "test on",
        "runs",
        "test acc (%)",
        "valid acc (%)",
        "evaluations",
        "overhead (s / run)",
    ]
    num = [False, False, False, True, True, True, True, True]
    rows = [
        [
            r.strategy,
            r.dataset,
            r.test_on,
            f"{r.runs}",
            _pm(r.test_mean, r.test_std),
            _pm(r.valid_mean, r.valid_std),
            f"{r.evaluations:.1f}",
            f"{r.overhead_s:.3f}",
        ]
        for r in table.itertuples()
    ]
    body = _html_table(head, rows, num) + (
        "<p>Mean ± std (ddof=1) over runs of each run's final incumbent (best validation accuracy seen): "
        "200-epoch seed-mean test accuracy on the report dataset and validation accuracy on the search "
        "dataset; evaluations are training evaluations per run.</p>"
    )
    return _Section("summary", "Summary", body)


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> str:
    def cls(j: int) -> str:
        return ' class="num"' if numeric[j] else ""

    top = "<tr>" + "".join(f"<th{cls(j)}>{_e(h)}</th>" for j, h in enumerate(head)) + "</tr>"
    body = "".join(
        "<tr>" + "".join(f"<td{cls(j)}>{_e(c)}</td>" for j, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f'<div class="scroll"><table><thead>{top}</thead><tbody>{body}</tbody></table></div>'


def _final_performance(
    rows: pd.DataFrame, store: Store, strategies: Sequence[str] | None = None
) -> tuple[_Section, list[str]]:
    """The final-performance tables; rows in the order of `strategies` (default: sorted by name)."""
    incumbents = tables.final_incumbents(rows)
    notes = []
    lost = incumbents[incumbents["arch_index"] < 0]
    if len(lost):
        notes.append(
            f"{len(lost)} run(s) found no arch that satisfies the constraint and are left out of the "
            "final-performance table"
        )
        incumbents = incumbents[incumbents["arch_index"] >= 0]
    parts = []
    c10 = incumbents[incumbents["dataset"] == "cifar10-valid"]
    if len(c10):
        parts.append(
            "<h3>Searches on cifar10-valid, NAS-Bench-201 layout (Dong &amp; Yang, ICLR 2020, Table 5)</h3>"
        )
        parts.append(
            markdown_to_html(
                tables.to_markdown(
                    tables.nb201_table(c10, store, strategies=_present(c10, strategies)),
                    bold_best=True,
                    notes=True,
                )
            )
        )
    if (incumbents["dataset"] != "cifar10-valid").any():
        parts.append("<h3>Every search dataset, each filled by its own runs</h3>")
        table = tables.per_search_dataset_table(
            incumbents, store, strategies=_present(incumbents, strategies)
        )
        parts.append(markdown_to_html(tables.to_markdown(table, bold_best=True, notes=True)))
    parts.append("<p>Bold: the best mean of each column (after rounding).</p>")
    return _Section("final", "Final performance", "\n".join(parts)), notes


def _present(incumbents: pd.DataFrame, strategies: Sequence[str] | None) -> list[str] | None:
    """`strategies` that have a row in `incumbents`, in their order; None (sorted by name) for None."""
    if strategies is None:
        return None
    have = set(incumbents["strategy"])
    return [s for s in strategies if s in have]


def _legend_outside(fig: Figure, *, width: float, height: float) -> Figure:
    """Resize a figure of `analysis.plots` for the page and move its legend to the right of the panels,
    where it hides no curve (constrained layout makes room)."""
    fig.set_size_inches(width, height)
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            title = legend.get_title().get_text()
            legend.remove()
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside right upper", title=title or None)
    return fig


@dataclass(frozen=True)
class TimeAxis:
    """The time axis of the anytime, regret and rank figures: its name in alt texts and captions, its
    axis label, a sentence saying what it is (added to the captions) and what an evaluation is.
    The default is a comparison's simulated time; a report of several directories names its own."""

    name: str = "simulated time"
    label: str = "simulated time (s)"
    explained: str = ""
    evaluations: str = "training evaluations"


SIMULATED = TimeAxis()


def _relabel(fig: Figure, time_axis: TimeAxis, axis: str) -> Figure:
    """The time axis's label on every panel of a time figure (the plots label it simulated time); over
    more than three decades (one-shot searches take seconds, table ones hours) ticks at decades only,
    where 1, 2 and 5 per decade would run into each other."""
    from matplotlib.ticker import LogLocator

    if axis == "time" and time_axis != SIMULATED:
        for ax in fig.axes:
            if ax.get_xlabel():
                ax.set_xlabel(time_axis.label)
                lo, hi = ax.get_xlim()
                if lo > 0 and hi / lo > 1e3:
                    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
    return fig


def _curves_sections(
    rows: pd.DataFrame,
    runs: pd.DataFrame,
    store: Store,
    rng: np.random.Generator,
    n_boot: int,
    export: Export | None = None,
    time_axis: TimeAxis = SIMULATED,
) -> list[_Section]:
    by_time = plots.anytime_curves(rows, axis="time")
    by_evals = plots.anytime_curves(rows, axis="evaluations")
    datasets = by_time.datasets
    size = {"width": min(12.0, 2.2 + max(5.0, 3.4 * len(datasets))), "height": 3.8}
    band = f"mean over runs with its 95% percentile-bootstrap band ({n_boot} resamples of the runs)"
    when, why = time_axis.name, (f" {time_axis.explained}" if time_axis.explained else "")

    def anytime(curves: plots.Curves) -> Figure:
        fig = plots.plot_anytime(curves, rng=rng, n_boot=n_boot, legend="outside")
        return _legend_outside(_relabel(fig, time_axis, curves.axis), **size)

    out = [
        _Section(
            "anytime",
            "Anytime performance",
            _figure(
                anytime(by_time),
                f"anytime test accuracy against {when}",
                f"Test accuracy of the incumbent (best validation accuracy seen so far) against {when} "
                f"on a log axis: {band}.{why} {CARRY_FORWARD}",
                export=export,
            )
            + _figure(
                anytime(by_evals),
                "anytime test accuracy against evaluations",
                f"The same against the number of {time_axis.evaluations} (linear axis): {band}. {CARRY_FORWARD}",
                export=export,
            ),
        ),
    ]
    best = plots.optima(store, datasets)
    optimum = ", ".join(f"{report_dataset(d)} {v:.2f}" for d, v in best.items())
    regret = _legend_outside(
        _relabel(
            plots.plot_regret(by_time, best, rng=rng, n_boot=n_boot, legend="outside"), time_axis, "time"
        ),
        **size,
    )
    out.append(
        _Section(
            "regret",
            "Regret",
            _figure(
                regret,
                f"regret against {when}",
                f"The best 200-epoch test accuracy of any arch in the benchmark ({optimum}) minus the "
                f"incumbent's against {when}, both axes log scale: {band}; a curve stops where it "
                f"reaches 0.{why} {CARRY_FORWARD}",
                export=export,
            ),
        )
    )
    if len(datasets) >= 2:
        ranks = [
            _legend_outside(
                _relabel(plots.plot_average_rank(plots.average_ranks(c)), time_axis, c.axis),
                width=7.5,
                height=3.6,
            )
            for c in (by_time, by_evals)
        ]
        out.append(
            _Section(
                "ranks",
                "Average rank",
                _figure(
                    ranks[0],
                    f"average rank against {when}",
                    "Rank (1 = best) of each strategy's mean incumbent test accuracy on each dataset, "
                    f"averaged over the {len(datasets)} datasets, against {when} on a log axis.{why} "
                    + CARRY_FORWARD,
                    export=export,
                )
                + _figure(
                    ranks[1],
                    "average rank against evaluations",
                    f"The same against the number of {time_axis.evaluations} (linear axis).",
                    export=export,
                ),
            )
        )
    return out


def _critical_difference(runs: pd.DataFrame, export: Export | None = None) -> _Section:
    scores = plots.final_scores(runs)
    blocks = np.stack([a.reshape(-1) for a in scores.values()], axis=1)
    complete = ~np.isnan(blocks).any(axis=1)
    dropped = int((~complete).sum())
    caption = (
        "Average rank (1 = best) of each strategy's final test accuracy over blocks = (run, dataset), runs "
        "paired by seed; thick bars join strategies whose average ranks differ by less than the Nemenyi "
        "critical difference (Demšar 2006, alpha = 0.05)."
    )
    if dropped:
        caption += f" {dropped} block(s) where some strategy has no result are left out."
    if not complete.any():
        return _Section(
            "cd", "Critical difference", f"<p>{_e('No block has a result from every strategy.')}</p>"
        )
    kept = {s: blocks[complete, j].reshape(-1, 1) for j, s in enumerate(scores)}
    fig = plots.plot_critical_difference(plots.critical_difference(kept))
    return _Section(
        "cd", "Critical difference", _figure(fig, "critical-difference diagram", caption, export=export)
    )


def _paper_figures(
    rows: pd.DataFrame,
    runs: pd.DataFrame,
    store: Store,
    report: SignificanceReport,
    export: Export | None = None,
) -> _Section:
    datasets = sorted(set(runs["dataset"]))
    best = plots.optima(store, datasets)
    parts = [
        _figure(
            paper_figures.plot_final_distribution(runs, best),
            "final test accuracy distribution",
            "Final test accuracy of every run (the incumbent's 200-epoch seed mean): a violin per strategy "
            "(kernel density cut at the observed range; white dot: median) and the best arch in the benchmark "
            "(dashed).",
            export=export,
        )
    ]
    for ds in report.datasets:
        if len(ds.strategies) < 2:
            continue
        fig = paper_figures.plot_pairwise_matrix(
            [st.comparison for st in ds.statements], ds.strategies, title=_title_of(ds.dataset)
        )
        parts.append(
            _figure(
                fig,
                f"pairwise effect sizes on {ds.dataset}",
                f"Every pair on {ds.dataset}: Vargha-Delaney A12 of the row strategy over the column strategy "
                f"(the chance that a run of the row beats a run of the column; 0.5 = even), * where the "
                f"pair's test (Wilcoxon on runs paired by seed, else Mann-Whitney) is significant after Holm's "
                f"correction over all pairs (alpha {report.alpha:g}).",
                export=export,
            )
        )
    hits = paper_figures.top_k_hits(tables.final_incumbents(rows), store)
    parts.append(
        _figure(
            paper_figures.plot_top_k_hits(hits),
            "how often the best archs were found",
            "Share of runs whose final incumbent is the benchmark's best arch, or among its "
            + " / ".join(str(k) for k in hits.ks[1:])
            + " best, by the reported 200-epoch test accuracy (ties at the cut count as in).",
            export=export,
        )
    )
    parts.append(
        _figure(
            paper_figures.plot_valid_vs_test(runs),
            "validation against test accuracy of the incumbents",
            "Each run's final incumbent: the validation accuracy the search selected it by (200-epoch, search "
            "dataset) against its test accuracy on the reported dataset; the spread along a vertical line is "
            "what validation cannot tell apart.",
            export=export,
        )
    )
    return _Section("paper", "Distributions, pairs and hits", "\n".join(parts))


def _title_of(dataset: str) -> str:
    shown = report_dataset(dataset)
    return dataset if shown == dataset else f"{dataset} (test on {shown})"


def _pareto(
    rows: pd.DataFrame, spec: Mapping[str, Any], store: Store, export: Export | None = None
) -> _Section | None:
    constraint = spec.get("constraint")
    metrics = list(
        dict.fromkeys(m for m in (spec.get("objective"), constraint and constraint["metric"]) if m)
    )
    if not metrics:
        return None
    parts = []
    for dataset in sorted(set(rows.loc[rows["epoch"] > 0, "dataset"])):
        shown = report_dataset(dataset)
        for metric in metrics:
            known_points, found = hypervolume.run_fronts(rows, store, dataset, metric)
            fig = plots.plot_pareto_fronts(
                known_points,
                found,
                latency_label=f"{metric} on {dataset}",
                accuracy_label=f"{shown} test accuracy (%)",
            )
            fig.set_size_inches(7.0, 4.6)
            ax = fig.axes[0]
            spread = known_points[:, 0]
            log_x = bool(spread.min() > 0 and spread.max() / spread.min() > 100)
            if log_x:
                ax.set_xscale("log")
            if constraint and constraint["metric"] == metric:
                ax.axvline(
                    constraint["limit"],
                    color="tab:red",
                    ls="--",
                    lw=1,
                    label=f"constraint ≤ {constraint['limit']:g}",
                )
                ax.legend(loc="lower right")
            parts.append(f"<h3>{_e(dataset)}: {_e(metric)}</h3>")
            parts.append(
                _figure(
                    fig,
                    f"Pareto fronts on {dataset}: {metric}",
                    f"Every arch (grey), the true Pareto front (black: lowest {metric}, highest {shown} "
                    f"200-epoch test accuracy) and each run's front of the archs it trained"
                    + (f"; {metric} on a log axis." if log_x else "."),
                    export=export,
                )
            )
            parts.append(_hypervolume_table(known_points, found))
    notes = (
        "<p>Hypervolume (HV) of a run's front: the area it dominates up to the reference point (the true "
        "front's worst metric and worst accuracy, pushed out by a tenth of the front's range: Ishibuchi et al. "
        "2018), as a fraction of the true front's; mean ± std over runs. Unknown metric values (NaN in the "
        "store) are left out.</p>"
    )
    return _Section("pareto", "Pareto fronts", notes + "\n".join(parts))


def _hypervolume_table(points: np.ndarray, found: Mapping[str, Sequence[np.ndarray]]) -> str:
    hv_by_strategy = hypervolume.fractions(points, found)
    if any(hv.size == 0 for hv in hv_by_strategy.values()):
        return "<p>The true front has no hypervolume (every arch has the same metric or accuracy).</p>"
    rows = []
    for strategy, hv in hv_by_strategy.items():
        std = hv.std(ddof=1) if hv.size > 1 else float("nan")
        rows.append(
            [strategy, f"{hv.size}", _pm_digits(hv.mean(), std, 3), f"{hv.min():.3f}", f"{hv.max():.3f}"]
        )
    return _html_table(
        ["strategy", "runs", "HV / true HV", "min", "max"], rows, [False, True, True, True, True]
    )


def _pm_digits(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if std != std else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _significance(report: SignificanceReport) -> _Section:
    text = format_markdown(report)
    text = text.split("\n", 1)[1] if text.startswith("## ") else text  # the section has its own title
    return _Section("significance", "Significance", markdown_to_html(text, heading_offset=0))


# ================================================================================================= page
_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1b1f24;background:#fff;
line-height:1.45;font-size:15px}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;border-bottom:1px solid #d8dee4;padding-bottom:4px;
margin-top:36px}h3{font-size:16px;margin:22px 0 8px}
.sub{color:#57606a;margin:0 0 12px}
nav{font-size:14px;margin:8px 0 0}nav a{margin-right:14px;color:#0969da;text-decoration:none}
table{border-collapse:collapse;font-size:13.5px;margin:8px 0}
th,td{border:1px solid #d8dee4;padding:4px 9px;text-align:left;vertical-align:top}
thead th{background:#f3f5f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.meta th{background:#f6f8fa;font-weight:600;white-space:nowrap}
table.meta td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
.scroll{overflow-x:auto}
ul.caveats li{margin:3px 0}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;border-radius:6px}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;display:block}
figcaption{color:#57606a;font-size:13.5px;margin-top:4px;max-width:900px}
footer{color:#57606a;font-size:12.5px;margin-top:40px}
"""

_SCRIPT = """window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.dataset.imagesTotal = String(images.length);
  document.body.dataset.imagesLoaded = String(loaded.length);
});"""


def build_html(
    results_dir: Path | str,
    store: Store,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    check_data: bool = True,
    export: Export | None = None,
    generated_at: str | None = None,
    progress: Progress = _no_progress,
) -> str:
    """The report of `results_dir` as one self-contained HTML page (a string).

    `store` supplies the accuracies of the found archs and the Pareto metrics; it must hold the data the
    comparison ran on (same checksum) unless `check_data` is False, in which case the page warns instead.
    `seed` seeds the bootstrap bands and CIs, so the same results give the same page. `export(fig, alt)`,
    if given, is called with every figure before it is embedded (`write_html` uses it to save PNG + SVG)."""
    check_n_boot(n_boot)
    results_dir = Path(results_dir)
    config, runs, rows = load_results(results_dir)
    if check_data:
        check_store_matches(store, config, results_dir)
    rng = np.random.default_rng(seed)
    ranked = rows.loc[rows["epoch"] > 0, "strategy"].nunique() >= 2  # the strategies of the curves
    spec = config["spec"]
    total = 5 + ranked + bool(spec.get("objective") or spec.get("constraint"))
    setup, setup_notes = _setup(results_dir, config, runs, store)
    final, final_notes = _final_performance(rows, store)
    progress("tables", total)
    head = [
        setup,
        _caveats([*setup_notes, *final_notes], caveats(runs, config)),
        _summary(runs),
        final,
        *_curves_sections(rows, runs, store, rng, n_boot, export=export),
    ]
    sections = _report_sections(
        head,
        runs,
        rows,
        store,
        seed=seed,
        export=export,
        critical_difference=(lambda: _critical_difference(runs, export=export)) if ranked else None,
        pareto=lambda: _pareto(rows, spec, store, export=export),
        progress=progress,
        total=total,
    )

    title = f"nasbench-suite comparison: {results_dir.resolve().name}"
    subtitle = (
        f"{len(spec['strategies'])} strategies × {len(spec['datasets'])} dataset(s) × {spec['runs']} runs, "
        f"{_budget_text(spec['budget'])}"
    )
    footer = (
        f"generated {_stamp(generated_at)} by nasbench-suite {__version__} from {results_dir.resolve()} (results "
        f"written by nasbench-suite {config.get('suite_version', 'unknown')})"
    )
    return _page(title, subtitle, sections, footer)


def check_n_boot(n_boot: object) -> None:
    if not (isinstance(n_boot, int) and n_boot >= 1):
        raise ConfigError(f"n_boot must be an integer >= 1, but got {n_boot!r}")


def _caveats(notes: Sequence[str], items: Sequence[str]) -> _Section:
    """Warnings about the data (`notes`) over the list of the comparison's caveats."""
    warn = "".join(f'<p class="warn">{_e(n)}</p>' for n in notes)
    listed = "".join(f"<li>{_e(item)}</li>" for item in items)
    return _Section("caveats", "Caveats", warn + f'<ul class="caveats">{listed}</ul>')


def _report_sections(
    head: Sequence[_Section],
    runs: pd.DataFrame,
    rows: pd.DataFrame,
    store: Store,
    *,
    seed: int,
    export: Export | None,
    critical_difference: Callable[[], _Section] | None,
    pareto: Callable[[], _Section | None],
    progress: Progress,
    total: int,
) -> list[_Section]:
    """`head` (setup, caveats, summary, final performance, anytime curves) and the parts every report
    ends with, in order, `progress` called after each: the critical-difference diagram (where given),
    the paper figures, the Pareto fronts (where `pareto` gives any) and the significance tests."""
    sections = list(head)
    progress("anytime figures", total)
    if critical_difference is not None:
        sections.append(critical_difference())
        progress("critical difference", total)
    report = significance(runs, seed=seed)
    progress("tests", total)
    sections.append(_paper_figures(rows, runs, store, report, export=export))
    progress("paper figures", total)
    fronts = pareto()
    if fronts is not None:
        sections.append(fronts)
        progress("pareto fronts", total)
    sections.append(_significance(report))
    progress("page", total)
    return sections


def check_store_matches(store: Store, config: Mapping[str, Any], results_dir: Path | str) -> None:
    """ResultsError unless `store` holds the data the comparison in `results_dir` (its `config`) ran on."""
    if store.checksum != config.get("data_checksum"):
        raise ResultsError(
            f"the store at {store.path} (checksum {store.checksum[:12]}) is not the data {results_dir} ran on "
            f"(checksum {str(config.get('data_checksum'))[:12]}); pass the store it ran on ({config.get('store')}) "
            "or check_data=False"
        )


def _stamp(generated_at: str | None) -> str:
    return generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _page(title: str, subtitle: str, sections: Sequence[_Section], footer: str) -> str:
    """The page around the sections: head with the inline CSS, title, navigation, footer, script."""
    nav = "".join(f'<a href="#{s.anchor}">{_e(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{s.anchor}"><h2>{_e(s.title)}</h2>\n{s.body}\n</section>' for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{_e(title)}</h1><p class="sub">{_e(subtitle)}</p><nav>{nav}</nav></header>\n'
        f"{body}\n"
        f"<footer>{_e(footer)}</footer>\n"
        f"</main>\n<script>\n{_SCRIPT}\n</script>\n</body>\n</html>\n"
    )


def write_html(
    results_dir: Path | str,
    store: Store,
    path: Path | str,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    check_data: bool = True,
    figures_dir: Path | str | None = None,
    progress: Progress = _no_progress,
) -> Path:
    """`build_html` written to `path` atomically (a temporary file in the same directory, then
    `os.replace`); returns `path`. With `figures_dir`, every figure is also saved there as PNG and SVG."""
    page = build_html(
        results_dir,
        store,
        seed=seed,
        n_boot=n_boot,
        check_data=check_data,
        export=_exporter(figures_dir),
        progress=progress,
    )
    return _write_page(Path(path), page)


def _exporter(figures_dir: Path | str | None) -> Export | None:
    """What saves every figure as PNG and SVG in `figures_dir` (named after its alt text); None: nothing."""
    if figures_dir is None:
        return None
    figures = Path(figures_dir)

    def export(fig: Figure, alt: str) -> None:  # the folder appears with the first figure, not before
        figures.mkdir(parents=True, exist_ok=True)
        plots.save(fig, figures / re.sub(r"[^a-z0-9]+", "-", alt.lower()).strip("-"))

    return export


def _write_page(path: Path, page: str) -> Path:
    atomic_write_bytes(path, page.encode("utf-8"))
    path.chmod(0o644)  # a page to share; the temporary file was private
    return path
