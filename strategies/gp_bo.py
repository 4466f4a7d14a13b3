from __future__ import annotations

import math
import weakref

import numpy as np

from nasbench_suite.encodings import one_hot
from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import BaseStrategy, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import fresh_random, mutation_candidates, ranked_archs, require_int
from nasbench_suite.strategies.gaussian_process import IncrementalGP
from nasbench_suite.strategies.registry import register

EDGE_MUTATION_PROB = 0.25  # the candidate mutation of BANANAS' NAS-Bench-201 code (see strategies.bananas)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """EI over `best` for maximization (Jones et al., 1998): (mu - best) Phi(z) + sigma phi(z),
    z = (mu - best) / sigma; max(mu - best, 0) where sigma is 0."""
    from scipy.special import ndtr

    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    gain = mean - best
    spread = std > 0
    safe = np.where(spread, std, 1.0)
    z = gain / safe
    ei = gain * ndtr(z) + safe * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return np.where(spread, ei, np.maximum(gain, 0.0))


@register("gp_bo")
class GaussianProcessBO(BaseStrategy):
    """GP-BO: expected improvement under a Gaussian process on the one-hot encoding, refit every step.

    Bayesian optimization as in NASBOT (Kandasamy et al., NeurIPS 2018) and the GP baselines of White
    et al., "How Powerful are Performance Predictors in NAS?" (NeurIPS 2021, NASLib): their NAS-Bench-201
    GP uses an RBF kernel on the op one-hot encoding ('adjacency_one_hot', the suite's `one_hot`), and so
    does this one, with an amplitude and a white-noise term (validation accuracies are noisy and an arch
    may be seen twice). The GP is the suite's own exact numpy GP (`strategies.gaussian_process`): the
    same model scikit-learn's GaussianProcessRegressor fitted here before (amplitude in [1e-3, 1e3],
    length scale in [1e-2, 1e3], noise in [1e-6, 10], jitter 1e-10; type-II maximum likelihood by
    L-BFGS-B with the analytic gradient), at a fraction of the bookkeeping; BoTorch/GPyTorch would pull
    a large stack for ~100 points. Targets are standardized before the fit.

    Loop: `num_init`=10 distinct random archs (as BANANAS), then after every evaluation the GP is refit
    and the proposal is the max of EI (over the best accuracy seen; latent, noise-free posterior) over
    a pool of `num_candidates` unseen mutants of the best archs (BANANAS' generator) plus `num_random`
    unseen uniform samples. An arch already proposed is never proposed again unless no unseen one turns
    up (tiny or exhausted spaces). Deviations from NASLib: type-II maximum likelihood instead of their
    log-normal hyperparameter priors, each fit starting from the previous fit's hyperparameters (the
    previous Cholesky factor extended by the new row, so the first likelihood evaluation needs no new
    factorization); `restarts` extra random optimizer starts (default 0). BLAS runs on one thread from
    the first fit until the strategy is released (on ~100 points threads cost more than they save: 15x
    slower fits measured on a busy 2-core machine); the caller's setting is then restored.
    """

    name = "gp_bo"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        num_init: int = 10,
        num_candidates: int = 100,
        num_random: int = 100,
        num_parents: int = 1,
        restarts: int = 0,
    ) -> None:
        require_int("gp_bo", "num_init", num_init, 1)
        require_int("gp_bo", "num_candidates", num_candidates, 0)
        require_int("gp_bo", "num_random", num_random, 0)
        require_int("gp_bo", "num_parents", num_parents, 1)
        require_int("gp_bo", "restarts", restarts, 0)
        if num_candidates + num_random < 1:
            raise ConfigError(
                f"gp_bo: num_candidates + num_random must be >= 1, got {num_candidates} + {num_random}"
            )
        import scipy.optimize
        import scipy.special  # noqa: F401

        self._problem = problem
        self._rng = rng
        self.num_init, self.num_candidates, self.num_random = num_init, num_candidates, num_random
        self.num_parents, self.restarts = num_parents, restarts
        self._observations: list[Observation] = []
        self._proposed: set[Arch] = set()
        self._asked = 0
        self._gp = IncrementalGP()  # keeps the last fit: the next one starts there
        self._encoded = np.zeros((0, problem.space.n_edges * problem.space.n_ops))  # observations, one-hot
        self._blas_limited = False

    def ask(self) -> Proposal:
        space = self._problem.space
        if self._asked < self.num_init or not self._observations:
            arch = (fresh_random(space, self._proposed, 1, self._rng) or [space.sample(self._rng)])[0]
        else:
            arch = self._maximize_ei()
        self._asked += 1
        self._proposed.add(arch)
        return Proposal(arch, self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        self._observations.append(observation)

    def _pool(self) -> list[Arch]:
        space = self._problem.space
        pool = mutation_candidates(
            space,
            ranked_archs(self._observations),
            self._proposed,
            self._rng,
            num=self.num_candidates,
            num_parents=self.num_parents,
            edge_prob=EDGE_MUTATION_PROB,
        )
        pool += fresh_random(space, [*self._proposed, *pool], self.num_random, self._rng)
        if not pool:  # every arch drawn was seen: the space is (nearly) exhausted, re-evaluation allowed
            pool = list(dict.fromkeys(space.sample(self._rng) for _ in range(max(self.num_random, 1))))
        return pool

    def _maximize_ei(self) -> Arch:
        space = self._problem.space
        if len(self._encoded) < len(self._observations):  # encode only what was told since the last step
            new = [o.arch for o in self._observations[len(self._encoded) :]]
            self._encoded = np.concatenate([self._encoded, one_hot(space, new)])
        y = np.array([o.valid_acc for o in self._observations])
        self._limit_blas_threads()
        seed = int(self._rng.integers(2**31))  # drawn every step, so the stream matches earlier versions
        restart_rng = np.random.default_rng(seed) if self.restarts else None
        model = self._gp.fit(self._encoded, y, restarts=self.restarts, rng=restart_rng)
        pool = self._pool()
        mean, std = model.posterior(one_hot(space, pool).astype(np.float64))
        ei = expected_improvement(mean, std, float(y.max()))
        return pool[int(np.argmax(ei))]

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_blas_limited"] = False  # a copy holds no limit of its own: it enters one at its next fit
        return state

    def _limit_blas_threads(self) -> None:
        """One BLAS thread from the first fit until this strategy is garbage-collected (the end of its
        run), entered once per run instead of once per fit (threadpoolctl rescans the loaded libraries
        every time it is entered)."""
        if self._blas_limited:
            return
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=1, user_api="blas")
        weakref.finalize(self, limits.restore_original_limits)
        self._blas_limited = True
