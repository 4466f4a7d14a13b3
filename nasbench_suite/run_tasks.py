"""The runner's work for an executor (`executors.py`): the table runs of one comparison, as plain data.

A worker opens the store once (checking that its data is the driver's), runs grid cells and returns
each run file's bytes; the driver writes them (`runner.run_comparison`), so no worker ever writes the
results directory.
"""

from __future__ import annotations

import platform
from collections.abc import Hashable
from dataclasses import dataclass

from nasbench_suite.errors import StoreError
from nasbench_suite.imports import load_all
from nasbench_suite.results import encode_run
from nasbench_suite.runner import ComparisonSpec, RunResult, StrategyFactory, run_one
from nasbench_suite.store import Store

Cell = tuple[str, str, int]  # (strategy, dataset, run)


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

    def setup(self) -> Store:
        load_all(self.spec.strategy_modules)  # a fresh worker process has imported nothing
        store = Store(self.store_path)
        if store.checksum != self.data_checksum:
            raise StoreError(
                f"the store at {self.store_path!r} on {platform.node()!r} holds other data (checksum "
                f"{store.checksum[:12]}) than the driver's ({self.data_checksum[:12]}); import the same "
                "source on every node, or put the store on a shared file system"
            )
        return store

    def __call__(self, store: Store, cell: Cell) -> tuple[bytes, RunResult]:
        strategy, dataset, run = cell
        columns, meta = run_one(store, self.spec, strategy, dataset, run, self.factory)
        return encode_run(columns, meta), RunResult.from_meta(meta)
