from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind
from nasbench_suite.cost_model import PROXY_BATCH
from nasbench_suite.datasets import dataset_info
from nasbench_suite.errors import ConfigError, UnknownNameError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Constraint, Fidelity, Measured, Measurement, Observation, Proposal
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
from nasbench_suite.testing import max_concurrent

F12 = Fidelity.full(12)


def spec(budget: Budget, **kwargs) -> ComparisonSpec:
    return ComparisonSpec(("random",), ("cifar100",), 1, budget, seed=3, **kwargs)


# ------------------------------------------------------------------ simulated workers
def test_one_worker_is_exactly_the_sequential_loop(tiny_store: Store) -> None:
    s = spec(Budget(BudgetKind.SECONDS, 400))
    columns, _ = run_one(tiny_store, s, "rea", "cifar100", 0, strategies.build)
    # the same run by hand: ask, evaluate, tell, until the budget ends
    from nasbench_suite.seeding import run_seed_sequence

    strategy_seq, oracle_seq = run_seed_sequence(3, 0).spawn(2)
    oracle = TabularOracle(tiny_store, "cifar100", s.budget, rng=np.random.default_rng(oracle_seq))
    search = strategies.build("rea", oracle.problem, np.random.default_rng(strategy_seq))
    while True:
        proposal = search.ask()
        try:
            observation = oracle.evaluate(proposal.arch, proposal.fidelity)
        except BudgetExhausted:
            break
        search.tell(proposal, observation)
    assert columns["arch_index"] == oracle.trajectory.arch_index
    assert columns["time_s"] == oracle.trajectory.time_s


def test_parallel_workers_share_one_clock(real_store: Store) -> None:
    budget = Budget(BudgetKind.SECONDS, 12000)
    _, meta1 = run_one(real_store, spec(budget), "random", "cifar10-valid", 0, strategies.build)
    four, meta4 = run_one(real_store, spec(budget, workers=4), "random", "cifar10-valid", 0, strategies.build)
    assert meta4["workers"] == 4 and not meta4["sequential_fallback"]
    times = np.array(four["time_s"])
    assert (np.diff(times) >= 0).all() and times.max() <= 12000  # recorded in finishing order, on one clock
    assert max_concurrent(times - np.array(four["cost_s"]), times) == 4  # never more than 4 at once
    # four workers do about four times the work (each evaluation costs ~1/100 of the budget)
    assert 3.6 < meta4["evaluations"] / meta1["evaluations"] < 4.1


def test_workers_never_overshoot_an_evaluation_budget(tiny_store: Store) -> None:
    _, meta = run_one(
        tiny_store,
        spec(Budget(BudgetKind.EVALUATIONS, 30), workers=4),
        "rea",
        "cifar100",
        0,
        strategies.build,
    )
    assert meta["evaluations"] == 30


def test_strategies_that_cannot_wait_run_one_evaluation_at_a_time(tiny_store: Store) -> None:
    assert not strategies.registry.strategy_class("local_search").asynchronous
    columns, meta = run_one(
        tiny_store,
        spec(Budget(BudgetKind.SECONDS, 300), workers=4),
        "local_search",
        "cifar100",
        0,
        strategies.build,
    )
    assert meta["workers"] == 1 and meta["sequential_fallback"]
    assert np.allclose(columns["time_s"], np.cumsum(columns["cost_s"]))


def test_workers_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="workers must be a whole number >= 1"):
        spec(Budget(BudgetKind.EVALUATIONS, 3), workers=0)


# ------------------------------------------------------------------ measurements
def test_measurements_are_free_except_zero_cost_proxies(real_store: Store) -> None:
    oracle = TabularOracle(
        real_store, "cifar10-valid", Budget(BudgetKind.EVALUATIONS, 2), rng=np.random.default_rng(0)
    )
    assert "hw_latency_ms/pixel3" in oracle.problem.measurable and "zc_naswot" in oracle.problem.measurable
    assert not any("acc" in m for m in oracle.problem.measurable)
    arch = real_store.arch(11)
    latency = oracle.measure(arch, "hw_latency_ms/pixel3")
    assert isinstance(latency, Measured) and latency.cost_s == 0.0
    assert latency.value == real_store.query(11, "cifar10-valid", "hw_latency_ms/pixel3")
    proxy = oracle.measure(arch, "zc_naswot")
    per_epoch = real_store.query(11, "cifar10-valid", "train_time_s", epochs=12) / 12
    assert proxy.cost_s == pytest.approx(per_epoch * PROXY_BATCH / dataset_info("cifar10-valid").n_train / 3)
    assert oracle.spent.seconds == pytest.approx(proxy.cost_s) and oracle.spent.evaluations == 0
    for _ in range(2):  # measurements do not use up an evaluation budget
        oracle.evaluate(arch, F12)
    t = oracle.trajectory
    assert t.epoch == [0, 0, 12, 12] and t.measure == ["hw_latency_ms/pixel3", "zc_naswot", "", ""]
    assert np.isnan(t.valid_seen[0]) and t.measured_value[1] == proxy.value


def test_a_proxy_that_does_not_fit_the_time_budget_ends_the_search(real_store: Store) -> None:
    oracle = TabularOracle(
        real_store, "cifar10-valid", Budget(BudgetKind.SECONDS, 0.01), rng=np.random.default_rng(0)
    )
    assert oracle.measure(real_store.arch(1), "flops_m").cost_s == 0.0
    with pytest.raises(BudgetExhausted):
        oracle.measure(real_store.arch(1), "zc_zen")


def test_unknown_measurements_and_devices_name_what_exists(real_store: Store) -> None:
    oracle = TabularOracle(
        real_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 2), rng=np.random.default_rng(0)
    )
    with pytest.raises(
        UnknownNameError, match="unknown metric 'test_acc' for measurement on cifar100; valid: flops_m"
    ):
        oracle.measure(real_store.arch(1), "test_acc")
    with pytest.raises(
        UnknownNameError, match="unknown device 'rpi5' for --constraint on cifar10-valid; valid: 1080ti_1"
    ):
        TabularOracle(
            real_store,
            "cifar10-valid",
            Budget(BudgetKind.EVALUATIONS, 2),
            rng=np.random.default_rng(0),
            constraint=Constraint("hw_latency_ms/rpi5", 3),
        )


# ------------------------------------------------------------------ constraints
def test_the_incumbent_is_the_best_feasible_arch(tiny_store: Store) -> None:
    # tiny store: params_mb = 0.1 * index, validation accuracy grows with the index
    oracle = TabularOracle(
        tiny_store,
        "cifar10-valid",
        Budget(BudgetKind.EVALUATIONS, 5),
        rng=np.random.default_rng(0),
        noise="mean",
        constraint=Constraint("params_mb", 1.0),
    )
    assert oracle.problem.constraint == Constraint("params_mb", 1.0)
    for index in (20, 5, 25, 8):
        oracle.evaluate(tiny_store.arch(index), F12)
    t = oracle.trajectory
    assert t.incumbent_index == [-1, 5, 5, 8]
    assert np.isnan(t.incumbent_test[0]) and t.incumbent_test[1:] == [75.0, 75.0, 78.0]


def test_requests_and_results_have_the_documented_types(tiny_store: Store) -> None:
    oracle = TabularOracle(
        tiny_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 5), rng=np.random.default_rng(0)
    )
    pending = oracle.start(Proposal(tiny_store.arch(3), F12), at_s=100.0)
    assert pending.finish_s == pytest.approx(100.0 + pending.cost_s)
    result = oracle.finish(pending)
    assert isinstance(result, Observation) and result.time_s == pending.finish_s
    with pytest.raises(
        UnknownNameError, match=r"valid: $"
    ):  # the tiny store has no static metric on cifar100
        oracle.start(Measurement(tiny_store.arch(3), "params_mb"), 0.0)
