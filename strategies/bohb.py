"""BOHB: Hyperband whose new configs come from a TPE-like pair of kernel density estimates."""

from __future__ import annotations

import math

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import Fidelity, Observation, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies.hyperband import Hyperband
from nasbench_suite.strategies.kde_bandwidth import loo_bandwidths
from nasbench_suite.strategies.registry import register


class CategoricalKDE:
    """Product of Aitchison-Aitken kernels over categorical columns (statsmodels' KDEMultivariate with
    var_type 'u'): a datum gives weight 1 - bw_j to its own category of column j and bw_j / (c - 1)
    to each other one. bw_j maximises column j's leave-one-out likelihood (Aitchison & Aitken,
    Biometrika 1976; statsmodels' bw='cv_ml' per column), clipped to [min_bandwidth, (c - 1) / c]; the
    maximum is found exactly from the column's category counts (`strategies.kde_bandwidth`)."""

    def __init__(self, data: np.ndarray, n_categories: int, min_bandwidth: float) -> None:
        self.data = np.asarray(data, dtype=np.int64)
        self.c = n_categories
        self.cap = (self.c - 1) / self.c  # the uniform kernel
        self.bw = np.clip(loo_bandwidths(self.data, self.c), min(min_bandwidth, self.cap), self.cap)
        self._tables: np.ndarray | None = None

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """The density at every row of `x` (m, d): the mean over the data of the product of the columns'
        kernel weights (see `kernel_products`)."""
        return np.add.reduce(kernel_products(self.tables(), x, self.c), axis=1) / len(self.data)

    def tables(self) -> np.ndarray:
        """(d * c, n), built at the first call: row j * c + v holds, for every datum i, column j's
        kernel weight at category v: 1 - bw_j where datum i's category is v, else bw_j / (c - 1). A
        uniform column (bw_j = (c - 1) / c) weighs every category 1 / c, exactly: 1 - bw_j and
        bw_j / (c - 1) differ in their last bit, which would rank candidates that differ only there."""
        if self._tables is None:
            n, d = self.data.shape
            uniform = self.bw >= self.cap
            own = np.where(uniform, 1.0 / self.c, 1.0 - self.bw)
            other = np.where(uniform, 1.0 / self.c, self.bw / (self.c - 1))
            tables = np.repeat(other, self.c)[:, None].repeat(n, axis=1)
            tables[self.data + self.c * np.arange(d), np.arange(n)[:, None]] = own
            self._tables = tables
        return self._tables

    def sample(self, m: int, rng: np.random.Generator, factor: float) -> np.ndarray:
        """m draws from the KDE with every bandwidth multiplied by `factor` (capped at uniform)."""
        base = self.data[rng.integers(len(self.data), size=m)]
        change = rng.random(base.shape) < np.minimum(factor * self.bw, self.cap)
        other = rng.integers(self.c - 1, size=base.shape)
        other += other >= base  # a uniformly chosen different category
        return np.where(change, other, base)


def kernel_products(tables: np.ndarray, x: np.ndarray, c: int) -> np.ndarray:
    """k(x, datum i) for every row of `x` (m, d) and column of `tables` (d * c, N): the product over
    columns j of row j * c + x_j, multiplied in column order (as `np.prod` over a short last axis of
    the (m, N, d) weights does). Every weight is at least min_bandwidth / (c - 1), so a product of d
    of them stays a normal float (`BOHB` checks it)."""
    rows = (x + c * np.arange(x.shape[1])).T
    k = tables.take(rows[0], axis=0)
    for j in range(1, len(rows)):
        k *= tables.take(rows[j], axis=0)
    return k


class RungModel:
    """BOHB's model of one rung: the good KDE l, the bad KDE g, and both their tables side by side, so
    that l(x) / g(x) for a set of candidates takes one pass of `kernel_products`. `good_rows` and
    `bad_rows` name the rung's results each KDE was fitted on (a refit keeps a KDE whose rows did not
    change)."""

    def __init__(self, good: CategoricalKDE, bad: CategoricalKDE, good_rows: bytes, bad_rows: bytes) -> None:
        self.good, self.bad = good, bad
        self.good_rows, self.bad_rows = good_rows, bad_rows
        self._tables = np.concatenate((good.tables(), bad.tables()), axis=1)

    def ratio(self, x: np.ndarray) -> np.ndarray:
        """l(x) / g(x) for every row of `x`: the same numbers as `good.pdf(x) / bad.pdf(x)`."""
        k = kernel_products(self._tables, x, self.good.c)
        n_good = len(self.good.data)
        good = np.add.reduce(k[:, :n_good], axis=1) / n_good
        return good / (np.add.reduce(k[:, n_good:], axis=1) / (k.shape[1] - n_good))


class RungResults:
    """One rung's results in arrival order: op indices (n, d) and losses (n,), in arrays that double
    when full (the model reads them as arrays after every result)."""

    def __init__(self, n_edges: int) -> None:
        self.n = 0
        self._ops = np.empty((16, n_edges), dtype=np.int64)
        self._losses = np.empty(16)

    def add(self, ops: tuple[int, ...], loss: float) -> None:
        if self.n == len(self._losses):
            self._ops = np.concatenate((self._ops, np.empty_like(self._ops)))
            self._losses = np.concatenate((self._losses, np.empty_like(self._losses)))
        self._ops[self.n], self._losses[self.n] = ops, loss
        self.n += 1

    @property
    def ops(self) -> np.ndarray:
        return self._ops[: self.n]

    @property
    def losses(self) -> np.ndarray:
        return self._losses[: self.n]


@register("bohb")
class BOHB(Hyperband):
    """BOHB (Falkner, Klein & Hutter, ICML 2018): Hyperband with a TPE-like KDE model proposing new configs.

    Brackets, rungs and promotions are Hyperband's (eta=3; see `strategies.hyperband`). A new config is
    uniform random with probability random_fraction or while no model exists; otherwise num_samples
    candidates are drawn from the good KDE with bandwidths x bandwidth_factor and the one maximising
    l(x) / g(x) is proposed. The model is fitted on the largest rung with enough results: results
    sorted by validation accuracy, the best max(min_points_in_model, top_n_percent% of n) give l, the
    next max(min_points_in_model, (100 - top_n_percent)% of n) give g, and both must have more rows than
    the encoding has columns. Encoding: the op index of each edge, one categorical column per edge.

    Hyperparameters (BOHB's defaults, hpbandster): top_n_percent=15, num_samples=64, random_fraction=1/3,
    bandwidth_factor=3, min_bandwidth=1e-3, min_points_in_model = n_edges + 1. NAS-Bench-201's
    `exps/algos/BOHB.py` ran hpbandster with eta=3, min_budget=12, max_budget=200, num_samples=4,
    random_fraction=0, min_bandwidth=0.3, but its worker ignored the budget and always returned the
    12-epoch-schedule result; here every rung is evaluated at its own fidelity.

    Deviations from hpbandster, all in the KDE: (1) bandwidths come from per-column leave-one-out
    likelihood, not statsmodels' normal reference rule 1.06 * std * n^(-1/(4+d)): on category codes that
    rule depends on the arbitrary order of the ops and, for 5 ops, exceeds the uniform kernel unless a
    column is nearly constant (statsmodels then gives the datum's own category *less* weight than the
    others, so l and g carry no or inverted information); (2) the kernel uses the space's op count
    (statsmodels counts the distinct values in the data); (3) candidates are drawn from that kernel with
    bandwidth_factor applied to every bandwidth, as the paper's Algorithm 2 says (hpbandster widens only
    continuous ones and redraws categories uniformly with probability bw). As in statsmodels, l(x) and
    g(x) are means of products of kernel weights, not sums of their logs; a uniform column weighs
    every category exactly alike, so candidates that differ only there tie, and the first one drawn is
    proposed. min_bandwidth must keep a product of n_edges weights a normal float (2.1e-51 for
    NAS-Bench-201; statsmodels has no such floor, hpbandster's default is 1e-3).
    """

    name = "bohb"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        eta: float = 3,
        min_fidelity: str | None = None,
        max_fidelity: str | None = None,
        top_n_percent: float = 15,
        num_samples: int = 64,
        random_fraction: float = 1 / 3,
        bandwidth_factor: float = 3,
        min_bandwidth: float = 1e-3,
        min_points_in_model: int | None = None,
    ) -> None:
        super().__init__(problem, rng, eta=eta, min_fidelity=min_fidelity, max_fidelity=max_fidelity)
        d = problem.space.n_edges
        _check(
            _real(top_n_percent) and 0 < top_n_percent < 100,
            "top_n_percent must be in (0, 100)",
            top_n_percent,
        )
        _check(
            isinstance(num_samples, int) and num_samples >= 1,
            "num_samples must be an integer >= 1",
            num_samples,
        )
        _check(
            _real(random_fraction) and 0 <= random_fraction <= 1,
            "random_fraction must be in [0, 1]",
            random_fraction,
        )
        _check(
            _real(bandwidth_factor) and 1 <= bandwidth_factor < math.inf,
            "bandwidth_factor must be >= 1",
            bandwidth_factor,
        )
        _check(
            _real(min_bandwidth) and 0 < min_bandwidth < 1, "min_bandwidth must be in (0, 1)", min_bandwidth
        )
        floor = (problem.space.n_ops - 1) * float(np.finfo(np.float64).tiny) ** (1 / d)
        _check(
            min_bandwidth >= floor,
            f"min_bandwidth must be >= {floor:.1e} for {d} edges of {problem.space.n_ops} ops (smaller "
            "kernel weights underflow)",
            min_bandwidth,
        )
        if min_points_in_model is None:
            min_points_in_model = d + 1
        _check(
            isinstance(min_points_in_model, int) and min_points_in_model >= d + 1,
            f"min_points_in_model must be an integer >= n_edges + 1 ({d + 1})",
            min_points_in_model,
        )
        self.top_n_percent = top_n_percent
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.bandwidth_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        self.min_points_in_model = min_points_in_model
        self._results = {f: RungResults(d) for f in self.rungs}
        self._models: dict[Fidelity, tuple[int, RungModel]] = {}  # (n results, model)

    def _observe(self, observation: Observation) -> None:
        results = self._results.get(observation.fidelity)
        if results is not None:
            acc = observation.valid_acc
            results.add(observation.arch.ops, 100.0 - acc if math.isfinite(acc) else math.inf)  # failed: bad

    def model(self) -> RungModel | None:
        """The good and bad KDEs of the largest rung that has enough results, or None."""
        fidelity = self._model_fidelity()
        return None if fidelity is None else self._model(fidelity)

    def _model(self, fidelity: Fidelity) -> RungModel:
        """The model of rung `fidelity`, fitted once per number of results."""
        results = self._results[fidelity]
        cached = self._models.get(fidelity)
        if cached is None or cached[0] != results.n:
            cached = (results.n, self._fit(results, None if cached is None else cached[1]))
            self._models[fidelity] = cached
        return cached[1]

    def _model_fidelity(self) -> Fidelity | None:
        """The largest rung whose results are enough for both KDEs (decided by counts alone, no fit)."""
        for fidelity in reversed(self.rungs):
            if self._split(self._results[fidelity].n) is not None:
                return fidelity
        return None

    def _split(self, n: int) -> tuple[int, int] | None:
        """(n_good, n_bad) for n results, or None when either KDE would have no more rows than columns."""
        if n < self.min_points_in_model:
            return None
        n_good = max(self.min_points_in_model, int(self.top_n_percent * n // 100))
        n_bad = max(self.min_points_in_model, int((100 - self.top_n_percent) * n // 100))
        d = self._problem.space.n_edges
        if min(n_good, n) <= d or min(n_bad, n - n_good) <= d:
            return None
        return n_good, n_bad

    def _fit(self, results: RungResults, previous: RungModel | None) -> RungModel:
        """The rung's model; a KDE of `previous` is kept where its rows are the same results (a new
        result outside the good set leaves l as it was: the same data gives the same KDE)."""
        split = self._split(results.n)
        assert split is not None  # callers fit only rungs chosen by _model_fidelity
        n_good, n_bad = split
        order = np.argsort(results.losses, kind="stable")
        good_rows, bad_rows = order[:n_good], order[n_good : n_good + n_bad]
        good_key, bad_key = good_rows.tobytes(), bad_rows.tobytes()
        c = self._problem.space.n_ops
        if previous is not None and previous.good_rows == good_key:
            good = previous.good
        else:
            good = CategoricalKDE(results.ops[good_rows], c, self.min_bandwidth)
        if previous is not None and previous.bad_rows == bad_key:
            bad = previous.bad
        else:
            bad = CategoricalKDE(results.ops[bad_rows], c, self.min_bandwidth)
        return RungModel(good, bad, good_key, bad_key)

    def _sample(self) -> Arch:
        # The uniform draw comes first, so a model that would not be used is never fitted; it is drawn
        # only while a model could be fitted, as before, so the random stream is unchanged.
        fidelity = self._model_fidelity()
        if fidelity is None or self._rng.random() < self.random_fraction:
            return self._problem.space.sample(self._rng)
        model = self._model(fidelity)
        candidates = model.good.sample(self.num_samples, self._rng, self.bandwidth_factor)
        return Arch(tuple(candidates[int(np.argmax(model.ratio(candidates)))].tolist()))


def _real(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check(ok: bool, rule: str, got: object) -> None:
    if isinstance(got, bool) or not ok:
        raise ConfigError(f"bohb: {rule}, got {got!r}")
