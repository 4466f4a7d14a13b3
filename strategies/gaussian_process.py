"""A small exact Gaussian process in numpy for `gp_bo`: amplitude * RBF (one isotropic length scale) +
white noise on standardized targets, hyperparameters fitted by maximizing the log marginal likelihood
with its analytic gradient (L-BFGS-B in log space, as scikit-learn's GaussianProcessRegressor does).

The data of a BO run only grows, so `IncrementalGP` keeps the squared distances and the Cholesky factor
of the last fit and extends both by the new rows (O(n^2) per added point instead of O(n^3)): the factor
at the previous hyperparameters, where every fit starts, is appended to, not recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# log-space bounds of (amplitude, length scale, noise): the ranges gp_bo gave scikit-learn's kernels
LOG_BOUNDS = np.log(np.array([[1e-3, 1e3], [1e-2, 1e3], [1e-6, 1e1]]))
BOUNDS = [(float(low), float(high)) for low, high in LOG_BOUNDS]  # as fmin_l_bfgs_b takes them
DEFAULT_LOG_THETA = np.log(np.array([1.0, 1.0, 0.1]))  # the first fit's start (scikit-learn's defaults here)
JITTER = 1e-10  # added to the diagonal, as GaussianProcessRegressor's default alpha
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 for rows of a (n, d) and b (m, d); exact for 0/1 encodings."""
    d = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def rbf(sqdist: np.ndarray, log_theta: np.ndarray) -> np.ndarray:
    """amplitude * exp(-sqdist / (2 length^2)): the kernel without its noise term."""
    amplitude, length = math.exp(log_theta[0]), math.exp(log_theta[1])
    return amplitude * np.exp(sqdist * (-0.5 / (length * length)))


def diagonal(log_theta: np.ndarray) -> float:
    """What the noise term and the jitter add to the kernel matrix's diagonal."""
    return math.exp(log_theta[2]) + JITTER


def cholesky(sqdist: np.ndarray, log_theta: np.ndarray, k_rbf: np.ndarray | None = None) -> np.ndarray | None:
    """Lower Cholesky factor of the training kernel matrix (upper triangle zero), or None where it is not
    positive definite (`k_rbf`: rbf(sqdist, log_theta) where already computed). LAPACK potrf through
    scipy: on ~100 points numpy's wrapper costs half again as much as the factorization."""
    from scipy.linalg.lapack import dpotrf

    k = rbf(sqdist, log_theta) if k_rbf is None else k_rbf.copy()
    k.flat[:: len(k) + 1] += diagonal(log_theta)
    chol, info = dpotrf(k, lower=1, clean=1, overwrite_a=1)
    return None if info else chol


def solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """K^-1 b from the lower factor of K (LAPACK potrs)."""
    from scipy.linalg.lapack import dpotrs

    x, info = dpotrs(chol, b, lower=1)
    if info:
        raise np.linalg.LinAlgError(f"potrs failed with info={info}")
    return x


def inverse_lower(chol: np.ndarray) -> np.ndarray:
    """The lower triangle of K^-1 = L^-T L^-1 (upper triangle zero) from the lower factor L of K: LAPACK
    trtri for L^-1, then BLAS syrk, which computes one triangle of the symmetric product (half the
    flops of a full product)."""
    from scipy.linalg.blas import dsyrk
    from scipy.linalg.lapack import dtrtri

    linv, info = dtrtri(chol, lower=1)
    if info:
        raise np.linalg.LinAlgError(f"trtri failed with info={info}")
    return dsyrk(1.0, linv, trans=1, lower=1)


def symmetric_inner(lower: np.ndarray, m: np.ndarray) -> float:
    """sum(S * m) for the symmetric S whose lower triangle (upper zero) is `lower`, and symmetric m:
    twice the triangle's terms, less the diagonal counted twice."""
    return 2.0 * float(np.vdot(lower, m)) - float(lower.diagonal() @ m.diagonal())


def forward_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L^-1 b for the lower factor L (LAPACK trtrs, what scipy's solve_triangular calls, less the
    wrapper's checks)."""
    from scipy.linalg.lapack import dtrtrs

    x, info = dtrtrs(chol, b, lower=1)
    if info:
        raise np.linalg.LinAlgError(f"trtrs failed with info={info}")
    return x


def cholesky_append(chol: np.ndarray, cross: np.ndarray, block: np.ndarray) -> np.ndarray | None:
    """The factor of [[K, C], [C^T, B]] from the factor L of K: [[L, 0], [W^T, chol(B - W^T W)]] with
    W = L^-1 C; O(n^2 m) for m new rows. None where the extended matrix is not positive definite."""
    from scipy.linalg.lapack import dpotrf

    n, m = chol.shape[0], block.shape[0]
    w = forward_solve(chol, cross)  # (n, m)
    corner, info = dpotrf(block - w.T @ w, lower=1, clean=1, overwrite_a=1)
    if info:
        return None
    out = np.zeros((n + m, n + m))
    out[:n, :n] = chol
    out[n:, :n] = w.T
    out[n:, n:] = corner
    return out


def log_marginal_likelihood(
    log_theta: np.ndarray,
    sqdist: np.ndarray,
    y: np.ndarray,
    chol: np.ndarray | None = None,
    k_rbf: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """log p(y | X, theta) and its gradient in log_theta (Rasmussen & Williams 2006, eq. 2.30 and 5.9):
    -y^T K^-1 y / 2 - sum(log diag L) - n log(2 pi) / 2, and tr((a a^T - K^-1) dK/dtheta_j) / 2 with
    a = K^-1 y. `chol`, the factor of K at log_theta, and `k_rbf`, rbf(sqdist, log_theta), are computed
    when not given. -inf and a zero gradient where K is not positive definite (scikit-learn's
    convention)."""
    k = rbf(sqdist, log_theta) if k_rbf is None else k_rbf
    if chol is None:
        chol = cholesky(sqdist, log_theta, k)
        if chol is None:
            return -math.inf, np.zeros(3)
    n = len(y)
    alpha = solve(chol, y)
    value = -0.5 * float(y @ alpha) - float(np.log(chol.diagonal()).sum()) - n * _HALF_LOG_2PI
    k_inv = inverse_lower(chol)
    k_length = k * sqdist  # d K / d log length = K_rbf * D / length^2
    length, noise = math.exp(log_theta[1]), math.exp(log_theta[2])
    grad = 0.5 * np.array(
        [
            float(alpha @ (k @ alpha)) - symmetric_inner(k_inv, k),  # d K / d log amplitude = K_rbf
            (float(alpha @ (k_length @ alpha)) - symmetric_inner(k_inv, k_length)) / (length * length),
            noise * (float(alpha @ alpha) - float(k_inv.trace())),  # d K / d log noise = noise * I
        ]
    )
    return value, grad


@dataclass(frozen=True)
class GPModel:
    """A fitted GP: training inputs, the Cholesky factor and K^-1 y at the fitted hyperparameters, and
    the standardization that maps the standardized targets back to target units."""

    x: np.ndarray
    log_theta: np.ndarray
    chol: np.ndarray
    alpha: np.ndarray
    y_mean: float
    y_scale: float

    @property
    def amplitude(self) -> float:
        return math.exp(self.log_theta[0])

    @property
    def length_scale(self) -> float:
        return math.exp(self.log_theta[1])

    @property
    def noise(self) -> float:
        return math.exp(self.log_theta[2])

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the noise-free function at x, in target units:
        k*^T K^-1 y and sqrt(amplitude - k*^T K^-1 k*) (clipped at 0)."""
        cross = rbf(squared_distances(self.x, x), self.log_theta)  # (n, m)
        mean = cross.T @ self.alpha
        v = forward_solve(self.chol, cross)
        var = np.maximum(self.amplitude - np.einsum("ij,ij->j", v, v), 0.0)
        return mean * self.y_scale + self.y_mean, np.sqrt(var) * self.y_scale


class IncrementalGP:
    """Refits the GP on a data set that only grows, reusing the last fit's distances and factor.

    Each `fit` maximizes the log marginal likelihood with L-BFGS-B (scipy's defaults, analytic
    gradient, log-space bounds LOG_BOUNDS) from the previous fit's hyperparameters (DEFAULT_LOG_THETA at
    first), plus `restarts` starts drawn uniformly in the bounds; the best optimum wins. The factor at
    the starting point is the previous factor extended by the new rows, so the optimizer's first
    evaluation costs no new factorization; the factor at the optimum is the last one computed there.
    A data set that is not the previous one plus new rows is fitted from scratch."""

    def __init__(self) -> None:
        self._x = np.zeros((0, 0))
        self._sqdist = np.zeros((0, 0))
        self._log_theta = DEFAULT_LOG_THETA.copy()
        self._chol: np.ndarray | None = None  # factor of K(self._x) at self._log_theta

    def fit(self, x: np.ndarray, y: np.ndarray, *, restarts: int, rng: np.random.Generator | None) -> GPModel:
        from scipy.optimize import fmin_l_bfgs_b  # minimize(method='L-BFGS-B') less its generic set-up

        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self._grow(x)
        y_mean, y_scale = float(y.mean()), float(y.std())
        y_scale = y_scale if y_scale > 0 else 1.0
        z = (y - y_mean) / y_scale
        start = self._log_theta
        factors: dict[bytes, np.ndarray | None] = {}
        if self._chol is not None:
            factors[start.tobytes()] = self._chol

        def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
            key = log_theta.tobytes()
            k_rbf = None
            if key not in factors:
                factors.clear()  # keep only the latest point: the optimum is the last one evaluated
                k_rbf = rbf(self._sqdist, log_theta)
                factors[key] = cholesky(self._sqdist, log_theta, k_rbf)
            chol = factors[key]
            if chol is None:
                return math.inf, np.zeros(3)
            value, grad = log_marginal_likelihood(log_theta, self._sqdist, z, chol, k_rbf)
            return -value, -grad

        best: tuple[float, np.ndarray] | None = None
        starts = [start]
        if restarts:
            if rng is None:
                raise ValueError("IncrementalGP.fit: random restarts need a generator")
            starts += [rng.uniform(LOG_BOUNDS[:, 0], LOG_BOUNDS[:, 1]) for _ in range(restarts)]
        for theta0 in starts:
            theta, value, _ = fmin_l_bfgs_b(objective, theta0, bounds=BOUNDS)
            if best is None or value < best[0]:
                best = (float(value), np.asarray(theta, dtype=np.float64).copy())
        assert best is not None  # at least the previous fit's start
        log_theta = best[1]
        chol = factors.get(log_theta.tobytes())
        if chol is None:
            chol = cholesky(self._sqdist, log_theta)
        if chol is None:  # the noise term (>= 1e-6) keeps K positive definite: this is not reached
            raise np.linalg.LinAlgError("GP kernel matrix is not positive definite at the fitted optimum")
        self._log_theta, self._chol = log_theta, chol
        alpha = solve(chol, z)
        return GPModel(x.copy(), log_theta.copy(), chol, alpha, y_mean, y_scale)

    def _grow(self, x: np.ndarray) -> None:
        """Extend distances and factor by the rows of x beyond the previous data (or start afresh)."""
        n = len(self._x)
        if n and (x.shape[1] != self._x.shape[1] or len(x) < n or not np.array_equal(x[:n], self._x)):
            n, self._chol = 0, None
        if n == 0:
            self._x, self._sqdist = x.copy(), squared_distances(x, x)
            self._chol = cholesky(self._sqdist, self._log_theta)
            return
        new = x[n:]
        cross, block = squared_distances(self._x, new), squared_distances(new, new)
        sqdist = np.empty((len(x), len(x)))
        sqdist[:n, :n], sqdist[:n, n:], sqdist[n:, :n], sqdist[n:, n:] = self._sqdist, cross, cross.T, block
        if self._chol is not None and len(new):
            k_block = rbf(block, self._log_theta)
            k_block.flat[:: len(k_block) + 1] += diagonal(self._log_theta)
            self._chol = cholesky_append(self._chol, rbf(cross, self._log_theta), k_block)
        self._x, self._sqdist = x.copy(), sqdist
