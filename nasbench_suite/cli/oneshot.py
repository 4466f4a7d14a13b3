"""`nasbench-suite oneshot METHODS ...`: one-shot searches into a results directory of `compare`'s schema.

Every (method, run) is one search of `--epochs` epochs on the supernet (the methods' paper epochs when
not given). Its run file has one row per search epoch: the derived cell as the run's incumbent, the
epoch's measured wall seconds as `cost_s` and their running sum as `time_s`, the derived cell's
shared-weight validation accuracy as what the method saw, and its 200-epoch table accuracies for
reporting only (never fed back). `table_equiv_s` is the running wall time in table-equivalent seconds:
wall seconds x (the table's per-image training time of the reference cell at NAS-Bench-201's scale) /
(the measured per-image training time of the same cell at the search's scale on the machine that ran the
search), so one-shot and table searches share an anytime axis. `report`, `--significance`, `--table` and
`--html` read the directory like any comparison's.

Each search checkpoints after every epoch under DIR/oneshot/; rerunning the command resumes it. With
`--executor ray [--address ADDR]` every search is one Ray task (one GPU each on CUDA, else --threads
CPUs); this process writes each run file as its search finishes (`live_training.oneshot.runs`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REFERENCE_CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3", "max_pool_3x3")
LATENCY_KEYS = ("latency_weight", "latency_margin")


# ============================================================================ arguments
def register_oneshot_parser(sub: Any, store_help: str) -> None:
    """Add the `oneshot` command to the CLI's subparsers."""
    from nasbench_suite.cli import live

    p = sub.add_parser(
        "oneshot", help="weight-sharing searches (DARTS, GDAS, RSPS, SETN, ENAS) judged by the table"
    )
    p.add_argument(
        "methods",
        help="comma-separated: rsps, darts_v1, darts_v2, gdas, setn, enas, darts_v1_lat, gdas_lat",
    )
    p.add_argument("--dataset", default="cifar10-valid", help="search dataset (default cifar10-valid)")
    p.add_argument("--epochs", type=int, help="search epochs (default: each method's paper setting)")
    p.add_argument("--runs", type=int, default=3, help="searches per method (default 3)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", required=True, help="results directory (rerun to resume)")
    p.add_argument("--ops", help="comma-separated op set of an out-of-table space (see live_training.ops)")
    p.add_argument("--nodes", type=int, help="nodes per cell of an out-of-table space (NAS-Bench-201: 4)")
    p.add_argument(
        "--constraint",
        help="latency limit for *_lat methods, e.g. hw_latency_ms/pixel3<=10 (checked for all)",
    )
    p.add_argument(
        "--hparams",
        help='JSON per method, e.g. {"enas": {"controller_steps": 10}, "darts_v1_lat": {"latency_weight": 4}}',
    )
    live.add_scale_arguments(p)
    live.add_data_arguments(p)
    p.add_argument(
        "--threads",
        type=int,
        help="CPU threads per search (default: all cores here, 1 on Ray; 1 on a shared, loaded machine)",
    )
    from nasbench_suite.cli.common import add_executor_arguments

    add_executor_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=cmd_oneshot)


# ============================================================================ the command
def cmd_oneshot(args: argparse.Namespace) -> int:
    from nasbench_suite.cli.common import executor_from, open_store, parse_constraint, split_names
    from nasbench_suite.cli.report import cmd_report
    from nasbench_suite.datasets import check_search_dataset
    from nasbench_suite.errors import ConfigError
    from nasbench_suite.live_training.oneshot.base import check_hparams
    from nasbench_suite.live_training.oneshot.methods import LATENCY_METHODS, check_method, method_class
    from nasbench_suite.live_training.recipe import device_kind, resolve_device
    from nasbench_suite.space import CellSpace

    # ------------------------------------------------------------------ validate everything first
    methods = split_names(args.methods)
    if not methods:
        raise ConfigError("give at least one one-shot method, e.g. `nasbench-suite oneshot darts_v1,gdas`")
    store = open_store(args)
    check_search_dataset(args.dataset)
    ops = tuple(o.strip() for o in args.ops.split(",")) if args.ops else store.space.ops
    space = CellSpace(ops, args.nodes or store.space.n_nodes)
    from nasbench_suite.live_training.ops import check_ops

    check_ops(space.ops)
    constraint = parse_constraint(args.constraint)
    hparams = _hparams(args.hparams)
    for name in methods:
        check_method(name, space, store.space, constrained=constraint is not None)
        given = dict(hparams.get(name, {}))
        latency = {k: given.pop(k) for k in LATENCY_KEYS if k in given and name in LATENCY_METHODS}
        check_hparams(method_class(name), given)
        check_hparams(_LatencyKnobs, {k.removeprefix("latency_"): v for k, v in latency.items()})  # type: ignore[arg-type]  # a stand-in with the name and tunable check_hparams reads
    stray = sorted(set(hparams) - set(methods))
    if stray:
        raise ConfigError(f"--hparams names {', '.join(map(repr, stray))}, which is not among the methods")
    if constraint is not None and not constraint.metric.startswith("hw_latency_ms/"):
        raise ConfigError(
            f"one-shot searches take a hardware-latency constraint (hw_latency_ms/DEVICE<=L); got {constraint.metric!r}"
        )
    if constraint is not None and not store.has(args.dataset, constraint.metric):
        devices = [m for m in store.metrics(args.dataset) if m.startswith("hw_latency_ms/")]
        raise ConfigError(
            f"the store has no {constraint.metric!r} for {args.dataset}; measured: {', '.join(devices) or 'none'}"
        )
    for value, flag in ((args.epochs, "--epochs"), (args.runs, "--runs"), (args.threads, "--threads")):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")
    executor = executor_from(args, connect=False)
    if executor is None:
        resolve_device(args.device)  # this machine trains
    else:  # the workers train, on devices this machine may lack; one CPU thread each unless told
        device_kind(args.device)
        args.threads = args.threads or 1
    epochs = {m: args.epochs or method_class(m).schedule.epochs for m in methods}
    try:
        if executor is not None:
            executor.connect()  # an unreachable cluster fails before anything is written
        _Plan(args, store, space, methods, epochs, constraint, hparams, executor).run()
    finally:
        if executor is not None:
            executor.close()
    print(f"results in {args.out}", file=sys.stderr)
    return cmd_report(
        argparse.Namespace(dir=args.out, json=False, html=False, significance=False, table=None)
    )


def _hparams(text: str | None) -> dict[str, Any]:
    from nasbench_suite.errors import ConfigError

    message = '--hparams must be a JSON object like {"enas": {"controller_steps": 10}}'
    try:
        hparams = json.loads(text) if text else {}
    except json.JSONDecodeError:
        raise ConfigError(f"{message}; got {text!r}") from None
    if not isinstance(hparams, dict) or not all(isinstance(v, dict) for v in hparams.values()):
        raise ConfigError(f"{message}; got {text!r}")
    return hparams


class _LatencyKnobs:
    """The latency penalty's keyword names for `check_hparams` (`latency_weight`, `latency_margin`)."""

    name = "latency penalty"
    tunable = ("weight", "margin")
    weight, margin = 2.0, 0.05


class _Plan:
    """The validated command: writes config.json, runs every missing (method, run), writes run files."""

    def __init__(
        self,
        args: argparse.Namespace,
        store: Any,
        space: Any,
        methods: tuple[str, ...],
        epochs: dict[str, int],
        constraint: Any,
        hparams: dict[str, Any],
        executor: Any = None,
    ) -> None:
        from nasbench_suite.budget import Budget, BudgetKind
        from nasbench_suite.cli.live import scale_from
        from nasbench_suite.lookup import Noise
        from nasbench_suite.runner import ComparisonSpec

        self.args, self.store, self.space, self.methods, self.epochs = args, store, space, methods, epochs
        self.constraint, self.out = constraint, Path(args.out)
        self.executor = executor  # None: one search at a time in this process
        self.latency_fits: dict[str, Any] = {}
        self.scale = scale_from(args, "nb201")
        self.in_table = space == store.space
        self.spec = ComparisonSpec(
            strategies=methods,
            datasets=(args.dataset,),
            runs=args.runs,
            budget=Budget(BudgetKind.EPOCHS, float(max(epochs.values()))),
            schedule=max(epochs.values()),
            noise=Noise.MEAN,
            seed=args.seed,
            hparams=hparams,
            constraint=constraint,
        )
        self.settings = {
            "epochs": epochs,
            "ops": list(space.ops),
            "nodes": space.n_nodes,
            "channels": self.scale.channels,
            "cells_per_stage": self.scale.cells_per_stage,
            "batch_size": args.batch_size,
            "train_subset": self.scale.train_subset,
            "eval_subset": self.scale.eval_subset,
            "images": str(args.images),
            "splits": str(args.splits),
            "device": args.device,
            "compile": bool(args.compile),
        }

    # ---------------------------------------------------------------- config
    def _prepare(self) -> tuple[list[tuple[str, int]], dict[str, Any] | None]:
        """The (method, run) pairs still to do, and the config to write (None when --out holds it)."""
        from nasbench_suite import __version__
        from nasbench_suite.errors import ResultsError
        from nasbench_suite.results import read_config, run_file
        from nasbench_suite.resume import remove_leftover_temps

        remove_leftover_temps(self.out)  # what a driver killed mid-write left (the lock is ours)
        spec = self.spec.to_json() | {"oneshot": self.settings}
        self.spec_json = spec
        config: dict[str, Any] | None = {
            "spec": spec,
            "suite_version": __version__,
            "data_checksum": self.store.checksum,
            "store": str(self.store.path.resolve()),
        }
        if (self.out / "config.json").exists():
            old = read_config(self.out)
            if old.get("spec") != spec or old.get("data_checksum") != self.store.checksum:
                raise ResultsError(
                    f"{self.out} holds a different comparison (or one made on other data); resume it with the "
                    "same arguments or choose a new --out"
                )
            config = None
        grid = [(m, r) for m in self.methods for r in range(self.spec.runs)]
        todo = [(m, r) for m, r in grid if not run_file(self.out, m, self.args.dataset, r).exists()]
        return todo, config

    # ---------------------------------------------------------------- running
    def run(self) -> None:
        """Hold --out (one writer), write or check config.json, run the missing searches in this process
        or on the executor (one search a task), and write each run file as its search finishes."""
        from nasbench_suite.results_lock import results_lock

        with results_lock(self.out):
            self._run_locked()

    def _run_locked(self) -> None:
        import uuid

        import numpy as np
        from tqdm import tqdm

        from nasbench_suite.executors import LocalExecutor
        from nasbench_suite.live_training.oneshot.runs import OneShotSearches
        from nasbench_suite.live_training.recipe import without_test
        from nasbench_suite.live_training.scale import subset
        from nasbench_suite.live_training.sources import live_dataset
        from nasbench_suite.results import write_config

        todo, config = self._prepare()
        if not todo:
            return
        # the images and splits before config.json: a bad --images must not lock --out to this comparison
        data = subset(
            live_dataset(self.args.dataset, self.args.images, self.args.splits),
            self.scale,
            np.random.default_rng(self.args.seed),
        )
        penalties = {}
        for method in self.methods:
            penalty, model = self._penalty(method)
            if penalty is not None:
                penalties[method] = penalty
                self.latency_fits[method] = model
        executor = self.executor or LocalExecutor(1)  # one search at a time here: it uses every core
        work = OneShotSearches(
            space=self.space,
            data=without_test(data),
            penalties=penalties,
            reference=REFERENCE_CELL if self.in_table else None,
            channels=self.scale.channels,
            cells_per_stage=self.scale.cells_per_stage,
            batch_size=self.args.batch_size,
            device=self.args.device,
            threads=self.args.threads,
            key=uuid.uuid4().hex,
            progress=not self.args.quiet and self.executor is None,
        )
        executor.check_resources(work.resources)  # a GPU search on a cluster without one: refused now
        if config is not None:
            write_config(self.out, config)
        tasks = [self._task(method, run) for method, run in todo]
        with tqdm(
            total=len(todo), desc="searches", unit="run", disable=self.args.quiet or None, leave=False
        ) as bar:
            for task, outcome in executor.map(work, tasks, resources=work.resources):
                self._write(task, outcome)
                bar.update()

    def _table_seconds_per_image(self) -> float:
        from nasbench_suite.datasets import dataset_info

        index = self.store.index(REFERENCE_CELL)
        per_epoch = (
            float(self.store.table(self.args.dataset, "train_time_s", 200).column("mean")[index]) / 200
        )
        return per_epoch / dataset_info(self.args.dataset).n_train

    def _task(self, method: str, run: int) -> Any:
        from nasbench_suite.live_training.oneshot.runs import SearchTask
        from nasbench_suite.live_training.oneshot.search import SearchSettings
        from nasbench_suite.seeding import run_seed_sequence

        hp = {k: v for k, v in self.spec.hparams.get(method, {}).items() if k not in LATENCY_KEYS}
        settings = SearchSettings(
            method,
            self.epochs[method],
            channels=self.scale.channels,
            cells_per_stage=self.scale.cells_per_stage,
            batch_size=self.args.batch_size,
            seed=int(run_seed_sequence(self.spec.seed, run).generate_state(1)[0]),
            device=self.args.device,
            compile_model=bool(self.args.compile),
            threads=self.args.threads,
            hparams=hp,
        )
        checkpoint = (self.out / "oneshot" / f"{method}__{self.args.dataset}__{run:04d}.pt").absolute()
        return SearchTask(method, run, settings, str(checkpoint))

    def _write(self, task: Any, outcome: Any) -> None:
        """The finished search's run file, written atomically by this process (the driver)."""
        from nasbench_suite.results import run_file, write_run

        columns, meta = self._rows(task.method, task.run, outcome.records, outcome.seconds_per_image)
        meta |= {"wall_s": outcome.wall_s, "seed_int": task.settings.seed}
        model = self.latency_fits.get(task.method)
        if model is not None:
            meta |= {"latency_fit_r2": model.r2, "latency_fit_archs": model.n}
        path = run_file(self.out, task.method, self.args.dataset, task.run)
        write_run(path, columns, meta, extra=("table_equiv_s",))

    def _penalty(self, method: str) -> tuple[Any, Any]:
        """The latency penalty of a latency-aware method and its fitted model; (None, None) otherwise."""
        from nasbench_suite.live_training.oneshot.latency import LatencyPenalty, fit_latency
        from nasbench_suite.live_training.oneshot.methods import LATENCY_METHODS

        if method not in LATENCY_METHODS:
            return None, None
        latency = {k: v for k, v in self.spec.hparams.get(method, {}).items() if k in LATENCY_KEYS}
        model = fit_latency(self.store, self.args.dataset, self.constraint.metric)
        weights = {k.removeprefix("latency_"): float(v) for k, v in latency.items()}
        return LatencyPenalty(model, self.constraint.limit, **weights), model

    def _rows(
        self, method: str, run: int, records: Any, seconds_per_image: float
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        import numpy as np

        from nasbench_suite import run_files
        from nasbench_suite.datasets import report_dataset

        ds = self.args.dataset
        archs = [self.space.parse(r.arch) for r in records]
        if self.in_table:
            index = [self.store.index(a) for a in archs]
            valid = np.asarray(self.store.table(ds, "valid_acc", 200).column("mean"))[index]
            test = np.asarray(self.store.table(report_dataset(ds), "test_acc", 200).column("mean"))[index]
            scale = self._table_seconds_per_image() / seconds_per_image
        else:
            index = [self.space.code(a) for a in archs]
            valid = test = np.full(len(archs), np.nan)
            scale = float("nan")
        cost = [r.seconds for r in records]
        time_s = np.cumsum(cost)
        n = len(records)
        seen = [r.valid_acc for r in records]
        columns = {
            "run": [run] * n,
            "strategy": [method] * n,
            "dataset": [ds] * n,
            "step": list(range(n)),
            "arch_index": index,
            "epoch": [r.epoch for r in records],
            "schedule": [self.epochs[method]] * n,
            "cost_s": cost,
            "time_s": time_s,
            "valid_seen": seen,
            "incumbent_index": index,
            "incumbent_valid_seen": seen,
            "incumbent_valid": valid,
            "incumbent_test": test,
            "overhead_s": [0.0] * n,
            "measure": [""] * n,
            "measured_value": [float("nan")] * n,
            "table_equiv_s": time_s * scale,
        }
        final = archs[-1]
        names = [self.space.ops[o] for o in final.ops]
        meta: dict[str, Any] = {
            "run": run,
            "strategy": method,
            "dataset": ds,
            "seed": self.spec.seed,
            "spawn_key": [run],
            "evaluations": n,
            "measurements": 0,
            "workers": 1,
            "sequential_fallback": False,
            "spent_seconds": float(time_s[-1]),
            "spent_epochs": n,
            "overhead_s": 0.0,
            "final_test": float(test[-1]),
            "final_valid": float(valid[-1]),
            "test_at_budget": float("nan"),
            "noise_fallbacks": [],
            "oneshot": True,
            "derived_arch": records[-1].arch,
            "skip_count": names.count("skip_connect"),
            "param_free_count": sum(name in PARAMETER_FREE for name in names),
            "search_wall_s": float(time_s[-1]),
            "table_equiv_s": float(time_s[-1] * scale),
            "table_equiv_scale": scale,
        }
        meta |= run_files.stamp(self.spec_json, self.store.checksum, method)
        if self.constraint is not None and self.in_table:
            value = float(self.store.table(ds, self.constraint.metric).column("mean")[index[-1]])
            meta |= {"constraint_value": value, "meets_constraint": bool(value <= self.constraint.limit)}
        return columns, meta
