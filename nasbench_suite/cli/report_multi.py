"""`nasbench-suite report DIR1 DIR2 ...`: several results directories reported together (the text
summary, --json, --significance, --table and --html), e.g. a `compare` directory and a `oneshot` one.

Each directory is read and checked on its own (its run files against its own config.json); a strategy
name in two directories is refused, naming both. --html and --table refuse live directories, as
`report DIR` does, and one-shot runs of another space than the store's; --html needs --html-out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasbench_suite.cli.common import open_store
from nasbench_suite.errors import ConfigError


def cmd_report_several(args: argparse.Namespace, directories: Sequence[str]) -> int:
    from nasbench_suite.analysis import combined

    if args.html and not args.html_out:
        raise ConfigError(
            "--html with several directories needs --html-out FILE (the page belongs to none of them)"
        )
    sources = combined.load_sources(directories)
    if args.html or args.table:
        _check_table_reports(sources, args)
    if args.html:
        return _html(sources, args)
    if args.table:
        return _table(sources, args)
    if args.significance:
        return _significance(sources)
    table = combined.summary_table(sources)
    notes = combined.notes_of(sources)
    if args.json:
        print(json.dumps(combined.to_json(sources, table, notes), indent=1))
        return 0
    print(combined.format_text(sources, table, notes, _hypervolume(sources, args)))
    return 0


def _check_table_reports(sources: Sequence[Any], args: argparse.Namespace) -> None:
    """--html and --table read the found archs' accuracies from the table: no live directory, and no
    one-shot runs of another space than the store's (each directory checked against its own config)."""
    from nasbench_suite.reproduction.run import check_table_space

    store = open_store(args)
    for s in sources:
        if s.family == "live":
            raise ConfigError(
                f"{s.directory} holds live runs: --html and --table read the found archs' accuracies from the "
                "table, which live accuracies are not comparable with; use `report DIR...`, --json or --significance"
            )
        check_table_space(Path(s.directory), s.config, store)


def _html(sources: Sequence[Any], args: argparse.Namespace) -> int:
    from nasbench_suite.analysis.html_combined import write_combined_html
    from nasbench_suite.analysis.html_report import progress_bar

    path = Path(args.html_out)
    figures = path.parent / "figures"
    step, close = progress_bar()
    try:
        write_combined_html(sources, open_store(args), path, figures_dir=figures, progress=step)
    finally:
        close()
    print(f"wrote {path} (figures as PNG and SVG in {figures})", file=sys.stderr)
    return 0


def _table(sources: Sequence[Any], args: argparse.Namespace) -> int:
    import pandas as pd

    from nasbench_suite.analysis import tables
    from nasbench_suite.results import load_rows

    rows = pd.concat([load_rows(Path(s.directory)) for s in sources], ignore_index=True)
    incumbents = tables.final_incumbents(rows)
    store = open_store(args)
    order = [name for s in sources for name in s.strategies if (incumbents["strategy"] == name).any()]
    nb201 = set(incumbents["dataset"]) == {"cifar10-valid"}
    table = (
        tables.nb201_table(incumbents, store, strategies=order)
        if nb201
        else tables.per_search_dataset_table(incumbents, store, strategies=order)
    )
    print(tables.render(table, args.table))
    return 0


def _significance(sources: Sequence[Any]) -> int:
    from nasbench_suite.analysis.combined import merged_runs
    from nasbench_suite.analysis.significance import format_markdown, significance

    families = {s.family for s in sources}
    if "live" in families and len(families) > 1:
        live = next(s.directory for s in sources if s.family == "live")
        raise ConfigError(
            f"{live} holds live runs, whose accuracies are measured, not the table's: they are not tested "
            "against the other directories' table accuracies; report it on its own"
        )
    print(format_markdown(significance(merged_runs(sources))))
    return 0


def _hypervolume(sources: Sequence[Any], args: argparse.Namespace) -> Any:
    """The hypervolume column of `report DIR` for every directory with an objective or constraint (not
    live), each from its own rows and spec on the store it ran on; None when there is none."""
    import pandas as pd

    from nasbench_suite.analysis.hypervolume import hypervolume_table
    from nasbench_suite.cli.common import store_path
    from nasbench_suite.results import load_rows
    from nasbench_suite.store import Store

    parts = []
    for s in sources:
        spec = s.spec
        if not (spec.get("objective") or spec.get("constraint")) or spec.get("live"):
            continue
        rows = load_rows(Path(s.directory), columns=["strategy", "dataset", "run", "epoch", "arch_index"])
        store = (
            open_store(args)
            if getattr(args, "store", None)
            else Store(s.config.get("store") or store_path(args))
        )
        parts.append(hypervolume_table(rows, spec, store))
    return pd.concat(parts, ignore_index=True) if parts else None
