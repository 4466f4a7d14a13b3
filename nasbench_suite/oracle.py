"""The fair-budget oracle: the only door between a strategy and the benchmark table.

`evaluate(arch, fidelity)` returns the validation accuracy the protocol allows and charges the simulated
cost of training and validating; test accuracies never leave the oracle, which records the incumbent's
(for reporting only). The oracle composes four parts, each in its own module:
- what an evaluation shows, with the protocol's noise: `nasbench_suite.lookup`;
- what it costs in simulated seconds: `nasbench_suite.cost_model`;
- whether it fits the budget (the overshoot rule): `nasbench_suite.budget`;
- the incumbent and the trajectory it leaves: `nasbench_suite.trajectory`.

Measurements (per-arch properties a practitioner gets without training) are answered from the store's
static tables and never count as evaluations or epochs. `start` prices and draws a request, `finish`
records it: the runner overlaps requests between the two to simulate parallel workers; `evaluate` /
`measure` do both at once (one worker). Real time spent inside a strategy is measured by the runner and
never mixed into simulated time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from nasbench_suite.budget import Budget, BudgetExhausted, Spent
from nasbench_suite.cost_model import CostModel
from nasbench_suite.datasets import check_search_dataset, report_dataset
from nasbench_suite.errors import UnknownNameError, unknown
from nasbench_suite.lookup import Noise, ValidationLookup, parse_noise
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
from nasbench_suite.trajectory import Incumbent, Trajectory

HW_PREFIX = "hw_latency_ms/"


@dataclass(frozen=True, slots=True)
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
        self.noise = parse_noise(noise)
        self._rng = rng
        schedules = store.schedules(dataset, "valid_acc")
        if schedule not in schedules:
            raise unknown("schedule (epochs)", schedule, schedules, f"{dataset} validation accuracy")
        self.cost = CostModel.of(store, dataset, schedules, schedule)
        self.lookup = ValidationLookup(store, dataset, self.cost.schedules, self.noise)
        self._static = store.derived(("static_metrics", dataset), lambda: _static_metrics(store, dataset))
        for metric, what in (
            (constraint.metric if constraint else None, "--constraint"),
            (objective, "--objective"),
        ):
            if metric is not None and metric not in self._static:
                raise _unknown_measurable(metric, what, sorted(self._static), dataset)
        self._feasible = None if constraint is None else self._static[constraint.metric] <= constraint.limit
        fidelities = self.lookup.fidelities
        self.problem = SearchProblem(
            store.space,
            fidelities,
            # the lookup's own object: requests at it then find their tables by identity, not by __eq__
            next((f for f in fidelities if f == Fidelity.full(schedule)), Fidelity.full(schedule)),
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
        self.incumbent = Incumbent()
        self._started_evaluations = 0
        self._started_epochs = 0
        self._measurements = 0
        # the fidelity of the last request, resolved: its costs and its validation reader
        self._fidelity = self.problem.default_fidelity
        self._costs = self.cost.training_costs(self._fidelity)
        self._read = self.lookup.reader(self._fidelity)

    @property
    def noise_fallbacks(self) -> set[Fidelity]:
        """Fidelities at which `random` noise fell back to the seed mean so far."""
        return self.lookup.noise_fallbacks

    def noise_fallback_fidelities(self) -> list[Fidelity]:
        """Fidelities where `random` noise must fall back to the mean (the store has no per-seed values)."""
        return self.lookup.fallback_fidelities()

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
            cost = self.cost.measurement(index, request.metric)
            if not self.spent.measurement_fits(self.budget, cost, at_s, self._measurements):
                raise BudgetExhausted
            self._measurements += 1
            return Pending(request, index, float(values[index]), cost, at_s)
        fidelity = request.fidelity
        # requests mostly repeat one fidelity (often the very object): resolve a fidelity once, on a change
        if fidelity is not self._fidelity and fidelity != self._fidelity:
            if fidelity not in self.lookup:
                raise unknown("fidelity (epoch/schedule)", fidelity, self.problem.fidelities)
            self._fidelity = fidelity
            self._costs = self.cost.training_costs(fidelity)
            self._read = self.lookup.reader(fidelity)
        cost = self._costs[index]
        fits = self.spent.fits(
            self.budget, cost, fidelity.epoch, at_s, self._started_evaluations, self._started_epochs
        )
        if not fits:
            raise BudgetExhausted
        self._started_evaluations += 1
        self._started_epochs += fidelity.epoch
        return Pending(request, index, self._read(index, self._rng), cost, at_s)

    def finish(self, pending: Pending, *, incumbent_candidate: bool = True) -> Result:
        """Record a started request as finished at `pending.finish_s`; return what the strategy sees.
        `incumbent_candidate=False`: this evaluation cannot become the incumbent (a reproduction of a
        protocol that takes its incumbent from some evaluations only, e.g. hpbandster's top budget)."""
        request, index, finish_s = pending.request, pending.index, pending.finish_s
        if isinstance(request, Measurement):
            self.spent.finish(finish_s, 0, False)
            self.trajectory.record_measurement(
                index, pending.cost_s, finish_s, request.metric, pending.value, self.incumbent
            )
            return Measured(request.arch, request.metric, pending.value, pending.cost_s, finish_s)
        self.spent.finish(finish_s, request.fidelity.epoch, True)
        valid = pending.value
        if incumbent_candidate and self.incumbent.improves(
            valid, self._feasible is None or bool(self._feasible[index])
        ):
            self.incumbent.replace(
                index, valid, float(self._report_valid[index]), float(self._report_test[index])
            )
        self.trajectory.record_evaluation(
            index, pending.cost_s, finish_s, request.fidelity, valid, self.incumbent
        )
        return Observation(request.arch, request.fidelity, valid, pending.cost_s, finish_s)


def _static_metrics(store: Store, dataset: str) -> Mapping[str, np.ndarray]:
    """The per-arch values without a schedule (latencies, FLOPs, parameters, proxies), read-only, built
    once per open store and dataset."""
    static = {}
    for m in store.metrics(dataset):
        if not store.schedules(dataset, m):
            values = np.asarray(store.table(dataset, m).column("mean")).view()
            values.flags.writeable = False  # on the view only: shared by every oracle of this store
            static[m] = values
    return MappingProxyType(static)


def _unknown_measurable(metric: str, what: str, valid: Sequence[str], dataset: str) -> UnknownNameError:
    devices = [m.removeprefix(HW_PREFIX) for m in valid if m.startswith(HW_PREFIX)]
    if metric.startswith(HW_PREFIX) and devices:
        return unknown("device", metric.removeprefix(HW_PREFIX), devices, f"{what} on {dataset}")
    return unknown("metric", metric, valid, f"{what} on {dataset}")
