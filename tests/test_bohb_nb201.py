"""NAS-Bench-201's BOHB loop (reproduction only): hpbandster's budgets and brackets, the worker that
charges every evaluation as a 12-epoch one, the top-budget incumbent, statsmodels' KDE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.datasets import validation_epoch_fraction
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity
from nasbench_suite.reproduction.hpbandster_bohb import (
    HpBandSterBOHB,
    ReferenceKDE,
    bracket_plan,
    budget_fidelities,
    hpbandster_budgets,
)
from nasbench_suite.reproduction.nb201_worker import Nb201Worker
from nasbench_suite.reproduction.run import build
from nasbench_suite.runner import drive
from nasbench_suite.store import Store

BUDGETS = budget_fidelities(hpbandster_budgets(3, 12, 200))
LOW, MID, TOP = BUDGETS


def test_hpbandsters_budgets_and_brackets_for_12_to_200() -> None:
    assert hpbandster_budgets(3, 12, 200) == pytest.approx((200 / 9, 200 / 3, 200.0), rel=1e-12)
    assert (Fidelity(22, 200), Fidelity(66, 200), Fidelity(200, 200)) == BUDGETS
    assert [bracket_plan(k, 3, 3) for k in range(6)] == [(9, 3, 1), (3, 1), (3,)] * 2
    # 1..27 with eta 3: four budgets and hpbandster's own sizes (3 configs, not Li et al.'s 5, in bracket 1)
    assert hpbandster_budgets(3, 1, 27) == pytest.approx((1, 3, 9, 27))
    assert [bracket_plan(k, 4, 3) for k in range(4)] == [(27, 9, 3, 1), (9, 3, 1), (6, 2), (4,)]


def _worker(store: Store, seconds: float, seed: int) -> Nb201Worker:
    table = TabularOracle(
        store, "cifar10-valid", Budget(BudgetKind.SECONDS, seconds), rng=np.random.default_rng(seed)
    )
    return Nb201Worker(table, BUDGETS)


def _cost(store: Store, index: int) -> float:
    """The tiny store's 12-epoch price: 12 epochs of (1 + index / 10) s plus one validation pass."""
    per_epoch = 1 + index / 10
    return 12 * per_epoch + per_epoch * validation_epoch_fraction("cifar10-valid")


def _search(store: Store, seconds: float, seed: int) -> tuple[Nb201Worker, HpBandSterBOHB]:
    worker = _worker(store, seconds, seed)
    bohb = HpBandSterBOHB(worker.problem, np.random.default_rng(seed), min_bandwidth=0.3, num_samples=4)
    drive(bohb, worker)
    return worker, bohb


def test_brackets_run_one_after_another_with_the_stage_sizes_and_budgets(tiny_store: Store) -> None:
    worker, bohb = _search(tiny_store, 1e6, seed=1)
    traj = worker.trajectory
    n = len(traj)
    assert n > 60
    expected: list[Fidelity] = []
    for sizes in bohb.brackets:
        first = 3 - len(sizes)
        for i, size in enumerate(sizes):
            expected += [BUDGETS[first + i]] * size
    assert worker.charged_at == expected[:n]
    assert bohb.brackets[:4] == [(9, 3, 1), (3, 1), (3,), (9, 3, 1)]


def test_promotions_keep_the_best_and_re_evaluate_at_the_full_12_epoch_price(tiny_store: Store) -> None:
    worker, _ = _search(tiny_store, 1e6, seed=2)
    traj = worker.trajectory
    # every evaluation, whatever its budget, is recorded and charged as the 12-epoch one it is
    assert set(traj.epoch) == {12} and set(traj.schedule) == {12}
    for index, cost in zip(traj.arch_index, traj.cost_s, strict=True):
        assert cost == pytest.approx(_cost(tiny_store, index), rel=1e-12)
    assert worker.spent.seconds == pytest.approx(sum(traj.cost_s), rel=1e-12)
    # the first bracket: 9 configs at 22, the best 3 (valid_acc@12 = 30 + index) again at 66, the best at 200
    first9, next3, top1 = traj.arch_index[:9], traj.arch_index[9:12], traj.arch_index[12]
    ranked = sorted(range(9), key=lambda k: (-first9[k], k))[:3]
    assert next3 == [first9[k] for k in sorted(ranked)]  # re-run in config order
    assert top1 == max(next3)
    assert [traj.valid_seen[k] for k in range(9, 12)] == [30.0 + a for a in next3]
    # 13 evaluations, at most 9 distinct archs: promotions are paid again
    assert len(set(traj.arch_index[:13])) <= 9


def test_the_incumbent_comes_from_top_budget_runs_only(tiny_store: Store) -> None:
    differs = 0
    for seed in range(12):
        worker, _ = _search(tiny_store, 700.0, seed)  # ends inside a bracket
        traj = worker.trajectory
        for k in range(len(traj)):
            top = [traj.arch_index[j] for j in range(k + 1) if worker.charged_at[j] == TOP]
            best_top = max(top, key=lambda a: 30.0 + a) if top else -1
            assert traj.incumbent_index[k] == best_top
        best_seen = max(traj.arch_index)
        differs += traj.incumbent_index[-1] != best_seen
    assert differs > 0  # some runs end before their best arch reached the top budget


def test_no_incumbent_before_the_first_top_budget_run(tiny_store: Store) -> None:
    worker, _ = _search(tiny_store, 9 * _cost(tiny_store, 26) + 1, seed=0)  # room for ~9-10 evaluations
    assert len(worker.trajectory) >= 9 and TOP not in worker.charged_at
    assert set(worker.trajectory.incumbent_index) == {-1}
    assert all(math.isnan(v) for v in worker.trajectory.incumbent_test)


def test_the_kde_is_statsmodels_with_the_normal_reference_bandwidth_on_codes() -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(5, size=(9, 6)).astype(float)
    data[:, 5] = [0, 0, 0, 0, 0, 0, 0, 0, 3]  # a column with two levels
    mine = ReferenceKDE(data, 0.3)
    ref = sm.nonparametric.KDEMultivariate(data=data, var_type="u" * 6, bw="normal_reference")
    ref.bw = np.clip(ref.bw, 0.3, None)
    np.testing.assert_allclose(mine.bw, ref.bw, rtol=1e-12)
    for x in rng.integers(5, size=(20, 6)).astype(float):
        assert mine.pdf(x) == pytest.approx(float(ref.pdf(x)), rel=1e-10, abs=1e-300)
    # on uniform codes of 5 ops the bandwidth is above the uniform kernel's 0.8 (so proposals are random)
    wide = ReferenceKDE(rng.integers(5, size=(200, 6)).astype(float), 0.3)
    assert (wide.bw > 0.8).all()


def test_the_reproduction_strategy_is_not_the_suites_bohb() -> None:
    assert "bohb-nb201" not in strategies.names()
    assert strategies.registry.strategy_class("bohb").__name__ == "BOHB"


def test_the_reproduction_factory_builds_both(tiny_store: Store) -> None:
    worker = _worker(tiny_store, 1000.0, 0)
    assert isinstance(build("bohb-nb201", worker.problem, np.random.default_rng(0), {}), HpBandSterBOHB)
    table = TabularOracle(
        tiny_store, "cifar10-valid", Budget(BudgetKind.SECONDS, 1000.0), rng=np.random.default_rng(0)
    )
    assert type(build("bohb", table.problem, np.random.default_rng(0), {})).__name__ == "BOHB"
