"""The records and interfaces shared by oracles, strategies and the runner.

A strategy sees a `SearchProblem` (the space and the fidelities it may ask for), proposes with `ask()`
and learns with `tell()`. It never sees the store or any test metric: an `Observation` carries only
what a practitioner would see after training, the validation accuracy and the time it took.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

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


@dataclass(frozen=True, slots=True)
class Measurement:
    """A request for a per-arch property that needs no training: a hardware latency, FLOPs, parameters,
    or a zero-cost proxy score (`SearchProblem.measurable` lists them). Proxies are charged the simulated
    time of computing them; the others cost nothing (see `nasbench_suite.oracle`)."""

    arch: Arch
    metric: str


@dataclass(frozen=True, slots=True)
class Measured:
    """The answer to a `Measurement` (NaN where the benchmark lacks the value)."""

    arch: Arch
    metric: str
    value: float
    cost_s: float
    time_s: float


@dataclass(frozen=True, slots=True)
class Constraint:
    """A hard limit on a measurable metric, e.g. `hw_latency_ms/pixel3 <= 10`."""

    metric: str
    limit: float

    def __str__(self) -> str:
        return f"{self.metric}<={self.limit:g}"


@dataclass(frozen=True)
class SearchProblem:
    """What a strategy may know: the space, the fidelities the oracle can evaluate, the default one (the
    schedule single-fidelity strategies use), the metrics it may measure without training, and optionally
    a constraint on one of them and a second objective (minimized) for multi-objective search."""

    space: CellSpace
    fidelities: tuple[Fidelity, ...]
    default_fidelity: Fidelity
    measurable: tuple[str, ...] = ()
    constraint: Constraint | None = None
    objective: str | None = None

    def __post_init__(self) -> None:
        if self.default_fidelity not in self.fidelities:
            raise ValueError(f"default fidelity {self.default_fidelity} is not among {self.fidelities}")
        for metric in (self.constraint.metric if self.constraint else None, self.objective):
            if metric is not None and metric not in self.measurable:
                raise ValueError(f"{metric!r} is not measurable here")


Request = Proposal | Measurement
Result = Observation | Measured


@runtime_checkable
class Strategy(Protocol):
    """Ask/tell search strategy; constructed as `cls(problem, rng, **hyperparameters)`.

    `ask` returns a `Proposal` (train this arch) or a `Measurement` (look up a cheap property); `tell`
    receives the request with its `Observation` or `Measured`. Registered strategies inherit
    `BaseStrategy`, which declares the rest: `asynchronous` strategies may be asked again while earlier
    requests are pending (`--workers K`); the others are only asked when nothing is pending.
    """

    def ask(self) -> Request: ...

    def tell(self, request: Request, result: Result) -> None: ...


class BaseStrategy(ABC):
    """The base every registered strategy inherits: `ask` / `tell`, and what the class declares about
    itself, read by the registry and the runner.

    - `name`: the name it is registered and chosen under (`@register` reads it);
    - `asynchronous`: True if it may be asked again while earlier requests are pending (`--workers K`);
    - `requires`: what the problem must define for it, among "constraint" and "objective".
    """

    name: ClassVar[str] = ""
    asynchronous: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, problem: SearchProblem, rng: np.random.Generator, **hyperparameters: Any) -> None:  # noqa: B027 - the constructor every strategy has; nothing to do here
        """Strategies are built as `cls(problem, rng, **hyperparameters)`, their hyperparameters
        keyword-only with defaults (the registry lists them from the signature)."""

    @abstractmethod
    def ask(self) -> Request:
        """The next request: a `Proposal` to train, or a `Measurement` to look up."""

    @abstractmethod
    def tell(self, request: Any, result: Any) -> None:
        """What `request` gave: an `Observation` for a `Proposal`, a `Measured` for a `Measurement`
        (typed loosely here so that a strategy that never measures may annotate Proposal and
        Observation)."""


class Oracle(Protocol):
    """The only door between a strategy and the results: evaluates, charges the budget, keeps the log."""

    @property
    def problem(self) -> SearchProblem: ...

    def evaluate(self, arch: Arch, fidelity: Fidelity) -> Observation: ...

    def measure(self, arch: Arch, metric: str) -> Measured: ...
