"""REINFORCE and local search: the policy gradient against closed forms and the official torch loop,
local search's moves and restarts on toy landscapes, determinism, validation, and runs on the tiny store."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.errors import ConfigError
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store

# importing the modules registers "local_search" and "reinforce" (until strategies/__init__ imports them)
from nasbench_suite.strategies.local_search import LocalSearch
from nasbench_suite.strategies.reinforce import Reinforce, policy_loss_gradient, softmax

FID = Fidelity.full(12)


def toy_problem(space: CellSpace) -> SearchProblem:
    return SearchProblem(space, (FID,), FID)


def drive(strategy, f: Callable[[Arch], float], n: int) -> list[tuple[Arch | None, Arch, float, int]]:
    """ask/tell n times against objective f; logs (centre after the ask, proposal, value, restarts)."""
    log = []
    for t in range(n):
        p = strategy.ask()
        row = (getattr(strategy, "centre", None), p.arch, f(p.arch), getattr(strategy, "restarts", 0))
        strategy.tell(p, Observation(p.arch, p.fidelity, row[2], 1.0, t + 1.0))
        log.append(row)
    return log


def hamming(a: Arch, b: Arch) -> int:
    return sum(x != y for x, y in zip(a.ops, b.ops, strict=True))


# ------------------------------------------------------------------------------------ REINFORCE
def log_prob(logits: np.ndarray, actions: tuple[int, ...]) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(logp[np.arange(len(actions)), actions].sum())


def test_policy_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    logits, actions, advantage = rng.normal(size=(3, 4)), (2, 0, 3), 1.7
    grad = policy_loss_gradient(softmax(logits), actions, advantage)
    h, numeric = 1e-6, np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = -advantage * (log_prob(up, actions) - log_prob(down, actions)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_expected_update_is_the_gradient_of_the_expected_reward() -> None:
    # 2 edges x 3 ops: sum_a p(a) * policy_loss_gradient(a, R(a)) = -grad_z sum_a p(a) R(a)
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3))
    reward = {a: float(rng.normal()) for a in itertools.product(range(3), repeat=2)}

    def expected_reward(z: np.ndarray) -> float:
        return sum(math.exp(log_prob(z, a)) * r for a, r in reward.items())

    expected = sum(
        math.exp(log_prob(logits, a)) * policy_loss_gradient(softmax(logits), a, r) for a, r in reward.items()
    )
    h, numeric = 1e-6, np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (expected_reward(up) - expected_reward(down)) / (2 * h)
    np.testing.assert_allclose(expected, -numeric, atol=1e-8)


def test_updates_equal_the_official_torch_loop() -> None:
    """Categorical log-prob, bias-corrected EMA baseline updated before the advantage, torch's Adam.

    torch's functional `adam` is the computation of `torch.optim.Adam.step` without the optimizer
    object, whose construction imports torch._dynamo (seconds)."""
    import torch
    from torch.optim.adam import adam

    space = CellSpace(("a", "b", "c", "d"), 4)
    s = Reinforce(toy_problem(space), np.random.default_rng(3), learning_rate=0.05, ema_momentum=0.9)
    theta = torch.tensor(s.logits, dtype=torch.float64, requires_grad=True)
    m, v, step_count = torch.zeros_like(theta), torch.zeros_like(theta), torch.tensor(0.0).double()
    hyper = {"amsgrad": False, "beta1": 0.9, "beta2": 0.999, "lr": 0.05, "weight_decay": 0.0, "eps": 1e-8}
    num = den = 0.0
    for step in range(40):
        p = s.ask()
        reward = 50.0 + 10 * math.sin(step) + sum(p.arch.ops)
        dist = torch.distributions.Categorical(torch.softmax(theta, dim=-1))
        lp = dist.log_prob(torch.tensor(p.arch.ops))
        num, den = 0.9 * num + 0.1 * reward, 0.9 * den + 0.1
        loss = (-lp * (reward - num / den)).sum()
        (grad,) = torch.autograd.grad(loss, theta)
        with torch.no_grad():
            adam([theta], [grad], [m], [v], [], [step_count], foreach=False, maximize=False, **hyper)
        s.tell(p, Observation(p.arch, p.fidelity, reward, 1.0, step + 1.0))
        np.testing.assert_allclose(s.logits, theta.detach().numpy(), rtol=0, atol=1e-12)
    assert s.baseline == pytest.approx(num / den)


def test_first_step_has_zero_advantage_and_starts_near_uniform() -> None:
    space = CellSpace.nb201()
    s = Reinforce(toy_problem(space), np.random.default_rng(0))
    assert s.logits.shape == (space.n_edges, space.n_ops)
    np.testing.assert_allclose(s.probabilities, 1 / space.n_ops, atol=1e-2 / space.n_ops)
    before = s.logits.copy()
    p = s.ask()
    s.tell(p, Observation(p.arch, p.fidelity, 91.0, 1.0, 1.0))
    assert s.baseline == 91.0
    np.testing.assert_allclose(s.logits, before, atol=1e-12)  # Adam of a zero gradient does not move


@pytest.mark.parametrize("seed", range(5))
def test_policy_concentrates_on_the_best_op(seed: int) -> None:
    # reward 90 + 1 per edge that uses op 2: every edge should come to prefer op 2
    space = CellSpace(("a", "b", "c", "d"), 4)
    s = Reinforce(toy_problem(space), np.random.default_rng(seed))
    drive(s, lambda a: 90.0 + sum(o == 2 for o in a.ops), 1500)
    probs = s.probabilities
    assert (probs.argmax(axis=1) == 2).all(), probs
    assert probs[:, 2].min() > 0.9, probs


def test_reinforce_outstanding_asks_and_nan_rewards() -> None:
    space = CellSpace.nb201()
    s = Reinforce(toy_problem(space), np.random.default_rng(0))
    proposals = [s.ask() for _ in range(5)]
    for t, p in enumerate(reversed(proposals)):
        s.tell(p, Observation(p.arch, p.fidelity, 80.0 + t, 1.0, 1.0 + t))
    p = s.ask()
    s.tell(p, Observation(p.arch, p.fidelity, float("nan"), 1.0, 9.0))
    assert np.isfinite(s.logits).all() and np.isfinite(s.baseline)
    assert not s._sampled_from  # nothing left outstanding
    s.tell(Proposal(space.sample(np.random.default_rng(1)), FID), Observation(p.arch, FID, 85.0, 1.0, 10.0))
    assert np.isfinite(s.logits).all()  # a never-asked proposal uses the current policy


# ------------------------------------------------------------------------------------ local search
SPACE = CellSpace(("a", "b", "c", "d"), 4)  # 6 edges, 4 ops: 4096 cells, 18 neighbours each


def random_landscape(seed: int) -> Callable[[Arch], float]:
    values = np.random.default_rng(seed).permutation(SPACE.size).astype(float)
    return lambda a: float(values[SPACE.code(a)])


def check_descents(log: list, f: Callable[[Arch], float], *, best_improvement: bool) -> int:
    """Every proposal is a start or a neighbour of the centre; moves and restarts follow the rule.
    Returns the number of moves."""
    under: dict[Arch, list[float]] = {}  # centre -> values of the neighbours evaluated under it
    moves = 0
    for k, (centre, arch, value, restarts) in enumerate(log):
        if centre is None:  # a start: the first one, or a restart from a local optimum
            assert restarts == (log[k - 1][3] + 1 if k else 0)
            if k:
                old = log[k - 1][0]
                seen_before = {row[1] for row in log[:k]}
                assert all(u in seen_before for u in SPACE.neighbours(old))
                assert max(under.get(old, [-math.inf])) <= f(old)
            continue
        assert hamming(arch, centre) == 1
        previous = log[k - 1][0] if k else None
        if previous is not None and previous != centre:  # moved from `previous` to `centre`
            moves += 1
            assert hamming(previous, centre) == 1 and f(centre) > f(previous)
            if best_improvement:
                assert f(centre) == max(under[previous])
            else:
                assert under[previous][-1] == f(centre)  # moved on the first improvement
                assert max(under[previous][:-1], default=-math.inf) <= f(previous)
        under.setdefault(centre, []).append(value)
    return moves


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_local_search_moves_and_restarts_on_a_random_landscape(seed: int, full: bool) -> None:
    f = random_landscape(seed)
    s = LocalSearch(toy_problem(SPACE), np.random.default_rng(seed), query_full_neighbourhood=full)
    log = drive(s, f, 400)
    archs = [a for _, a, _, _ in log]
    assert len(set(archs)) == len(archs)  # nothing evaluated twice
    assert s.restarts >= 2
    assert check_descents(log, f, best_improvement=full) >= 1


def test_local_search_climbs_a_separable_landscape_to_the_global_optimum() -> None:
    # separable objective: the only local optimum is the global one, reached by best-improvement moves
    table = (
        np.random.default_rng(7).permutation(SPACE.n_edges * SPACE.n_ops).reshape(SPACE.n_edges, SPACE.n_ops)
    )

    def f(a: Arch) -> float:
        return float(table[np.arange(SPACE.n_edges), a.ops].sum())

    best = Arch(tuple(int(o) for o in table.argmax(axis=1)))
    s = LocalSearch(toy_problem(SPACE), np.random.default_rng(0))
    log = drive(s, f, 150)
    first_restart = next(k for k, row in enumerate(log) if row[3] == 1)
    assert log[first_restart - 1][0] == best  # the centre before the first restart is the optimum
    assert hamming(log[0][1], best) <= SPACE.n_edges
    # each move fixes one edge, and the whole neighbourhood of every centre was evaluated
    assert first_restart <= 1 + (hamming(log[0][1], best) + 1) * len(SPACE.neighbours(best))
    check_descents(log, f, best_improvement=True)


def test_local_search_on_a_tiny_space_enumerates_it_then_keeps_proposing() -> None:
    tiny = CellSpace(("none", "skip_connect", "conv"), 3)
    s = LocalSearch(toy_problem(tiny), np.random.default_rng(0))
    log = drive(s, lambda a: float(tiny.code(a) % 7), 200)
    archs = [a for _, a, _, _ in log]
    assert len(set(archs[:27])) == 27  # no repeats until the space is used up
    for a in archs:
        tiny.validate(a)


def test_local_search_outstanding_asks_and_nan() -> None:
    s = LocalSearch(toy_problem(SPACE), np.random.default_rng(0))
    a, b = s.ask(), s.ask()  # the start is outstanding: the second is a random unseen filler
    assert a.arch != b.arch
    s.tell(b, Observation(b.arch, FID, 50.0, 1.0, 1.0))
    s.tell(a, Observation(a.arch, FID, float("nan"), 1.0, 2.0))
    assert s.centre == a.arch
    neighbours = set(SPACE.neighbours(a.arch)) - {b.arch}  # the filler was evaluated already
    values = {}
    for t in range(len(neighbours)):  # any number beats a nan centre
        p = s.ask()
        assert p.arch in neighbours
        values[p.arch] = float(t)
        s.tell(p, Observation(p.arch, FID, float(t), 1.0, 3.0 + t))
    p = s.ask()
    assert s.centre == max(values, key=values.get) and s.restarts == 0
    for t in range(60):  # nan neighbours are never better: the search restarts
        s.tell(p, Observation(p.arch, FID, float("nan"), 1.0, 30.0 + t))
        p = s.ask()
    assert s.restarts >= 1


# ------------------------------------------------------------------------------------ through the runner
@pytest.mark.parametrize("name", ["reinforce", "local_search"])
@pytest.mark.parametrize("noise", [Noise.RANDOM, Noise.MEAN])
def test_runs_on_the_tiny_store_are_valid_and_deterministic(
    tiny_store: Store, name: str, noise: Noise
) -> None:
    spec = ComparisonSpec(
        (name,), ("cifar10-valid", "cifar100"), 3, Budget(BudgetKind.SECONDS, 3000), noise=noise, seed=5
    )
    runs = [run_one(tiny_store, spec, name, "cifar100", r, strategies.build) for r in range(3)]
    again, _ = run_one(tiny_store, spec, name, "cifar100", 2, strategies.build)
    for columns, meta in runs:
        assert meta["evaluations"] > 27  # the budget outlasts the 27-cell space
        assert all(0 <= i < 27 for i in columns["arch_index"])
        assert columns["time_s"][-1] <= 3000
    assert again["arch_index"] == runs[2][0]["arch_index"] and again["valid_seen"] == runs[2][0]["valid_seen"]
    assert len({tuple(c["arch_index"]) for c, _ in runs}) == 3  # other seeds, other trajectories
    if name == "local_search":
        for columns, _ in runs:
            assert len(set(columns["arch_index"][:27])) == 27


def test_hyperparameter_validation_messages(tiny_store: Store) -> None:
    problem = TabularOracle(
        tiny_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 5), rng=np.random.default_rng(0)
    ).problem
    assert strategies.hyperparameters("reinforce") == {"learning_rate": 0.01, "ema_momentum": 0.9}
    assert strategies.hyperparameters("local_search") == {"query_full_neighbourhood": True}
    cases = [
        (
            "reinforce",
            {"learning_rate": -1},
            r"reinforce: learning_rate must be a finite number in \(0, inf\), got -1",
        ),
        (
            "reinforce",
            {"learning_rate": float("nan")},
            r"reinforce: learning_rate must be a finite number in \(0, inf\), got nan",
        ),
        (
            "reinforce",
            {"learning_rate": "0.1"},
            r"reinforce: learning_rate must be a finite number in \(0, inf\), got '0.1'",
        ),
        (
            "reinforce",
            {"ema_momentum": 1.0},
            r"reinforce: ema_momentum must be a finite number in \[0, 1\), got 1.0",
        ),
        (
            "reinforce",
            {"ema_momentum": -0.1},
            r"reinforce: ema_momentum must be a finite number in \[0, 1\), got -0.1",
        ),
        (
            "local_search",
            {"query_full_neighbourhood": 1},
            "local_search: query_full_neighbourhood must be True or False, got 1",
        ),
        (
            "local_search",
            {"num_init": 3},
            "strategy 'local_search' has no hyperparameter num_init; valid: query_full_neighbourhood",
        ),
    ]
    for name, hparams, message in cases:
        with pytest.raises(ConfigError, match=message):
            strategies.check_hyperparameters(name, problem, hparams)


def test_summaries_are_one_line() -> None:
    assert strategies.summary("reinforce").startswith("REINFORCE: a per-edge categorical policy")
    assert strategies.summary("local_search").startswith("Local search: move to the best one-edge neighbour")
