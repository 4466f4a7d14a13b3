"""The records and interfaces shared by oracles, strategies and the runner.

A strategy sees a `SearchProblem` (the space and the fidelities it may ask for), proposes with `ask()`
and learns with `tell()`. It never sees the store or any test metric: an `Observation` carries only
what a practitioner would see after training, the validation accuracy and the time it took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from nasbench_suite.space import Arch, CellSpace


@dataclass(frozen=True, slots=True, order=True)
class Fidelity:
    """Train `epoch` epochs of the `schedule`-epoch recipe (learning-rate schedule of that length)."""

    epoch: int
    schedule: int

    @classmethod
    def full(cls, schedule: int) -> Fidelity:
        return cls(schedule, schedule)

    def __str__(self) -> str:
        return f"{self.epoch}" if self.epoch == self.schedule else f"{self.epoch}/{self.schedule}"


@dataclass(frozen=True, slots=True)
class Proposal:
    arch: Arch
    fidelity: Fidelity


@dataclass(frozen=True, slots=True)
class Observation:
    """What training `arch` at `fidelity` showed: validation accuracy (percent) and simulated cost."""

    arch: Arch
    fidelity: Fidelity
    valid_acc: float
    cost_s: float
    time_s: float  # simulated time at which this evaluation finished


@dataclass(frozen=True)
class SearchProblem:
    """What a strategy may know: the space, the fidelities the oracle can evaluate, and the default one
    (the schedule single-fidelity strategies use)."""

    space: CellSpace
    fidelities: tuple[Fidelity, ...]
    default_fidelity: Fidelity

    def __post_init__(self) -> None:
        if self.default_fidelity not in self.fidelities:
            raise ValueError(f"default fidelity {self.default_fidelity} is not among {self.fidelities}")


@runtime_checkable
class Strategy(Protocol):
    """Ask/tell search strategy; constructed as `cls(problem, rng, **hyperparameters)`."""

    def ask(self) -> Proposal: ...

    def tell(self, proposal: Proposal, observation: Observation) -> None: ...


class Oracle(Protocol):
    """The only door between a strategy and the results: evaluates, charges the budget, keeps the log."""

    @property
    def problem(self) -> SearchProblem: ...

    def evaluate(self, arch: Arch, fidelity: Fidelity) -> Observation: ...
