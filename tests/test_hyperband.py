"""Successive halving, Hyperband and BOHB: bracket plans against Li et al.'s formulas, exact promotions on a
synthetic 27-epoch learning curve, asynchrony, validation, the KDE model, and runs on the real store."""

from __future__ import annotations

import itertools
import math
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind
from nasbench_suite.errors import ConfigError
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store
from nasbench_suite.strategies.bohb import CategoricalKDE
from nasbench_suite.testing.synthetic import CURVE_EPOCHS, build_curve_store

EPOCHS = CURVE_EPOCHS


@pytest.fixture
def curve_store(tmp_path: Path) -> Store:
    return Store(build_curve_store(tmp_path / "curve"))


def oracle(store: Store, budget: Budget, schedule: int = EPOCHS) -> TabularOracle:
    return TabularOracle(
        store, "cifar100", budget, rng=np.random.default_rng(1), noise=Noise.MEAN, schedule=schedule
    )


def drive(strategy, orc: TabularOracle) -> list[Observation]:
    """The runner's loop, keeping what the strategy was told."""
    seen = []
    while True:
        proposal = strategy.ask()
        try:
            observation = orc.evaluate(proposal.arch, proposal.fidelity)
        except BudgetExhausted:
            return seen
        strategy.tell(proposal, observation)
        seen.append(observation)


def paper_bracket(s: int, s_max: int, eta: int, r_max: int) -> list[tuple[int, int]]:
    """Li et al. (JMLR 2018), Algorithm 1: (n_i, r_i) for i = 0..s."""
    n = math.ceil((s_max + 1) / (s + 1) * eta**s)
    r = r_max * eta**-s
    return [(math.floor(n * eta**-i), round(r * eta**i)) for i in range(s + 1)]


def check_promotions(stages: list[list[Observation]]) -> None:
    """Each stage evaluates exactly the best n_{i+1} of the previous stage, best first."""
    for lower, upper in itertools.pairwise(stages):
        value = {o.arch: o.valid_acc for o in lower}
        ranked = sorted((o.valid_acc for o in lower), reverse=True)
        promoted = [value[o.arch] for o in upper]
        assert promoted == ranked[: len(upper)]
        assert not Counter(o.arch for o in upper) - Counter(o.arch for o in lower)


# ---------------------------------------------------------------- bracket plans and promotions
def test_rungs_and_bracket_sizes_follow_the_paper_on_a_27_epoch_curve(curve_store: Store) -> None:
    problem = oracle(curve_store, Budget(BudgetKind.EVALUATIONS, 1)).problem
    assert len(problem.fidelities) == EPOCHS
    hb = strategies.build("hyperband", problem, np.random.default_rng(0))
    assert hb.rungs == tuple(Fidelity(e, EPOCHS) for e in (1, 3, 9, 27)) and hb.s_max == 3
    for s in range(4):
        plan = hb.plan(s)
        assert list(zip(plan.sizes, (f.epoch for f in plan.fidelities), strict=True)) == paper_bracket(
            s, 3, 3, 27
        )
    assert [hb.plan(s).sizes for s in (3, 2, 1, 0)] == [(27, 9, 3, 1), (12, 4, 1), (6, 2), (4,)]
    # eta = 2 on the same curve: budgets 27, 13.5, 6.75, 3.4, 1.7 floored onto epochs 1, 3, 6, 13, 27
    assert [f.epoch for f in strategies.build("sh", problem, np.random.default_rng(0), {"eta": 2}).rungs] == [
        1,
        3,
        6,
        13,
        27,
    ]


def test_hyperband_runs_brackets_s_max_to_0_and_promotes_the_top_third(curve_store: Store) -> None:
    plans = [(27, 9, 3, 1), (12, 4, 1), (6, 2), (4,)]
    epochs = [(1, 3, 9, 27), (3, 9, 27), (9, 27), (27,)]
    total = sum(map(sum, plans))
    orc = oracle(curve_store, Budget(BudgetKind.EVALUATIONS, total + 27))
    seen = drive(strategies.build("hyperband", orc.problem, np.random.default_rng(5)), orc)
    expected = [
        e
        for plan, es in zip(plans, epochs, strict=True)
        for n, e in zip(plan, es, strict=True)
        for _ in range(n)
    ]
    assert [o.fidelity.epoch for o in seen] == [*expected, *[1] * 27]  # then bracket s_max again
    k = 0
    for plan in plans:
        stages = []
        for n in plan:
            stages.append(seen[k : k + n])
            k += n
        check_promotions(stages)


def test_successive_halving_repeats_the_widest_bracket(curve_store: Store) -> None:
    orc = oracle(curve_store, Budget(BudgetKind.EVALUATIONS, 80))
    seen = drive(strategies.build("sh", orc.problem, np.random.default_rng(2)), orc)
    one = [1] * 27 + [3] * 9 + [9] * 3 + [27]
    assert [o.fidelity.epoch for o in seen] == one + one
    check_promotions([seen[0:27], seen[27:36], seen[36:39], seen[39:40]])
    check_promotions([seen[40:67], seen[67:76], seen[76:79], seen[79:80]])


def test_ask_before_tell_starts_the_next_bracket_and_late_tells_still_promote(curve_store: Store) -> None:
    orc = oracle(curve_store, Budget(BudgetKind.EVALUATIONS, 1000))
    hb = strategies.build("hyperband", orc.problem, np.random.default_rng(3))
    asked = [hb.ask() for _ in range(27 + 12 + 1)]  # nothing told: bracket 3 rung 0, then 2, then 1
    assert [p.fidelity.epoch for p in asked] == [1] * 27 + [3] * 12 + [9]
    first = [(p, orc.evaluate(p.arch, p.fidelity)) for p in asked[:27]]
    hb.tell(Proposal(Arch((0,) * 6), Fidelity(5, EPOCHS)), first[0][1])  # nobody asked for this: ignored
    for p, o in reversed(first):  # out of order
        hb.tell(p, o)
    promoted = [hb.ask() for _ in range(9)]  # bracket 3's second stage comes before anything newer
    assert all(p.fidelity.epoch == 3 for p in promoted)
    stage0 = [o for _, o in first]
    check_promotions([stage0, [Observation(p.arch, p.fidelity, 0.0, 0.0, 0.0) for p in promoted]])
    assert hb.ask().fidelity.epoch == 9  # bracket 1 still has configs to draw


def test_two_fidelities_give_two_rungs_and_tiny_spaces_with_duplicates_run(tiny_store: Store) -> None:
    problem = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), schedule=12).problem
    hb = strategies.build("hyperband", problem, np.random.default_rng(0))
    assert hb.rungs == (Fidelity(12, 12), Fidelity(200, 200))
    assert [hb.plan(s).sizes for s in (1, 0)] == [(3, 1), (2,)]
    single = strategies.build("bohb", problem, np.random.default_rng(0), {"max_fidelity": "12"})
    assert single.rungs == (Fidelity(12, 12),)
    spec = ComparisonSpec(
        ("sh", "hyperband", "bohb"), ("cifar100",), 1, Budget(BudgetKind.SECONDS, 40000), seed=4
    )
    for name in spec.strategies:
        columns, meta = run_one(tiny_store, spec, name, "cifar100", 0, strategies.build)
        again, _ = run_one(tiny_store, spec, name, "cifar100", 0, strategies.build)
        assert meta["evaluations"] > 30 and len(set(columns["arch_index"])) < meta["evaluations"]  # repeats
        assert set(zip(columns["epoch"], columns["schedule"], strict=True)) == {(12, 12), (200, 200)}
        assert columns["arch_index"] == again["arch_index"] and columns["epoch"] == again["epoch"]


def test_a_strategy_pickled_mid_run_continues_identically(curve_store: Store) -> None:
    orc = oracle(curve_store, Budget(BudgetKind.EVALUATIONS, 1000))
    bohb = strategies.build("bohb", orc.problem, np.random.default_rng(8))
    for _ in range(60):
        p = bohb.ask()
        bohb.tell(p, orc.evaluate(p.arch, p.fidelity))
    copy = pickle.loads(pickle.dumps(bohb))
    assert [copy.ask() for _ in range(20)] == [bohb.ask() for _ in range(20)]


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("name", ["sh", "hyperband", "bohb"])
@pytest.mark.parametrize("eta", [1.5, 1, 0, -3, "3", True, float("nan")])
def test_eta_below_2_fails_before_any_run(tiny_store: Store, name: str, eta: object) -> None:
    problem = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), schedule=12).problem
    with pytest.raises(
        ConfigError, match=rf"{name}: eta must be a number >= 2 \(the papers use 3\), got {eta!r}"
    ):
        strategies.check_hyperparameters(name, problem, {"eta": eta})


@pytest.mark.parametrize(
    ("hparams", "message"),
    [
        (
            {"min_fidelity": "7/200"},
            r"min_fidelity must be a fidelity the oracle offers \(12 .. 200\), got '7/200'",
        ),
        ({"max_fidelity": "lots"}, r"max_fidelity must be written 'epoch/schedule' or 'schedule'"),
        (
            {"min_fidelity": "200", "max_fidelity": "12"},
            r"min_fidelity must not exceed max_fidelity, got \(200, 12\)",
        ),
        ({"top_n_percent": 0}, r"bohb: top_n_percent must be in \(0, 100\), got 0"),
        ({"random_fraction": 1.5}, r"bohb: random_fraction must be in \[0, 1\], got 1.5"),
        ({"num_samples": 0}, r"bohb: num_samples must be an integer >= 1, got 0"),
        ({"bandwidth_factor": 0.5}, r"bohb: bandwidth_factor must be >= 1, got 0.5"),
        ({"min_bandwidth": 0}, r"bohb: min_bandwidth must be in \(0, 1\), got 0"),
        (
            {"min_bandwidth": 1e-200},
            r"bohb: min_bandwidth must be >= \S+ for 3 edges of \d+ ops \(smaller kernel weights underflow\), "
            r"got 1e-200",
        ),
        (
            {"min_points_in_model": 3},
            r"bohb: min_points_in_model must be an integer >= n_edges \+ 1 \(4\), got 3",
        ),
    ],
)
def test_bad_hyperparameters_fail_with_the_rule_and_the_input(
    tiny_store: Store, hparams: dict, message: str
) -> None:
    problem = oracle(tiny_store, Budget(BudgetKind.EVALUATIONS, 1), schedule=12).problem
    with pytest.raises(ConfigError, match=message):
        strategies.check_hyperparameters("bohb", problem, hparams)


def test_mixed_fidelity_families_are_refused(curve_store: Store) -> None:
    problem = oracle(curve_store, Budget(BudgetKind.EVALUATIONS, 1)).problem
    mixed = SearchProblem(problem.space, (*problem.fidelities, Fidelity(200, 200)), problem.default_fidelity)
    with pytest.raises(
        ConfigError, match=r"must lie on one schedule's curve or both be full schedules, got \(3/27, 200\)"
    ):
        strategies.check_hyperparameters("hyperband", mixed, {"min_fidelity": "3/27", "max_fidelity": "200"})


# ---------------------------------------------------------------- the KDE model
def test_the_aitchison_aitken_kde_is_a_normalised_density() -> None:
    rng = np.random.default_rng(0)
    kde = CategoricalKDE(rng.integers(3, size=(9, 2)), 3, 1e-3)
    grid = np.array([(a, b) for a in range(3) for b in range(3)])
    assert kde.pdf(grid).sum() == pytest.approx(1.0)
    assert np.all(kde.bw <= 2 / 3) and np.all(kde.bw >= 1e-3)


def test_kde_bandwidths_maximise_the_leave_one_out_likelihood() -> None:
    rng = np.random.default_rng(3)
    c, grid = 5, np.linspace(0, 0.8, 1601)
    for n in (8, 15, 40):
        data = rng.choice(c, size=(n, 4), p=rng.dirichlet(np.full(c, 0.5)))
        kde = CategoricalKDE(data, c, 1e-3)
        for j in range(4):
            m = (data[:, j][:, None] == data[:, j][None, :]).sum(axis=1) - 1
            with np.errstate(divide="ignore"):
                loglik = np.log(m[:, None] * (1 - grid) + (n - 1 - m[:, None]) * grid / (c - 1)).sum(axis=0)
            assert kde.bw[j] == pytest.approx(max(grid[np.argmax(loglik)], 1e-3), abs=1e-3)


def test_bohb_proposals_concentrate_near_good_configs() -> None:
    space = CellSpace.nb201()
    fidelity = Fidelity(12, 12)
    problem = SearchProblem(space, (fidelity,), fidelity)
    target = np.array([3, 3, 2, 3, 1, 0])
    rng = np.random.default_rng(0)
    bohb = strategies.build("bohb", problem, np.random.default_rng(1), {"random_fraction": 0.0})
    for _ in range(100):  # told without being asked: brackets ignore them, the model learns from them
        arch = space.sample(rng)
        acc = 90.0 - 10 * float(np.sum(np.array(arch.ops) != target))
        bohb.tell(Proposal(arch, fidelity), Observation(arch, fidelity, acc, 1.0, 1.0))
    m = 300
    dist = np.array([np.sum(np.array(bohb.ask().arch.ops) != target) for _ in range(m)], dtype=float)
    uniform = space.n_edges * (1 - 1 / space.n_ops)  # Binomial(6, 4/5) under uniform sampling
    uniform_var = space.n_edges * (1 / space.n_ops) * (1 - 1 / space.n_ops)
    stderr = math.sqrt(dist.var(ddof=1) / m + uniform_var / m)
    assert uniform - dist.mean() > 3 * stderr, (dist.mean(), uniform, stderr)


# ---------------------------------------------------------------- the real two-fidelity store
@pytest.mark.realdata
def test_all_three_run_on_the_real_store_at_12000_seconds(real_store: Store) -> None:
    spec = ComparisonSpec(
        ("sh", "hyperband", "bohb"), ("cifar10-valid",), 1, Budget(BudgetKind.SECONDS, 12000), seed=0
    )
    for name in spec.strategies:
        columns, meta = run_one(real_store, spec, name, "cifar10-valid", 0, strategies.build)
        assert meta["evaluations"] >= 4 and meta["spent_seconds"] <= 12000
        assert set(zip(columns["epoch"], columns["schedule"], strict=True)) == {(12, 12), (200, 200)}
        assert 80 < meta["final_test"] < 95 and meta["overhead_s"] < 1.0
