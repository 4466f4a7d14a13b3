"""The fair-budget oracle: the only door between a strategy and the benchmark table.

`evaluate(arch, fidelity)` returns the validation accuracy the protocol allows and charges the simulated
cost of training and validating; test accuracies never leave the oracle, which records the incumbent's
(for reporting only).

Protocol details, each a choice that makes comparisons fair and reproducible:
- Cost = per-epoch training time from the table x epochs trained + one validation pass. The validation
  pass uses the store's measured `valid_time_s` where it has one (the official archive), otherwise
  `datasets.validation_epoch_fraction` training epochs (the table lacks validation times).
- Noise: `random` shows one seed's result per evaluation, drawn from the seeds that exist for that arch
  (NAS-Bench-201's protocol); `mean` shows the seed mean. Evaluating an arch again costs again and draws
  again. Where the store holds only a seed mean (the wide table's 12-epoch results), `random` falls back
  to the mean and the fidelity is listed in `noise_fallbacks`.
- The incumbent is the arch with the best validation accuracy *seen* so far (first one on ties).
- Real time spent inside a strategy is measured by the runner and never mixed into simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from nasbench_suite.budget import Budget, Spent
from nasbench_suite.datasets import check_search_dataset, report_dataset, validation_epoch_fraction
from nasbench_suite.errors import ConfigError, StoreError, unknown
from nasbench_suite.protocol import Fidelity, Observation, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.store import Store


class Noise(StrEnum):
    RANDOM = "random"
    MEAN = "mean"


class BudgetExhausted(Exception):
    """The next evaluation does not fit the budget; the search is over."""


@dataclass
class _FidelityTable:
    values: np.ndarray  # (n_archs, 1 + n_seeds, n_points) memory map
    point: int
    has_seeds: bool


@dataclass
class Trajectory:
    """One row per evaluation, in columns."""

    arch_index: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    schedule: list[int] = field(default_factory=list)
    cost_s: list[float] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)
    valid_seen: list[float] = field(default_factory=list)
    incumbent_index: list[int] = field(default_factory=list)
    incumbent_valid_seen: list[float] = field(default_factory=list)
    incumbent_valid: list[float] = field(default_factory=list)
    incumbent_test: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.arch_index)


class TabularOracle:
    """Evaluates archs of the store's space on one search dataset under one budget."""

    def __init__(
        self,
        store: Store,
        dataset: str,
        budget: Budget,
        *,
        rng: np.random.Generator,
        noise: Noise | str = Noise.RANDOM,
        schedule: int = 12,
    ) -> None:
        self.store = store
        self.dataset = check_search_dataset(dataset)
        if dataset not in store.datasets():
            raise unknown("dataset", dataset, store.datasets(), "this store")
        self.budget = budget
        self.noise = Noise(noise) if noise in tuple(Noise) else _bad_noise(noise)
        self._rng = rng
        schedules = store.schedules(dataset, "valid_acc")
        if schedule not in schedules:
            raise unknown("schedule (epochs)", schedule, schedules, f"{dataset} validation accuracy")

        self._tables: dict[Fidelity, _FidelityTable] = {}
        self._per_epoch_s: dict[int, np.ndarray] = {}
        self._valid_pass_s: dict[int, np.ndarray] = {}
        fraction = validation_epoch_fraction(dataset)
        for s in schedules:
            valid = store.table(dataset, "valid_acc", s)
            if not store.has(dataset, "train_time_s", s):
                continue  # a schedule without training times cannot be priced, so it is not offered
            self._per_epoch_s[s] = np.asarray(store.table(dataset, "train_time_s", s).column("mean")) / s
            pass_s = self._per_epoch_s[s] * fraction
            if store.has(dataset, "valid_time_s", s):
                measured = np.asarray(store.table(dataset, "valid_time_s", s).column("mean"))
                pass_s = np.where(np.isnan(measured), pass_s, measured)
            self._valid_pass_s[s] = pass_s
            for k, epoch in enumerate(valid.spec.points):
                self._tables[Fidelity(epoch, s)] = _FidelityTable(valid.values, k, bool(valid.spec.seeds))
        if Fidelity.full(schedule) not in self._tables:
            raise StoreError(f"the store has no training times for {dataset} at {schedule} epochs")
        self.problem = SearchProblem(store.space, tuple(sorted(self._tables)), Fidelity.full(schedule))

        # reporting only: the found arch's 200-epoch seed means
        self.report_dataset = report_dataset(dataset)
        self._report_valid = np.asarray(store.table(dataset, "valid_acc", 200).column("mean"))
        self._report_test = np.asarray(store.table(self.report_dataset, "test_acc", 200).column("mean"))

        self.spent = Spent()
        self.trajectory = Trajectory()
        self.noise_fallbacks: set[Fidelity] = set()
        self._best = -np.inf
        self._incumbent = -1

    def noise_fallback_fidelities(self) -> list[Fidelity]:
        """Fidelities where `random` noise must fall back to the mean (the store has no per-seed values)."""
        if self.noise is Noise.MEAN:
            return []
        return [f for f, t in self._tables.items() if not t.has_seeds]

    def evaluate(self, arch: Arch, fidelity: Fidelity) -> Observation:
        index = self.store.index(arch)
        table = self._tables.get(fidelity)
        if table is None:
            raise unknown("fidelity (epoch/schedule)", fidelity, self.problem.fidelities)
        valid = self._valid_value(table, index, fidelity)
        cost = float(
            self._per_epoch_s[fidelity.schedule][index] * fidelity.epoch
            + self._valid_pass_s[fidelity.schedule][index]
        )
        if not self.spent.fits(self.budget, cost, fidelity.epoch):
            raise BudgetExhausted
        self.spent.charge(cost, fidelity.epoch)
        if valid > self._best:
            self._best, self._incumbent = valid, index
        t = self.trajectory
        t.arch_index.append(index)
        t.epoch.append(fidelity.epoch)
        t.schedule.append(fidelity.schedule)
        t.cost_s.append(cost)
        t.time_s.append(self.spent.seconds)
        t.valid_seen.append(valid)
        t.incumbent_index.append(self._incumbent)
        t.incumbent_valid_seen.append(self._best)
        t.incumbent_valid.append(float(self._report_valid[self._incumbent]))
        t.incumbent_test.append(float(self._report_test[self._incumbent]))
        return Observation(arch, fidelity, valid, cost, self.spent.seconds)

    def _valid_value(self, table: _FidelityTable, index: int, fidelity: Fidelity) -> float:
        if self.noise is Noise.RANDOM and table.has_seeds:
            seeds = table.values[index, 1:, table.point]
            present = np.flatnonzero(~np.isnan(seeds))
            if len(present):
                return float(seeds[present[self._rng.integers(len(present))]])
        if self.noise is Noise.RANDOM:
            self.noise_fallbacks.add(fidelity)
        value = float(table.values[index, 0, table.point])
        if value != value:
            raise StoreError(
                f"the store has no {self.dataset} validation accuracy at {fidelity} epochs for arch {index}"
            )
        return value


def _bad_noise(noise: object) -> Noise:
    raise ConfigError(f"noise must be one of {', '.join(Noise)}, got {noise!r}")
