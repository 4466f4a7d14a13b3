"""What several commands share: the store they open, the names and constraint they parse, the executor
and strategy-module options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nasbench_suite.errors import ConfigError
from nasbench_suite.store.locate import locate_store


def store_path(args: argparse.Namespace) -> Path:
    return locate_store(args.store)


def open_store(args: argparse.Namespace):
    from nasbench_suite.store import Store

    store = Store(store_path(args))
    if store.recovered:  # an import killed mid-swap was finished or undone on opening
        print(f"nasbench-suite: note: {store.recovered}", file=sys.stderr)
    return store


def parse_constraint(text: str | None):
    from nasbench_suite.protocol import Constraint

    if text is None:
        return None
    metric, sep, limit = text.partition("<=")
    try:
        value = float(limit)
    except ValueError:
        value = float("nan")
    if not sep or not metric.strip() or value != value:
        raise ConfigError(
            f"--constraint must look like METRIC<=LIMIT, e.g. hw_latency_ms/pixel3<=10; got {text!r}"
        )
    return Constraint(metric.strip(), value)


def split_names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def strategy_modules(
    args: argparse.Namespace, names: Sequence[str], out: Path | None = None
) -> tuple[str, ...]:
    """Import the strategies from outside the suite (the modules recorded in OUT/config.json when it
    exists, then --strategy-module, then installed entry points) and return what every process must import
    to build `names` (recorded as the spec's strategy_modules)."""
    from nasbench_suite.strategies import external

    recorded: list[str] = []
    if out is not None and (out / "config.json").is_file():
        from nasbench_suite.results import read_config

        recorded = list(read_config(out).get("spec", {}).get("strategy_modules", []))
    given = list(getattr(args, "strategy_module", None) or ())
    external.load([*recorded, *given])
    external.check_registers(given)
    return external.modules_of(names)


def executor_from(args: argparse.Namespace, *, connect: bool = True):
    """The executor of --executor/--address (`executors.py`); None: the runner's local process pool.
    Connected (Ray started or reached) unless `connect` is False: the caller then connects it after
    its other checks, before anything is written."""
    from nasbench_suite.executors import import_ray, make_executor

    if args.executor == "local" and args.address is None:
        return None
    if args.executor == "ray":
        import_ray()  # a missing Ray is one line before anything is written
    executor = make_executor(args.executor, jobs=getattr(args, "jobs", None), address=args.address)
    if connect:
        executor.connect()
    return executor


def check_executor_options(args: argparse.Namespace) -> None:
    """--address names a Ray cluster: without --executor ray it is a mistake, refused before the command
    opens, imports or writes anything."""
    address = getattr(args, "address", None)
    if address is not None and getattr(args, "executor", "local") != "ray":
        raise ConfigError(f"--address needs --executor ray (got --address {address!r})")


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where runs execute: local processes (default) or Ray (pip install 'nasbench-suite[ray]')",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster to join (e.g. auto, or ray://head:10001); default: start a local Ray with --jobs CPUs",
    )


def add_strategy_module(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strategy-module",
        action="append",
        metavar="MODULE_OR_FILE",
        default=[],
        help="import strategies from outside the suite: a module name on the Python path or a .py file "
        "(repeatable; recorded in the results' config.json, so a resume needs no flag). Installed packages' "
        "entry points in the group nasbench_suite.strategies load by themselves (default: none)",
    )
