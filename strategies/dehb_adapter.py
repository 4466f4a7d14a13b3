"""DEHB (Awad, Mallik & Hutter, IJCAI 2021) through its ask-and-tell interface on the ConfigSpace.

DEHB is an optional dependency (`pip install 'nasbench-suite[dehb]'`), imported in the constructor.
DEHB 0.1.2 pins numpy<2, which this suite does not downgrade to; the extra takes 0.1.1, whose ask/tell
interface and algorithm are the same without the pin.
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np

from nasbench_suite.configspace import configuration_space, to_arch
from nasbench_suite.errors import ConfigError
from nasbench_suite.optional import require
from nasbench_suite.protocol import Fidelity, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_positive
from nasbench_suite.strategies._configspace_adapter import ConfigSpaceAdapter, multi_fidelity_ladder
from nasbench_suite.strategies.hyperband import check_eta
from nasbench_suite.strategies.registry import register

_TOL = 1e-9
STRATEGIES = ("rand1_bin", "rand2_bin", "best1_bin", "best2_bin", "currenttobest1_bin", "randtobest1_bin")


def _dehb() -> Any:
    module = require("dehb", extra="dehb", who="DEHB (strategy dehb)")
    from loguru import logger

    logger.disable("dehb")  # DEHB logs every saved state at INFO to stderr; a library stays quiet
    return module


@register("dehb")
class Dehb(ConfigSpaceAdapter):
    """DEHB (Awad, Mallik & Hutter, IJCAI 2021): differential evolution in Hyperband brackets, via ask/tell.

    The authors' defaults (dehb 0.1.1's `DEHB`): mutation_factor=0.5, crossover_prob=0.5, strategy
    rand1_bin, eta=3, boundary fix "random", one worker. Fidelities are epochs between the ends of
    Hyperband's ladder here (`strategies.hyperband`: the default schedule's curve where the store
    records several epochs, otherwise the full 12- and 200-epoch schedules); a fidelity DEHB asks for is
    run at the largest ladder fidelity whose epochs do not exceed it, so on the wide table DEHB's
    22- and 67-epoch rungs are 12-epoch evaluations. It minimizes 100 - validation accuracy; seed = one
    draw from the run's generator. Deviations: DEHB's checkpoint files and log file go to a temporary
    directory removed at once (the oracle keeps the record), and its loguru messages are disabled.
    """

    name = "dehb"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        mutation_factor: float = 0.5,
        crossover_prob: float = 0.5,
        strategy: str = "rand1_bin",
        eta: int = 3,
        min_fidelity: str | None = None,
        max_fidelity: str | None = None,
    ) -> None:
        self.mutation_factor = require_positive("dehb", "mutation_factor", mutation_factor, 2.0)
        self.crossover_prob = require_positive("dehb", "crossover_prob", crossover_prob, 1.0)
        if strategy not in STRATEGIES:
            raise ConfigError(f"dehb: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        self.strategy = strategy
        self.eta = int(check_eta(eta, "dehb"))
        self.min_fidelity, self.max_fidelity = min_fidelity, max_fidelity
        self._ladder = multi_fidelity_ladder(problem, min_fidelity, max_fidelity, "dehb")
        super().__init__(problem, rng)

    def _start(self) -> None:
        dehb = _dehb()
        from loguru import logger

        before = set(logger._core.handlers)  # type: ignore[attr-defined]
        with tempfile.TemporaryDirectory(prefix="nasbench-suite-dehb-") as out:
            self._optimizer = dehb.DEHB(
                cs=configuration_space(self.problem.space, seed=self.seed),
                mutation_factor=self.mutation_factor,
                crossover_prob=self.crossover_prob,
                strategy=self.strategy,
                min_fidelity=float(self._ladder[0].epoch),
                max_fidelity=float(self._ladder[-1].epoch),
                eta=self.eta,
                seed=self.seed,
                n_workers=1,
                output_path=out,
                save_freq=None,  # "end": only run() saves, and ask/tell never calls it
            )
            for handler in set(logger._core.handlers) - before:  # type: ignore[attr-defined]
                logger.remove(handler)  # the per-instance log file sink DEHB adds (a thread each)

    def _ask(self) -> tuple[Any, Arch, Fidelity]:
        job = self._optimizer.ask()
        budget = float(job["fidelity"])
        fidelity = max((f for f in self._ladder if f.epoch <= budget * (1 + _TOL)), key=lambda f: f.epoch)
        return job, to_arch(self.problem.space, job["config"]), fidelity

    def _tell(self, handle: Any, loss: float, cost_s: float) -> None:
        self._optimizer.tell(handle, {"fitness": loss, "cost": cost_s})
