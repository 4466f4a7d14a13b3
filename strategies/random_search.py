from __future__ import annotations

import numpy as np

from nasbench_suite.protocol import BaseStrategy, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies.registry import register

MAX_BLOCK = 1024  # archs drawn at once at most


@register("random")
class RandomSearch(BaseStrategy):
    """Random search: uniform samples of the space at the default fidelity (Bergstra & Bengio, JMLR 2012).

    As in NAS-Bench-201's baseline, draws are with replacement: an arch drawn twice is evaluated (and
    paid for) twice. No hyperparameters.
    """

    name = "random"
    asynchronous = True  # proposals are independent of pending results

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        self._problem = problem
        self._rng = rng
        self._ahead: list[Arch] = []  # drawn, not yet proposed, last first
        self._drawn = 0

    def ask(self) -> Proposal:
        # Samples are drawn in growing blocks (`CellSpace.sample_many`: the same archs, in the same order,
        # as one `sample` per ask; only this strategy draws from its generator).
        if not self._ahead:
            self._ahead = self._problem.space.sample_many(self._rng, min(16 + self._drawn, MAX_BLOCK))[::-1]
            self._drawn += len(self._ahead)
        return Proposal(self._ahead.pop(), self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        pass  # random search does not learn
