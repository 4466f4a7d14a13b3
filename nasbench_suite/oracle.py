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
- The incumbent is the arch with the best validation accuracy *seen* so far (first one on ties); with a
  constraint, the best among archs that satisfy it.
- Measurements (per-arch properties a practitioner gets without training) are answered from the store's
  static tables. FLOPs, parameters and latencies cost no simulated training time (they are computed or
  measured outside the training budget, as HW-NAS-Bench treats them); a zero-cost proxy is charged one
  forward pass over a minibatch of `PROXY_BATCH` images, `PROXY_BATCH / n_train / 3` training epochs.
  Measurements never count as evaluations or epochs.
- `start` prices and draws an evaluation, `finish` records it: the runner overlaps evaluations between
  the two to simulate parallel workers; `evaluate` / `measure` do both at once (one worker).
- Real time spent inside a strategy is measured by the runner and never mixed into simulated time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from nasbench_suite.budget import Budget, BudgetKind, Spent
from nasbench_suite.datasets import (
    FORWARD_FRACTION,
    check_search_dataset,
    dataset_info,
    report_dataset,
    validation_epoch_fraction,
)
from nasbench_suite.errors import ConfigError, StoreError, UnknownNameError, unknown
from nasbench_suite.protocol import (
    Constraint,
    Fidelity,
    Measured,
    Measurement,
    Observation,
    Proposal,
    Request,
    Result,
    SearchProblem,
)
from nasbench_suite.space import Arch
from nasbench_suite.store import Store


class Noise(StrEnum):
    RANDOM = "random"
    MEAN = "mean"


PROXY_BATCH = 128  # images in the minibatch a zero-cost proxy scores an arch on (NASWOT uses 128)
PROXY_PREFIX = "zc_"
HW_PREFIX = "hw_latency_ms/"
MEASUREMENT_LIMIT = 100_000  # per run: a strategy that only ever measures still ends


class BudgetExhausted(Exception):
    """The next evaluation does not fit the budget; the search (or this worker) is over."""


@dataclass(frozen=True)
class Pending:
    """An evaluation or measurement that has been priced and drawn but not yet recorded."""

    request: Request
    index: int
    value: float
    cost_s: float
    start_s: float

    @property
    def finish_s(self) -> float:
        return self.start_s + self.cost_s


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
    measure: list[str] = field(default_factory=list)
    measured_value: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.arch_index)

    def record(
        self,
        index: int,
        cost_s: float,
        time_s: float,
        *,
        trained: Fidelity | None,
        valid_seen: float = float("nan"),
        measure: str = "",
        measured_value: float = float("nan"),
        incumbent: tuple[int, float, float, float] = (-1, float("nan"), float("nan"), float("nan")),
    ) -> None:
        """Append one row: a training evaluation (`trained` fidelity, `valid_seen`) or a measurement
        (`measure`, `measured_value`), and the incumbent after it as (index, valid seen, valid, test)."""
        self.arch_index.append(index)
        self.cost_s.append(cost_s)
        self.time_s.append(time_s)
        self.epoch.append(trained.epoch if trained else 0)
        self.schedule.append(trained.schedule if trained else 0)
        self.valid_seen.append(valid_seen)
        self.measure.append(measure)
        self.measured_value.append(measured_value)
        inc_index, inc_seen, inc_valid, inc_test = incumbent
        self.incumbent_index.append(inc_index)
        self.incumbent_valid_seen.append(inc_seen)
        self.incumbent_valid.append(inc_valid)
        self.incumbent_test.append(inc_test)


class OneWorker:
    """`evaluate` / `measure`: start a request at the current clock and finish it at once (one worker).
    Needs `start`, `finish` and `spent` (both oracles have them)."""

    spent: Spent

    def start(self, request: Request, at_s: float) -> Pending:
        raise NotImplementedError

    def finish(self, pending: Pending) -> Result:
        raise NotImplementedError

    def evaluate(self, arch: Arch, fidelity: Fidelity) -> Observation:
        result = self.finish(self.start(Proposal(arch, fidelity), self.spent.seconds))
        assert isinstance(result, Observation)
        return result

    def measure(self, arch: Arch, metric: str) -> Measured:
        result = self.finish(self.start(Measurement(arch, metric), self.spent.seconds))
        assert isinstance(result, Measured)
        return result


class TabularOracle(OneWorker):
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
        constraint: Constraint | None = None,
        objective: str | None = None,
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
        self._static = {
            m: np.asarray(store.table(dataset, m).column("mean"))
            for m in store.metrics(dataset)
            if not store.schedules(dataset, m)
        }
        for metric, what in (
            (constraint.metric if constraint else None, "--constraint"),
            (objective, "--objective"),
        ):
            if metric is not None and metric not in self._static:
                raise _unknown_measurable(metric, what, sorted(self._static), dataset)
        self._feasible = None if constraint is None else self._static[constraint.metric] <= constraint.limit
        self._proxy_s = (
            self._per_epoch_s[schedule] * PROXY_BATCH / dataset_info(dataset).n_train * FORWARD_FRACTION
        )
        self.problem = SearchProblem(
            store.space,
            tuple(sorted(self._tables)),
            Fidelity.full(schedule),
            measurable=tuple(sorted(self._static)),
            constraint=constraint,
            objective=objective,
        )

        # reporting only: the found arch's 200-epoch seed means
        self.report_dataset = report_dataset(dataset)
        self._report_valid = np.asarray(store.table(dataset, "valid_acc", 200).column("mean"))
        self._report_test = np.asarray(store.table(self.report_dataset, "test_acc", 200).column("mean"))

        self.spent = Spent()
        self.trajectory = Trajectory()
        self.noise_fallbacks: set[Fidelity] = set()
        self._best = -np.inf
        self._incumbent = -1
        self._started_evaluations = 0
        self._started_epochs = 0
        self._measurements = 0

    def noise_fallback_fidelities(self) -> list[Fidelity]:
        """Fidelities where `random` noise must fall back to the mean (the store has no per-seed values)."""
        if self.noise is Noise.MEAN:
            return []
        return [f for f, t in self._tables.items() if not t.has_seeds]

    # ---------------------------------------------------------------- start and finish
    def start(self, request: Request, at_s: float) -> Pending:
        """Price and draw `request` starting at simulated time `at_s`; raises BudgetExhausted (charging
        nothing) when it would not fit. Evaluations and epochs are counted here, time when it finishes."""
        index = self.store.index(request.arch)
        if isinstance(request, Measurement):
            values = self._static.get(request.metric)
            if values is None:
                raise _unknown_measurable(
                    request.metric, "measurement", self.problem.measurable, self.dataset
                )
            cost = float(self._proxy_s[index]) if request.metric.startswith(PROXY_PREFIX) else 0.0
            if at_s + cost > self._seconds_limit() or self._measurements >= MEASUREMENT_LIMIT:
                raise BudgetExhausted
            self._measurements += 1
            return Pending(request, index, float(values[index]), cost, at_s)
        fidelity = request.fidelity
        table = self._tables.get(fidelity)
        if table is None:
            raise unknown("fidelity (epoch/schedule)", fidelity, self.problem.fidelities)
        cost = float(
            self._per_epoch_s[fidelity.schedule][index] * fidelity.epoch
            + self._valid_pass_s[fidelity.schedule][index]
        )
        fits = self.spent.fits(
            self.budget, cost, fidelity.epoch, at_s, self._started_evaluations, self._started_epochs
        )
        if not fits:
            raise BudgetExhausted
        self._started_evaluations += 1
        self._started_epochs += fidelity.epoch
        return Pending(request, index, self._valid_value(table, index, fidelity), cost, at_s)

    def finish(self, pending: Pending) -> Result:
        """Record a started request as finished at `pending.finish_s`; return what the strategy sees."""
        request, index, finish_s = pending.request, pending.index, pending.finish_s
        training = isinstance(request, Proposal)
        self.spent.finish(finish_s, request.fidelity.epoch if training else 0, training)
        result: Result
        if training:
            valid = pending.value
            if valid > self._best and (self._feasible is None or self._feasible[index]):
                self._best, self._incumbent = valid, index
            result = Observation(request.arch, request.fidelity, valid, pending.cost_s, finish_s)
        else:
            result = Measured(request.arch, request.metric, pending.value, pending.cost_s, finish_s)
        inc = self._incumbent
        incumbent = (
            (inc, self._best, float(self._report_valid[inc]), float(self._report_test[inc]))
            if inc >= 0
            else (-1, float("nan"), float("nan"), float("nan"))
        )
        self.trajectory.record(
            index,
            pending.cost_s,
            finish_s,
            trained=request.fidelity if training else None,
            valid_seen=pending.value if training else float("nan"),
            measure="" if training else request.metric,
            measured_value=float("nan") if training else pending.value,
            incumbent=incumbent,
        )
        return result

    def _seconds_limit(self) -> float:
        return self.budget.limit if self.budget.kind is BudgetKind.SECONDS else float("inf")

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


def _unknown_measurable(metric: str, what: str, valid: Sequence[str], dataset: str) -> UnknownNameError:
    devices = [m.removeprefix(HW_PREFIX) for m in valid if m.startswith(HW_PREFIX)]
    if metric.startswith(HW_PREFIX) and devices:
        return unknown("device", metric.removeprefix(HW_PREFIX), devices, f"{what} on {dataset}")
    return unknown("metric", metric, valid, f"{what} on {dataset}")


def _bad_noise(noise: object) -> Noise:
    raise ConfigError(f"noise must be one of {', '.join(Noise)}, got {noise!r}")
