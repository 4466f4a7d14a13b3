"""The runner's work for an executor (`executors.py`): the runs of one comparison, as plain data.

A worker opens the store once (checking that its data is the driver's), runs grid cells and returns
each run file's bytes; the driver writes them (`comparison.run_comparison`), so no worker ever writes the
results directory. Live runs (`spec.live`) train on the worker, one run a task with a GPU each when
they train on CUDA; their training logs and checkpoints go to a scratch directory on the worker's node
(a retried run resumes from them there) that is removed once the run is done.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from nasbench_suite.errors import ConfigError, StoreError
from nasbench_suite.executors import Resources
from nasbench_suite.imports import load_all
from nasbench_suite.results import encode_run
from nasbench_suite.runner import ComparisonSpec, OracleFactory, RunResult, StrategyFactory, run_one
from nasbench_suite.store import Store

Cell = tuple[str, str, int]  # (strategy, dataset, run)


def open_checked(store_path: str, data_checksum: str, modules: tuple[str, ...]) -> Store:
    """A worker's store: the one at the driver's path, refused unless its data is the driver's."""
    load_all(modules)  # a fresh worker process has imported nothing
    store = Store(store_path)
    if store.checksum != data_checksum:
        raise StoreError(
            f"the store at {store_path!r} on {platform.node()!r} holds other data (checksum "
            f"{store.checksum[:12]}) than the driver's ({data_checksum[:12]}); import the same "
            "source on every node, or put the store on a shared file system"
        )
    return store


def resources_for(spec: ComparisonSpec) -> Resources:
    """What one run of `spec` needs from a worker: a CPU; a GPU too for a live run that trains on CUDA."""
    device = str((spec.live or {}).get("device", "cpu"))
    return Resources(cpus=1, gpus=1 if device.startswith("cuda") else 0)


@dataclass(frozen=True)
class TableRuns:
    """Runs grid cells of `spec` on the store at `store_path`, whose data checksum must be
    `data_checksum` (the driver's) on every worker."""

    store_path: str
    data_checksum: str
    spec: ComparisonSpec
    factory: StrategyFactory

    @property
    def setup_key(self) -> Hashable:
        return (self.store_path, self.data_checksum, self.spec.strategy_modules)

    @property
    def resources(self) -> Resources:
        return resources_for(self.spec)

    def setup(self) -> Store:
        return open_checked(self.store_path, self.data_checksum, self.spec.strategy_modules)

    def __call__(self, store: Store, cell: Cell) -> tuple[bytes, RunResult]:
        strategy, dataset, run = cell
        columns, meta = run_one(store, self.spec, strategy, dataset, run, self.factory)
        return encode_run(columns, meta), RunResult.from_meta(meta)


@dataclass(frozen=True)
class LiveRuns:
    """Live runs of `spec` (whose `live` holds the live oracle's settings): the worker trains. `scratch`
    names this command's scratch directory (the same for a retried task, so it resumes there)."""

    store_path: str
    data_checksum: str
    spec: ComparisonSpec
    factory: StrategyFactory
    scratch: str
    # (live settings, spec, store, work dir) -> the runs' oracle factory: a module-level function, so a
    # worker gets it by reference (the CLI passes live_training.factory.live_oracle_factory)
    oracle_setup: Callable[..., OracleFactory]
    items_per_task = 1  # a live run trains for minutes: never batch them

    @property
    def setup_key(self) -> Hashable:
        return (self.store_path, self.data_checksum, self.spec.strategy_modules, "live", self.scratch)

    @property
    def resources(self) -> Resources:
        return resources_for(self.spec)

    def _root(self) -> Path:
        return Path(tempfile.gettempdir()) / "nasbench-suite-live" / self.scratch

    def setup(self) -> tuple[Store, OracleFactory]:
        store = open_checked(self.store_path, self.data_checksum, self.spec.strategy_modules)
        settings = dict(self.spec.live or {})
        return store, self.oracle_setup(settings, self.spec, store, self._root(), progress=False)

    def __call__(self, state: tuple[Store, OracleFactory], cell: Cell) -> tuple[bytes, RunResult]:
        store, make_oracle = state
        strategy, dataset, run = cell
        columns, meta = run_one(store, self.spec, strategy, dataset, run, self.factory, make_oracle)
        shutil.rmtree(self._root() / "live" / f"{strategy}-{dataset}-{run:04d}", ignore_errors=True)
        return encode_run(columns, meta), RunResult.from_meta(meta)


def work_for(
    store: Store,
    spec: ComparisonSpec,
    factory: StrategyFactory,
    oracle_setup: Callable[..., OracleFactory] | None = None,
) -> TableRuns | LiveRuns:
    """The executor's work for `spec`'s runs: live (a fresh scratch name per command; `oracle_setup`
    builds each worker's oracle factory) or table."""
    if spec.live is not None:
        if oracle_setup is None:
            raise ConfigError("live runs on an executor need the live oracle's setup (oracle_setup)")
        return LiveRuns(str(store.path), store.checksum, spec, factory, uuid.uuid4().hex, oracle_setup)
    return TableRuns(str(store.path), store.checksum, spec, factory)
