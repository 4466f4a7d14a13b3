from __future__ import annotations

import math

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import BaseStrategy, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies.registry import register

# Rejection-sampling tries for an unseen restart arch before settling for any arch. A miss needs the
# unseen fraction to be tiny: (1 - 1/27)^1000 ~ 1e-17 on a 27-cell space with one cell left.
_MAX_TRIES = 1000


def _value(observation: Observation) -> float:
    """Validation accuracy, with nan ordered below everything (a failed run is never an improvement)."""
    v = observation.valid_acc
    return -math.inf if math.isnan(v) else v


@register("local_search")
class LocalSearch(BaseStrategy):
    """Local search: move to the best one-edge neighbour until none is better, then restart at random.

    White, Nolen & Savani, "Exploring the loss landscape in neural architecture search" (UAI 2021;
    arXiv 2005.02960 "Local search is state of the art for NAS benchmarks"), with the settings of its
    NAS-Bench-201 experiments (code: realityengines/local_search, `params.py` 'local_search':
    num_init=1, query_full_nbhd=True, stop_at_minimum=True). A run starts from one uniform random arch;
    the current arch's neighbours (every one-edge change: n_edges * (n_ops - 1), 24 on NAS-Bench-201)
    are evaluated in random order, skipping archs already evaluated in this run (the paper's
    `query_dict`); when they are all evaluated the search moves to the best of them if it beats the
    current arch (best improvement), otherwise the current arch is a local optimum and the search
    restarts from a uniform random arch not evaluated before.

    Hyperparameter: query_full_neighbourhood=True is the paper's best improvement (NASLib's
    `LocalSearch` also scans the whole neighbourhood); False is its 'ls_query_part' variant, first
    improvement: move to the first neighbour better than the current arch.
    Deviations: none on the search path. Once every arch of a small space has been evaluated, restarts
    fall back to any uniform arch (the paper would loop forever). A proposal made while a neighbourhood
    waits for outstanding results is a random unseen arch (the runner never leaves one outstanding).
    """

    name = "local_search"

    def __init__(
        self, problem: SearchProblem, rng: np.random.Generator, *, query_full_neighbourhood: bool = True
    ) -> None:
        if not isinstance(query_full_neighbourhood, bool):
            raise ConfigError(
                f"local_search: query_full_neighbourhood must be True or False, got {query_full_neighbourhood!r}"
            )
        self._problem = problem
        self._rng = rng
        self.query_full_neighbourhood = query_full_neighbourhood
        self.restarts = 0  # local optima left so far (the first start is not a restart)
        self._seen: set[Arch] = set()  # every arch proposed in this run
        self._centre: Observation | None = None  # the current arch of the descent
        self._start: Arch | None = None  # a start arch proposed, its observation not yet told
        self._queue: list[Arch] = []  # the centre's neighbours not yet proposed, popped from the end
        self._waiting: set[Arch] = set()  # the centre's neighbours proposed, not yet told
        self._best: Observation | None = None  # the best told neighbour of the centre

    @property
    def centre(self) -> Arch | None:
        return None if self._centre is None else self._centre.arch

    def ask(self) -> Proposal:
        arch = self._next()
        self._seen.add(arch)
        return Proposal(arch, self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        arch = proposal.arch
        if self._centre is None and arch == self._start:
            self._start = None
            self._move(observation)
        elif arch in self._waiting and self._centre is not None:
            self._waiting.discard(arch)
            if self._best is None or _value(observation) > _value(self._best):
                self._best = observation
            if not self.query_full_neighbourhood and _value(observation) > _value(self._centre):
                self._move(observation)
        # anything else is a filler proposal: it is in the log, but not on the search path

    def _next(self) -> Arch:
        if self._centre is None:
            if self._start is not None:  # the start is still outstanding
                return self._random_unseen()
            self._start = self._random_unseen()
            return self._start
        while self._queue:
            arch = self._queue.pop()
            if arch not in self._seen:
                self._waiting.add(arch)
                return arch
        if self._waiting:
            return self._random_unseen()
        if self._best is not None and _value(self._best) > _value(self._centre):
            self._move(self._best)
            return self._next()  # the new centre's queue is fresh; recursion depth is at most 2
        self.restarts += 1
        self._centre = None
        self._start = self._random_unseen()
        return self._start

    def _move(self, observation: Observation) -> None:
        self._centre = observation
        neighbours = self._problem.space.neighbours(observation.arch)
        self._queue = [neighbours[int(i)] for i in self._rng.permutation(len(neighbours))]
        self._waiting.clear()
        self._best = None

    def _random_unseen(self) -> Arch:
        space = self._problem.space
        if len(self._seen) < space.size:
            for _ in range(_MAX_TRIES):
                arch = space.sample(self._rng)
                if arch not in self._seen:
                    return arch
        return space.sample(self._rng)
