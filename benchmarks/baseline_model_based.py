"""The model-based strategies as they were before they were made cheaper, kept so that
`bench_model_based.py` can time both side by side in one process: gp_bo with scikit-learn's GP (fitted
inside a per-fit BLAS thread limit), BANANAS with the float64 ensemble (separate bias steps), and BOHB
with the 24-step bisection bandwidth fitted before the random_fraction draw. Each is the current class
with only its model swapped back, so the timings differ by exactly what changed."""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_suite.encodings import one_hot
from nasbench_suite.protocol import SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies.bananas import Bananas
from nasbench_suite.strategies.bohb import BOHB, CategoricalKDE, RungModel, RungResults
from nasbench_suite.strategies.gp_bo import GaussianProcessBO, expected_improvement


# ---------------------------------------------------------------- gp_bo: scikit-learn's GP
@dataclass(frozen=True)
class SklearnGPModel:
    """A fitted sklearn GP on standardized targets and the scaling that maps back to percent."""

    gp: Any
    y_mean: float
    y_scale: float

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.gp.predict(x, return_std=True)
        latent_var = np.maximum(std**2 - self.gp.kernel_.k2.noise_level, 0.0)
        return mean * self.y_scale + self.y_mean, np.sqrt(latent_var) * self.y_scale


def fit_sklearn_gp(
    x: np.ndarray, y: np.ndarray, *, restarts: int, seed: int, start: Any = None
) -> SklearnGPModel:
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
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, (y - y_mean) / y_scale)
    return SklearnGPModel(gp, y_mean, y_scale)


class SklearnGPBO(GaussianProcessBO):
    """gp_bo with scikit-learn's GaussianProcessRegressor, refit from the last fitted kernel each step."""

    def __init__(self, problem: SearchProblem, rng: np.random.Generator, **hparams: Any) -> None:
        super().__init__(problem, rng, **hparams)
        self._kernel: Any = None

    def _maximize_ei(self) -> Arch:
        space = self._problem.space
        x = one_hot(space, [o.arch for o in self._observations]).astype(np.float64)
        y = np.array([o.valid_acc for o in self._observations])
        seed = int(self._rng.integers(2**31))
        model = fit_sklearn_gp(x, y, restarts=self.restarts, seed=seed, start=self._kernel)
        self._kernel = model.gp.kernel_
        pool = self._pool()
        mean, std = model.posterior(one_hot(space, pool).astype(np.float64))
        return pool[int(np.argmax(expected_improvement(mean, std, float(y.max()))))]


# ---------------------------------------------------------------- bananas: the float64 ensemble
class Float64MLPEnsemble:
    """`members` independent ReLU networks (`n_layers` hidden layers of `width`, one linear output),
    trained together: weights carry a leading member axis and live in one flat buffer, so a single
    vectorized Adam step updates every member. Keras defaults of the official code: Glorot-uniform
    weights, zero biases, Adam(beta1=0.9, beta2=0.99, eps=1e-7), minibatches reshuffled each epoch
    (independently per member)."""

    def __init__(
        self, *, n_in: int, members: int, n_layers: int, width: int, rng: np.random.Generator
    ) -> None:
        dims = [n_in] + [width] * n_layers + [1]
        shapes = [s for a, b in itertools.pairwise(dims) for s in ((members, a, b), (members, 1, b))]
        sizes = [math.prod(s) for s in shapes]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.theta = np.zeros(int(offsets[-1]))
        self._grad = np.zeros_like(self.theta)
        self._params = [
            self.theta[o : o + n].reshape(s) for o, n, s in zip(offsets[:-1], sizes, shapes, strict=True)
        ]
        self._grads = [
            self._grad[o : o + n].reshape(s) for o, n, s in zip(offsets[:-1], sizes, shapes, strict=True)
        ]
        for w in self._params[0::2]:
            limit = math.sqrt(6.0 / (w.shape[1] + w.shape[2]))
            w[...] = rng.uniform(-limit, limit, size=w.shape)
        self.members = members
        self._rng = rng

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        hidden = [x]
        h = x
        n = len(self._params) // 2
        for layer in range(n):
            h = h @ self._params[2 * layer] + self._params[2 * layer + 1]
            if layer < n - 1:
                np.maximum(h, 0.0, out=h)
                hidden.append(h)
        return h[..., 0], hidden

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(members, n) predictions for x of shape (n, n_in)."""
        return self._forward(np.asarray(x, dtype=np.float64)[None])[0]

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        weights: np.ndarray | None = None,
    ) -> list[float]:
        """Minimize the (weighted) mean absolute error; returns the mean training loss of every epoch."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
        m, v, buf = np.zeros_like(self.theta), np.zeros_like(self.theta), np.empty_like(self.theta)
        beta1, beta2, eps = 0.9, 0.99, 1e-7
        n, step, history = len(y), 0, []
        ones = np.ones((self.members, 1, batch_size))
        for _ in range(epochs):
            order = np.argsort(self._rng.random((self.members, n)), axis=1)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[:, start : start + batch_size]
                out, hidden = self._forward(x[idx])
                residual = out - y[idx]
                total += float(np.sum(w[idx] * np.abs(residual))) / self.members
                self._backward(hidden, (w[idx] * np.sign(residual) / idx.shape[1])[..., None], ones)
                step += 1  # Adam, in place: temporaries of the whole parameter vector cost more than the math
                m *= beta1
                np.multiply(self._grad, 1 - beta1, out=buf)
                m += buf
                v *= beta2
                np.square(self._grad, out=buf)
                buf *= 1 - beta2
                v += buf
                np.sqrt(v, out=buf)
                buf += eps
                np.divide(m, buf, out=buf)
                buf *= learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
                self.theta -= buf
            history.append(total / n)
        return history

    def _backward(self, hidden: list[np.ndarray], g: np.ndarray, ones: np.ndarray) -> None:
        for layer in range(len(self._params) // 2 - 1, -1, -1):
            np.matmul(hidden[layer].transpose(0, 2, 1), g, out=self._grads[2 * layer])
            np.matmul(ones[:, :, : g.shape[1]], g, out=self._grads[2 * layer + 1])  # sum over the batch, fast
            if layer:
                g = (g @ self._params[2 * layer].transpose(0, 2, 1)) * (hidden[layer] > 0)


class Float64Bananas(Bananas):
    """BANANAS with the float64 ensemble (a product plus a bias step per layer)."""

    predictor = Float64MLPEnsemble  # type: ignore[assignment]  # same constructor and fit/predict


# ---------------------------------------------------------------- bohb: bisection, fit before the draw
def bisection_bandwidth(data: np.ndarray, c: int) -> np.ndarray:
    """24-step bisection on the slope of the leave-one-out likelihood, over every row."""
    n = len(data)
    same = (data[:, None, :] == data[None, :, :]).sum(axis=1) - 1
    a, b = same.astype(float), (n - 1 - same) / (c - 1) - same
    lo, hi = np.zeros(data.shape[1]), np.full(data.shape[1], (c - 1) / c)

    def slope(u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return (b / (a + b * u)).sum(axis=0)

    rising = slope(hi) >= 0
    for _ in range(24):
        mid = (lo + hi) / 2
        up = slope(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return np.where(rising, (c - 1) / c, (lo + hi) / 2)


class BisectionKDE(CategoricalKDE):
    def __init__(self, data: np.ndarray, n_categories: int, min_bandwidth: float) -> None:
        self.data = np.asarray(data, dtype=np.int64)
        self.c = n_categories
        self.cap = (self.c - 1) / self.c
        self.bw = np.clip(bisection_bandwidth(self.data, self.c), min(min_bandwidth, self.cap), self.cap)

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """The (m, n, d) array of kernel terms, summed over d."""
        same = x[:, None, :] == self.data[None, :, :]
        log_k = np.where(same, np.log1p(-self.bw), np.log(self.bw / (self.c - 1))).sum(axis=2)
        top = log_k.max(axis=1, keepdims=True)
        return top[:, 0] + np.log(np.exp(log_k - top).mean(axis=1))


class BisectionModel(RungModel):
    """Both KDEs, refitted every time, scored one after the other in logs (no joint tables)."""

    def __init__(self, good: CategoricalKDE, bad: CategoricalKDE) -> None:
        self.good, self.bad, self.good_rows, self.bad_rows = good, bad, b"", b""


class BisectionBOHB(BOHB):
    """BOHB with bisection bandwidths, its model fitted before the random_fraction draw."""

    def _fit(self, results: RungResults, previous: RungModel | None) -> RungModel:
        split = self._split(results.n)
        assert split is not None
        order = np.argsort(results.losses, kind="stable")
        x = results.ops
        good, bad = x[order[: split[0]]], x[order[split[0] : split[0] + split[1]]]
        c = self._problem.space.n_ops
        return BisectionModel(
            BisectionKDE(good, c, self.min_bandwidth), BisectionKDE(bad, c, self.min_bandwidth)
        )

    def _sample(self) -> Arch:
        model = self.model()
        if model is None or self._rng.random() < self.random_fraction:
            return self._problem.space.sample(self._rng)
        good, bad = model.good, model.bad
        assert isinstance(good, BisectionKDE) and isinstance(bad, BisectionKDE)
        candidates = good.sample(self.num_samples, self._rng, self.bandwidth_factor)
        score = good.log_pdf(candidates) - bad.log_pdf(candidates)
        return Arch(tuple(int(o) for o in candidates[int(np.argmax(score))]))


BASELINES: dict[str, type] = {"gp_bo": SklearnGPBO, "bananas": Float64Bananas, "bohb": BisectionBOHB}
