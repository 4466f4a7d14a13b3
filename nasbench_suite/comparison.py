"""Runs a comparison: the grid strategy x dataset x run written into one results directory, resumable,
in this process, a local pool or on an executor (`executors.py`); the runs themselves are
`runner.run_one`, the executor's work `run_tasks`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from nasbench_suite import __version__
from nasbench_suite.errors import ConfigError
from nasbench_suite.executors import BATCHES_PER_SLOT, MAX_AUTO_BATCH, Executor, LocalExecutor, RayExecutor
from nasbench_suite.imports import load_all
from nasbench_suite.preflight import Notify, announce_grid, check_comparison, is_large, log_notice
from nasbench_suite.results import atomic_write_bytes, run_file, write_run
from nasbench_suite.results_lock import results_lock
from nasbench_suite.resume import Cell, Todo
from nasbench_suite.resume import prepare as prepare_directory
from nasbench_suite.run_tasks import TableRuns, resources_for, work_for
from nasbench_suite.runner import ComparisonSpec, OracleFactory, RunResult, StrategyFactory, run_one
from nasbench_suite.store import Store

START_METHOD_ENV = "NASBENCH_SUITE_START_METHOD"


def pool_context(method: str | None = None) -> multiprocessing.context.BaseContext:
    """How worker processes start: `method`, else $NASBENCH_SUITE_START_METHOD, else fork where the
    platform has it (Linux), else the platform's default (spawn on macOS and Windows)."""
    method = method or os.environ.get(START_METHOD_ENV) or None
    available = multiprocessing.get_all_start_methods()
    if method is None:
        return multiprocessing.get_context("fork" if "fork" in available else None)
    if method not in available:
        raise ConfigError(
            f"the worker start method (${START_METHOD_ENV} or start_method) must be one of "
            f"{', '.join(available)}, got {method!r}"
        )
    return multiprocessing.get_context(method)


def _save(
    store: Store,
    spec: ComparisonSpec,
    out: Path,
    strategy: str,
    dataset: str,
    run: int,
    factory: StrategyFactory,
    make_oracle: OracleFactory | None = None,
) -> RunResult:
    columns, meta = run_one(store, spec, strategy, dataset, run, factory, make_oracle)
    write_run(run_file(out, strategy, dataset, run), columns, meta)
    return RunResult.from_meta(meta)


# A local pool pays for itself only when the runs outlast starting it (a fork per worker, its queues,
# the store's index in every worker: tens of milliseconds, more on a busy machine). Without a number of
# jobs asked for, runs go to a pool once the ones done here took this long, or the runs left would take
# this long at the pace of the last one: a small or quick grid never starts one, a long one starts it
# after two runs (an expensive one loses the parallelism of its first runs).
POOL_PAYS_AFTER_S = 0.25


def _quick_cells(cells: Iterator[Cell], total: int) -> Iterator[Cell]:
    """The first of `cells` (of `total`), to run in this process, until the ones run so far took
    `POOL_PAYS_AFTER_S`, or the runs left would take that long at the pace of the last one (from the
    second on: the first also pays for what every run shares, the store's index and tables); the
    caller hands what is left of `cells` to the pool."""
    started = last = time.perf_counter()
    for taken, cell in enumerate(cells, start=1):
        yield cell
        now = time.perf_counter()
        left = total - taken
        if (
            not left
            or now - started > POOL_PAYS_AFTER_S
            or (taken > 1 and (now - last) * left > POOL_PAYS_AFTER_S)
        ):
            return
        last = now


def local_batch(runs: int, jobs: int) -> int:
    """Runs a local pool's task takes: at least `BATCHES_PER_SLOT` tasks per worker (so that the
    workers finish together), at most `MAX_AUTO_BATCH` runs (as on Ray)."""
    return max(1, min(MAX_AUTO_BATCH, -(-runs // (BATCHES_PER_SLOT * jobs))))


def prepare(out: Path, spec: ComparisonSpec, store: Store) -> Todo:
    """Write, check or grow config.json and return the runs still missing (`resume.prepare`); call
    with the directory's lock held (`run_comparison` does)."""
    config = {
        "spec": spec.to_json(),
        "suite_version": __version__,
        "data_checksum": store.checksum,
        "store": str(store.path.resolve()),
    }
    return prepare_directory(out, config)


def run_comparison(
    store: Store,
    spec: ComparisonSpec,
    out: Path,
    factory: StrategyFactory,
    *,
    jobs: int | None = None,
    progress: bool = True,
    make_oracle: OracleFactory | None = None,
    start_method: str | None = None,
    executor: Executor | None = None,
    oracle_setup: Callable[..., OracleFactory] | None = None,
    notify: Notify = log_notice,
) -> list[RunResult]:
    """Run every missing run of `spec` into `out`; returns what was run now. Live runs (`make_oracle`)
    run one at a time in this process: training uses every core; on an executor, each worker builds its
    oracles with `oracle_setup(spec.live, spec, store, work_dir, progress=False)`. Table runs go to `executor`
    (`executors.py`: a Ray cluster, or by default `jobs` local processes (None: every core, once the
    runs done in this process show that a pool pays, `POOL_PAYS_AFTER_S`), started by
    `pool_context(start_method)`, which import `spec.strategy_modules` themselves); workers return
    each run file's bytes and this process writes them. The directory is locked for the whole call
    (`results_lock`): a second writer fails at once, naming this one.

    Before anything is written, a table comparison is checked (`preflight`): a budget that cannot fit
    one evaluation of the schedule is a ConfigError naming the cheapest evaluation's cost; a budget that
    fits only some evaluations, or noise that falls back to the seed mean, is a `notify` warning; a
    grid of more than `preflight.LARGE_GRID` runs is announced to `notify` with its estimated time,
    disk and memory (then submitted lazily, as every grid). `notify` defaults to a logged WARNING. The
    executor is connected (a Ray cluster reached) after these checks and before the directory is
    touched, and refuses runs no worker could take (a GPU on a cluster without one)."""
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"jobs must be a whole number >= 1, got {jobs!r}")
    out = Path(out)
    if make_oracle is None:
        load_all(spec.strategy_modules)
        check_comparison(store, spec, notify=notify)
    if executor is not None:
        executor.connect()
        if make_oracle is None or spec.live is not None:  # runs the executor will get: can it run them?
            executor.check_resources(resources_for(spec))
    if make_oracle is None and is_large(spec):
        announce_grid(store, spec, factory, jobs=_workers(executor, jobs), notify=notify)
    with results_lock(out):
        return _run_locked(
            store, spec, out, factory, jobs, progress, make_oracle, start_method, executor, oracle_setup
        )


def _workers(executor: Executor | None, jobs: int | None) -> int:
    """How many runs go at once (for the large grid's estimate): the local pool's processes, the Ray
    cluster's CPUs, else `jobs` or every core."""
    if executor is None:
        return jobs or os.cpu_count() or 1
    if isinstance(executor, RayExecutor):
        return executor.cpus()
    return int(getattr(executor, "jobs", None) or jobs or os.cpu_count() or 1)


def _run_locked(
    store: Store,
    spec: ComparisonSpec,
    out: Path,
    factory: StrategyFactory,
    jobs: int | None,
    progress: bool,
    make_oracle: OracleFactory | None,
    start_method: str | None,
    executor: Executor | None,
    oracle_setup: Callable[..., OracleFactory] | None = None,
) -> list[RunResult]:
    from tqdm import tqdm

    load_all(spec.strategy_modules)
    todo = prepare(out, spec, store)
    automatic = jobs is None  # all cores, where a pool pays (`POOL_PAYS_AFTER_S`)
    jobs = 1 if make_oracle is not None else min(jobs or os.cpu_count() or 1, max(len(todo), 1))
    bar = tqdm(total=len(todo), desc="runs", unit="run", disable=not progress or None, leave=False)
    done: list[RunResult] = []
    try:
        # a live comparison can train on an executor (Ray); other oracles run here
        remote = executor is not None and (make_oracle is None or spec.live is not None)
        if not remote and (make_oracle is not None or jobs == 1):
            for s, d, r in todo:
                done.append(_save(store, spec, out, s, d, r, factory, make_oracle))
                bar.update()
        else:
            cells: Iterator[Cell] = iter(todo)
            if automatic and executor is None and make_oracle is None:
                for s, d, r in _quick_cells(cells, len(todo)):
                    done.append(_save(store, spec, out, s, d, r, factory))
                    bar.update()
                jobs = min(jobs, len(todo) - len(done))
            if jobs < 2 and executor is None:
                for s, d, r in cells:  # what is left is too little to share out
                    done.append(_save(store, spec, out, s, d, r, factory, make_oracle))
                    bar.update()
                return done
            # runs are submitted lazily, a few per worker in flight: a grid of millions costs no memory
            if executor is None:
                left = len(todo) - len(done)
                executor = LocalExecutor(
                    jobs, context=pool_context(start_method), batch_size=local_batch(left, jobs)
                )
            work = work_for(store, spec, factory, oracle_setup)
            # workers that fork inherit the writer's modules and this open store: starting one costs a
            # fork, not an import of pyarrow and a store to open and verify
            import pyarrow.parquet  # noqa: F401

            local = isinstance(executor, LocalExecutor) and type(work) is TableRuns
            given = {"state": store} if local else {}
            for (s, d, r), (data, result) in executor.map(work, cells, resources=work.resources, **given):
                atomic_write_bytes(run_file(out, s, d, r), data)
                done.append(result)
                bar.update()
    finally:
        bar.close()
    return done
