from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind
from nasbench_suite.datasets import validation_epoch_fraction
from nasbench_suite.errors import ConfigError, UnknownNameError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity, Observation
from nasbench_suite.store import Store
from nasbench_suite.trajectory import step_at, value_at

F12, F200 = Fidelity.full(12), Fidelity.full(200)


def oracle(
    store: Store, budget: Budget, *, dataset: str = "cifar100", noise: str = "random", seed: int = 0
) -> TabularOracle:
    return TabularOracle(store, dataset, budget, rng=np.random.default_rng(seed), noise=noise)


def test_cost_is_epochs_times_per_epoch_time_plus_a_validation_pass(tiny_store: Store) -> None:
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 10))
    arch = tiny_store.arch(5)  # per-epoch time 1.5 s
    obs = o.evaluate(arch, F12)
    assert obs.cost_s == pytest.approx(1.5 * 12 + 1.5 * validation_epoch_fraction("cifar100"), rel=1e-12)
    assert o.evaluate(arch, F200).cost_s == pytest.approx(1.5 * (200 + 5_000 / 50_000 / 3), rel=1e-12)


def test_validation_pass_approximation_is_close_on_the_real_sample_archs(real_store: Store) -> None:
    # measured x-valid pass times of the official records (cifar10-valid, archs 11 and 284)
    measured = {11: 4.151251713434855, 284: 2.389}
    for index, seconds in measured.items():
        per_epoch = real_store.query(index, "cifar10-valid", "train_time_s", epochs=200) / 200
        approx = per_epoch * validation_epoch_fraction("cifar10-valid")
        assert abs(approx - seconds) < 0.8  # under 1.3% of a 12-epoch evaluation of these archs


def test_time_budget_overshoot_is_not_counted(tiny_store: Store) -> None:
    o = oracle(tiny_store, Budget(BudgetKind.SECONDS, 100))
    arch = tiny_store.arch(0)  # 12 epochs + pass = 12.033 s
    costs = [o.evaluate(arch, F12).cost_s for _ in range(8)]
    with pytest.raises(BudgetExhausted):
        o.evaluate(arch, F12)
    assert len(costs) == 8 and sum(costs) <= 100 < sum(costs) + costs[0]
    assert o.spent.seconds == pytest.approx(sum(costs)) and len(o.trajectory) == 8


def test_evaluation_and_epoch_budgets(tiny_store: Store) -> None:
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 3))
    for _ in range(3):
        o.evaluate(tiny_store.arch(1), F200)
    with pytest.raises(BudgetExhausted):
        o.evaluate(tiny_store.arch(1), F12)
    o = oracle(tiny_store, Budget(BudgetKind.EPOCHS, 230))
    o.evaluate(tiny_store.arch(1), F200)
    o.evaluate(tiny_store.arch(1), F12)
    with pytest.raises(BudgetExhausted):
        o.evaluate(tiny_store.arch(1), F200)
    o.evaluate(tiny_store.arch(1), F12)  # a cheaper one still fits: 224 epochs
    assert o.spent.epochs == 224


@pytest.mark.parametrize("limit", [0, -5, float("nan"), float("inf")])
def test_budgets_must_be_positive_and_finite(limit: float) -> None:
    with pytest.raises(ConfigError, match="positive finite"):
        Budget(BudgetKind.SECONDS, limit)


def test_random_noise_draws_existing_seeds_and_mean_noise_gives_the_mean(tiny_store: Store) -> None:
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1000), seed=1)
    odd, even = tiny_store.arch(3), tiny_store.arch(4)
    assert {o.evaluate(odd, F200).valid_acc for _ in range(50)} == {53.0}  # seed 8 missing: only seed 7
    seen = [o.evaluate(even, F200).valid_acc for _ in range(400)]
    assert set(seen) == {54.0, 56.0} and abs(seen.count(54.0) - 200) < 5 * 10
    m = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 10), noise="mean")
    assert m.evaluate(even, F200).valid_acc == 55.0


def test_random_noise_falls_back_to_the_mean_where_only_means_exist(tiny_store: Store) -> None:
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 10))
    assert o.noise_fallback_fidelities() == [F12]
    assert o.evaluate(tiny_store.arch(2), F12).valid_acc == 32.0
    assert o.noise_fallbacks == {F12}
    o.evaluate(tiny_store.arch(2), F200)
    assert o.noise_fallbacks == {F12}
    assert (
        oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), noise="mean").noise_fallback_fidelities() == []
    )


def test_strategies_see_no_test_metric(tiny_store: Store) -> None:
    fields = {f.name for f in dataclasses.fields(Observation)}
    assert fields == {"arch", "fidelity", "valid_acc", "cost_s", "time_s"}
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 5))
    assert not any("test" in name for name in vars(o.problem))


def test_incumbent_is_best_validation_seen_and_reports_200_epoch_test(tiny_store: Store) -> None:
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 10), dataset="cifar10-valid", noise="mean")
    for index in (4, 9, 2):
        o.evaluate(tiny_store.arch(index), F12)
    t = o.trajectory
    assert t.incumbent_index == [4, 9, 9]
    assert t.incumbent_test == [74.0, 79.0, 79.0]  # reported on cifar10, not cifar10-valid
    assert o.report_dataset == "cifar10"
    assert t.incumbent_valid == [
        55.0,
        59.0,
        59.0,
    ]  # 200-epoch seed means on cifar10-valid (9 has seed 7 only)


def test_bad_requests_fail_clearly(tiny_store: Store) -> None:
    with pytest.raises(ConfigError, match="cannot search on 'cifar10'"):
        oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), dataset="cifar10")
    with pytest.raises(UnknownNameError, match="unknown dataset 'svhn'"):
        oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), dataset="svhn")
    with pytest.raises(ConfigError, match="noise must be one of random, mean"):
        oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), noise="loud")
    with pytest.raises(UnknownNameError, match="unknown schedule"):
        TabularOracle(
            tiny_store,
            "cifar100",
            Budget(BudgetKind.EVALUATIONS, 1),
            rng=np.random.default_rng(0),
            schedule=90,
        )
    o = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1))
    with pytest.raises(UnknownNameError, match="unknown fidelity"):
        o.evaluate(tiny_store.arch(0), Fidelity(50, 200))


def test_value_at_interpolates_the_two_nearest_points_as_nats_bench() -> None:
    times, values = np.array([10.0, 20.0, 40.0]), np.array([1.0, 2.0, 4.0])
    assert value_at(times, values, 30.0) == pytest.approx(3.0)  # between 20 and 40
    assert value_at(times, values, 21.0) == pytest.approx(2.1)  # nearest: 20 and 10, extrapolated
    assert value_at(times, values, 50.0) == pytest.approx(5.0)  # both nearest on one side: extrapolates
    assert value_at(times[:1], values[:1], 99.0) == 1.0
    assert step_at(times, values, 39.9) == 2.0 and np.isnan(step_at(times, values, 5.0))
