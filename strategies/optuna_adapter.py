"""Any Optuna sampler behind the suite's ask/tell interface, and TPE and NSGA-II registered through it.

Optuna (Akiba et al., KDD 2019) is imported in the constructor, so importing this module stays cheap.
"""

from __future__ import annotations

import copy
import math
import threading
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import (
    BaseStrategy,
    Measured,
    Measurement,
    Observation,
    Proposal,
    Request,
    Result,
    SearchProblem,
)
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int, require_real
from nasbench_suite.strategies.registry import register

if TYPE_CHECKING:
    from optuna import Study
    from optuna.samplers import BaseSampler

SamplerFactory = Callable[[int], "BaseSampler"]  # seed -> sampler

# Observation fields a study may optimize; arch, fidelity and the clock are not objectives.
OBJECTIVES: tuple[str, ...] = tuple(
    f.name for f in fields(Observation) if f.name not in ("arch", "fidelity", "time_s")
)
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _quiet_optuna() -> None:
    """Drop Optuna's per-trial INFO lines, but only while its logging is at its default (INFO), so a
    user's explicit choice (DEBUG, or quieter) is kept."""
    import optuna

    if optuna.logging.get_verbosity() == optuna.logging.INFO:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


class OptunaAdapter(BaseStrategy):
    """Search with an Optuna sampler through Optuna's ask-and-tell interface (Akiba et al., KDD 2019).

    One categorical parameter per edge (`edge0`, `edge1`, ... in the space's edge order, choices = op
    names), every proposal at the default fidelity. Each proposal keeps its own trial, so proposals may
    be told late or out of order; a proposal that was never asked is added as a finished trial. The
    study optimizes `objectives` in `directions`: fields of `Observation`, or metrics of
    `problem.measurable` (a latency, FLOPs), which are asked for with a `Measurement` before the trial's
    arch is trained and cached per arch; a non-finite value marks the trial failed.
    """

    asynchronous = True  # pending trials are open Optuna trials (TPE's constant liar)

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        sampler_factory: SamplerFactory,
        objectives: Sequence[str] = ("valid_acc",),
        directions: Sequence[str] = ("maximize",),
        study_name: str = "optuna",
    ) -> None:
        objectives, directions = tuple(objectives), tuple(directions)
        bad = [o for o in objectives if o not in OBJECTIVES and o not in problem.measurable]
        if not objectives or bad:
            raise ConfigError(
                f"{study_name}: objectives must be a non-empty subset of {', '.join(OBJECTIVES)}, got {objectives!r}"
                f" (metrics measurable here are allowed too: {', '.join(problem.measurable) or 'none'})"
            )
        if len(directions) != len(objectives) or any(d not in DIRECTIONS for d in directions):
            raise ConfigError(
                f"{study_name}: directions must give one of {', '.join(DIRECTIONS)} per objective "
                f"({len(objectives)}), got {directions!r}"
            )
        import optuna

        _quiet_optuna()
        self._problem = problem
        self._objectives = objectives
        self._choices = problem.space.ops
        self._op_index = {op: k for k, op in enumerate(self._choices)}
        self._params = tuple(f"edge{e}" for e in range(problem.space.n_edges))
        with warnings.catch_warnings():  # options that older Optuna versions still call experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = sampler_factory(int(rng.integers(2**31)))
        checked = cast(
            list[Literal["minimize", "maximize"]], list(directions)
        )  # each one of DIRECTIONS (above)
        self._study = optuna.create_study(sampler=sampler, directions=checked, study_name=study_name)
        self._pending: dict[Proposal, deque[int]] = {}  # trial numbers asked and not yet told, per proposal
        self._measured = tuple(o for o in objectives if o not in OBJECTIVES)
        self._values: dict[tuple[Arch, str], float] = {}  # measured objectives per (arch, metric)
        self._waiting: dict[Arch, list[Proposal]] = {}  # proposals whose measurement is asked
        self._ready: deque[Proposal] = deque()  # proposals whose measurements are in

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the sampler's thread locks (Optuna 5's NSGA-II sampler holds one, which cannot be
        pickled); `__setstate__` gives the copy fresh ones. The live study and sampler are not touched."""
        state = self.__dict__.copy()
        study = copy.copy(self._study)
        sampler = copy.copy(study.sampler)
        locks = [k for k, v in vars(sampler).items() if isinstance(v, _LOCK_TYPES)]
        for name in locks:
            delattr(sampler, name)
        study.sampler = sampler
        state["_study"], state["_sampler_locks"] = study, locks
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        locks = state.pop("_sampler_locks", [])
        self.__dict__.update(state)
        for name in locks:  # type: ignore[attr-defined]
            setattr(self._study.sampler, name, threading.Lock())

    @property
    def study(self) -> Study:
        """The Optuna study behind the search, for inspection (trials, values, states)."""
        return self._study

    def ask(self) -> Request:
        if self._ready:
            proposal = self._ready.popleft()
        else:
            trial = self._study.ask()
            ops = tuple(self._op_index[trial.suggest_categorical(p, self._choices)] for p in self._params)
            proposal = Proposal(Arch(ops), self._problem.default_fidelity)
            self._pending.setdefault(proposal, deque()).append(trial.number)
        missing = [m for m in self._measured if (proposal.arch, m) not in self._values]
        if missing:
            self._waiting.setdefault(proposal.arch, []).append(proposal)
            return Measurement(proposal.arch, missing[0])
        return proposal

    def tell(self, proposal: Request, observation: Result) -> None:
        if isinstance(observation, Measured):
            self._values[(observation.arch, observation.metric)] = float(observation.value)
            self._ready.extend(self._waiting.pop(observation.arch, ()))
            return
        assert isinstance(proposal, Proposal)
        values = [
            float(getattr(observation, o))
            if o in OBJECTIVES
            else self._values.get((proposal.arch, o), math.nan)
            for o in self._objectives
        ]
        finite = all(math.isfinite(v) for v in values)
        numbers = self._pending.get(proposal)
        if numbers:
            number = numbers.popleft()
            if not numbers:
                del self._pending[proposal]
            if finite:
                self._study.tell(number, values)
            else:
                from optuna.trial import TrialState

                self._study.tell(number, state=TrialState.FAIL)
        elif finite:
            self._add_finished(proposal, values)

    def _add_finished(self, proposal: Proposal, values: list[float]) -> None:
        from optuna.distributions import CategoricalDistribution
        from optuna.trial import create_trial

        distribution = CategoricalDistribution(self._choices)
        self._study.add_trial(
            create_trial(
                params={p: self._choices[o] for p, o in zip(self._params, proposal.arch.ops, strict=True)},
                distributions=dict.fromkeys(self._params, distribution),
                values=values,
            )
        )


def _tpe(seed: int, *, n_startup_trials: int, n_ei_candidates: int, multivariate: bool) -> BaseSampler:
    from optuna.samplers import TPESampler

    return TPESampler(
        seed=seed,
        n_startup_trials=n_startup_trials,
        n_ei_candidates=n_ei_candidates,
        multivariate=multivariate,
        constant_liar=True,
    )


@register("tpe")
class TPE(OptunaAdapter):
    """Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011) via Optuna's TPESampler.

    Optuna (Akiba et al., KDD 2019) 5.0's defaults, pinned here so results do not move with the
    installed version: n_startup_trials=10 random trials, n_ei_candidates=24, multivariate=True (joint
    density over all edges, as in BOHB, Falkner et al. 2018; Optuna's default for one objective since
    5.0), constant_liar=True (only matters for pending trials, which the sequential runner never has).
    Deviations from the paper: Bergstra et al.'s TPE models each parameter independently (set
    `multivariate=False` for that), and Optuna splits good from bad at the best min(ceil(0.1 n), 25) of
    n trials rather than at a fixed quantile.
    Sampler seed = one draw from the run's generator.
    """

    name = "tpe"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool = True,
    ) -> None:
        for name, value in (("n_startup_trials", n_startup_trials), ("n_ei_candidates", n_ei_candidates)):
            require_int("tpe", name, value, 1)
        if not isinstance(multivariate, bool):
            raise ConfigError(f"tpe: multivariate must be true or false, got {multivariate!r}")
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.multivariate = multivariate
        super().__init__(
            problem,
            rng,
            sampler_factory=lambda seed: _tpe(
                seed,
                n_startup_trials=n_startup_trials,
                n_ei_candidates=n_ei_candidates,
                multivariate=multivariate,
            ),
            study_name="tpe",
        )


def _nsga2(seed: int, *, population_size: int, crossover_prob: float, swapping_prob: float) -> BaseSampler:
    from optuna.samplers import NSGAIISampler

    return NSGAIISampler(
        seed=seed,
        population_size=population_size,
        crossover_prob=crossover_prob,
        swapping_prob=swapping_prob,
    )


@register("nsga2")
class NSGA2(OptunaAdapter):
    """NSGA-II (Deb et al., IEEE TEC 2002) via Optuna's NSGAIISampler: validation accuracy vs --objective.

    Two objectives: maximize the validation accuracy, minimize `problem.objective` (e.g. "flops_m" or a
    device latency), which is measured through the oracle before each trial's arch is trained (free for
    FLOPs, parameters and latencies; cached per arch). Optuna (Akiba et al., KDD 2019) 5.0's defaults,
    pinned here: population_size=50, crossover_prob=0.9, uniform crossover with swapping_prob=0.5,
    per-edge mutation probability 1/n_edges (Optuna's default: a mutated edge is resampled uniformly over
    all ops); the first generation is uniform random. Sampler seed = one draw from the run's generator.
    Deviations from the paper: categorical edges use uniform crossover and resampling mutation instead of
    SBX and polynomial mutation (which are for real-valued genes); a 12000 s cifar10-valid budget (~100
    trainings) is two generations of 50. A --constraint is not passed to the sampler (the oracle still
    reports the best feasible arch).
    """

    name = "nsga2"
    requires = ("objective",)

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
    ) -> None:
        require_int("nsga2", "population_size", population_size, 2)
        for name, value in (("crossover_prob", crossover_prob), ("swapping_prob", swapping_prob)):
            require_real("nsga2", name, value, 0, 1, open_low=False, open_high=False)
        if problem.objective is None:
            raise ConfigError(
                "nsga2 needs --objective METRIC (a second objective, minimized; measurable here: "
                f"{', '.join(problem.measurable) or 'none'}), got none"
            )
        self.population_size = population_size
        self.crossover_prob = float(crossover_prob)
        self.swapping_prob = float(swapping_prob)
        super().__init__(
            problem,
            rng,
            sampler_factory=lambda seed: _nsga2(
                seed,
                population_size=population_size,
                crossover_prob=float(crossover_prob),
                swapping_prob=float(swapping_prob),
            ),
            objectives=("valid_acc", problem.objective),
            directions=("maximize", "minimize"),
            study_name="nsga2",
        )
