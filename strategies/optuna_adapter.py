"""Any Optuna sampler behind the suite's ask/tell interface, and TPE registered through it.

Optuna (Akiba et al., KDD 2019) is imported in the constructor, so importing this module stays cheap.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from strategies.registry import register

if TYPE_CHECKING:
    from optuna import Study
    from optuna.samplers import BaseSampler

SamplerFactory = Callable[[int], "BaseSampler"]  # seed -> sampler

# Observation fields a study may optimize; arch, fidelity and the clock are not objectives.
OBJECTIVES: tuple[str, ...] = tuple(
    f.name for f in fields(Observation) if f.name not in ("arch", "fidelity", "time_s")
)
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")


def _quiet_optuna() -> None:
    """Drop Optuna's per-trial INFO lines, but only while its logging is at its default (INFO), so a
    user's explicit choice (DEBUG, or quieter) is kept."""
    import optuna

    if optuna.logging.get_verbosity() == optuna.logging.INFO:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


class OptunaAdapter:
    """Search with an Optuna sampler through Optuna's ask-and-tell interface (Akiba et al., KDD 2019).

    One categorical parameter per edge (`edge0`, `edge1`, ... in the space's edge order, choices = op
    names), every proposal at the default fidelity. Each proposal keeps its own trial, so proposals may
    be told late or out of order; a proposal that was never asked is added as a finished trial. The
    study optimizes `objectives` (fields of `Observation`) in `directions`; a non-finite value marks the
    trial failed. Multi-objective samplers (NSGA-II) need an objective such as latency that
    `Observation` does not carry yet, so none is registered.
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
        bad = [o for o in objectives if o not in OBJECTIVES]
        if not objectives or bad:
            raise ConfigError(
                f"{study_name}: objectives must be a non-empty subset of {', '.join(OBJECTIVES)}, got {objectives!r}"
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
        self._study = optuna.create_study(sampler=sampler, directions=list(directions), study_name=study_name)
        self._pending: dict[Proposal, deque[int]] = {}  # trial numbers asked and not yet told, per proposal

    @property
    def study(self) -> Study:
        """The Optuna study behind the search, for inspection (trials, values, states)."""
        return self._study

    def ask(self) -> Proposal:
        trial = self._study.ask()
        ops = tuple(self._op_index[trial.suggest_categorical(p, self._choices)] for p in self._params)
        proposal = Proposal(Arch(ops), self._problem.default_fidelity)
        self._pending.setdefault(proposal, deque()).append(trial.number)
        return proposal

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        values = [float(getattr(observation, o)) for o in self._objectives]
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
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ConfigError(f"tpe: {name} must be an integer >= 1, got {value!r}")
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
