"""Search budgets and the overshoot rule, in one place.

Three kinds, after the protocols that use them:
- `seconds`: simulated training + validation time (NAS-Bench-201 / NATS-Bench);
- `evaluations`: number of evaluations (NASLib);
- `epochs`: total training epochs.

Overshoot rule: an evaluation whose cost would take the spent amount past the limit is not run, not
charged and not recorded, and the search ends there (NAS-Bench-201's `R_EA.py` does the same). Every
recorded evaluation therefore fits inside the budget. Reported values *at* a time point interpolate the
trajectory (see `nasbench_suite.trajectory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nasbench_suite.errors import ConfigError


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
        if not self.limit > 0 or self.limit != self.limit or self.limit == float("inf"):
            raise ConfigError(f"a {self.kind} budget must be a positive finite number, got {self.limit!r}")

    def __str__(self) -> str:
        return f"{self.limit:g} {self.kind}"


@dataclass
class Spent:
    """What a search has used so far."""

    seconds: float = 0.0
    evaluations: int = 0
    epochs: int = 0

    def amount(self, kind: BudgetKind) -> float:
        return {
            BudgetKind.SECONDS: self.seconds,
            BudgetKind.EVALUATIONS: self.evaluations,
            BudgetKind.EPOCHS: self.epochs,
        }[kind]

    def fits(self, budget: Budget, cost_s: float, epochs: int) -> bool:
        """Would one more evaluation of this cost stay within the budget?"""
        after = {
            BudgetKind.SECONDS: self.seconds + cost_s,
            BudgetKind.EVALUATIONS: self.evaluations + 1,
            BudgetKind.EPOCHS: self.epochs + epochs,
        }[budget.kind]
        return after <= budget.limit

    def charge(self, cost_s: float, epochs: int) -> None:
        self.seconds += cost_s
        self.evaluations += 1
        self.epochs += epochs
