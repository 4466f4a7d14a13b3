"""The `nasbench-suite` command: its parser and the smaller commands.

The CLI is the composition root: it imports the `strategies`, `analysis` and `live_training` packages
(lazily, per command; `cli.live` at start-up for its argument definitions, which import no torch), so the
core depends on none of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from nasbench_suite import __version__
from nasbench_suite.cli import live as live_commands  # argument definitions only; torch loads lazily
from nasbench_suite.cli.common import (
    add_executor_arguments,
    add_strategy_module,
    check_executor_options,
    executor_from,
    open_store,
    parse_constraint,
    split_names,
    store_path,
    strategy_modules,
)
from nasbench_suite.cli.report import cmd_report
from nasbench_suite.cli_types import integer, number, one_line, parse_integer
from nasbench_suite.errors import ConfigError, SuiteError
from nasbench_suite.run_files import ResultsWarning
from nasbench_suite.store.locate import DEFAULT_STORE, STORE_ENV, import_target


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see --help)\n")


# ------------------------------------------------------------------ data
def cmd_data_import(args: argparse.Namespace) -> int:
    from nasbench_suite.store import Store, import_source

    source = Path(args.source)
    if not source.exists():
        raise ConfigError(f"benchmark source {str(source)!r} does not exist")
    path = import_source(source, import_target(args.store))
    store = Store(path)
    print(
        f"imported {source} into {path}: {store.n_archs} archs, {len(store.specs())} tables, checksum {store.checksum[:12]}"
    )
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    store = open_store(args)
    if args.expect_source is not None:
        from nasbench_suite.store.provenance import check_source

        check_source(store, args.expect_source)
    prov = store.manifest["provenance"]
    print(f"store      {store.path.resolve()}")
    print(f"checksum   {store.checksum}")
    print(f"space      {store.space.n_nodes} nodes, ops {', '.join(store.space.ops)}; {store.n_archs} archs")
    print(f"source     {prov.get('importer')}: {prov.get('source')}")
    for dataset in store.datasets():
        print(f"\n{dataset}")
        for metric in store.metrics(dataset):
            schedules = store.schedules(dataset, metric)
            if not schedules:
                print(f"  {metric}")
            for s in schedules:
                spec = store.table(dataset, metric, s).spec
                seeds = ", ".join(map(str, spec.seeds)) or "mean only"
                points = "final epoch" if len(spec.points) == 1 else f"{len(spec.points)} epochs"
                print(f"  {metric}@{s:<4} seeds: {seeds}; {points}")
    for note in prov.get("notes", []):
        print(f"\nnote: {note}")
    return 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    from nasbench_suite.errors import StoreError
    from nasbench_suite.store.verify import verify_store

    report = verify_store(store_path(args))
    if report.recovered:
        print(f"nasbench-suite: note: {report.recovered}", file=sys.stderr)
    for problem in report.problems:
        print(f"FAILED {problem}")
    if not report.ok:
        raise StoreError(
            f"store {str(report.store)!r} fails verification ({len(report.problems)} problem(s) above); {report.repair}"
        )
    print(
        f"store {report.store}: manifest matches manifest.sha256; {report.files} array files "
        f"({report.bytes / 1e6:.1f} MB) match their sha256, shape and dtype"
    )
    return 0


# ------------------------------------------------------------------ query
def _metric_with_schedule(metric: str) -> None:
    """`test_acc@200` is how `data info` lists a table; the query takes its parts as two options."""
    name, at, epochs = metric.partition("@")
    if at and name and epochs.isascii() and epochs.isdigit():
        raise ConfigError(
            f"--metric takes the metric alone, got {metric!r}; did you mean --metric {name} --epochs {epochs}?"
        )


def cmd_query(args: argparse.Namespace) -> int:
    import numpy as np

    _metric_with_schedule(args.metric)
    store = open_store(args)
    arch = args.arch if args.arch is not None else args.index
    seed: str | int | None = args.seed
    if seed not in ("mean", "random"):
        seed = parse_integer(args.seed)
        if seed is None:
            raise ConfigError(f"--seed must be 'mean', 'random' or a seed number, got {args.seed!r}")
    if args.rng_seed is not None and args.rng_seed < 0:
        raise ConfigError(f"--rng-seed must be a whole number >= 0, got {args.rng_seed!r}")
    rng = np.random.default_rng(args.rng_seed)
    value = store.query(
        arch, args.dataset, args.metric, epochs=args.epochs, seed=seed, epoch=args.at_epoch, rng=rng
    )
    print(f"{value:.10g}")
    return 0


# ------------------------------------------------------------------ compare
def _budget(args: argparse.Namespace):
    from nasbench_suite.budget import Budget, BudgetKind

    given = [
        (k, v)
        for k, v in (
            (BudgetKind.SECONDS, args.time_budget),
            (BudgetKind.EVALUATIONS, args.eval_budget),
            (BudgetKind.EPOCHS, args.epoch_budget),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one budget: --time-budget SECONDS, --eval-budget N or --epoch-budget N"
        )
    return Budget(*given[0])


def cmd_compare(args: argparse.Namespace) -> int:
    import numpy as np

    from nasbench_suite import strategies
    from nasbench_suite.comparison import run_comparison
    from nasbench_suite.runner import ComparisonSpec, table_oracle

    store = open_store(args)
    try:
        hparams = json.loads(args.hparams) if args.hparams else {}
    except ValueError:
        hparams = None
    if not isinstance(hparams, dict) or not all(isinstance(v, dict) for v in hparams.values()):
        raise ConfigError(
            f'--hparams must be a JSON object like {{"rea": {{"population_size": 20}}}}, got {args.hparams!r}'
        )
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be a whole number >= 1, got {args.jobs!r}")
    modules = strategy_modules(args, split_names(args.strategies), Path(args.out))
    spec = ComparisonSpec(
        strategy_modules=modules,
        strategies=split_names(args.strategies),
        datasets=split_names(args.dataset),
        runs=args.runs,
        budget=_budget(args),
        schedule=args.epochs,
        noise=args.noise,
        seed=args.seed,
        hparams=hparams,
        workers=args.workers,
        constraint=parse_constraint(args.constraint),
        objective=args.objective,
    )
    # Validate everything before the first run starts or anything is written.
    stray = sorted(set(hparams) - set(spec.strategies))
    if stray:
        raise ConfigError(f"--hparams names {', '.join(map(repr, stray))}, which is not among --strategies")
    out = Path(args.out)
    executor = executor_from(args, connect=False)
    if args.live:
        try:
            return _compare_live(args, store, spec, out, executor)
        finally:
            if executor is not None:
                executor.close()
    for dataset in spec.datasets:
        problem = table_oracle(store, spec, dataset, np.random.default_rng(0)).problem
        for name in spec.strategies:
            strategies.check_hyperparameters(name, problem, hparams.get(name))
    try:  # the budget, the noise and a large grid are checked there (`preflight`), before Ray is reached
        done = run_comparison(
            store,
            spec,
            out,
            strategies.build,
            jobs=args.jobs,
            progress=not args.quiet,
            executor=executor,
            notify=_notice,
        )
    finally:
        if executor is not None:
            executor.close()
    return _compared(spec, out, len(done))


def _notice(text: str) -> None:
    """A comparison's warning or large-grid estimate: one line on stderr, before its runs start."""
    print(f"nasbench-suite: {one_line(text)}", file=sys.stderr, flush=True)


def _compare_live(args: argparse.Namespace, store, spec, out: Path, executor=None) -> int:
    """`compare --live`: the same grid, each evaluation trained for real (one run at a time here; one
    run a task on Ray, with a GPU each on CUDA)."""
    from dataclasses import replace

    import numpy as np

    from nasbench_suite import strategies
    from nasbench_suite.comparison import run_comparison

    if spec.workers != 1 or (args.jobs is not None and executor is None):
        raise ConfigError(
            "--workers and --jobs run table searches in parallel; live runs train one at a time here "
            "(--device cuda is faster; --executor ray trains one run per Ray worker)"
        )
    spec = replace(spec, live=live_commands.live_settings(args, store.space), schedule=args.epochs)
    from nasbench_suite.live_training.factory import live_oracle_factory

    make_oracle = live_oracle_factory(spec.live, spec, store, out, progress=not args.quiet)
    check = make_oracle
    if executor is not None:  # the workers train, on devices this machine may lack: check the name here
        from nasbench_suite.live_training.recipe import device_kind

        device_kind(args.device)
        check = live_oracle_factory({**spec.live, "device": "cpu"}, spec, store, out, progress=False)
    for dataset in spec.datasets:  # fail on bad settings before anything trains or is written
        problem = check("check", dataset, 0, np.random.default_rng(0)).problem
        for name in spec.strategies:
            strategies.check_hyperparameters(name, problem, spec.hparams.get(name))
    done = run_comparison(  # reaches Ray and checks it has the runs' GPUs before anything is written
        store,
        spec,
        out,
        strategies.build,
        progress=not args.quiet,
        make_oracle=make_oracle,
        executor=executor,
        oracle_setup=live_oracle_factory,
    )
    return _compared(spec, out, len(done))


def _compared(spec, out: Path, done: int) -> int:
    total = len(spec.strategies) * len(spec.datasets) * spec.runs
    print(f"{done} runs done now, {total - done} were already there; results in {out}", file=sys.stderr)
    return cmd_report(
        argparse.Namespace(dir=str(out), json=False, html=False, significance=False, table=None)
    )


# ------------------------------------------------------------------ report
def _also_modules(args: argparse.Namespace) -> tuple[str, ...]:
    """`reproduce --also`: import its strategies (recorded in the first -also directory, then
    --strategy-module) before anything runs, so an unknown name fails first."""
    from nasbench_suite.reproduction.extra import also_plan
    from nasbench_suite.reproduction.protocols import PROTOCOLS

    names = split_names(args.also or "")
    if not names:
        if args.strategy_module:
            raise ConfigError(
                "--strategy-module on reproduce needs --also NAME: the strategies to run beside the rows"
            )
        return ()
    first, _ = also_plan(PROTOCOLS[args.paper], names, runs=1, seed=0)[0]
    return strategy_modules(args, names, Path(args.out) / first)


def _reproduce_also(args: argparse.Namespace, modules: tuple[str, ...]) -> None:
    """Run the --also strategies under the protocol and print their summaries."""
    from nasbench_suite import strategies
    from nasbench_suite.analysis.summary import caveats, format_text, summarize
    from nasbench_suite.reproduction.extra import run_also
    from nasbench_suite.reproduction.protocols import PROTOCOLS
    from nasbench_suite.results import load_runs

    directories = run_also(
        PROTOCOLS[args.paper],
        open_store(args),
        Path(args.out),
        split_names(args.also),
        strategies.build,
        runs=args.runs,
        seed=args.seed,
        strategy_modules=modules,
        jobs=args.jobs,
        progress=not args.quiet,
    )
    for directory in directories:
        runs = load_runs(directory)
        print(f"\n## Beside the protocol ({directory}; no published values)\n")
        print(format_text(summarize(runs), caveats(runs, runs.attrs["config"]), runs.attrs["config"]))


def cmd_reproduce(args: argparse.Namespace) -> int:
    also = _also_modules(args)
    from nasbench_suite.analysis.reproduce import format_markdown
    from nasbench_suite.reproduction.protocols import PROTOCOLS
    from nasbench_suite.reproduction.run import reproduce

    store = open_store(args)
    executor = executor_from(args)
    try:
        report = reproduce(
            PROTOCOLS[args.paper],
            store,
            Path(args.out),
            runs=args.runs,
            seed=args.seed,
            jobs=args.jobs,
            progress=not args.quiet,
            sweep_runs=args.sweep_runs,
            oneshot=Path(args.oneshot) if args.oneshot else None,
            executor=executor,
        )
    finally:
        if executor is not None:
            executor.close()
    text = format_markdown(report)
    from nasbench_suite.results import atomic_write_bytes

    atomic_write_bytes(Path(args.out) / f"{args.paper}.md", text.encode())
    from nasbench_suite.analysis.reproduction_html import write_reproduction_html

    page = write_reproduction_html(
        report, text, Path(args.out) / f"{args.paper}.html", figures_dir=Path(args.out) / "figures"
    )
    print(text)
    print(
        f"wrote {Path(args.out) / f'{args.paper}.md'} and {page} (figures as PNG and SVG beside it)",
        file=sys.stderr,
    )
    if args.also:
        _reproduce_also(args, also)
    return 0


# ------------------------------------------------------------------ strategies
def cmd_strategies(args: argparse.Namespace) -> int:
    from nasbench_suite import strategies
    from nasbench_suite.strategies.external import modules_of

    strategy_modules(args, ())
    width = max(map(len, strategies.names()))
    for name in strategies.names():
        hp = ", ".join(f"{k}={v}" for k, v in strategies.hyperparameters(name).items())
        origin = "".join(f"  (from {m})" for m in modules_of((name,)))  # outside the suite: where from
        print(f"{name:<{width}}  {strategies.summary(name)}" + (f"  [{hp}]" if hp else "") + origin)
    return 0


def cmd_check_strategy(args: argparse.Namespace) -> int:
    import tempfile

    from nasbench_suite import strategies
    from nasbench_suite.errors import StoreError
    from nasbench_suite.testing import CHECKS, ContractCheck, Verdict, run_contract

    strategy_modules(args, (args.name,))  # an unknown name fails here, with a did-you-mean
    try:
        real = open_store(args)
    except StoreError as exc:
        if args.store is not None or os.environ.get(STORE_ENV):
            raise  # a store asked for by name must open: one line, exit 2
        real = None  # none found where the store is looked for by default: the other checks still run
        print(f"not run: {CHECKS[-1].name} (needs the NAS-Bench-201 store: {exc})")
    print(f"contract of strategy {args.name!r}: {strategies.summary(args.name)}", flush=True)

    def show(check: ContractCheck, verdict: Verdict) -> None:
        print(f"{'PASS' if verdict.passed else 'FAIL'}  {check.name}  ({verdict.seconds:.1f} s)", flush=True)
        if not verdict.passed:
            print(f"      rule: {check.rule}\n      {verdict.message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="nasbench-suite-contract-") as tmp:
        verdicts = run_contract(args.name, Path(tmp), real_store=real, on_verdict=show)
    failed = sum(not v.passed for v in verdicts)
    print(f"{len(verdicts) - failed} of {len(verdicts)} checks passed")
    return 1 if failed else 0


# ------------------------------------------------------------------ parser
DESCRIPTION = """\
Compare neural architecture search strategies on NAS-Bench-201 under equal, simulated budgets: import
the benchmark table once, run a comparison (resumable), then report it as a table, significance tests
or an HTML page."""

EPILOG = """\
examples:
  nasbench-suite data import ../shared/nasbench201 --store data/store
  nasbench-suite compare --strategies random,rea --dataset cifar10-valid --time-budget 12000 \\
      --runs 100 --out results/rs-vs-rea
  nasbench-suite report results/rs-vs-rea --significance
  nasbench-suite report results/rs-vs-rea --html
  nasbench-suite compare --strategies hillclimb,rea --strategy-module my_strategies.py ...
  nasbench-suite check-strategy hillclimb --strategy-module my_strategies.py
  nasbench-suite query --index 6111 --dataset cifar10 --metric test_acc --epochs 200

The store is found by --store, else $NASBENCH_SUITE_STORE, else data/store in the working directory or
in the suite's checkout. `nasbench-suite COMMAND --help` describes each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nasbench-suite",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nasbench-suite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    store_help = (
        f"benchmark store directory (default: ${STORE_ENV}, else {DEFAULT_STORE} in the working directory, "
        "else in the suite's source tree)"
    )

    data = sub.add_parser("data", help="import and inspect benchmark data")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    imp = data_sub.add_parser(
        "import", help="import the wide table, a NATS-Bench archive or a NAS-Bench-201 .pth"
    )
    imp.add_argument(
        "source",
        help="the wide table nb201_tabular.parquet (or the directory holding it, e.g. ../shared/nasbench201), "
        "a NATS-Bench topology archive directory, or a NAS-Bench-201 .pth file",
    )
    imp.add_argument(
        "--store",
        help=f"directory to import into (default: ${STORE_ENV}, else {DEFAULT_STORE} in the working directory)",
    )
    imp.set_defaults(func=cmd_data_import)
    info = data_sub.add_parser("info", help="what the store holds")
    info.add_argument("--store", help=store_help)
    info.add_argument(
        "--expect-source",
        metavar="PATH",
        help="fail (exit 2) unless the store was imported from PATH, a file or the directory holding it "
        "(default: no check)",
    )
    info.set_defaults(func=cmd_data_info)
    ver = data_sub.add_parser(
        "verify", help="check the manifest and every table file against their checksums"
    )
    ver.add_argument("--store", help=store_help)
    ver.set_defaults(func=cmd_data_verify)

    q = sub.add_parser("query", help="print one value of the benchmark")
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="official arch string")
    which.add_argument("--index", type=integer, help="benchmark index")
    q.add_argument("--dataset", required=True, help="cifar10-valid, cifar10, cifar100 or ImageNet16-120")
    q.add_argument(
        "--metric", required=True, help="e.g. valid_acc, test_acc, train_time_s, params_mb (see `data info`)"
    )
    q.add_argument("--epochs", type=integer, help="training schedule: 12 or 200 (default: the longest)")
    q.add_argument("--at-epoch", type=integer, help="a point within the schedule, where the store has curves")
    q.add_argument("--seed", default="mean", help="mean (default), random, or a seed number")
    q.add_argument("--rng-seed", type=integer, default=None, help="seed of the draw for --seed random")
    q.add_argument("--store", help=store_help)
    q.set_defaults(func=cmd_query)

    c = sub.add_parser(
        "compare",
        help="run strategies under equal budgets",
        description="Run the grid strategy x dataset x run under one budget: give exactly one of "
        "--time-budget, --eval-budget and --epoch-budget. Rerun the same command to resume; runs are "
        "paired by seed across strategies.",
    )
    c.add_argument(
        "--strategies", required=True, help="comma-separated names (see `nasbench-suite strategies`)"
    )
    c.add_argument(
        "--dataset", required=True, help="comma-separated: cifar10-valid, cifar100, ImageNet16-120"
    )
    budget = c.add_argument_group("budget (exactly one)")
    budget.add_argument(
        "--time-budget", type=number, help="simulated training seconds (NAS-Bench-201's protocol: 12000)"
    )
    budget.add_argument("--eval-budget", type=integer, help="number of evaluations (trained archs)")
    budget.add_argument("--epoch-budget", type=integer, help="total training epochs")
    c.add_argument("--runs", type=integer, default=100, help="runs per strategy and dataset (default 100)")
    c.add_argument(
        "--epochs",
        type=integer,
        default=12,
        help="schedule whose validation accuracy strategies see (default 12)",
    )
    c.add_argument(
        "--noise",
        default="random",
        choices=["random", "mean"],
        help="what an evaluation shows: one training seed drawn at random, or the seed mean (default random)",
    )
    c.add_argument("--seed", type=integer, default=0, help="root seed of the comparison (default 0)")
    c.add_argument(
        "--hparams",
        help='JSON of hyperparameters per strategy, e.g. {"rea": {"population_size": 20}} (default: each '
        "strategy's own, see `nasbench-suite strategies`)",
    )
    c.add_argument(
        "--workers", type=integer, default=1, help="simulated parallel workers sharing the budget (default 1)"
    )
    c.add_argument(
        "--constraint",
        help="hard limit on a measurable metric, e.g. hw_latency_ms/pixel3<=10 (default: none)",
    )
    c.add_argument(
        "--objective",
        help="second objective (minimized) for multi-objective strategies, e.g. flops_m (default: none)",
    )
    c.add_argument(
        "--jobs",
        type=integer,
        default=None,
        help="worker processes on this machine (default: all cores once the first runs show that a pool "
        "pays; a small or quick grid runs in this process)",
    )
    add_executor_arguments(c)
    c.add_argument("--out", required=True, help="results directory (rerun to resume)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--store", help=store_help)
    add_strategy_module(c)
    live_commands.add_compare_arguments(c)
    c.set_defaults(func=cmd_compare)

    r = sub.add_parser("report", help="summarize a results directory (or several together)")
    r.add_argument(
        "dir",
        nargs="+",
        help="results directory of a comparison (compare's or oneshot's --out); several: their strategies "
        "reported together, each directory's budget and cost unit stated (e.g. a table and a one-shot one)",
    )
    what = r.add_mutually_exclusive_group()
    what.add_argument("--json", action="store_true", help="print JSON instead of a table")
    what.add_argument(
        "--significance", action="store_true", help="print the pairwise significance report (Markdown)"
    )
    what.add_argument(
        "--table",
        choices=["md", "latex", "csv"],
        help="print the final-performance table (NAS-Bench-201 layout)",
    )
    what.add_argument(
        "--html", action="store_true", help="write a self-contained HTML report (tables, plots, statistics)"
    )
    r.add_argument(
        "--html-out", help="where --html writes (default: DIR/report.html; needed with several directories)"
    )
    r.add_argument("--store", help=store_help)
    r.set_defaults(func=cmd_report)

    rp = sub.add_parser(
        "reproduce", help="run a paper's protocol and print our numbers beside the published ones"
    )
    rp.add_argument(
        "paper",
        choices=["nb201", "nats", "white2021"],
        help="nb201: NAS-Bench-201 Table 5; nats: NATS-Bench topology search; white2021: local search and "
        "BANANAS on NAS-Bench-201 ImageNet16-120 (White et al.)",
    )
    rp.add_argument(
        "--runs", type=integer, default=500, help="runs per strategy (default 500, the papers' count)"
    )
    rp.add_argument(
        "--oneshot",
        metavar="DIR",
        help="nb201: add the weight-sharing rows from a `nasbench-suite oneshot --out DIR` results directory",
    )
    rp.add_argument(
        "--sweep-runs",
        type=integer,
        default=None,
        help="runs per setting of a sensitivity sweep (default: the protocol's)",
    )
    rp.add_argument("--seed", type=integer, default=0, help="root seed (default 0)")
    rp.add_argument(
        "--out",
        default="results/reproduce",
        help="results directory, rerun to resume (default results/reproduce)",
    )
    rp.add_argument("--jobs", type=integer, default=None, help="worker processes (default: all cores)")
    add_executor_arguments(rp)
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.add_argument("--store", help=store_help)
    rp.add_argument(
        "--also",
        metavar="NAMES",
        help="comma-separated strategies to run under the protocol beside its rows, with the same budgets "
        "and seeds, e.g. one from --strategy-module; their summary follows the report (default: none)",
    )
    add_strategy_module(rp)
    rp.set_defaults(func=cmd_reproduce)

    live_commands.register_validate(sub, store_help, _Parser)
    from nasbench_suite.cli.oneshot import register_oneshot_parser  # no torch until run

    register_oneshot_parser(sub, store_help)

    s = sub.add_parser("strategies", help="list the strategies and their hyperparameters")
    add_strategy_module(s)
    s.set_defaults(func=cmd_strategies)

    cs = sub.add_parser(
        "check-strategy",
        help="run the strategy contract suite on one strategy and print each check's verdict",
        description="Run the contract every strategy keeps (nasbench_suite.testing) on NAME: budget, "
        "determinism (also in a fresh process), no test metrics, duplicates, ties, larger spaces, valid "
        "proposals, pickling, parallel workers, and a 12000 s search on the store when one is found. Exit "
        "status 1 when a check fails.",
    )
    cs.add_argument("name", help="registered strategy name (see `nasbench-suite strategies`)")
    add_strategy_module(cs)
    cs.add_argument(
        "--store",
        help=store_help + "; only for the 12000 s search on NAS-Bench-201, reported as not run when no "
        "store is given or found (a store given that cannot be opened is an error)",
    )
    cs.set_defaults(func=cmd_check_strategy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    shown: set[str] = set()

    def warning_line(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: object = None,
        line: str | None = None,
    ) -> None:
        """The suite's own warnings as one `nasbench-suite: warning:` line each, each once (a report reads
        a directory more than once); others as Python prints them."""
        if not issubclass(category, ResultsWarning):
            print(warnings.formatwarning(message, category, filename, lineno, line), end="", file=sys.stderr)
        elif str(message) not in shown:
            shown.add(str(message))
            print(f"nasbench-suite: warning: {one_line(str(message))}", file=sys.stderr)

    with warnings.catch_warnings():  # restores the warning machinery on the way out
        warnings.simplefilter("always", ResultsWarning)
        warnings.showwarning = warning_line
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        check_executor_options(args)
        return args.func(args)
    except SuiteError as exc:
        # one line even when the message holds a path with a newline in it
        print(f"nasbench-suite: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
        return 0
    except OSError as exc:  # a path the system refuses (too long, a file where a folder must be, /proc, ...)
        where = f" {exc.filename!r}" if exc.filename is not None else ""
        reason = one_line(str(exc.strerror or exc))
        print(f"nasbench-suite: error: cannot use{where}: {reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "nasbench-suite: interrupted; finished runs are kept, run the same command again to continue",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
