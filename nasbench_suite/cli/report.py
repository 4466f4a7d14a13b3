"""`nasbench-suite report DIR`: the text summary, --json, --significance, --table and --html (several
directories: `cli.report_multi`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nasbench_suite.cli.common import open_store, store_path
from nasbench_suite.errors import ConfigError


def cmd_report(args: argparse.Namespace) -> int:
    from nasbench_suite.analysis.summary import caveats, format_text, metas_text, summarize, to_json
    from nasbench_suite.results import load_run_metas, runs_frame

    directories = [args.dir] if isinstance(args.dir, str) else list(args.dir)
    if len(directories) > 1:
        from nasbench_suite.cli.report_multi import cmd_report_several

        return cmd_report_several(args, directories)
    args = argparse.Namespace(**{**vars(args), "dir": directories[0]})

    if args.html or args.table:
        from nasbench_suite.reproduction.run import check_table_space
        from nasbench_suite.results import read_config

        config = read_config(Path(args.dir))
        if config.get("spec", {}).get("live"):
            raise ConfigError(
                f"{args.dir} holds live runs: --html and --table read the found archs' accuracies from the table, "
                "which live accuracies are not comparable with; use `report DIR`, --json or --significance"
            )
        check_table_space(Path(args.dir), config, open_store(args))
    if args.html:
        from nasbench_suite.analysis.html_report import progress_bar, write_html

        path = Path(args.html_out or Path(args.dir) / "report.html")
        figures = path.parent / "figures"
        step, close = progress_bar()
        try:
            write_html(Path(args.dir), open_store(args), path, figures_dir=figures, progress=step)
        finally:
            close()
        print(f"wrote {path} (figures as PNG and SVG in {figures})", file=sys.stderr)
        return 0
    if args.table:
        from nasbench_suite.analysis import tables
        from nasbench_suite.results import load_rows

        incumbents = tables.final_incumbents(load_rows(Path(args.dir)))
        store = open_store(args)
        # a cifar10-valid search is reported on all three datasets, as NAS-Bench-201's Table 5 does
        nb201 = set(incumbents["dataset"]) == {"cifar10-valid"}
        table = (
            tables.nb201_table(incumbents, store)
            if nb201
            else tables.per_search_dataset_table(incumbents, store)
        )
        print(tables.render(table, args.table))
        return 0
    if args.significance:
        from nasbench_suite.analysis.significance import format_markdown, significance_of

        print(format_markdown(significance_of(Path(args.dir))))
        return 0
    found = load_run_metas(Path(args.dir))
    config = found.config
    spec = config["spec"]
    hypervolumes = bool(spec.get("objective") or spec.get("constraint")) and not spec.get("live")
    if not (args.json or hypervolumes or (spec.get("oneshot") and not spec.get("live"))):
        # the text `compare` prints after every comparison: from the metadata, without pandas' import
        print(metas_text(found.metas, found.set_aside, config))
        return 0
    runs = runs_frame(found)
    table = summarize(runs)
    notes = caveats(runs, config)
    if args.json:
        print(json.dumps(to_json(table, notes, config), indent=1))
        return 0
    hv = None
    if hypervolumes:
        from nasbench_suite.analysis.hypervolume import hypervolume_table
        from nasbench_suite.results import load_rows
        from nasbench_suite.store import Store

        rows = load_rows(Path(args.dir), columns=["strategy", "dataset", "run", "epoch", "arch_index"])
        # after `compare`, the store the comparison ran on (its config records it)
        store = (
            open_store(args)
            if getattr(args, "store", None)
            else Store(config.get("store") or store_path(args))
        )
        hv = hypervolume_table(rows, spec, store)
    print(format_text(table, notes, config, hv))
    return 0


# ------------------------------------------------------------------ reproduce
