"""The Optuna adapter and TPE: registration and defaults, lazy import, pending trials, failed values,
other samplers (multi-objective included), and that TPE maximizes what it is told."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.errors import ConfigError
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity, Observation, SearchProblem
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
from nasbench_suite.strategies.optuna_adapter import TPE, OptunaAdapter
from nasbench_suite.testing import WIDE_SPACE, build_synthetic_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wide_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(build_synthetic_store(tmp_path_factory.mktemp("optuna") / "wide", WIDE_SPACE))


def make_oracle(store: Store, n: int = 30) -> TabularOracle:
    return TabularOracle(
        store,
        "cifar10-valid",
        Budget(BudgetKind.EVALUATIONS, n),
        rng=np.random.default_rng(0),
        noise=Noise.MEAN,
    )


def test_tpe_is_registered_with_optunas_defaults() -> None:
    from optuna.samplers import TPESampler

    assert strategies.summary("tpe").startswith(
        "Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011)"
    )
    assert strategies.hyperparameters("tpe") == {
        "n_startup_trials": 10,
        "n_ei_candidates": 24,
        "multivariate": True,
    }
    optuna_defaults = {p.name: p.default for p in inspect.signature(TPESampler.__init__).parameters.values()}
    assert optuna_defaults["n_startup_trials"] == 10 and optuna_defaults["n_ei_candidates"] == 24


def test_importing_the_module_imports_no_heavy_library() -> None:
    code = (
        "import sys, nasbench_suite.strategies.optuna_adapter; "
        "print([m for m in ('optuna', 'sklearn', 'scipy.stats', 'torch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("hparams", "message"),
    [
        ({"n_startup_trials": 0}, "tpe: n_startup_trials must be an integer >= 1, got 0"),
        ({"n_ei_candidates": 2.5}, "tpe: n_ei_candidates must be an integer >= 1, got 2.5"),
        ({"n_startup_trials": True}, "tpe: n_startup_trials must be an integer >= 1, got True"),
        ({"multivariate": "yes"}, "tpe: multivariate must be true or false, got 'yes'"),
    ],
)
def test_bad_hyperparameters_fail_with_the_rule_and_the_value(
    wide_store: Store, hparams: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        strategies.check_hyperparameters("tpe", make_oracle(wide_store).problem, hparams)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"objectives": ("test_acc",)},
            r"objectives must be a non-empty subset of valid_acc, cost_s, got \('test_acc',\)",
        ),
        ({"objectives": ()}, "objectives must be a non-empty subset"),
        (
            {"directions": ("maximize", "minimize")},
            r"directions must give one of maximize, minimize per objective \(1\)",
        ),
        ({"directions": ("up",)}, r"got \('up',\)"),
    ],
)
def test_the_adapter_checks_objectives_and_directions(wide_store: Store, kwargs: dict, message: str) -> None:
    from optuna.samplers import RandomSampler

    problem = make_oracle(wide_store).problem
    with pytest.raises(ConfigError, match=message):
        OptunaAdapter(
            problem, np.random.default_rng(0), sampler_factory=lambda s: RandomSampler(seed=s), **kwargs
        )


def test_each_proposal_keeps_its_trial_when_told_late_or_out_of_order(wide_store: Store) -> None:
    oracle = make_oracle(wide_store)
    tpe = TPE(oracle.problem, np.random.default_rng(1))
    proposals = [tpe.ask() for _ in range(4)]
    observations = [oracle.evaluate(p.arch, p.fidelity) for p in proposals]
    for k in (2, 0, 3, 1):
        tpe.tell(proposals[k], observations[k])
    trials = tpe.study.trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    for trial, proposal, observation in zip(trials, proposals, observations, strict=True):
        assert tuple(WIDE_SPACE.ops.index(trial.params[f"edge{e}"]) for e in range(6)) == proposal.arch.ops
        assert trial.value == observation.valid_acc


def test_unasked_proposals_are_added_and_non_finite_values_fail_the_trial(wide_store: Store) -> None:
    oracle = make_oracle(wide_store)
    tpe = TPE(oracle.problem, np.random.default_rng(2))
    stranger = tpe.ask()
    tpe.tell(stranger, oracle.evaluate(stranger.arch, stranger.fidelity))
    tpe.tell(stranger, oracle.evaluate(stranger.arch, stranger.fidelity))  # told twice: a second, added trial
    broken = tpe.ask()
    tpe.tell(broken, Observation(broken.arch, broken.fidelity, math.nan, 1.0, 1.0))
    assert [t.state.name for t in tpe.study.trials] == ["COMPLETE", "COMPLETE", "FAIL"]
    assert tpe.study.trials[1].params == tpe.study.trials[0].params
    for _ in range(12):  # the search goes on past the startup trials
        p = tpe.ask()
        tpe.tell(p, oracle.evaluate(p.arch, p.fidelity))


def test_optuna_logging_is_quietened_only_from_its_default() -> None:
    import optuna

    full = Fidelity.full(12)
    problem = SearchProblem(WIDE_SPACE, (full,), full)
    before = optuna.logging.get_verbosity()
    try:
        optuna.logging.set_verbosity(optuna.logging.INFO)
        TPE(problem, np.random.default_rng(0))
        assert optuna.logging.get_verbosity() == optuna.logging.WARNING
        optuna.logging.set_verbosity(optuna.logging.DEBUG)
        TPE(problem, np.random.default_rng(0))
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(before)


def test_any_sampler_plugs_in_multi_objective_included(wide_store: Store) -> None:
    """NSGA-II on (validation accuracy up, training cost down): what a latency objective will look like
    once the oracle passes one; cost_s stands in here only to exercise two objectives."""
    from optuna.samplers import NSGAIISampler

    oracle = make_oracle(wide_store, 40)
    search = OptunaAdapter(
        oracle.problem,
        np.random.default_rng(3),
        sampler_factory=lambda seed: NSGAIISampler(seed=seed, population_size=10),
        objectives=("valid_acc", "cost_s"),
        directions=("maximize", "minimize"),
        study_name="nsga2-test",
    )
    for _ in range(40):
        p = search.ask()
        obs = oracle.evaluate(p.arch, p.fidelity)
        search.tell(p, obs)
    trials = search.study.trials
    assert len(search.study.directions) == 2 and len(trials) == 40
    assert all(t.state.name == "COMPLETE" and len(t.values) == 2 for t in trials)
    assert [t.values[1] for t in trials] == oracle.trajectory.cost_s


def test_tpe_maximizes_validation_accuracy(wide_store: Store) -> None:
    """After its random start, TPE's proposals score higher than uniform random ones on the smooth
    synthetic space: mean paired difference over seeds more than 3 standard errors above zero. A sign
    error (minimizing) or a scrambled op mapping would make it zero or negative."""
    runs, n, start = 10, 40, 20
    spec = ComparisonSpec(
        ("tpe", "random"),
        ("cifar10-valid",),
        runs,
        Budget(BudgetKind.EVALUATIONS, n),
        noise=Noise.MEAN,
        seed=1,
    )
    later = {
        name: np.array(
            [
                np.mean(
                    run_one(wide_store, spec, name, "cifar10-valid", r, strategies.build)[0]["valid_seen"][
                        start:
                    ]
                )
                for r in range(runs)
            ]
        )
        for name in ("tpe", "random")
    }
    diff = later["tpe"] - later["random"]
    stderr = diff.std(ddof=1) / np.sqrt(runs)
    assert diff.mean() > 3 * stderr, (diff.mean(), stderr)
