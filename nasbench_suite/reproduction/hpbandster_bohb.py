"""BOHB as NAS-Bench-201 ran it: hpbandster's loop and KDE, quirks included (reproduction only).

NAS-Bench-201's `exps/algos/BOHB.py` (AutoDL-Projects at commit bb2f405) runs hpbandster's BOHB with
eta=3, min_budget=12, max_budget=200, num_samples=4, random_fraction=0, bandwidth_factor=3 and
min_bandwidth=0.3, on a ConfigSpace of one categorical per edge. This module reproduces that loop,
including what makes it differ from BOHB as the paper describes it (the suite's `strategies/bohb.py`):

- budgets (hpbandster's `HB_master`): max_SH_iter = 1 - int(log(min/max) / log(eta)) = 3 and budgets
  max * eta^-(2, 1, 0) = 22.2, 66.7, 200; iteration k runs bracket s = 2 - k % 3 with
  n0 = floor(3 / (s + 1)) * eta^s configs and stage sizes max(int(n0 eta^-i), 1): 9/3/1, 3/1, 3;
- one worker: brackets run one after another, new configs are drawn lazily when a stage needs one, a
  stage's results are promoted when all are in (the best by loss, ties to the earlier config) and
  promoted configs are re-run in config order (`SuccessiveHalving`);
- the model (`config_generators/bohb.py`): results are kept per budget, and not at all for budgets below
  the largest one that has a model; a budget is modelled from 7 results on (min_points_in_model = d + 1)
  once both halves have more rows than columns: the best max(7, 15% of n) are "good", the next
  max(7, 85% of n) "bad" (losses sorted stably); each is statsmodels' `KDEMultivariate` with var_type
  'u' and the normal-reference bandwidth 1.06 * std(codes) * n^(-1/(4 + d)) computed on the category
  *codes*, clipped below at min_bandwidth and not above, so for 5 ops it is at or above the uniform
  kernel's 0.8 (an Aitchison-Aitken kernel with bw > 0.8 gives the datum's own category less weight
  than the others; statsmodels counts the levels present in the data);
- proposals: from the largest budget's model, num_samples draws that keep each of a random good datum's
  categories with probability 1 - max(bw, min_bandwidth) and otherwise take a uniform category (so with
  bw >= 0.8 they are nearly uniform); the draw minimising max(1e-32, g) / max(l, 1e-32) is proposed, a
  non-finite ratio with a finite l(x) is taken at once; random configs while no model exists.

The worker's quirks (the 12-epoch result at the full 12-epoch cost whatever the budget, and the
incumbent from top-budget runs only) are `nb201_worker.Nb201Worker`'s: this strategy asks for the
budgets hpbandster asks for, as `budget_fidelities` (epochs of the 200-epoch schedule, rounded down).

Deviations: numpy's Generator instead of numpy's global RNG; losses sorted stably (numpy's default sort
is stable for the small arrays hpbandster's promotions sort, not for the model's); the KDE is a numpy
transcription of statsmodels' (tests compare it with statsmodels) so that runs do not pay its per-call
overhead; no conditional hyperparameters, so hpbandster's imputation never applies.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import BaseStrategy, Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch


# ---------------------------------------------------------------- hpbandster's budgets and brackets
def hpbandster_budgets(eta: float, min_budget: float, max_budget: float) -> tuple[float, ...]:
    """HB_master: max * eta^-(S-1 .. 0) with S = 1 - int(log(min / max) / log(eta)) (12..200, eta 3:
    22.2, 66.7, 200)."""
    s = -int(np.log(min_budget / max_budget) / np.log(eta)) + 1
    return tuple(float(b) for b in max_budget * np.power(eta, -np.linspace(s - 1, 0, s)))


def bracket_plan(iteration: int, n_budgets: int, eta: float) -> tuple[int, ...]:
    """BOHB.get_next_iteration: stage sizes of hpbandster iteration `iteration` (9/3/1, 3/1, 3, ...)."""
    s = n_budgets - 1 - (iteration % n_budgets)
    n0 = int(np.floor(n_budgets / (s + 1)) * eta**s)
    return tuple(max(int(n0 * (eta ** (-i))), 1) for i in range(s + 1))


def budget_fidelities(budgets: tuple[float, ...]) -> tuple[Fidelity, ...]:
    """How the budgets are written as fidelities: epochs of the max budget's schedule, rounded down."""
    top = round(budgets[-1])
    return tuple(Fidelity(int(b + 1e-9), top) for b in budgets)


# ---------------------------------------------------------------- statsmodels' KDE, as hpbandster fits it
class ReferenceKDE:
    """statsmodels `KDEMultivariate(data, var_type='u' * d, bw='normal_reference')` with hpbandster's
    `bw = clip(bw, min_bandwidth, None)`: Aitchison-Aitken kernels whose level count is the number of
    distinct values of each data column."""

    def __init__(self, data: np.ndarray, min_bandwidth: float) -> None:
        self.data = np.asarray(data, dtype=np.float64)
        n, d = self.data.shape
        self.bw = np.clip(1.06 * self.data.std(axis=0) * n ** (-1.0 / (4 + d)), min_bandwidth, None)
        self.levels = np.array([len(np.unique(self.data[:, j])) for j in range(d)], dtype=np.float64)

    def pdf(self, x: np.ndarray) -> float:
        """statsmodels' `pdf(x)`: the mean over the data of the product of the kernels."""
        with np.errstate(divide="ignore", invalid="ignore"):
            other = self.bw / (self.levels - 1)  # inf where a column has a single level
            k = np.where(self.data == np.asarray(x, dtype=np.float64)[None, :], 1 - self.bw, other)
            return float(k.prod(axis=1).sum() / len(self.data))


# ---------------------------------------------------------------- the loop
class _Stage:
    """The configs of one successive-halving stage: (config id, arch) in config order."""

    def __init__(self, budget: int, size: int) -> None:
        self.budget, self.size = budget, size
        self.queued: deque[tuple[int, Arch]] = deque()
        self.results: list[tuple[int, Arch, float]] = []


class HpBandSterBOHB(BaseStrategy):
    """hpbandster's BOHB as NAS-Bench-201's BOHB.py runs it (see the module docstring); one worker."""

    name = "bohb-nb201"
    asynchronous = False  # one worker, as NAS-Bench-201 ran it: asked only when nothing is pending

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        eta: float = 3,
        min_budget: float = 12,
        max_budget: float = 200,
        top_n_percent: int = 15,
        num_samples: int = 4,
        random_fraction: float = 0.0,
        min_bandwidth: float = 0.3,
    ) -> None:
        self.budgets = hpbandster_budgets(eta, min_budget, max_budget)
        self.fidelities = budget_fidelities(self.budgets)
        if tuple(problem.fidelities) != self.fidelities:
            raise ConfigError(
                f"bohb-nb201: the oracle must offer hpbandster's budgets {', '.join(map(str, self.fidelities))} "
                f"(NAS-Bench-201's BOHB worker), got {', '.join(map(str, problem.fidelities))}"
            )
        if not (isinstance(num_samples, int) and num_samples >= 1):
            raise ConfigError(f"bohb-nb201: num_samples must be an integer >= 1, got {num_samples!r}")
        self.eta = eta
        self.top_n_percent = top_n_percent
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.min_bandwidth = min_bandwidth
        self.min_points_in_model = problem.space.n_edges + 1
        self._problem, self._rng = problem, rng
        self._iteration = 0
        self._stages: list[_Stage] = []
        self._to_sample = 0
        self._next_id = 0
        self._job: tuple[int, Arch, int] | None = None  # (config id, arch, budget index) outstanding
        self._data: dict[int, tuple[list[tuple[int, ...]], list[float]]] = {}
        self._models: dict[int, tuple[ReferenceKDE, ReferenceKDE]] = {}
        self.brackets: list[tuple[int, ...]] = []  # the stage sizes of every bracket started (for tests)

    # ------------------------------------------------------------ ask / tell
    def ask(self) -> Proposal:
        if not self._stages:
            self._start_bracket()
        stage = self._stages[0]
        level = len(self.budgets) - len(self._stages)
        if self._to_sample:
            self._to_sample -= 1
            config_id, arch = self._next_id, self._sample()
            self._next_id += 1
        else:
            config_id, arch = stage.queued.popleft()
        self._job = (config_id, arch, level)
        return Proposal(arch, self.fidelities[level])

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        if self._job is None or proposal.arch != self._job[1]:
            return  # nothing outstanding: a tell nobody asked for
        config_id, arch, level = self._job
        self._job = None
        acc = observation.valid_acc
        loss = 100.0 - acc if math.isfinite(acc) else math.inf
        self._new_result(level, arch, loss)
        stage = self._stages[0]
        stage.results.append((config_id, arch, loss))
        if len(stage.results) == stage.size:
            self._advance()

    # ------------------------------------------------------------ brackets
    def _start_bracket(self) -> None:
        sizes = bracket_plan(self._iteration, len(self.budgets), self.eta)
        self._iteration += 1
        self.brackets.append(sizes)
        first = len(self.budgets) - len(sizes)
        self._stages = [_Stage(first + i, n) for i, n in enumerate(sizes)]
        self._to_sample = sizes[0]

    def _advance(self) -> None:
        """SuccessiveHalving.process_results: the best `next.size` by loss (ties to the earlier config,
        as `argsort(argsort(losses))` on these small arrays) go on, in config order."""
        done = self._stages.pop(0)
        if not self._stages:
            return
        nxt = self._stages[0]
        losses = np.array([loss for _, _, loss in done.results])
        ranks = np.argsort(np.argsort(losses, kind="stable"), kind="stable")
        nxt.queued.extend(
            (cid, arch) for (cid, arch, _), r in zip(done.results, ranks, strict=True) if r < nxt.size
        )

    # ------------------------------------------------------------ the model
    def _new_result(self, level: int, arch: Arch, loss: float) -> None:
        if max([*self._models, -1]) > level:
            return  # hpbandster keeps no results below a budget that has a model
        archs, losses = self._data.setdefault(level, ([], []))
        archs.append(arch.ops)
        losses.append(loss)
        n, d = len(archs), self._problem.space.n_edges
        if n <= self.min_points_in_model - 1:
            return
        n_good = max(self.min_points_in_model, (self.top_n_percent * n) // 100)
        n_bad = max(self.min_points_in_model, ((100 - self.top_n_percent) * n) // 100)
        order = np.argsort(np.asarray(losses), kind="stable")
        x = np.asarray(archs, dtype=np.float64)
        good, bad = x[order[:n_good]], x[order[n_good : n_good + n_bad]]
        if len(good) <= d or len(bad) <= d:
            return
        self._models[level] = (ReferenceKDE(good, self.min_bandwidth), ReferenceKDE(bad, self.min_bandwidth))

    def _sample(self) -> Arch:
        space = self._problem.space
        if not self._models or self._rng.random() < self.random_fraction:
            return space.sample(self._rng)
        good, bad = self._models[max(self._models)]
        best, best_vector = math.inf, None
        for _ in range(self.num_samples):
            datum = good.data[self._rng.integers(len(good.data))]
            keep = self._rng.random(len(datum)) < 1 - np.maximum(good.bw, self.min_bandwidth)
            vector = np.where(keep, datum, self._rng.integers(space.n_ops, size=len(datum)))
            lx = good.pdf(vector)
            val = max(1e-32, bad.pdf(vector)) / max(lx, 1e-32)
            if not math.isfinite(val) and math.isfinite(lx):
                best_vector = vector
                break
            if val < best:
                best, best_vector = val, vector
        if best_vector is None:
            return space.sample(self._rng)
        return Arch(tuple(int(v) for v in best_vector))
