"""SMAC3 (Lindauer et al., JMLR 2022) through its ask-and-tell interface on the ConfigSpace of the space.

Two registered strategies, SMAC's two facades for this problem:
- `smac`: the hyperparameter-optimization facade (random forest + log expected improvement, Sobol
  initial design, local-and-random acquisition search, 20 % interleaved random configurations).
- `smac_mf`: the multi-fidelity facade (the same model over Hyperband's brackets, eta=3), on the
  fidelities Hyperband uses here (`strategies.hyperband.ladder`).

SMAC3 is an optional dependency (`pip install 'nasbench-suite[smac]'`), imported in the constructor.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.configspace import configuration_space, to_arch
from nasbench_suite.optional import require
from nasbench_suite.protocol import Fidelity, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int
from nasbench_suite.strategies._configspace_adapter import ConfigSpaceAdapter, multi_fidelity_ladder
from nasbench_suite.strategies.hyperband import check_eta
from nasbench_suite.strategies.registry import register

_TOL = 1e-9


def _target(config: Any, seed: int = 0) -> float:
    """SMAC's facades require a target function; with ask and tell the oracle evaluates instead."""
    raise RuntimeError("the suite evaluates through the oracle; SMAC's optimize() is not used")


def _target_mf(config: Any, seed: int = 0, budget: float = 0.0) -> float:
    """The multi-fidelity facade's target function (never called, as `_target`)."""
    raise RuntimeError("the suite evaluates through the oracle; SMAC's optimize() is not used")


def _order_start_points(maximizer: Any) -> None:
    """SMAC's local search deduplicates its start points through a `set` of Configurations, whose hash
    is that of their repr (a string): the order of the start points, and with it the tie-breaking of
    equal acquisition values, changes with PYTHONHASHSEED. Sorting them by their vector restores one
    order in every process (the same start points, only their order is fixed)."""
    local = maximizer._local_search
    unordered = local._get_initial_points

    def ordered(*args: Any, **kwargs: Any) -> list[Any]:
        return sorted(unordered(*args, **kwargs), key=lambda config: tuple(config.get_array().tolist()))

    local._get_initial_points = ordered


def _smac() -> Any:
    smac = require("smac", extra="smac", who="SMAC3 (strategies smac, smac_mf)")
    # SMAC warns through `logging` on every retrain when its acquisition search finds few new configs; a
    # library stays quiet unless the user configured the "smac" logger (then their level is kept).
    quiet = logging.getLogger("smac")
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.ERROR)
    return smac


class _Smac(ConfigSpaceAdapter):
    """A SMAC facade driven by ask/tell; subclasses choose the facade and the fidelities."""

    n_trials: int
    challengers: int
    local_search_iterations: int

    def _facade(self, smac: Any, scenario: Any, model: Any, maximizer: Any) -> Any:
        raise NotImplementedError

    def _check(self, who: str, n_trials: int, challengers: int, local_search_iterations: int) -> None:
        self.n_trials = require_int(who, "n_trials", n_trials, 1)
        self.challengers = require_int(who, "challengers", challengers, 1)
        self.local_search_iterations = require_int(who, "local_search_iterations", local_search_iterations, 1)

    def _scenario_budgets(self) -> dict[str, float]:
        return {}

    def _fidelity(self, budget: float | None) -> Fidelity:
        return self.problem.default_fidelity

    def _start(self) -> None:
        smac = _smac()
        from smac.model.random_forest import RandomForest

        space = configuration_space(self.problem.space, seed=self.seed)
        # SMAC writes its state at construction; a temporary directory takes it and is removed at once
        # (every tell passes save=False, so nothing is written afterwards).
        with tempfile.TemporaryDirectory(prefix="nasbench-suite-smac-") as out:
            scenario = smac.Scenario(
                space,
                deterministic=True,
                n_trials=self.n_trials,
                seed=self.seed,
                output_directory=Path(out),
                **self._scenario_budgets(),
            )
            # The facade's random forest (get_model's defaults), single-threaded and without SMAC's
            # max_leaf_nodes=2**20 cap (see the class docstrings).
            model = RandomForest(
                configspace=space,
                log_y=True,
                n_trees=10,
                bootstrapping=True,
                ratio_features=1.0,
                min_samples_split=2,
                min_samples_leaf=1,
                max_depth=2**20,
                max_leaf_nodes=None,  # type: ignore[arg-type]
                seed=self.seed,
                n_jobs=1,
            )
            maximizer = smac.HyperparameterOptimizationFacade.get_acquisition_maximizer(
                scenario, challengers=self.challengers, local_search_iterations=self.local_search_iterations
            )
            _order_start_points(maximizer)
            self._optimizer = self._facade(smac, scenario, model, maximizer)
        self._exhausted = False

    def _ask(self) -> tuple[Any, Arch, Fidelity]:
        from smac.main.exceptions import ConfigurationSpaceExhaustedException

        if not self._exhausted:
            try:
                info = self._optimizer.ask()
            except (ConfigurationSpaceExhaustedException, StopIteration):
                self._exhausted = True  # SMAC's trial generator is finished for good after raising
        if self._exhausted:
            # Every cell has been evaluated (a small space): re-evaluate SMAC's incumbent, told to no one.
            incumbent = self._optimizer.intensifier.get_incumbent()
            return None, to_arch(self.problem.space, incumbent), self._fidelity(None)
        return info, to_arch(self.problem.space, info.config), self._fidelity(info.budget)

    def _tell(self, handle: Any, loss: float, cost_s: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        if handle is not None:
            self._optimizer.tell(handle, TrialValue(cost=loss, time=cost_s), save=False)


@register("smac")
class Smac(_Smac):
    """SMAC3's hyperparameter-optimization facade (Lindauer et al., JMLR 2022) via ask/tell.

    SMAC 2.x's HyperparameterOptimizationFacade defaults: a random forest of 10 trees on the
    categorical edges (log-transformed costs), log expected improvement, Sobol initial design of
    min(10 x n_edges, 0.25 n_trials) configs, local-and-random acquisition search over 10000
    challengers, every fifth config random. It minimizes 100 - validation accuracy at the default
    fidelity; seed = one draw from the run's generator. Deviations: `deterministic=True` (the 12-epoch
    table holds seed means, and SMAC could not choose the training seed anyway, so it does not repeat a
    config to average seeds); the forest is fitted single-threaded and without SMAC's
    `max_leaf_nodes=2**20`, which never binds below a million evaluations but makes scikit-learn
    allocate a best-first tree of that capacity (0.37 s per tree here; the trees are grown fully either
    way, only the order of their random split draws differs). `n_trials` only sizes the initial design
    (SMAC's default, 100, is about the evaluations of a 12000 s search); the oracle's budget ends it.
    """

    name = "smac"

    contract_hparams: ClassVar[dict[str, Any]] = {"challengers": 100, "local_search_iterations": 1}

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        n_trials: int = 100,
        challengers: int = 10000,
        local_search_iterations: int = 10,
    ) -> None:
        self._check("smac", n_trials, challengers, local_search_iterations)
        super().__init__(problem, rng)

    def _facade(self, smac: Any, scenario: Any, model: Any, maximizer: Any) -> Any:
        return smac.HyperparameterOptimizationFacade(
            scenario,
            _target,
            model=model,
            acquisition_maximizer=maximizer,
            overwrite=True,
            logging_level=False,
        )


@register("smac_mf")
class SmacMultiFidelity(_Smac):
    """SMAC3's multi-fidelity facade (Lindauer et al., JMLR 2022): its model over Hyperband, via ask/tell.

    SMAC 2.x's MultiFidelityFacade defaults: Hyperband brackets with eta=3 between min and max budget,
    random initial design, the HPO facade's random forest and log EI (with the deviations stated in
    `smac`'s docstring). Budgets are epochs: min and max are the ends of Hyperband's ladder here
    (`strategies.hyperband`: epochs of the default schedule's curve where the store records several,
    otherwise the full 12- and 200-epoch schedules); a budget SMAC asks for is run at the largest ladder
    fidelity whose epochs do not exceed it (NATS-Bench's `iepoch=int(budget)-1`), so on the wide table
    SMAC's 22- and 67-epoch rungs are 12-epoch evaluations. `min_fidelity`/`max_fidelity` as in
    `hyperband`. Seed = one draw from the run's generator.
    """

    name = "smac_mf"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        n_trials: int = 100,
        challengers: int = 10000,
        local_search_iterations: int = 10,
        eta: int = 3,
        min_fidelity: str | None = None,
        max_fidelity: str | None = None,
    ) -> None:
        self._check("smac_mf", n_trials, challengers, local_search_iterations)
        self.eta = int(check_eta(eta, "smac_mf"))
        self.min_fidelity, self.max_fidelity = min_fidelity, max_fidelity
        self._ladder = multi_fidelity_ladder(problem, min_fidelity, max_fidelity, "smac_mf")
        super().__init__(problem, rng)

    def _scenario_budgets(self) -> dict[str, float]:
        return {"min_budget": float(self._ladder[0].epoch), "max_budget": float(self._ladder[-1].epoch)}

    def _fidelity(self, budget: float | None) -> Fidelity:
        if budget is None:
            return self._ladder[-1]
        return max((f for f in self._ladder if f.epoch <= budget * (1 + _TOL)), key=lambda f: f.epoch)

    contract_hparams: ClassVar[dict[str, Any]] = {"challengers": 100, "local_search_iterations": 1}

    def _facade(self, smac: Any, scenario: Any, model: Any, maximizer: Any) -> Any:
        intensifier = smac.MultiFidelityFacade.get_intensifier(scenario, eta=self.eta)
        return smac.MultiFidelityFacade(
            scenario,
            _target_mf,
            model=model,
            acquisition_maximizer=maximizer,
            intensifier=intensifier,
            overwrite=True,
            logging_level=False,
        )
