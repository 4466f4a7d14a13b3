"""Optuna's other samplers behind the generic adapter (`strategies.optuna_adapter.OptunaAdapter`).

Which of Optuna's samplers (Akiba et al., KDD 2019) model categorical parameters, i.e. apply to a cell
whose every edge is a categorical op choice:

| sampler | categorical edges | here |
|---|---|---|
| TPESampler | yes (a categorical Parzen estimator per edge, or joint with multivariate) | `optuna` (default), `tpe` |
| GPSampler | yes (Hamming-distance kernel on the one-hot choices) | `optuna` |
| NSGAIISampler, NSGAIIISampler | yes (uniform crossover, resampling mutation) | `optuna`, `nsga2` |
| RandomSampler | yes (uniform) | `optuna` |
| BruteForceSampler | yes (every untried cell once, in random order) | `optuna` |
| CmaEsSampler | no: CMA-ES is for continuous and integer parameters; Optuna hands categoricals to its independent RandomSampler | refused |
| QMCSampler | no: quasi-random points cover numeric parameters; categoricals go to the RandomSampler | refused |
| GridSampler, PartialFixedSampler | not search strategies on their own (a given grid; a wrapper) | refused |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import SearchProblem
from nasbench_suite.strategies.optuna_adapter import OptunaAdapter
from nasbench_suite.strategies.registry import register

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

CATEGORICAL_SAMPLERS: tuple[str, ...] = (
    "TPESampler",
    "GPSampler",
    "NSGAIISampler",
    "NSGAIIISampler",
    "RandomSampler",
    "BruteForceSampler",
)
REFUSED: dict[str, str] = {
    "CmaEsSampler": "CMA-ES does not model categorical parameters (Optuna samples them with its independent RandomSampler)",
    "QMCSampler": "quasi-Monte Carlo points cover numeric parameters only (Optuna samples categoricals with its RandomSampler)",
    "GridSampler": "it evaluates a given grid; it is not a search strategy on its own",
    "PartialFixedSampler": "it wraps another sampler to fix some parameters",
}


def _sampler(name: str, seed: int) -> BaseSampler:
    import optuna

    return getattr(optuna.samplers, name)(seed=seed)


@register("optuna")
class Optuna(OptunaAdapter):
    """Any of Optuna's samplers that model categorical parameters, by name (Akiba et al., KDD 2019).

    `sampler` is one of TPESampler (Optuna's default sampler, the default here, with its own defaults:
    independent TPE, 10 random startup trials, Bergstra et al. 2011), GPSampler (GP-BO with log EI,
    10 startup trials), NSGAIISampler / NSGAIIISampler (Deb et al. 2002; Deb & Jain 2014: a genetic
    algorithm of population 50 with one objective), RandomSampler, BruteForceSampler; each with Optuna's
    defaults, seeded with one draw from the run's generator. CmaEsSampler and QMCSampler are refused:
    they do not model categoricals (see this module's table). One categorical parameter per edge,
    maximizing the validation accuracy at the default fidelity (`OptunaAdapter`).
    """

    name = "optuna"

    def __init__(
        self, problem: SearchProblem, rng: np.random.Generator, *, sampler: str = "TPESampler"
    ) -> None:
        if sampler in REFUSED:
            raise ConfigError(
                f"optuna: sampler {sampler!r} does not apply here: {REFUSED[sampler]}; "
                f"use one of {', '.join(CATEGORICAL_SAMPLERS)}"
            )
        if sampler not in CATEGORICAL_SAMPLERS:
            raise ConfigError(
                f"optuna: sampler must be one of {', '.join(CATEGORICAL_SAMPLERS)}, got {sampler!r}"
            )
        self.sampler = sampler
        super().__init__(
            problem, rng, sampler_factory=lambda seed: _sampler(sampler, seed), study_name="optuna"
        )
