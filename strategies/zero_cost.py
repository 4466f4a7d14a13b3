from __future__ import annotations

import math

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import (
    Measured,
    Measurement,
    Observation,
    Proposal,
    Request,
    Result,
    SearchProblem,
)
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int
from nasbench_suite.strategies.registry import register
from nasbench_suite.strategies.regularized_evolution import RegularizedEvolution


def proxy_ranking(pool: list[Arch], scores: dict[Arch, float]) -> list[Arch]:
    """`pool` by descending score; archs without a finite score (NaN: the benchmark lacks the value)
    last; ties keep pool order."""

    def key(k: int) -> tuple[bool, float]:
        v = scores.get(pool[k], math.nan)
        return (not math.isfinite(v), -v if math.isfinite(v) else 0.0)

    return [pool[k] for k in sorted(range(len(pool)), key=key)]


@register("zc")
class ZeroCostWarmup(RegularizedEvolution):
    """Zero-cost warmup: score a random pool with a proxy, train the best-scoring archs, then evolve (REA).

    Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021), Sec. 5 "zero-cost warmup"
    for aging evolution: score a pool of random archs with a zero-cost proxy before any training and
    start the evolution from the best-scoring ones. Here: draw `pool_size` uniform archs (duplicates are
    scored once), ask the oracle for `proxy` of each (one `Measurement` per arch; a `zc_*` proxy is charged
    one minibatch forward pass, so the warmup's cost shows on the clock), then train the top
    `population_size` in descending proxy order (NaN scores last) as REA's initial population, then go
    on as REA (`strategies.regularized_evolution`, NAS-Bench-201's population_size=10, sample_size=3).

    Hyperparameters: pool_size=3000 (Abdelfattah et al.'s warmup pool; NASWOT, Mellor et al. ICML 2021,
    scored N=10 or 100 and trained none), proxy="zc_zen" (Zen-score, Lin et al. ICCV 2021: the proxy the
    store has on every dataset; "zc_naswot", Mellor et al.'s score, exists on cifar10-valid/cifar10 only
    and is NaN for 341 archs; any metric in `problem.measurable` works, e.g. "flops_m" as the papers'
    FLOPs baseline, free of charge). Higher scores are taken as better, as for every proxy the store has.
    Deviations: the paper's best proxy is synflow, which the store lacks; the seeds are the top
    `population_size` (REA's population here) rather than a separately tuned count.
    """

    name = "zc"
    asynchronous = False  # the warmup asks in a fixed order and needs every score before ranking

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        proxy: str = "zc_zen",
        pool_size: int = 3000,
        population_size: int = 10,
        sample_size: int = 3,
    ) -> None:
        if not isinstance(proxy, str) or proxy not in problem.measurable:
            raise ConfigError(
                f"zc: proxy must be a metric measurable on this dataset "
                f"({', '.join(problem.measurable) or 'none'}), got {proxy!r}"
                + ("; zc_naswot exists on cifar10-valid and cifar10 only" if proxy == "zc_naswot" else "")
            )
        require_int("zc", "pool_size", pool_size, 1)
        require_int("zc", "population_size", population_size, 1)
        require_int("zc", "sample_size", sample_size, 1, population_size, high_name="population_size")
        super().__init__(problem, rng, population_size=population_size, sample_size=sample_size)
        self.proxy = proxy
        self.pool_size = pool_size
        space = problem.space
        draws = rng.integers(space.n_ops, size=(pool_size, space.n_edges))
        self.pool: list[Arch] = list(dict.fromkeys(Arch(tuple(int(o) for o in row)) for row in draws))
        self.scores: dict[Arch, float] = {}
        self._measured = 0  # pool members asked for so far
        self._seeds: list[Arch] | None = None  # the top of the pool, fixed once every score is in
        self._seeded = 0

    def ask(self) -> Request:
        if self._measured < len(self.pool):
            arch = self.pool[self._measured]
            self._measured += 1
            return Measurement(arch, self.proxy)
        if self._seeds is None:
            self._seeds = proxy_ranking(self.pool, self.scores)[: self.population_size]
        if self._seeded < len(self._seeds):
            arch = self._seeds[self._seeded]
            self._seeded += 1
            self._asked += 1  # counts towards REA's initial population
            return Proposal(arch, self._problem.default_fidelity)
        return super().ask()

    def tell(self, request: Request, result: Result) -> None:
        if isinstance(result, Measured):
            self.scores[result.arch] = result.value
        elif isinstance(request, Proposal) and isinstance(result, Observation):
            super().tell(request, result)
