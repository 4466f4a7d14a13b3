"""Hardware-aware search under `problem.constraint` (a limit on a measurable metric such as a device
latency): constrained regularized evolution (hard constraint) and MnasNet's soft-constrained reward on
the REINFORCE policy."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import (
    BaseStrategy,
    Constraint,
    Measured,
    Measurement,
    Observation,
    Proposal,
    Request,
    Result,
    SearchProblem,
)
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int, require_positive, require_real
from nasbench_suite.strategies.registry import register
from nasbench_suite.strategies.reinforce import Reinforce


def require_constraint(owner: str, problem: SearchProblem) -> Constraint:
    if problem.constraint is None:
        raise ConfigError(
            f"{owner} needs --constraint METRIC<=LIMIT (a limit on one of: "
            f"{', '.join(problem.measurable) or 'none measurable here'}), got none"
        )
    return problem.constraint


# ---------------------------------------------------------------- constrained regularized evolution
@register("hw_rea")
class ConstrainedEvolution(BaseStrategy):
    """Constrained regularized evolution: only archs that meet the constraint are trained (OFA-style).

    Regularized evolution (Real et al., AAAI 2019) with NAS-Bench-201's settings (population_size=10,
    sample_size=3, one-edge mutation; Dong & Yang, ICLR 2020) and the constraint handling of
    Once-for-All's constrained evolutionary search (Cai et al., ICLR 2020; also HW-NAS-Bench, Li et al.,
    ICLR 2021): every candidate (a uniform random arch while the population fills, else a mutant of the
    tournament winner) has its constraint metric measured first (latencies and FLOPs are free; values are
    cached per arch) and is trained only if it satisfies `metric <= limit`; otherwise a new random arch is
    drawn, or the same parent is mutated again. The tournament prefers feasible members (then the higher
    validation accuracy); the oldest member dies.

    Hyperparameters: population_size=10, sample_size=3 (NAS-Bench-201's REA), max_tries=100.
    Deviations: Once-for-All resamples without bound; here a candidate gets `max_tries` draws, then a
    mutant falls back to `max_tries` uniform random draws, then the least-violating arch drawn for this
    candidate is trained (NaN counts as infeasible), so the search ends even when nothing is feasible.
    `fallbacks` counts such trainings.
    """

    name = "hw_rea"
    requires = ("constraint",)
    asynchronous = False  # one candidate at a time: each waits for its measurement

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        population_size: int = 10,
        sample_size: int = 3,
        max_tries: int = 100,
    ) -> None:
        require_int("hw_rea", "population_size", population_size, 1)
        require_int("hw_rea", "sample_size", sample_size, 1, population_size, high_name="population_size")
        require_int("hw_rea", "max_tries", max_tries, 1)
        self.constraint = require_constraint("hw_rea", problem)
        self._problem = problem
        self._rng = rng
        self.population_size = population_size
        self.sample_size = sample_size
        self.max_tries = max_tries
        self.values: dict[Arch, float] = {}  # constraint metric per measured arch
        self.fallbacks = 0
        self._population: deque[tuple[Observation, bool]] = deque()
        self._started = 0
        self._active = False  # a candidate is being drawn
        self._parent: Arch | None = None  # None: uniform random draws
        self._tries = 0
        self._closest: tuple[float, Arch] | None = None  # least-violating draw of this candidate
        self._waiting: Arch | None = None  # drawn, measurement asked, not yet judged

    def feasible(self, value: float) -> bool:
        return value <= self.constraint.limit  # False for NaN

    def ask(self) -> Request:
        while True:
            if self._waiting is not None:
                arch = self._waiting
                if arch not in self.values:
                    return Measurement(arch, self.constraint.metric)
                self._waiting = None
                chosen = self._judge(arch)
                if chosen is not None:
                    return Proposal(chosen, self._problem.default_fidelity)
            if not self._active:
                self._begin()
            arch = (
                self._problem.space.sample(self._rng)
                if self._parent is None
                else self._problem.space.mutate(self._parent, self._rng)
            )
            self._tries += 1
            if arch not in self.values:
                self._waiting = arch
                return Measurement(arch, self.constraint.metric)
            chosen = self._judge(arch)
            if chosen is not None:
                return Proposal(chosen, self._problem.default_fidelity)

    def tell(self, request: Request, result: Result) -> None:
        if isinstance(result, Measured):
            self.values[result.arch] = result.value
            return
        assert isinstance(result, Observation)
        feasible = self.feasible(self.values.get(result.arch, math.nan))
        self._population.append((result, feasible))
        if len(self._population) > self.population_size:
            self._population.popleft()

    def _begin(self) -> None:
        self._active, self._tries, self._closest = True, 0, None
        if self._started < self.population_size or len(self._population) < self.sample_size:
            self._parent = None
        else:
            picks = self._rng.choice(len(self._population), size=self.sample_size, replace=False)
            members = [self._population[int(k)] for k in sorted(picks)]
            best = max(members, key=lambda m: (m[1], _value(m[0].valid_acc)))
            self._parent = best[0].arch
        self._started += 1

    def _judge(self, arch: Arch) -> Arch | None:
        """The arch to train if this draw ends the candidate, else None (draw again)."""
        value = self.values[arch]
        if self.feasible(value):
            self._active = False
            return arch
        if math.isfinite(value) and (self._closest is None or value < self._closest[0]):
            self._closest = (value, arch)
        if self._tries < self.max_tries:
            return None
        if self._parent is not None:  # the parent's mutants failed: try uniform random draws
            self._parent, self._tries = None, 0
            return None
        self._active = False
        self.fallbacks += 1
        return arch if self._closest is None else self._closest[1]


def _value(v: float) -> float:
    return -math.inf if math.isnan(v) else v


# ---------------------------------------------------------------- MnasNet's soft constraint
def mnas_reward(
    accuracy: float, latency: float, target: float, *, alpha: float = -0.07, beta: float = -0.07
) -> float:
    """MnasNet's reward ACC(m) * (LAT(m) / T)^w with w = alpha if LAT(m) <= T else beta (Tan et al.,
    CVPR 2019, Eq. 2); NaN where the latency is not a positive finite number."""
    if not (math.isfinite(latency) and latency > 0):
        return math.nan
    w = alpha if latency <= target else beta
    return accuracy * (latency / target) ** w


@register("mnas")
class MnasReinforce(Reinforce):
    """MnasNet's soft latency constraint: REINFORCE rewarded with ACC * (LAT/T)^-0.07 (Tan et al. 2019).

    Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile" (CVPR 2019): the reward
    is ACC(m) * [LAT(m)/T]^w, w = alpha if LAT <= T else beta; their soft constraint alpha = beta = -0.07
    (alpha=0, beta=-1 is their hard variant). LAT is `problem.constraint.metric`, measured through the
    oracle before training (free for latencies, cached per arch); T is `problem.constraint.limit`. The
    policy, its sampling and its update are NAS-Bench-201's REINFORCE (`strategies.reinforce.Reinforce`,
    learning_rate=0.01, ema_momentum=0.9), told the reward instead of the validation accuracy.

    Deviations: MnasNet trains an RNN controller with PPO (Schulman et al. 2017) on a factorized
    hierarchical space; here the per-edge categorical policy of NAS-Bench-201's REINFORCE baseline, so the
    comparison with `reinforce` isolates the reward. An arch without a positive finite latency gets no
    update (its reward is NaN). The oracle's incumbent is the best *feasible* arch, not the best reward.
    """

    name = "mnas"
    requires = ("constraint",)
    asynchronous = False  # a proposal waits for its latency measurement

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        learning_rate: float = 0.01,
        ema_momentum: float = 0.9,
        alpha: float = -0.07,
        beta: float = -0.07,
    ) -> None:
        require_positive("mnas", "learning_rate", learning_rate)
        require_real("mnas", "ema_momentum", ema_momentum, 0, 1, open_low=False, open_high=True)
        for name, value in (("alpha", alpha), ("beta", beta)):
            require_real("mnas", name, value, -math.inf, 0, open_low=True, open_high=False)
        constraint = require_constraint("mnas", problem)
        if not constraint.limit > 0:
            raise ConfigError(
                f"mnas: the constraint's limit is the latency target T and must be > 0, got {constraint}"
            )
        super().__init__(problem, rng, learning_rate=learning_rate, ema_momentum=ema_momentum)
        self.constraint = constraint
        self.alpha, self.beta = float(alpha), float(beta)
        self.latencies: dict[Arch, float] = {}
        self._queued: Proposal | None = None  # sampled, waiting for its latency

    def ask(self) -> Request:
        if self._queued is None:
            sampled = super().ask()
            assert isinstance(sampled, Proposal)  # Reinforce itself only proposes
            self._queued = sampled
        proposal = self._queued
        if proposal.arch not in self.latencies:
            return Measurement(proposal.arch, self.constraint.metric)
        self._queued = None
        return proposal

    def tell(self, request: Request, result: Result) -> None:
        if isinstance(result, Measured):
            self.latencies[result.arch] = result.value
            return
        assert isinstance(request, Proposal) and isinstance(result, Observation)
        reward = mnas_reward(
            result.valid_acc,
            self.latencies.get(result.arch, math.nan),
            self.constraint.limit,
            alpha=self.alpha,
            beta=self.beta,
        )
        super().tell(request, replace(result, valid_acc=reward))
