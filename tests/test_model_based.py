"""Model-based strategies: GP-BO (numpy GP + expected improvement) and BANANAS (MLP ensemble + ITS).

The models are checked against closed forms (GP posterior, EI) and known functions (a linear target on
path encodings); the strategies against the contract: valid, unseen proposals, same seed same
trajectory, hyperparameter validation, a full run on the tiny store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.encodings import path
from nasbench_suite.errors import ConfigError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity, Observation, SearchProblem
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store
from nasbench_suite.strategies.bananas import MLPEnsemble, independent_thompson, mutation_candidates
from nasbench_suite.strategies.gaussian_process import IncrementalGP
from nasbench_suite.strategies.gp_bo import expected_improvement

FAST_BANANAS = {"epochs": 20}  # the contract tests need proposals, not a good predictor


def problem(space: CellSpace) -> SearchProblem:
    return SearchProblem(space, (Fidelity.full(12),), Fidelity.full(12))


def synthetic_accuracy(arch: Arch) -> float:
    """A smooth deterministic objective: more convolutions on more edges is better."""
    return 50.0 + sum(3.0 * op + 0.5 * e * (op == 2) for e, op in enumerate(arch.ops))


def drive(name: str, space: CellSpace, steps: int, seed: int = 0, **hparams: object) -> list[Arch]:
    """The runner's loop without an oracle: ask, observe `synthetic_accuracy`, tell."""
    search = strategies.build(name, problem(space), np.random.default_rng(seed), hparams)
    archs = []
    for t in range(steps):
        proposal = search.ask()
        space.validate(proposal.arch)
        assert proposal.fidelity == Fidelity.full(12)
        archs.append(proposal.arch)
        search.tell(
            proposal,
            Observation(proposal.arch, proposal.fidelity, synthetic_accuracy(proposal.arch), 1.0, t + 1.0),
        )
    return archs


# ---------------------------------------------------------------- GP and EI against closed forms
def test_gp_posterior_matches_the_closed_form_on_a_1d_toy() -> None:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    x = np.array([[0.0], [0.7], [1.5], [2.1], [3.0], [3.3], [4.4], [5.0]])
    y = 60 + 5 * np.sin(x[:, 0]) + 0.1 * x[:, 0]
    model = IncrementalGP().fit(x, y, restarts=0, rng=np.random.default_rng(0))
    amplitude, length, noise = model.amplitude, model.length_scale, model.noise

    def rbf(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return amplitude * np.exp(-0.5 * (a[:, None, 0] - b[None, :, 0]) ** 2 / length**2)

    z = (y - y.mean()) / y.std()
    gram = rbf(x, x) + (noise + 1e-10) * np.eye(len(x))  # 1e-10: sklearn's alpha, kept as jitter
    xs = np.array([[0.35], [2.5], [6.0]])
    cross = rbf(xs, x)
    mean = y.mean() + y.std() * cross @ np.linalg.solve(gram, z)
    std = y.std() * np.sqrt(amplitude - np.einsum("ij,ji->i", cross, np.linalg.solve(gram, cross.T)))

    got_mean, got_std = model.posterior(xs)
    np.testing.assert_allclose(got_mean, mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got_std, std, rtol=1e-5, atol=1e-6)
    # scikit-learn with the same kernel at the same hyperparameters (no refit) predicts the same mean
    kernel = ConstantKernel(amplitude) * RBF(length) + WhiteKernel(noise)
    reference = GaussianProcessRegressor(kernel, optimizer=None).fit(x, z)
    np.testing.assert_allclose(got_mean, y.mean() + y.std() * reference.predict(xs), atol=1e-9)
    assert got_std[2] > got_std[1]  # farther from the data, less certain


def test_expected_improvement_matches_the_closed_form() -> None:
    from scipy.stats import norm

    mean, std, best = 61.3, 0.7, 61.0
    z = (mean - best) / std
    expected = (mean - best) * norm.cdf(z) + std * norm.pdf(z)
    assert expected_improvement(np.array([mean]), np.array([std]), best)[0] == pytest.approx(
        expected, rel=1e-12
    )
    # without uncertainty EI is the plain improvement, and it is never negative
    np.testing.assert_array_equal(expected_improvement(np.array([62.0, 60.0]), np.zeros(2), best), [1.0, 0.0])
    assert (expected_improvement(np.linspace(50, 70, 21), np.full(21, 0.5), best) >= 0).all()


# ---------------------------------------------------------------- the BANANAS predictor
def test_mlp_ensemble_learns_a_linear_function_of_path_encodings() -> None:
    space = CellSpace.nb201()
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(600)))
    x = path(space, archs)
    y = x @ rng.normal(size=x.shape[1])
    train, test = slice(0, 200), slice(200, 500)
    mu, sd = y[train].mean(), y[train].std()
    ensemble = MLPEnsemble(n_in=x.shape[1], members=5, n_layers=10, width=20, rng=np.random.default_rng(1))
    history = ensemble.fit(x[train], (y[train] - mu) / sd, epochs=150, batch_size=32, learning_rate=0.01)
    assert history[-1] < 0.25 * history[0]
    predictions = ensemble.predict(x[test])
    assert predictions.shape == (5, 300)
    assert np.corrcoef(predictions.mean(axis=0), y[test])[0, 1] > 0.9
    # independently initialized and shuffled members disagree off the training set: ITS has a spread
    assert (predictions.std(axis=0) > 0).all()


def test_its_draws_one_independent_normal_per_candidate() -> None:
    predictions = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 2.0], [2.0, 5.0, 4.0]])  # members x candidates
    mean, std = predictions.mean(axis=0), predictions.std(axis=0)
    n = 4000
    rng = np.random.default_rng(3)
    draws = np.array([independent_thompson(predictions, rng) for _ in range(n)])
    assert (draws[:, 1] == 5.0).all()  # members agree: no exploration
    for j in (0, 2):
        assert abs(draws[:, j].mean() - mean[j]) < 4 * std[j] / math.sqrt(n)
        assert abs(draws[:, j].std() - std[j]) < 4 * std[j] / math.sqrt(2 * n)
    assert abs(np.corrcoef(draws[:, 0], draws[:, 2])[0, 1]) < 4 / math.sqrt(
        n
    )  # independent across candidates
    assert not np.array_equal(draws[0], draws[1])  # a fresh draw every round


def test_mutation_candidates_are_new_distinct_and_come_from_the_best_archs() -> None:
    space = CellSpace.nb201()
    best, second = Arch((3, 3, 3, 3, 3, 3)), Arch((0, 0, 0, 0, 0, 0))
    seen = {best, second, Arch((2, 3, 3, 3, 3, 3))}
    out = mutation_candidates(
        space, [best, second], seen, np.random.default_rng(0), num=100, num_parents=1, edge_prob=0.25
    )
    assert len(out) >= 100 and len(set(out)) == len(out) and not set(out) & seen
    from_best = [a for a in out if sum(o != 3 for o in a.ops) < sum(o != 0 for o in a.ops)]
    assert len(from_best) >= 50  # the best arch is mutated first; the next only tops up


# ---------------------------------------------------------------- strategy contract
@pytest.mark.parametrize(("name", "hparams"), [("gp_bo", {}), ("bananas", FAST_BANANAS)])
def test_no_arch_is_proposed_twice_while_unseen_ones_remain(name: str, hparams: dict) -> None:
    archs = drive(name, CellSpace.nb201(), 45, **hparams)
    assert len(set(archs)) == len(archs)


@pytest.mark.parametrize(("name", "hparams"), [("gp_bo", {}), ("bananas", FAST_BANANAS)])
def test_a_tiny_space_is_exhausted_first_then_archs_repeat_without_hanging(name: str, hparams: dict) -> None:
    space = CellSpace(("none", "skip_connect", "conv"), 3)  # 27 archs
    archs = drive(name, space, 40, **hparams)
    assert len(set(archs[: space.size])) == space.size
    assert len(archs) == 40


@pytest.mark.parametrize(("name", "hparams"), [("gp_bo", {}), ("bananas", FAST_BANANAS)])
def test_same_seed_same_trajectory_other_seed_other_trajectory(name: str, hparams: dict) -> None:
    space = CellSpace.nb201()
    first = drive(name, space, 25, seed=5, **hparams)
    assert drive(name, space, 25, seed=5, **hparams) == first
    assert drive(name, space, 25, seed=6, **hparams) != first


@pytest.mark.parametrize("name", ["gp_bo", "bananas"])
def test_a_full_run_on_the_tiny_store(tiny_store: Store, name: str) -> None:
    spec = ComparisonSpec(
        (name,), ("cifar100",), 2, Budget(BudgetKind.SECONDS, 1500), seed=3, hparams={"bananas": FAST_BANANAS}
    )
    columns, meta = run_one(tiny_store, spec, name, "cifar100", 1, strategies.build)
    assert meta["evaluations"] >= 20 and meta["spent_seconds"] <= 1500
    assert (
        columns["arch_index"]
        == run_one(tiny_store, spec, name, "cifar100", 1, strategies.build)[0]["arch_index"]
    )


@pytest.mark.parametrize(
    ("name", "hparams", "message"),
    [
        ("bananas", {"k": 0}, "bananas: k must be an integer >= 1, got 0"),
        ("bananas", {"num_ensemble": 2.5}, "bananas: num_ensemble must be an integer >= 1, got 2.5"),
        ("bananas", {"learning_rate": -1}, "bananas: learning_rate must be > 0, got -1"),
        (
            "bananas",
            {"edge_mutation_prob": 1.5},
            r"bananas: edge_mutation_prob must be > 0 and <= 1, got 1.5",
        ),
        ("bananas", {"acquisition": "ei"}, "bananas: acquisition must be one of its, ucb, got 'ei'"),
        ("bananas", {"loss": "mse"}, "bananas: loss must be one of mae, mape, got 'mse'"),
        ("bananas", {"ucb_explore_factor": -0.5}, "bananas: ucb_explore_factor must be >= 0, got -0.5"),
        ("gp_bo", {"num_init": 0}, "gp_bo: num_init must be an integer >= 1, got 0"),
        ("gp_bo", {"restarts": True}, "gp_bo: restarts must be an integer >= 0, got True"),
        (
            "gp_bo",
            {"num_candidates": 0, "num_random": 0},
            r"gp_bo: num_candidates \+ num_random must be >= 1, got 0 \+ 0",
        ),
    ],
)
def test_bad_hyperparameters_fail_before_running(
    tiny_store: Store, name: str, hparams: dict, message: str
) -> None:
    oracle = TabularOracle(
        tiny_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 5), rng=np.random.default_rng(0)
    )
    with pytest.raises(ConfigError, match=message):
        strategies.check_hyperparameters(name, oracle.problem, hparams)


def test_ucb_and_mape_variants_run() -> None:
    archs = drive("bananas", CellSpace.nb201(), 25, acquisition="ucb", loss="mape", **FAST_BANANAS)
    assert len(set(archs)) == 25


def test_the_summaries_are_one_line_each() -> None:
    for name in ("gp_bo", "bananas"):
        assert strategies.summary(name) and "\n" not in strategies.summary(name)
