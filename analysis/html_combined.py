"""One HTML report of several results directories (`nasbench-suite report DIR1 DIR2 ... --html`).

The page has the sections of a single directory's report (`analysis.html_report`), filled from all the
directories together (`analysis.combined`):

- Setup: one table per directory, with its kind of search, budget and cost unit;
- Caveats: each directory's, labelled with the directories they concern, and the combined report's;
- Summary: every strategy with its directory and its cost per run in that directory's unit (one-shot:
  measured wall seconds and table-equivalent seconds);
- the final-performance tables, figures and significance statements over every strategy;
- the anytime, regret and rank figures on one time axis: table strategies at their simulated seconds,
  one-shot methods at their table-equivalent seconds (`analysis.combined.anytime_rows`), log scale, the
  captions saying so;
- the critical-difference diagram only when every directory has the same seed scheme (it ranks the
  strategies within blocks of runs paired by seed); otherwise the section says why it is left out.

Live directories have no table-equivalent time and accuracies of their own: they are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nasbench_suite import __version__
from nasbench_suite.analysis.combined import (
    FAMILY_WORDS,
    Source,
    anytime_rows,
    merged_runs,
    notes_of,
    summary_table,
)
from nasbench_suite.analysis.html_report import (
    _ROW_COLUMNS,
    SIMULATED,
    TimeAxis,
    _caveats,
    _critical_difference,
    _e,
    _exporter,
    _final_performance,
    _html_table,
    _meta_table,
    _no_progress,
    _page,
    _pareto,
    _pm,
    _report_sections,
    _Section,
    _setup_items,
    _stamp,
    _write_page,
    check_n_boot,
    check_store_matches,
)
from nasbench_suite.analysis.html_report import (
    _curves_sections as curves_sections,
)
from nasbench_suite.errors import ConfigError
from nasbench_suite.results import load_rows
from nasbench_suite.store import Store

if TYPE_CHECKING:
    from nasbench_suite.analysis.html_report import Export, Progress

__all__ = ["build_combined_html", "time_axis_of", "write_combined_html"]


def time_axis_of(sources: Sequence[Source]) -> TimeAxis:
    """The shared time axis: simulated seconds when every directory is a table comparison; else
    simulated (table strategies) or table-equivalent (one-shot methods) seconds, explained."""
    families = {s.family for s in sources}
    if "live" in families:
        live = next(s.directory for s in sources if s.family == "live")
        raise ConfigError(f"{live!r} holds live runs, whose wall seconds have no table-equivalent time")
    if families == {"table"}:
        return SIMULATED
    table = " ".join(s.label for s in sources if s.family == "table")
    oneshot = " ".join(s.label for s in sources if s.family == "oneshot")
    explained = (
        f"One x axis in seconds: {'table strategies (' + table + ') at their simulated seconds, ' if table else ''}"
        f"one-shot methods ({oneshot}) at their table-equivalent seconds, the measured wall time of the search "
        "x the table's per-image training time of the reference cell at NAS-Bench-201 scale / its measured "
        "per-image time at the search's scale (per run)."
    )
    return TimeAxis(
        name="simulated or table-equivalent time" if table else "table-equivalent time",
        label=(
            "simulated (table) or table-equivalent (one-shot) time (s, log)"
            if table
            else "table-equivalent time (s, log)"
        ),
        explained=explained,
        evaluations="training evaluations or, for one-shot methods, search epochs",
    )


def _setup(sources: Sequence[Source], store: Store) -> tuple[_Section, list[str]]:
    parts, notes = [], []
    for s in sources:
        items, warnings = _setup_items(Path(s.directory), dict(s.config), s.runs, store)
        where = next(i for i, (k, _) in enumerate(items) if k == "budget") + 1
        items[where - 1] = ("budget", s.budget_text())
        items[where:where] = [("kind of search", FAMILY_WORDS[s.family]), ("costs", s.cost_text())]
        parts.append(f"<h3>{_e(s.label)} {_e(s.directory)}</h3>" + _meta_table(items))
        notes += [f"{s.label} {n}" for n in warnings]
    return _Section("setup", "Setup", "\n".join(parts)), notes


def _summary(sources: Sequence[Source]) -> _Section:
    table = summary_table(sources)
    head = [
        "strategy",
        "directory",
        "searched on",
        "test on",
        "runs",
        "test acc (%)",
        "valid acc (%)",
        "evaluations",
        "overhead (s / run)",
        "cost / run",
    ]
    num = [False, False, False, False, True, True, True, True, True, True]
    rows = [
        [
            r.strategy,
            f"{r.label} {r.directory}",
            r.dataset,
            r.test_on,
            f"{r.runs}",
            _pm(r.test_mean, r.test_std),
            _pm(r.valid_mean, r.valid_std),
            f"{r.evaluations:.1f}",
            f"{r.overhead_s:.3f}",
            f"{r.cost_s:.0f} {r.unit}"
            + (f" = {r.table_equiv_s:.0f} table-equiv. s" if r.table_equiv_s == r.table_equiv_s else ""),
        ]
        for r in table.itertuples()
    ]
    body = _html_table(head, rows, num) + (
        "<p>Mean ± std (ddof=1) over runs of each run's final incumbent (best validation accuracy seen; for a "
        "one-shot search, the cell derived after its last search epoch): 200-epoch seed-mean test accuracy on "
        "the report dataset and validation accuracy on the search dataset. Evaluations are training "
        "evaluations per run (one-shot: search epochs). Cost per run is in the directory's own unit: simulated "
        "seconds for a table comparison, measured wall seconds for a one-shot search, followed by the same in "
        "table-equivalent seconds.</p>"
    )
    return _Section("summary", "Summary", body)


def _critical_difference_or_why(
    sources: Sequence[Source], runs: pd.DataFrame, export: Export | None
) -> _Section:
    schemes = {s.seed_scheme for s in sources}
    if len(schemes) == 1:
        return _critical_difference(runs, export=export)
    listed = "; ".join(f"{s.label} {s.seed_scheme}" for s in sources)
    return _Section(
        "cd",
        "Critical difference",
        "<p>"
        + _e(
            "No critical-difference diagram: it ranks the strategies within blocks of runs paired by seed, and "
            f"the directories have different seed schemes ({listed}), so their runs form no blocks. The "
            "significance section tests every pair across them unpaired (Mann-Whitney U)."
        )
        + "</p>",
    )


def _pareto_of(
    sources: Sequence[Source], own_rows: Sequence[pd.DataFrame], store: Store, export: Export | None
) -> _Section | None:
    """Every constrained directory's Pareto fronts under its own heading, or None where none is."""
    parts = [
        f"<h3>{_e(s.label)} {_e(s.directory)}</h3>\n{section.body}"
        for s, r in zip(sources, own_rows, strict=True)
        if (section := _pareto(r, s.spec, store, export=export)) is not None
    ]
    return _Section("pareto", "Pareto fronts", "\n".join(parts)) if parts else None


def build_combined_html(
    sources: Sequence[Source],
    store: Store,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    check_data: bool = True,
    export: Export | None = None,
    generated_at: str | None = None,
    progress: Progress = _no_progress,
) -> str:
    """The report of several results directories (`analysis.combined.load_sources`) as one
    self-contained page. `store` must hold the data each directory ran on unless `check_data` is False;
    `seed` seeds the bootstrap bands and CIs; `export(fig, alt)` as in `html_report.build_html`."""
    check_n_boot(n_boot)
    if len(sources) < 2:
        raise ConfigError(f"a combined report needs at least 2 directories, got {len(sources)}")
    time_axis = time_axis_of(sources)
    for s in sources:
        if check_data:
            check_store_matches(store, s.config, s.directory)
    runs = merged_runs(sources)
    own_rows = [
        load_rows(Path(s.directory), columns=[*_ROW_COLUMNS, *(["table_equiv_s"] * (s.family == "oneshot"))])
        for s in sources
    ]
    columns = list(_ROW_COLUMNS)
    rows = pd.concat([r[columns] for r in own_rows], ignore_index=True)
    timed = pd.concat(
        [anytime_rows(s, r)[columns] for s, r in zip(sources, own_rows, strict=True)], ignore_index=True
    )
    order = [name for s in sources for name in s.strategies]
    rng = np.random.default_rng(seed)
    constrained = [s for s in sources if s.spec.get("objective") or s.spec.get("constraint")]
    total = 5 + (len(order) >= 2) + bool(constrained)
    setup, setup_notes = _setup(sources, store)
    final, final_notes = _final_performance(rows, store, strategies=order)
    progress("tables", total)
    head = [
        setup,
        _caveats([*setup_notes, *final_notes], notes_of(sources)),
        _summary(sources),
        final,
        *curves_sections(timed, runs, store, rng, n_boot, export=export, time_axis=time_axis),
    ]
    sections = _report_sections(
        head,
        runs,
        rows,
        store,
        seed=seed,
        export=export,
        critical_difference=(lambda: _critical_difference_or_why(sources, runs, export))
        if len(order) >= 2
        else None,
        pareto=lambda: _pareto_of(sources, own_rows, store, export),
        progress=progress,
        total=total,
    )
    names = " + ".join(Path(s.directory).resolve().name for s in sources)
    subtitle = f"{len(order)} strategies from {len(sources)} results directories: " + "; ".join(
        f"{s.label} {len(s.strategies)} {FAMILY_WORDS[s.family]}es × {len(s.spec['datasets'])} dataset(s) × "
        f"{s.spec['runs']} runs, {s.budget_text()} ({s.unit})"
        for s in sources
    )
    versions = sorted({str(s.config.get("suite_version", "unknown")) for s in sources})
    footer = (
        f"generated {_stamp(generated_at)} by nasbench-suite {__version__} from "
        + ", ".join(str(Path(s.directory).resolve()) for s in sources)
        + f" (results written by nasbench-suite {', '.join(versions)})"
    )
    return _page(f"nasbench-suite comparison: {names}", subtitle, sections, footer)


def write_combined_html(
    sources: Sequence[Source],
    store: Store,
    path: Path | str,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    check_data: bool = True,
    figures_dir: Path | str | None = None,
    progress: Progress = _no_progress,
) -> Path:
    """`build_combined_html` written to `path` atomically; with `figures_dir`, every figure also as PNG
    and SVG there."""
    page = build_combined_html(
        sources,
        store,
        seed=seed,
        n_boot=n_boot,
        check_data=check_data,
        export=_exporter(figures_dir),
        progress=progress,
    )
    return _write_page(Path(path), page)
