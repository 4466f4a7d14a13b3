"""A search's trajectory: one row per evaluation or measurement with the incumbent after it, the
incumbent rule that both oracles share, and how a trajectory is read at a point in (simulated) time."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from nasbench_suite.protocol import Fidelity

NAN = float("nan")


@dataclass
class Incumbent:
    """The arch with the best validation accuracy seen so far among those that satisfy the constraint;
    the first one on ties. `valid` and `test` are what is reported for it (the table's 200-epoch seed
    means, or the live run's own accuracies), never shown to the strategy."""

    index: int = -1
    valid_seen: float = -np.inf
    valid: float = NAN
    test: float = NAN

    @property
    def found(self) -> bool:
        return self.index >= 0

    def improves(self, valid_seen: float, feasible: bool) -> bool:
        """Would an evaluation that showed `valid_seen` replace the incumbent? Strictly better only."""
        return feasible and valid_seen > self.valid_seen

    def replace(self, index: int, valid_seen: float, valid: float, test: float) -> None:
        self.index, self.valid_seen, self.valid, self.test = index, valid_seen, valid, test

    def row(self) -> tuple[int, float, float, float]:
        """(index, valid seen, valid, test) as a trajectory row holds it; -1 and NaNs before one exists."""
        if not self.found:
            return (-1, NAN, NAN, NAN)
        return (self.index, self.valid_seen, self.valid, self.test)


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

    def columns(self) -> dict[str, list[Any]]:
        """The columns by name, as the lists themselves (no copy; `dataclasses.asdict` deep-copies)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def record_evaluation(
        self,
        index: int,
        cost_s: float,
        time_s: float,
        trained: Fidelity,
        valid_seen: float,
        incumbent: Incumbent,
    ) -> None:
        """Append a training evaluation at the `trained` fidelity and the incumbent after it."""
        self._append(index, cost_s, time_s, trained.epoch, trained.schedule, valid_seen, "", NAN, incumbent)

    def record_measurement(
        self, index: int, cost_s: float, time_s: float, metric: str, value: float, incumbent: Incumbent
    ) -> None:
        """Append a measurement of `metric` (epoch 0, no validation accuracy) and the incumbent."""
        self._append(index, cost_s, time_s, 0, 0, NAN, metric, value, incumbent)

    def _append(
        self,
        index: int,
        cost_s: float,
        time_s: float,
        epoch: int,
        schedule: int,
        valid_seen: float,
        measure: str,
        measured_value: float,
        incumbent: Incumbent,
    ) -> None:
        # plain appends, positional arguments: this is the run loop's hot path
        self.arch_index.append(index)
        self.cost_s.append(cost_s)
        self.time_s.append(time_s)
        self.epoch.append(epoch)
        self.schedule.append(schedule)
        self.valid_seen.append(valid_seen)
        self.measure.append(measure)
        self.measured_value.append(measured_value)
        inc_index, inc_seen, inc_valid, inc_test = incumbent.row()
        self.incumbent_index.append(inc_index)
        self.incumbent_valid_seen.append(inc_seen)
        self.incumbent_valid.append(inc_valid)
        self.incumbent_test.append(inc_test)


def value_at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    """The trajectory's value at time `t`, as the NATS-Bench paper's tables compute it.

    NATS-Bench (`query_performance` in its plotting scripts) takes the two recorded points whose times
    are nearest to `t` and interpolates linearly between them (extrapolating when both lie on one side).
    With a single point, its value. Ties in time keep the first point.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if len(times) == 0:
        return float("nan")
    if len(times) == 1:
        return float(values[0])
    a, b = np.argsort(np.abs(times - t), kind="stable")[:2]
    if times[a] == times[b]:
        return float(values[a])
    w = (t - times[a]) / (times[b] - times[a])
    return float((1 - w) * values[a] + w * values[b])


def step_at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    """The last recorded value at or before `t` (the incumbent a user would hold at `t`); NaN before
    the first evaluation."""
    k = int(np.searchsorted(np.asarray(times), t, side="right"))
    return float(values[k - 1]) if k else float("nan")
