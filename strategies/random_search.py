from __future__ import annotations

import numpy as np

from nasbench_suite.protocol import Observation, Proposal, SearchProblem
from nasbench_suite.strategies.registry import register


@register("random")
class RandomSearch:
    """Random search: uniform samples of the space at the default fidelity (Bergstra & Bengio, JMLR 2012).

    As in NAS-Bench-201's baseline, draws are with replacement: an arch drawn twice is evaluated (and
    paid for) twice. No hyperparameters.
    """

    asynchronous = True  # proposals are independent of pending results

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        self._problem = problem
        self._rng = rng

    def ask(self) -> Proposal:
        return Proposal(self._problem.space.sample(self._rng), self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        pass  # random search does not learn
