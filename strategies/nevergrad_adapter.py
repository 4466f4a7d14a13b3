"""Nevergrad (Rapin & Teytaud, 2018) optimizers through ask/tell on the ConfigSpace of the space.

The parametrization is built from `nasbench_suite.configspace.configuration_space`: one `ng.p.Choice`
per categorical edge, keyed by the edge's ConfigSpace name. Nevergrad is an optional dependency
(`pip install 'nasbench-suite[nevergrad]'`), imported in the constructor.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import numpy as np

from nasbench_suite.configspace import configuration_space, to_arch
from nasbench_suite.errors import ConfigError
from nasbench_suite.optional import require
from nasbench_suite.protocol import Fidelity, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int
from nasbench_suite.strategies._configspace_adapter import ConfigSpaceAdapter
from nasbench_suite.strategies.registry import register


def _ng() -> Any:
    return require("nevergrad", extra="nevergrad", who="Nevergrad (strategies ngopt, nevergrad)")


class _Nevergrad(ConfigSpaceAdapter):
    """One Nevergrad optimizer by its registry name, at the default fidelity."""

    optimizer: str
    budget: int

    def _start(self) -> None:
        ng = _ng()
        space = configuration_space(self.problem.space)
        parametrization = ng.p.Dict(**{name: ng.p.Choice(list(hp.choices)) for name, hp in space.items()})  # type: ignore[attr-defined]  # every hyperparameter of the space is categorical
        parametrization.random_state = np.random.RandomState(self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "DE is not good for discrete spaces": its choice, not ours
            self._optimizer = ng.optimizers.registry[self.optimizer](
                parametrization=parametrization, budget=self.budget, num_workers=1
            )

    def _ask(self) -> tuple[Any, Arch, Fidelity]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            candidate = self._optimizer.ask()
        return candidate, to_arch(self.problem.space, candidate.value), self.problem.default_fidelity

    def _tell(self, handle: Any, loss: float, cost_s: float) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._optimizer.tell(handle, loss)


def _check_budget(who: str, budget: object) -> int:
    return require_int(who, "budget", budget, 1)


@register("ngopt")
class NGOpt(_Nevergrad):
    """Nevergrad's recommended NGOpt (Meunier et al., IEEE TEC 2022), a wizard choosing the algorithm, via ask/tell.

    NGOpt picks its algorithm from the parametrization, the budget and the number of workers.

    One `ng.p.Choice` per edge; it minimizes 100 - validation accuracy at the default fidelity; the
    parametrization's random state is seeded with one draw from the run's generator. `budget` is the
    number of evaluations NGOpt plans for (Nevergrad needs it to choose; about 100 fit a 12000 s
    cifar10-valid search); the oracle's budget ends the search. With one worker and six 5-way choices
    NGOpt (nevergrad 1.0) chains a portfolio of DiagonalCMA, PSO and DE for half the budget with an
    optimistic noisy (1+1) for the rest.
    """

    name = "ngopt"

    optimizer = "NGOpt"

    def __init__(self, problem: SearchProblem, rng: np.random.Generator, *, budget: int = 100) -> None:
        self.budget = _check_budget("ngopt", budget)
        super().__init__(problem, rng)


@register("nevergrad")
class Nevergrad(_Nevergrad):
    """Any Nevergrad optimizer by name (Rapin & Teytaud, 2018), via ask/tell; default the discrete (1+1) EA.

    `optimizer` is a name of `nevergrad.optimizers.registry`; the default, DiscreteOnePlusOne, is the
    (1+1) evolutionary algorithm (Droste, Jansen & Wegener, TCS 2002) on the categorical edges: the
    best config so far, each edge resampled with probability 1/n_edges. `budget` as for `ngopt`. One
    `ng.p.Choice` per edge, loss 100 - validation accuracy at the default fidelity, seeded with one
    draw from the run's generator.
    """

    name = "nevergrad"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        optimizer: str = "DiscreteOnePlusOne",
        budget: int = 100,
    ) -> None:
        names = _ng().optimizers.registry
        if optimizer not in names:
            close = difflib.get_close_matches(str(optimizer), list(names), n=3)
            raise ConfigError(
                f"nevergrad: optimizer must be a name in nevergrad.optimizers.registry, got {optimizer!r}"
                + (f"; did you mean {' or '.join(close)}?" if close else "")
            )
        self.optimizer = optimizer
        self.budget = _check_budget("nevergrad", budget)
        super().__init__(problem, rng)
