"""Run a published protocol (`protocols.Protocol`) with this suite and build its report.

Launching experiments is composition-root work: it needs the strategies, the runner, the reproduction's
own worker and strategy, and the reports. It lives here, beside the CLI, rather than in `analysis/`,
which only reads results (`analysis.reproduce` builds the report from the results directories this
module fills).

Directories under `out`: `<key>-<dataset>` for the rows the table answers, `<key>-<dataset>-<worker>` for
rows with a reproduction worker (run in this process: such a run takes ~50 ms), and
`<key>-sweep-<strategy>-<hparam>-<value>` for sweeps. Every run r of every comparison uses root seed
`seed` and run index r, so runs stay paired by seed across directories. Rerunning with the same
arguments does only the missing runs.

    report = reproduce(NB201, Store("data/store"), Path("results/reproduce"), runs=500, jobs=2)
    print(format_markdown(report))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import strategies
from nasbench_suite.analysis.reproduce import (
    ReproductionReport,
    SweepTable,
    load_published,
    nats_report,
    nb201_report,
    sweep_points,
)
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError
from nasbench_suite.executors import Executor
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import BaseStrategy, SearchProblem
from nasbench_suite.reproduction.hpbandster_bohb import HpBandSterBOHB, budget_fidelities, hpbandster_budgets
from nasbench_suite.reproduction.nb201_worker import Nb201Worker
from nasbench_suite.reproduction.protocols import NB201, NB201_BOHB_WORKER, TABLE, Protocol, SearchRow
from nasbench_suite.runner import ComparisonSpec, OracleFactory, SteppedOracle
from nasbench_suite.store import Store

# Strategies that exist for reproduction only: not in the suite's registry, so `compare` cannot pick them.
REPRODUCTION_STRATEGIES: Mapping[str, type[BaseStrategy]] = {"bohb-nb201": HpBandSterBOHB}


def build(
    name: str, problem: SearchProblem, rng: np.random.Generator, hparams: Mapping[str, Any]
) -> BaseStrategy:
    """The runner's strategy factory: the reproduction strategies, then the suite's registry."""
    cls = REPRODUCTION_STRATEGIES.get(name)
    if cls is None:
        return strategies.build(name, problem, rng, hparams)
    return cls(problem, rng, **dict(hparams))


def nb201_bohb_oracle(store: Store, spec: ComparisonSpec) -> OracleFactory:
    """The runner's oracle factory for NAS-Bench-201's BOHB worker on `spec`'s table."""

    def make(strategy: str, dataset: str, run: int, rng: np.random.Generator) -> SteppedOracle:
        table = TabularOracle(store, dataset, spec.budget, rng=rng, noise=spec.noise, schedule=spec.schedule)
        hp = spec.hparams.get(strategy, {})
        budgets = hpbandster_budgets(hp.get("eta", 3), hp.get("min_budget", 12), hp.get("max_budget", 200))
        return Nb201Worker(table, budget_fidelities(budgets))

    return make


WORKERS = {NB201_BOHB_WORKER: nb201_bohb_oracle}


def comparison(
    protocol: Protocol, dataset: str, budget_s: float, rows: tuple[SearchRow, ...], *, runs: int, seed: int
) -> ComparisonSpec:
    return ComparisonSpec(
        strategies=tuple(r.strategy for r in rows),
        datasets=(dataset,),
        runs=runs,
        budget=Budget(BudgetKind.SECONDS, budget_s),
        schedule=protocol.schedule,
        noise=Noise.RANDOM,
        seed=seed,
        hparams={r.strategy: dict(r.hparams) for r in rows if r.hparams},
    )


def plan(
    protocol: Protocol, *, runs: int, seed: int, methods: tuple[str, ...] | None = None
) -> list[tuple[str, ComparisonSpec, str]]:
    """(directory name, spec, worker) for every comparison of the protocol's rows (`methods`: a subset)."""
    rows = protocol.rows if methods is None else tuple(protocol.row(m) for m in methods)
    if not rows:
        raise ConfigError(f"methods must name at least one of {', '.join(r.method for r in protocol.rows)}")
    out = []
    for dataset, budget in protocol.searches:
        for worker, own in dict.fromkeys((r.worker, r.budget_s) for r in rows):
            group = tuple(r for r in rows if (r.worker, r.budget_s) == (worker, own))
            name = (
                f"{protocol.key}-{dataset}"
                + ("" if worker == TABLE else f"-{worker}")
                + ("" if own is None else f"-{own:g}s")
            )
            spec = comparison(protocol, dataset, budget if own is None else own, group, runs=runs, seed=seed)
            out.append((name, spec, worker))
    return out


def sweep_plan(
    protocol: Protocol, *, seed: int, runs: int | None = None
) -> list[tuple[str, float, ComparisonSpec]]:
    """(directory name, value, spec) for every point of every sweep, on the protocol's first search."""
    dataset, budget = protocol.searches[0]
    out = []
    for sweep in protocol.sweeps:
        row = protocol.row(sweep.method)
        for value in sweep.values:
            swept = SearchRow(row.method, row.strategy, {**row.hparams, sweep.hparam: value}, row.worker)
            spec = comparison(protocol, dataset, budget, (swept,), runs=runs or sweep.runs, seed=seed)
            out.append((f"{protocol.key}-sweep-{row.strategy}-{sweep.hparam}-{value:g}", value, spec))
    return out


def _run(
    store: Store,
    spec: ComparisonSpec,
    directory: Path,
    worker: str,
    jobs: int | None,
    progress: bool,
    executor: Executor | None = None,
) -> None:
    make_oracle = None if worker == TABLE else WORKERS[worker](store, spec)
    run_comparison(
        store,
        spec,
        directory,
        build,
        jobs=jobs,
        progress=progress,
        make_oracle=make_oracle,
        executor=executor,
    )


def check_table_space(directory: Path, config: Mapping[str, Any], store: Store) -> None:
    """ConfigError when `directory` holds one-shot runs of another space than `store`'s: their archs are
    codes of that space, which the table would read as other archs."""
    oneshot = config.get("spec", {}).get("oneshot")
    if not isinstance(oneshot, dict):
        return
    ops, nodes = tuple(oneshot.get("ops", ())), oneshot.get("nodes")
    if (ops, nodes) != (tuple(store.space.ops), store.space.n_nodes):
        raise ConfigError(
            f"{str(directory)!r} holds one-shot runs on another space ({nodes} nodes, ops {', '.join(ops)}) than "
            f"the store's ({store.space.n_nodes} nodes, ops {', '.join(store.space.ops)}): the table has none of "
            "their archs; use `report DIR`, --json or --significance"
        )


def check_oneshot_dir(protocol: Protocol, store: Store, directory: Path) -> None:
    """ConfigError unless `directory` can give `protocol`'s weight-sharing rows: the protocol is nb201 and
    `directory` is a `nasbench-suite oneshot` results directory on the store's space with finished runs.
    Checked before anything runs."""
    from nasbench_suite.errors import SuiteError
    from nasbench_suite.results import load_runs, read_config

    if protocol.key != "nb201":
        raise ConfigError(f"--oneshot adds rows to the nb201 table only, not to {protocol.key!r}")
    try:
        config = read_config(directory)
    except SuiteError as exc:
        raise ConfigError(f"--oneshot: {exc}") from None
    if not isinstance(config["spec"].get("oneshot"), dict):
        raise ConfigError(
            f"--oneshot {str(directory)!r} holds no one-shot runs; give a `nasbench-suite oneshot --out DIR` directory"
        )
    check_table_space(directory, config, store)
    try:
        runs = load_runs(directory)
    except SuiteError as exc:
        raise ConfigError(f"--oneshot: {exc}") from None
    if runs.empty or "derived_arch" not in runs:
        raise ConfigError(f"--oneshot {str(directory)!r} has no finished one-shot runs yet")


def oneshot_section(report: ReproductionReport, store: Store, directory: Path) -> ReproductionReport:
    """The report with the weight-sharing rows this suite ran (`nasbench-suite oneshot --out DIR`), read by
    `live_training.oneshot.report.oneshot_rows` beside the published ones; without it they stay published
    only. Imported here, lazily: the one-shot package needs torch."""
    from nasbench_suite.live_training.oneshot.report import format_markdown, oneshot_rows

    check_oneshot_dir(NB201, store, directory)
    rows = oneshot_rows(directory, store)
    body = f"From `{directory}` (mean ± std over runs, the derived cells' 200-epoch seed means):\n\n"
    return dataclasses.replace(
        report,
        sections=(*report.sections, ("Weight-sharing rows, run by this suite", body + format_markdown(rows))),
    )


def reproduce(
    protocol: Protocol,
    store: Store,
    out: Path,
    *,
    runs: int = 500,
    seed: int = 0,
    jobs: int | None = None,
    progress: bool = True,
    methods: tuple[str, ...] | None = None,
    sweep_runs: int | None = None,
    executor: Executor | None = None,
    oneshot: Path | None = None,
) -> ReproductionReport:
    """Run (or finish) every comparison of `protocol` under `out` and return its report. Table runs go
    to `executor` when given (`executors.py`: Ray), else to `jobs` local processes."""
    out = Path(out)
    if oneshot is not None:
        check_oneshot_dir(protocol, store, Path(oneshot))
    published = load_published(protocol.published)
    dirs: dict[str, list[Path]] = {}
    pairs: list[tuple[str, Path]] = []
    for name, spec, worker in plan(protocol, runs=runs, seed=seed, methods=methods):
        _run(store, spec, out / name, worker, jobs, progress, executor)
        dirs.setdefault(spec.datasets[0], []).append(out / name)
        pairs.append((spec.datasets[0], out / name))
    chosen = {
        r.strategy: r.method for r in (protocol.rows if methods is None else map(protocol.row, methods))
    }
    sweeps: list[SweepTable] = []
    for sweep in protocol.sweeps:
        if sweep.method not in chosen.values():
            continue
        points = []
        for name, value, spec in sweep_plan(protocol, seed=seed, runs=sweep_runs):
            if name.startswith(f"{protocol.key}-sweep-{sweep.strategy}-{sweep.hparam}-"):
                _run(store, spec, out / name, TABLE, jobs, progress, executor)
                points.append((value, out / name))
        found = sweep_points(store, points, sweep.strategy, published, sweep.method)
        sweeps.append(SweepTable(sweep.method, sweep.hparam, sweep.chosen, found))
    labels = {r.method: r.label for r in protocol.rows if r.label}
    findings = tuple(s.finding for s in protocol.sweeps if s.method in chosen.values())
    if protocol.reading == "final":
        (directories,) = dirs.values()
        report = nb201_report(
            store,
            directories,
            published,
            methods=chosen,
            labels=labels,
            sweeps=tuple(sweeps),
            findings=findings,
            differences=protocol.differences,
        )
        return report if oneshot is None else oneshot_section(report, store, Path(oneshot))
    return nats_report(
        store,
        pairs,
        published,
        methods=chosen,
        differences=protocol.differences,
        title=protocol.title,
        bohb_note=any(r.strategy == "bohb" for r in protocol.rows),
    )
