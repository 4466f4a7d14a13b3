"""The oracle's rules, each on data that can tell the rule from its nearest wrong variant.

Every value is written here by hand (not computed by the code under test): ties where the tie-break
matters, a boundary value exactly at the constraint, a measured validation time that differs from the
fallback, learning curves whose points differ, and trajectories that are not on one line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.budget import MEASUREMENT_LIMIT, Budget, BudgetExhausted, BudgetKind, Spent
from nasbench_suite.errors import StoreError, UnknownNameError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Constraint, Fidelity
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store, StoreBuilder, TableSpec
from nasbench_suite.trajectory import Incumbent, step_at, value_at

SPACE = CellSpace(("none", "skip_connect"), 3)  # 3 edges, 8 cells; index k holds the cell of code k
DS = "cifar10-valid"
# per arch index: 12-epoch valid curve at epochs 4 and 12 (mean only), 200-epoch valid, test, params
CURVE_4 = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
CURVE_12 = [40.0, 40.0, 45.0, 38.0, 41.0, 47.0, 39.0, float("nan")]  # archs 0 and 1 tie; 7 has no value
PER_EPOCH_S = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
VALID_PASS_S = [0.5, float("nan"), 0.25, 0.5, 0.5, 0.5, 0.5, 0.5]  # arch 1: not measured
PARAMS = [1.0, 2.0, 3.0, 1.5, 0.5, 1.5, 2.5, 3.5]


def _store(path: Path) -> Store:
    archs = list(SPACE.enumerate())
    n = len(archs)
    builder = StoreBuilder(
        SPACE, np.array([a.ops for a in archs], dtype=np.int8), provenance={"importer": "test"}
    )
    curve = np.stack([CURVE_4, CURVE_12], axis=1).reshape(n, 1, 2)
    builder.add(TableSpec(DS, "valid_acc", 12, (), (4, 12)), curve)
    builder.add(TableSpec(DS, "train_time_s", 12, (), (12,)), (np.array(PER_EPOCH_S) * 12).reshape(n, 1, 1))
    builder.add(TableSpec(DS, "valid_time_s", 12, (), (12,)), np.array(VALID_PASS_S).reshape(n, 1, 1))
    builder.add(TableSpec(DS, "valid_acc", 200, (), (200,)), np.arange(60.0, 68.0).reshape(n, 1, 1))
    builder.add(TableSpec("cifar10", "test_acc", 200, (), (200,)), np.arange(70.0, 78.0).reshape(n, 1, 1))
    builder.add(TableSpec(DS, "params_mb"), np.array(PARAMS))
    builder.add(TableSpec(DS, "hw_latency_ms/pixel3"), np.array(PARAMS) * 10)
    builder.add(TableSpec(DS, "zc_synflow"), np.arange(8.0))
    # a second search dataset: its own times, and a 1-epoch schedule without times listed first
    im = "ImageNet16-120"
    builder.add(TableSpec(im, "valid_acc", 1, (), (1,)), np.full((n, 1, 1), 5.0))
    builder.add(TableSpec(im, "valid_acc", 12, (), (12,)), np.arange(20.0, 28.0).reshape(n, 1, 1))
    builder.add(TableSpec(im, "train_time_s", 12, (), (12,)), (np.array(PER_EPOCH_S) * 120).reshape(n, 1, 1))
    builder.add(TableSpec(im, "valid_acc", 200, (), (200,)), np.arange(30.0, 38.0).reshape(n, 1, 1))
    builder.add(TableSpec(im, "test_acc", 200, (), (200,)), np.arange(40.0, 48.0).reshape(n, 1, 1))
    return Store(builder.write(path / "rules"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return _store(tmp_path)


def _oracle(store: Store, budget: Budget | None = None, **kw) -> TabularOracle:
    budget = budget or Budget(BudgetKind.EVALUATIONS, 100)
    return TabularOracle(store, DS, budget, rng=np.random.default_rng(0), noise="mean", **kw)


def arch(index: int) -> Arch:
    return list(SPACE.enumerate())[index]


F12, F4 = Fidelity(12, 12), Fidelity(4, 12)


def test_the_first_arch_keeps_the_incumbency_on_a_tie(store: Store) -> None:
    o = _oracle(store)
    o.evaluate(arch(1), F12)  # 40.0
    o.evaluate(arch(0), F12)  # 40.0 too: a tie, so arch 1 stays
    assert o.trajectory.incumbent_index == [1, 1]
    assert o.trajectory.incumbent_test == [71.0, 71.0]


def test_arch_index_zero_is_an_incumbent_like_any_other(store: Store) -> None:
    o = _oracle(store)
    o.evaluate(arch(0), F12)
    assert o.trajectory.incumbent_index == [0]
    assert o.trajectory.incumbent_valid_seen == [40.0]
    assert (o.trajectory.incumbent_valid, o.trajectory.incumbent_test) == ([60.0], [70.0])
    o.evaluate(arch(3), F12)  # 38.0 < 40.0: arch 0 stays
    assert o.trajectory.incumbent_index == [0, 0]


def test_an_arch_exactly_at_the_constraint_limit_is_feasible(store: Store) -> None:
    o = _oracle(store, constraint=Constraint("params_mb", 1.5))
    o.evaluate(arch(2), F12)  # 45.0 but 3.0 MB: infeasible, no incumbent
    assert o.trajectory.incumbent_index == [-1]
    assert math.isnan(o.trajectory.incumbent_valid_seen[0])
    o.evaluate(arch(3), F12)  # 38.0 at exactly 1.5 MB
    o.evaluate(arch(5), F12)  # 47.0 at exactly 1.5 MB: better, also feasible
    assert o.trajectory.incumbent_index == [-1, 3, 5]


def test_a_partial_fidelity_reads_its_own_curve_point_and_pays_its_own_epochs(store: Store) -> None:
    o = _oracle(store)
    early = o.evaluate(arch(2), F4)
    full = o.evaluate(arch(2), F12)
    assert (early.valid_acc, full.valid_acc) == (12.0, 45.0)
    assert early.cost_s == 3.0 * 4 + 0.25  # four epochs and the measured validation pass
    assert full.cost_s == 3.0 * 12 + 0.25
    assert o.spent.epochs == 16


def test_the_measured_validation_pass_is_charged_and_the_fallback_only_where_it_is_missing(
    store: Store,
) -> None:
    o = _oracle(store)
    assert o.evaluate(arch(0), F12).cost_s == 12.0 + 0.5
    # arch 1 has no measured pass: cifar10-valid's fallback is half an epoch (25k of 50k images, forward only)
    from nasbench_suite.datasets import validation_epoch_fraction

    assert o.evaluate(arch(1), F12).cost_s == pytest.approx(2.0 * 12 + 2.0 * validation_epoch_fraction(DS))
    assert validation_epoch_fraction(DS) not in (0.0, 0.25)


def test_a_missing_value_is_an_error_not_a_nan(store: Store) -> None:
    with pytest.raises(StoreError, match="no cifar10-valid validation accuracy at 12 epochs for arch 7"):
        _oracle(store).evaluate(arch(7), F12)


def test_the_seconds_budget_admits_an_evaluation_that_ends_exactly_at_the_limit(store: Store) -> None:
    o = _oracle(store, Budget(BudgetKind.SECONDS, 24.75))  # arch 0 at 12 epochs, then arch 2 at 4: exactly
    assert o.evaluate(arch(0), F12).cost_s == 12.5
    assert o.evaluate(arch(2), F4).cost_s == 12.25
    assert o.spent.seconds == 24.75
    with pytest.raises(BudgetExhausted):
        o.evaluate(arch(4), F4)  # 20.5 more
    assert len(o.trajectory) == 2


def test_a_measurement_is_recorded_with_its_cost_and_counts_no_epoch_or_evaluation(store: Store) -> None:
    o = _oracle(store, Budget(BudgetKind.SECONDS, 1000.0))
    o.evaluate(arch(2), F4)
    measured = o.measure(arch(5), "hw_latency_ms/pixel3")
    assert (measured.value, measured.cost_s, measured.time_s) == (15.0, 0.0, 12.25)
    assert (o.spent.evaluations, o.spent.epochs, o.spent.seconds) == (1, 4, 12.25)
    assert (measured.arch, measured.metric) == (arch(5), "hw_latency_ms/pixel3")
    assert o.trajectory.measure == ["", "hw_latency_ms/pixel3"]
    assert o.trajectory.arch_index == [2, 5] and o.trajectory.time_s == [12.25, 12.25]
    assert o.trajectory.valid_seen[0] == 12.0
    assert o.trajectory.measured_value[1] == 15.0 and o.trajectory.cost_s == [12.25, 0.0]
    assert o.trajectory.epoch == [4, 0] and o.trajectory.incumbent_index == [2, 2]


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("hw_latency_ms/pixel9", "unknown device 'pixel9'"),
        ("flops", "unknown metric 'flops'"),  # not a latency: named a metric although devices exist
    ],
)
def test_an_unknown_measurement_names_what_is_unknown(store: Store, metric: str, message: str) -> None:
    with pytest.raises(UnknownNameError, match=message):
        _oracle(store).measure(arch(0), metric)


def test_the_oracle_answers_exactly_the_measurement_limit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasbench_suite import budget

    monkeypatch.setattr(budget, "MEASUREMENT_LIMIT", 3)
    o = _oracle(store)
    values = [o.measure(arch(k), "params_mb").value for k in (4, 3, 0)]
    assert values == [0.5, 1.5, 1.0]
    with pytest.raises(BudgetExhausted):
        o.measure(arch(1), "params_mb")
    assert len(o.trajectory) == 3 and o.spent.evaluations == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"dataset": "cifar100"},
            "unknown dataset 'cifar100' for this store; valid: ImageNet16-120, cifar10, cifar10-valid; did you mean 'cifar10'?",
        ),
        (
            {"schedule": 50},
            "unknown schedule (epochs) 50 for cifar10-valid validation accuracy; valid: 12, 200",
        ),
    ],
)
def test_an_unknown_dataset_or_schedule_is_named_with_the_valid_ones(
    store: Store, kwargs: dict, message: str
) -> None:
    kwargs = dict(kwargs)  # the parameter's own dict stays as it was for a rerun in the same process
    dataset = kwargs.pop("dataset", DS)
    with pytest.raises(UnknownNameError) as err:
        TabularOracle(
            store, dataset, Budget(BudgetKind.EVALUATIONS, 1), rng=np.random.default_rng(0), **kwargs
        )
    assert str(err.value) == message


def test_an_unknown_fidelity_is_named_with_the_valid_ones(store: Store) -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown fidelity \(epoch/schedule\) Fidelity\(epoch=7, schedule=12\)"
    ):
        _oracle(store).evaluate(arch(0), Fidelity(7, 12))


def test_an_epochs_budget_admits_evaluations_that_fill_it_exactly(store: Store) -> None:
    o = _oracle(store, Budget(BudgetKind.EPOCHS, 16))
    o.evaluate(arch(0), F12)
    o.evaluate(arch(1), F4)
    with pytest.raises(BudgetExhausted):
        o.evaluate(arch(2), Fidelity(4, 12))
    assert o.spent.epochs == 16


def test_the_problem_names_the_default_fidelity_and_the_objective(store: Store) -> None:
    problem = _oracle(store, objective="params_mb").problem
    assert problem.default_fidelity == F12 and problem.fidelities == (F4, F12)
    assert problem.objective == "params_mb"
    with pytest.raises(UnknownNameError, match="for --objective on cifar10-valid"):
        _oracle(store, objective="latency")


def test_each_dataset_is_priced_from_its_own_times(store: Store) -> None:
    from nasbench_suite.datasets import validation_epoch_fraction

    c10 = _oracle(store)
    im = TabularOracle(
        store, "ImageNet16-120", Budget(BudgetKind.EVALUATIONS, 9), rng=np.random.default_rng(0)
    )
    assert c10.evaluate(arch(2), F12).cost_s == 3.0 * 12 + 0.25
    fraction = validation_epoch_fraction("ImageNet16-120")
    assert im.evaluate(arch(2), F12).cost_s == pytest.approx(30.0 * 12 + 30.0 * fraction)
    assert im.problem.fidelities == (F12,)  # the 1-epoch schedule has no times, so it is not offered


def test_a_schedule_without_training_times_is_named(store: Store) -> None:
    with pytest.raises(
        StoreError, match=r"^the store has no training times for cifar10-valid at 200 epochs$"
    ):
        _oracle(store, schedule=200)


def test_a_zero_cost_proxy_costs_one_forward_pass_over_its_batch(store: Store) -> None:
    from nasbench_suite.cost_model import PROXY_BATCH
    from nasbench_suite.datasets import FORWARD_FRACTION, dataset_info

    measured = _oracle(store).measure(arch(2), "zc_synflow")
    assert measured.value == 2.0
    expected = 3.0 * PROXY_BATCH / dataset_info(DS).n_train * FORWARD_FRACTION
    assert measured.cost_s == pytest.approx(expected, rel=1e-12) and PROXY_BATCH == 128
    assert expected == pytest.approx(3.0 * 128 / 25000 / 3, rel=1e-12)


def test_the_measurement_limit_answers_exactly_that_many() -> None:
    budget = Budget(BudgetKind.EVALUATIONS, 1)
    assert Spent.measurement_fits(budget, 0.0, 0.0, MEASUREMENT_LIMIT - 1)
    assert not Spent.measurement_fits(budget, 0.0, 0.0, MEASUREMENT_LIMIT)
    seconds = Budget(BudgetKind.SECONDS, 10.0)
    assert Spent.measurement_fits(seconds, 4.0, 6.0, 0)  # ends exactly at the limit
    assert not Spent.measurement_fits(seconds, 4.0, 6.5, 0)


def test_live_training_may_start_only_below_a_seconds_limit() -> None:
    seconds = Budget(BudgetKind.SECONDS, 10.0)
    assert Spent.may_start(seconds, 12, 9.99, 0, 0)
    assert not Spent.may_start(seconds, 12, 10.0, 0, 0)
    evals = Budget(BudgetKind.EVALUATIONS, 3)
    assert Spent.may_start(evals, 12, 1e9, 2, 0)
    assert not Spent.may_start(evals, 12, 0.0, 3, 0)
    epochs = Budget(BudgetKind.EPOCHS, 24)
    assert Spent.may_start(epochs, 12, 0.0, 1, 12)
    assert not Spent.may_start(epochs, 12, 0.0, 1, 13)


def test_an_incumbent_is_replaced_only_by_a_strictly_better_feasible_value() -> None:
    inc = Incumbent()
    assert not inc.found and inc.row()[0] == -1
    assert inc.improves(-1e300, True) and not inc.improves(99.0, False)
    inc.replace(0, 50.0, 60.0, 70.0)
    assert inc.found and inc.row() == (0, 50.0, 60.0, 70.0)
    assert not inc.improves(50.0, True) and inc.improves(50.0001, True)


# ---------------------------------------------------------------- reading a trajectory at a time
# Points not on one line, so the two nearest points and the interpolation weight are both observable.
TIMES = np.array([0.0, 10.0, 30.0, 60.0])
VALUES = np.array([1.0, 5.0, 6.0, 20.0])


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (10.0, 5.0),  # on a point
        (20.0, 5.5),  # halfway between 10 and 30
        (40.0, 6.0 + (20.0 - 6.0) * 10.0 / 30.0),  # between 30 and 60
        (65.0, 6.0 + 14.0 * 35.0 / 30.0),  # beyond the last: extrapolates from the two nearest (30, 60)
        (-5.0, 1.0 - 4.0 * 5.0 / 10.0),  # before the first: extrapolates from (0, 10)
        (16.0, 5.0 + 1.0 * 6.0 / 20.0),  # nearest are 10 (6 away) and 30 (14 away); 0 is 16 away
    ],
)
def test_value_at_interpolates_between_the_two_nearest_points(t: float, expected: float) -> None:
    assert value_at(TIMES, VALUES, t) == pytest.approx(expected, abs=1e-12)


def test_value_at_keeps_the_first_of_two_points_at_one_time() -> None:
    times, values = np.array([0.0, 5.0, 5.0, 50.0]), np.array([1.0, 2.0, 3.0, 9.0])
    assert value_at(times, values, 5.0) == 2.0
    assert value_at(times, values, 4.0) == 2.0  # the two nearest (5, 5) share a time: the first
    assert value_at(np.array([7.0]), np.array([4.0]), 100.0) == 4.0
    assert math.isnan(value_at(np.array([]), np.array([]), 1.0))


def test_step_at_holds_the_last_value_at_or_before_t() -> None:
    assert math.isnan(step_at(TIMES, VALUES, -1.0))
    assert step_at(TIMES, VALUES, 0.0) == 1.0
    assert step_at(TIMES, VALUES, 29.999) == 5.0
    assert step_at(TIMES, VALUES, 30.0) == 6.0
    assert step_at(TIMES, VALUES, 1e9) == 20.0


def _seeded_store(path: Path) -> Store:
    """valid_acc@12 with seeds 1 and 2 at epoch 12: arch 0 has both (31, 35; mean 33), arch 1 neither (mean
    44), arch 2 only seed 2 (52), arch 3 nothing at all; the others have both seeds."""
    archs = list(SPACE.enumerate())
    n = len(archs)
    values = np.full((n, 3, 1), np.nan)
    values[:, 1, 0], values[:, 2, 0] = 20.0, 22.0
    values[:, 0, 0] = 21.0
    values[0, :, 0] = (33.0, 31.0, 35.0)
    values[1, :, 0] = (44.0, np.nan, np.nan)
    values[2, :, 0] = (52.0, np.nan, 52.0)
    values[3, :, 0] = np.nan
    builder = StoreBuilder(
        SPACE, np.array([a.ops for a in archs], dtype=np.int8), provenance={"importer": "test"}
    )
    builder.add(TableSpec(DS, "valid_acc", 12, (1, 2), (12,)), values)
    return Store(builder.write(path / "seeded"))


def test_random_noise_draws_an_existing_seed_and_falls_back_to_the_mean_per_arch(tmp_path: Path) -> None:
    from nasbench_suite.lookup import Noise, ValidationLookup

    lookup = ValidationLookup(_seeded_store(tmp_path), DS, [12], Noise.RANDOM)
    rng = np.random.default_rng(0)
    assert {lookup.value(0, F12, rng) for _ in range(40)} == {31.0, 35.0}  # never the mean 33
    assert {lookup.value(2, F12, rng) for _ in range(10)} == {52.0}  # the one seed it has
    assert lookup.noise_fallbacks == set()
    assert lookup.value(1, F12, rng) == 44.0  # no seed: the mean, and the fallback is recorded
    assert lookup.noise_fallbacks == {F12}
    with pytest.raises(StoreError, match=r"no cifar10-valid validation accuracy at 12 epochs for arch 3"):
        lookup.value(3, F12, rng)


def test_mean_noise_reads_the_seed_mean_and_records_no_fallback(tmp_path: Path) -> None:
    from nasbench_suite.lookup import Noise, ValidationLookup

    lookup = ValidationLookup(_seeded_store(tmp_path), DS, [12], Noise.MEAN)
    rng = np.random.default_rng(0)
    assert [lookup.value(k, F12, rng) for k in (0, 1, 2, 4)] == [33.0, 44.0, 52.0, 21.0]
    assert lookup.noise_fallbacks == set() and lookup.fallback_fidelities() == []
    with pytest.raises(StoreError, match=r"for arch 3"):
        lookup.value(3, F12, rng)


def test_random_noise_on_a_table_of_means_falls_back_at_the_first_read_only(store: Store) -> None:
    from nasbench_suite.lookup import Noise, ValidationLookup

    lookup = ValidationLookup(store, DS, [12], Noise.RANDOM)
    assert lookup.fallback_fidelities() == [F4, F12]
    read = lookup.reader(F4)
    assert lookup.noise_fallbacks == set()  # nothing read yet
    assert read(2, np.random.default_rng(0)) == 12.0
    assert lookup.noise_fallbacks == {F4}


def test_the_training_cost_is_epochs_times_the_epoch_time_plus_one_validation_pass(store: Store) -> None:
    cost = _oracle(store).cost
    # arch 2: 3 s an epoch, its measured validation pass 0.25 s; arch 1: 2 s an epoch, no measured pass, so
    # one pass is 25k / 25k / 3 of an epoch (2 / 3 s)
    assert cost.training(2, F4) == 3.0 * 4 + 0.25
    assert cost.training(2, F12) == 3.0 * 12 + 0.25
    assert cost.training(1, F12) == pytest.approx(2.0 * 12 + 2.0 / 3, abs=1e-12)
    assert cost.training_costs(F4)[5] == 6.0 * 4 + 0.5


def test_each_dataset_has_its_own_measurable_metrics(store: Store) -> None:
    # the per-store cache of static metrics is keyed by dataset: a second dataset gets its own (none here)
    assert _oracle(store).problem.measurable == ("hw_latency_ms/pixel3", "params_mb", "zc_synflow")
    other = TabularOracle(
        store, "ImageNet16-120", Budget(BudgetKind.EVALUATIONS, 1), rng=np.random.default_rng(0)
    )
    assert other.problem.measurable == ()
    assert _oracle(store).problem.measurable == ("hw_latency_ms/pixel3", "params_mb", "zc_synflow")
