from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_suite.encodings import one_hot
from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import fresh_random, mutation_candidates, ranked_archs, require_int
from nasbench_suite.strategies.registry import register

EDGE_MUTATION_PROB = 0.25  # the candidate mutation of BANANAS' NAS-Bench-201 code (see strategies.bananas)


@dataclass(frozen=True)
class GPModel:
    """A fitted sklearn GP on standardized targets and the scaling that maps back to percent."""

    gp: Any
    y_mean: float
    y_scale: float

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the noise-free function at x, in target units
        (sklearn's predictive variance minus the fitted white-noise variance)."""
        mean, std = self.gp.predict(x, return_std=True)
        latent_var = np.maximum(std**2 - self.gp.kernel_.k2.noise_level, 0.0)
        return mean * self.y_scale + self.y_mean, np.sqrt(latent_var) * self.y_scale


def fit_gp(x: np.ndarray, y: np.ndarray, *, restarts: int, seed: int, start: Any = None) -> GPModel:
    """Exact GP regression of standardized y on x: amplitude * RBF (one isotropic length scale) + white
    noise, every hyperparameter fitted by maximizing the log marginal likelihood (L-BFGS from `start`,
    a fitted kernel, else amplitude 1, length scale 1, noise 0.1; plus `restarts` random starts drawn
    with `seed`)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=np.float64)
    y_mean, y_scale = float(y.mean()), float(y.std())
    y_scale = y_scale if y_scale > 0 else 1.0
    if start is None:
        start = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(1.0, (1e-2, 1e3)) + WhiteKernel(1e-1, (1e-6, 1e1))
    gp = GaussianProcessRegressor(start, normalize_y=False, n_restarts_optimizer=restarts, random_state=seed)
    # One BLAS thread: on ~100 points threading costs more than it saves (15x slower fits measured on a
    # busy 2-core machine); scoped, so the caller's settings are restored.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # a hyperparameter at its bound is a fit
        gp.fit(x, (y - y_mean) / y_scale)
    return GPModel(gp, y_mean, y_scale)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """EI over `best` for maximization (Jones et al., 1998): (mu - best) Phi(z) + sigma phi(z),
    z = (mu - best) / sigma; max(mu - best, 0) where sigma is 0."""
    from scipy.special import ndtr

    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    gain = mean - best
    safe = np.where(std > 0, std, 1.0)
    z = gain / safe
    ei = gain * ndtr(z) + safe * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return np.where(std > 0, ei, np.maximum(gain, 0.0))


@register("gp_bo")
class GaussianProcessBO:
    """GP-BO: expected improvement under a Gaussian process on the one-hot encoding, refit every step.

    Bayesian optimization as in NASBOT (Kandasamy et al., NeurIPS 2018) and the GP baselines of White
    et al., "How Powerful are Performance Predictors in NAS?" (NeurIPS 2021, NASLib): their NAS-Bench-201
    GP uses an RBF kernel on the op one-hot encoding ('adjacency_one_hot', the suite's `one_hot`), and so
    does this one, with an amplitude and a white-noise term (validation accuracies are noisy and an arch
    may be seen twice). scikit-learn's GaussianProcessRegressor gives an exact GP whose hyperparameters
    are fitted by marginal likelihood and needs no new dependency; BoTorch/GPyTorch would pull a large
    stack for ~100 points. Targets are standardized before the fit.

    Loop: `num_init`=10 distinct random archs (as BANANAS), then after every evaluation the GP is refit
    and the proposal is the max of EI (over the best accuracy seen; latent, noise-free posterior) over
    a pool of `num_candidates` unseen mutants of the best archs (BANANAS' generator) plus `num_random`
    unseen uniform samples. An arch already proposed is never proposed again unless no unseen one turns
    up (tiny or exhausted spaces). Deviations from NASLib: type-II maximum likelihood instead of their
    log-normal hyperparameter priors, each fit starting from the previous fit's hyperparameters (about a
    third fewer likelihood evaluations, same trajectory on the runs checked); `restarts` extra random
    optimizer starts (default 0, sklearn's).
    """

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
        import scipy.special  # noqa: F401 - fail (and pay the import) at construction, not mid-run
        import sklearn.gaussian_process  # noqa: F401

        self._problem = problem
        self._rng = rng
        self.num_init, self.num_candidates, self.num_random = num_init, num_candidates, num_random
        self.num_parents, self.restarts = num_parents, restarts
        self._observations: list[Observation] = []
        self._proposed: set[Arch] = set()
        self._asked = 0
        self._kernel: Any = None  # the last fitted kernel: the next fit starts there

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
        pool += fresh_random(space, self._proposed | set(pool), self.num_random, self._rng)
        if not pool:  # every arch drawn was seen: the space is (nearly) exhausted, re-evaluation allowed
            pool = list(dict.fromkeys(space.sample(self._rng) for _ in range(max(self.num_random, 1))))
        return pool

    def _maximize_ei(self) -> Arch:
        space = self._problem.space
        x = one_hot(space, [o.arch for o in self._observations]).astype(np.float64)
        y = np.array([o.valid_acc for o in self._observations])
        model = fit_gp(x, y, restarts=self.restarts, seed=int(self._rng.integers(2**31)), start=self._kernel)
        self._kernel = model.gp.kernel_
        pool = self._pool()
        mean, std = model.posterior(one_hot(space, pool).astype(np.float64))
        ei = expected_improvement(mean, std, float(y.max()))
        return pool[int(np.argmax(ei))]
