from __future__ import annotations

from collections import deque

import numpy as np

from nasbench_suite.protocol import BaseStrategy, Observation, Proposal, Request, SearchProblem
from nasbench_suite.strategies._candidates import require_int
from nasbench_suite.strategies.registry import register


@register("rea")
class RegularizedEvolution(BaseStrategy):
    """Regularized (aging) evolution (Real et al., AAAI 2019), with NAS-Bench-201's settings.

    Hyperparameters (NAS-Bench-201, Dong & Yang 2020, `R_EA.py`): population_size=10, sample_size=3,
    mutation = one random edge gets a different op. The first `population_size` proposals are uniform
    random; after that, a tournament of `sample_size` members drawn without replacement picks the parent
    with the best validation accuracy, its mutant is proposed, and when it is told the oldest member dies.
    """

    name = "rea"
    asynchronous = True  # tournaments use the members told so far

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        population_size: int = 10,
        sample_size: int = 3,
    ) -> None:
        require_int("rea", "population_size", population_size, 1)
        require_int("rea", "sample_size", sample_size, 1, population_size, high_name="population_size")
        self._problem = problem
        self._rng = rng
        self.population_size = population_size
        self.sample_size = sample_size
        self._population: deque[Observation] = deque()
        self._asked = 0

    def ask(self) -> Request:  # a subclass may measure (zc)
        space = self._problem.space
        if self._asked < self.population_size or len(self._population) < self.sample_size:
            arch = space.sample(self._rng)
        else:
            picks = self._rng.choice(len(self._population), size=self.sample_size, replace=False)
            parent = max((self._population[int(k)] for k in sorted(picks)), key=lambda o: o.valid_acc)
            arch = space.mutate(parent.arch, self._rng)
        self._asked += 1
        return Proposal(arch, self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        self._population.append(observation)
        if len(self._population) > self.population_size:
            self._population.popleft()
