"""Successive halving and Hyperband on the oracle's fidelities; BOHB (strategies/bohb.py) reuses both.

Rungs (how the papers' budgets become fidelities the oracle has):
- The ladder is one family of fidelities: by default the learning curve of the default schedule when
  the store records more than one epoch of it (official archive: epochs 1..12 of the 12-epoch schedule,
  NATS-Bench's BOHB `min_budget=1, max_budget=12`), otherwise the ends of every schedule (wide table:
  12 and 200 epochs, NAS-Bench-201's BOHB `min_budget=12, max_budget=200`). `min_fidelity` and
  `max_fidelity` (written as the fidelity prints: "4/12", "200") pick other ends; both must lie on one
  schedule's curve or both be full schedules. A fidelity's budget is its epoch count.
- Rung k from the top has the paper's budget max * eta^-k for k = 0, 1, ... while it is >= min, and is
  placed on the largest ladder fidelity whose epochs do not exceed that budget (NATS-Bench's
  `iepoch=int(budget)-1`). A rung landing on a fidelity a higher rung already took is dropped: no
  fidelity is ever invented. Epochs 1..27 of a 27-epoch schedule give 1, 3, 9, 27; epochs 1..12 give
  1, 4, 12; the wide table gives 12, 200.
- Brackets follow Li et al. with s_max = number of rungs - 1: bracket s has n = ceil((s_max+1)/(s+1) *
  eta^s) configs, and its stage i evaluates n_i = floor(n * eta^-i) of them on rung s_max - s + i.
  With geometric rungs this is exactly the paper's (n_i, r_i); where the ladder forces another ratio
  (12 -> 200) the halving rate stays eta. (hpbandster draws floor((s_max+1)/(s+1)) * eta^s configs
  instead: 3 rather than the paper's 5 for bracket 1 of 3 rungs.)
- Promotion keeps the n_{i+1} best validation accuracies seen at that stage's fidelity (NaN ranks last,
  ties go to the earlier config); promoted configs are evaluated best first. Every evaluation is a
  fresh training run priced by the oracle: nothing is resumed from a lower rung.

Asynchrony: `ask()` gives the next job of the oldest bracket that has one; when every active bracket
waits for results, it starts the next bracket instead of blocking (hpbandster's Master does the same).
A `tell` is matched to the oldest pending job with that proposal; a tell nobody asked for is ignored.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import BaseStrategy, Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies.registry import register

_TOL = 1e-9  # float slack so 27 * 3**-3 is 1, not 0.999...


# ---------------------------------------------------------------- rungs and bracket plans
def parse_fidelity(text: str | int, problem: SearchProblem, who: str, what: str) -> Fidelity:
    """'e/s' or 's' (as `Fidelity.__str__` writes it) -> a fidelity the problem offers."""
    epoch, _, schedule = str(text).strip().partition("/")
    valid = f"{problem.fidelities[0]} .. {problem.fidelities[-1]}"
    try:
        fidelity = Fidelity(int(epoch), int(schedule or epoch))
    except ValueError:
        raise ConfigError(
            f"{who}: {what} must be written 'epoch/schedule' or 'schedule' (e.g. '4/12', '200'), got {text!r}"
        ) from None
    if fidelity not in problem.fidelities:
        raise ConfigError(f"{who}: {what} must be a fidelity the oracle offers ({valid}), got {text!r}")
    return fidelity


def ladder(problem: SearchProblem, low: Fidelity | None, high: Fidelity | None, who: str) -> list[Fidelity]:
    """The family of fidelities the rungs are chosen from, from `low` to `high` (see the module doc)."""
    default = problem.default_fidelity
    curve = [f for f in problem.fidelities if f.schedule == default.schedule]
    family = curve if len(curve) > 1 else [f for f in problem.fidelities if f.epoch == f.schedule]
    low, high = low or family[0], high or family[-1]
    if low.epoch > high.epoch:
        raise ConfigError(f"{who}: min_fidelity must not exceed max_fidelity, got ({low}, {high})")
    if low.schedule == high.schedule:
        family = [f for f in problem.fidelities if f.schedule == low.schedule]
    elif low.epoch == low.schedule and high.epoch == high.schedule:
        family = [f for f in problem.fidelities if f.epoch == f.schedule]
    else:
        raise ConfigError(
            f"{who}: min_fidelity and max_fidelity must lie on one schedule's curve or both be full "
            f"schedules, got ({low}, {high})"
        )
    return [f for f in family if low.epoch <= f.epoch <= high.epoch]


def ladder_between(
    problem: SearchProblem, min_fidelity: str | int | None, max_fidelity: str | int | None, who: str
) -> list[Fidelity]:
    """`ladder` from the hyperparameters as given (None: the family's ends), each parsed and checked."""
    low = None if min_fidelity is None else parse_fidelity(min_fidelity, problem, who, "min_fidelity")
    high = None if max_fidelity is None else parse_fidelity(max_fidelity, problem, who, "max_fidelity")
    return ladder(problem, low, high, who)


def rungs(levels: Sequence[Fidelity], eta: float) -> tuple[Fidelity, ...]:
    """Rung fidelities, lowest first: the geometric budgets max * eta^-k floored onto `levels`."""
    low, high = levels[0].epoch, levels[-1].epoch
    chosen: list[Fidelity] = []
    budget = float(high)
    while budget >= low * (1 - _TOL):
        rung = max(f for f in levels if f.epoch <= budget * (1 + _TOL))
        if rung not in chosen:
            chosen.append(rung)
        budget /= eta
    return tuple(reversed(chosen))


def bracket_sizes(s: int, s_max: int, eta: float) -> tuple[int, ...]:
    """Li et al.'s n_i = floor(n * eta^-i), i = 0..s, with n = ceil((s_max + 1) / (s + 1) * eta^s)."""
    n = math.ceil((s_max + 1) / (s + 1) * eta**s - _TOL)
    return tuple(max(1, math.floor(n * eta**-i + _TOL)) for i in range(s + 1))


def check_eta(eta: object, who: str) -> float:
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not (2 <= eta < math.inf):
        raise ConfigError(f"{who}: eta must be a number >= 2 (the papers use 3), got {eta!r}")
    return float(eta)


# ---------------------------------------------------------------- one successive-halving bracket
class Bracket:
    """One successive-halving run: stage i evaluates sizes[i] configs at fidelities[i]."""

    def __init__(self, fidelities: tuple[Fidelity, ...], sizes: tuple[int, ...]) -> None:
        self.fidelities, self.sizes = fidelities, sizes
        self.stage = 0
        self.done = False
        self._to_sample = sizes[0]  # new configs still to draw for stage 0, drawn when asked for
        self._queue: deque[Arch] = deque()  # promoted configs waiting for the current stage
        self._results: list[tuple[float, Arch]] = []

    def next_job(self, sample: Callable[[], Arch]) -> Proposal | None:
        """The next evaluation of the current stage, or None while the stage waits for results."""
        if self._to_sample:
            self._to_sample -= 1
            arch = sample()
        elif self._queue:
            arch = self._queue.popleft()
        else:
            return None
        return Proposal(arch, self.fidelities[self.stage])

    def record(self, arch: Arch, valid_acc: float) -> None:
        self._results.append((valid_acc if valid_acc == valid_acc else -math.inf, arch))
        if len(self._results) < self.sizes[self.stage]:
            return
        if self.stage + 1 == len(self.sizes):
            self.done = True
            return
        keep = self.sizes[self.stage + 1]
        order = sorted(range(len(self._results)), key=lambda k: (-self._results[k][0], k))
        self._queue = deque(self._results[k][1] for k in order[:keep])
        self._results = []
        self.stage += 1


# ---------------------------------------------------------------- the shared ask/tell loop
class BracketSearch(BaseStrategy):
    """Runs brackets one after another (overlapping only while results are pending)."""

    asynchronous = True  # pending rungs start the next bracket, as hpbandster does

    name = "bracket-search"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        eta: float = 3,
        min_fidelity: str | None = None,
        max_fidelity: str | None = None,
    ) -> None:
        who = self.name
        self.eta = check_eta(eta, who)
        self.rungs = rungs(ladder_between(problem, min_fidelity, max_fidelity, who), self.eta)
        self.s_max = len(self.rungs) - 1
        self._problem = problem
        self._rng = rng
        self._brackets: list[Bracket] = []  # active, oldest first
        self._pending: dict[Proposal, deque[Bracket]] = {}
        self._started = 0

    def plan(self, s: int) -> Bracket:
        """A fresh bracket s (s + 1 stages, starting on rung s_max - s)."""
        return Bracket(self.rungs[self.s_max - s :], bracket_sizes(s, self.s_max, self.eta))

    def _next_s(self, iteration: int) -> int:
        raise NotImplementedError

    def _sample(self) -> Arch:
        return self._problem.space.sample(self._rng)

    def _observe(self, observation: Observation) -> None:
        """Hook for model-based subclasses: every told observation."""

    def ask(self) -> Proposal:
        for bracket in self._brackets:
            proposal = bracket.next_job(self._sample)
            if proposal is not None:
                break
        else:  # every active bracket waits for results: start the next one
            bracket = self.plan(self._next_s(self._started))
            self._started += 1
            self._brackets.append(bracket)
            proposal = bracket.next_job(self._sample)
            assert proposal is not None  # a fresh bracket always has configs to draw
        self._pending.setdefault(proposal, deque()).append(bracket)
        return proposal

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        waiting = self._pending.get(proposal)
        if waiting:
            bracket = waiting.popleft()
            if not waiting:
                del self._pending[proposal]
            bracket.record(proposal.arch, observation.valid_acc)
            if bracket.done:
                self._brackets.remove(bracket)
        self._observe(observation)


@register("sh")
class SuccessiveHalving(BracketSearch):
    """Successive halving (Jamieson & Talwalkar, AISTATS 2016): Hyperband's widest bracket, repeated; eta=3.

    Each round is Hyperband's bracket s = s_max (Li et al., JMLR 2018): eta^s_max uniform random configs
    on the lowest rung, the best 1/eta promoted to the next rung until one config reaches the top rung,
    then a new round starts. Hyperparameters: eta=3 (the papers' default); min_fidelity/max_fidelity
    default to the ends of the rung ladder described in `strategies.hyperband`. Deviation: the paper's
    fixed total budget B becomes repeated rounds, since the oracle, not the strategy, ends the search.
    """

    name = "sh"

    def _next_s(self, iteration: int) -> int:
        return self.s_max


@register("hyperband")
class Hyperband(BracketSearch):
    """Hyperband (Li et al., JMLR 2018): successive-halving brackets s = s_max..0 in turn, eta=3.

    Bracket s draws n = ceil((s_max+1)/(s+1) * eta^s) uniform random configs for rung s_max - s and
    promotes the best 1/eta per rung (see `strategies.hyperband` for how rungs map to fidelities).
    Hyperparameters: eta=3 (the paper's default); min_fidelity/max_fidelity default to the ladder's
    ends. Deviation: the loop over brackets restarts at s_max after s = 0 until the oracle's budget
    ends the search (as hpbandster's `HyperBand.get_next_iteration` does).
    """

    name = "hyperband"

    def _next_s(self, iteration: int) -> int:
        return self.s_max - iteration % (self.s_max + 1)
