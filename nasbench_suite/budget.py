"""Search budgets and the overshoot rule, in one place.

Three kinds, after the protocols that use them:
- `seconds`: simulated training + validation time (NAS-Bench-201 / NATS-Bench);
- `evaluations`: number of evaluations (NASLib);
- `epochs`: total training epochs.

Overshoot rule: an evaluation whose cost would take the spent amount past the limit is not run, not
charged and not recorded, and the search ends there (NAS-Bench-201's `R_EA.py` does the same). Every
recorded evaluation therefore fits inside the budget. Reported values *at* a time point interpolate the
trajectory (see `nasbench_suite.trajectory`).

Every oracle asks this module, and only this module, whether a request fits:
- `Spent.fits`: a training evaluation whose cost is known before it runs (the table);
- `Spent.may_start`: one whose cost is known only after it ran (live training): it may start while the
  clock is below a seconds limit, and the live oracle stops training at the first epoch past it;
- `Spent.measurement_fits`: a measurement; it never counts as an evaluation or epoch, only its simulated
  cost counts against a seconds budget, and at most `MEASUREMENT_LIMIT` are answered per run.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from enum import StrEnum

from nasbench_suite.errors import ConfigError

MEASUREMENT_LIMIT = 100_000  # per run: a strategy that only ever measures still ends


class BudgetExhausted(Exception):
    """The next request does not fit the budget; the search (or this worker) is over."""


class BudgetKind(StrEnum):
    SECONDS = "seconds"
    EVALUATIONS = "evaluations"
    EPOCHS = "epochs"


@dataclass(frozen=True)
class Budget:
    kind: BudgetKind
    limit: float

    def __post_init__(self) -> None:
        if not isinstance(self.kind, BudgetKind):
            raise ConfigError(f"budget kind must be one of {', '.join(BudgetKind)}, got {self.kind!r}")
        if isinstance(self.limit, bool) or not isinstance(self.limit, numbers.Real):
            raise ConfigError(f"a {self.kind} budget must be a number, got {self.limit!r}")
        if not self.limit > 0 or self.limit != self.limit or self.limit == float("inf"):
            raise ConfigError(f"a {self.kind} budget must be a positive finite number, got {self.limit!r}")

    def __str__(self) -> str:
        return f"{self.limit:g} {self.kind}"


@dataclass
class Spent:
    """What a search has used so far. `seconds` is the simulated clock: the time the last recorded
    evaluation finished (with one worker, the sum of all costs)."""

    seconds: float = 0.0
    evaluations: int = 0
    epochs: int = 0

    @staticmethod
    def fits(
        budget: Budget,
        cost_s: float,
        epochs: int,
        start_s: float,
        started_evaluations: int,
        started_epochs: int,
    ) -> bool:
        """Would an evaluation started at `start_s` stay within the budget, counting the ones already
        started (with parallel workers some of those are still running)?"""
        kind = budget.kind
        if kind is BudgetKind.SECONDS:
            return start_s + cost_s <= budget.limit
        if kind is BudgetKind.EVALUATIONS:
            return started_evaluations + 1 <= budget.limit
        return started_epochs + epochs <= budget.limit

    @staticmethod
    def may_start(
        budget: Budget, epochs: int, start_s: float, started_evaluations: int, started_epochs: int
    ) -> bool:
        """May an evaluation whose cost is unknown until it ran (live training) start at `start_s`?
        Evaluations and epochs are counted as in `fits`; a seconds budget needs the clock below it."""
        if budget.kind is BudgetKind.SECONDS:
            return start_s < budget.limit
        return Spent.fits(budget, 0.0, epochs, start_s, started_evaluations, started_epochs)

    @staticmethod
    def measurement_fits(budget: Budget, cost_s: float, start_s: float, measurements: int) -> bool:
        """Would a measurement of simulated cost `cost_s` started at `start_s` fit, `measurements` having
        been answered already in this run?"""
        if measurements >= MEASUREMENT_LIMIT:
            return False
        return budget.kind is not BudgetKind.SECONDS or start_s + cost_s <= budget.limit

    def finish(self, at_s: float, epochs: int, evaluation: bool) -> None:
        self.seconds = max(self.seconds, at_s)
        self.evaluations += evaluation
        self.epochs += epochs
