"""The ConfigSpace description of the search space, the round trip config <-> arch, the HPOBench-style
benchmark (known table values), and the ConfigSpace-based adapters' own rules."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from ConfigSpace import CategoricalHyperparameter, OrdinalHyperparameter

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.configspace import (
    TabularBenchmark,
    configuration_space,
    edge_names,
    fidelity_family,
    fidelity_space,
    to_arch,
    to_config,
)
from nasbench_suite.errors import ConfigError, InvalidArchError, UnknownNameError
from nasbench_suite.oracle import BudgetExhausted, TabularOracle
from nasbench_suite.protocol import Fidelity
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store
from nasbench_suite.strategies import registry
from nasbench_suite.testing import synthetic as checks

NB201 = CellSpace.nb201()
SPACES = [NB201, checks.TINY_SPACE, checks.WIDE_SPACE, checks.DEEP_SPACE]


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(checks.build_synthetic_store(tmp_path_factory.mktemp("cs") / "wide", checks.WIDE_SPACE))


# ---------------------------------------------------------------- the space
def test_one_categorical_per_edge_named_as_hpobench_names_them() -> None:
    cs = configuration_space(NB201)
    assert list(cs) == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    for name in cs:
        assert isinstance(cs[name], CategoricalHyperparameter)
        assert cs[name].choices == NB201.ops
    assert cs.meta == {"ops": list(NB201.ops), "n_nodes": 4}


@pytest.mark.parametrize("space", SPACES, ids=lambda s: f"{s.n_ops}ops-{s.n_nodes}nodes")
def test_out_of_table_spaces_get_their_own_edges_and_ops(space: CellSpace) -> None:
    cs = configuration_space(space)
    assert len(cs) == space.n_nodes * (space.n_nodes - 1) // 2 == space.n_edges
    assert {cs[n].choices for n in cs} == {space.ops}
    assert cs.meta == {"ops": list(space.ops), "n_nodes": space.n_nodes}


@pytest.mark.parametrize("space", SPACES, ids=lambda s: f"{s.n_ops}ops-{s.n_nodes}nodes")
def test_round_trip_every_op_on_every_edge(space: CellSpace) -> None:
    cs = configuration_space(space)
    base = space.sample(np.random.default_rng(0))
    for e, name in enumerate(edge_names(space)):
        for o, op in enumerate(space.ops):
            arch = Arch((*base.ops[:e], o, *base.ops[e + 1 :]))
            config = to_config(cs, space, arch)
            assert config[name] == op  # the edge's hyperparameter carries exactly that op
            assert to_arch(space, config) == arch
            assert to_arch(space, dict(config)) == arch


def test_round_trip_of_every_cell_and_the_official_strings() -> None:
    cs = configuration_space(NB201)
    for arch in NB201.enumerate():
        assert to_arch(NB201, to_config(cs, NB201, arch)) == arch
    # the official string names the same op per edge as the configuration
    arch = NB201.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    )
    assert dict(to_config(cs, NB201, arch)) == {
        "1<-0": "nor_conv_3x3",
        "2<-0": "nor_conv_3x3",
        "2<-1": "avg_pool_3x3",
        "3<-0": "skip_connect",
        "3<-1": "nor_conv_3x3",
        "3<-2": "skip_connect",
    }


def test_sampled_configurations_are_cells_of_the_space() -> None:
    cs = configuration_space(checks.DEEP_SPACE, seed=3)
    archs = {to_arch(checks.DEEP_SPACE, c) for c in cs.sample_configuration(200)}
    assert len(archs) > 150  # 59049 cells: 200 uniform draws are nearly all distinct
    for arch in archs:
        checks.DEEP_SPACE.validate(arch)


def test_bad_configurations_are_refused_in_one_line() -> None:
    config = {name: "none" for name in edge_names(NB201)}
    with pytest.raises(InvalidArchError, match=r"exactly the edges 1<-0, .*; got '1<-0', '2<-0'"):
        to_arch(NB201, {"1<-0": "none", "2<-0": "none"})
    with pytest.raises(InvalidArchError, match=r"unknown op 'conv' on edge '3<-2'; valid ops: none, "):
        to_arch(NB201, config | {"3<-2": "conv"})
    with pytest.raises(InvalidArchError, match="does not fit this space"):
        to_config(configuration_space(NB201), NB201, Arch((0, 0, 0)))


# ---------------------------------------------------------------- fidelities
def test_fidelity_family_is_the_curve_when_recorded_else_the_full_schedules(wide: Store) -> None:
    oracle = TabularOracle(
        wide, "cifar10-valid", Budget(BudgetKind.EVALUATIONS, 5), rng=np.random.default_rng(0)
    )
    problem = oracle.problem
    assert fidelity_family(problem.fidelities, problem.default_fidelity) == (
        Fidelity(4, 12),
        Fidelity(8, 12),
        Fidelity(12, 12),
    )
    two = (Fidelity(12, 12), Fidelity(200, 200))
    assert fidelity_family(two, Fidelity(12, 12)) == two
    space = fidelity_space(two, default=Fidelity(12, 12))
    assert isinstance(space["epoch"], OrdinalHyperparameter)
    assert space["epoch"].sequence == (12, 200) and space["epoch"].default_value == 12
    assert len(fidelity_space((Fidelity(12, 12),))) == 0  # one fidelity: nothing to choose


# ---------------------------------------------------------------- the HPOBench-style benchmark
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.mark.realdata
def test_objective_function_returns_the_table_values(real_store: Store) -> None:
    """Index 6111 of nb201_tabular.parquet: cifar10-valid valid_acc@12 mean 84.3840000012207,
    valid_acc@200 mean 91.60666665039064, seed 888 91.71999999023437, train_time_s@200 2879.74933385849
    (per epoch /200; one validation pass = 1/3 epoch on cifar10-valid), cifar10 test_acc@200 94.37333."""
    bench = TabularBenchmark(real_store)
    assert [f.epoch for f in bench.fidelities] == [12, 200]
    cs = bench.get_configuration_space(seed=0)
    config = to_config(cs, real_store.space, real_store.space.parse(BEST))
    per_epoch = 2879.74933385849 / 200

    at12 = bench.objective_function(config)  # the default fidelity: the 12-epoch schedule
    assert at12["function_value"] == pytest.approx(100 - 84.3840000012207, abs=1e-9)
    assert at12["cost"] == pytest.approx(per_epoch * (12 + 1 / 3), rel=1e-9)
    assert at12["info"]["arch"] == BEST and at12["info"]["fidelity"] == "12"

    at200 = bench.objective_function(dict(config), {"epoch": 200})
    assert at200["function_value"] == pytest.approx(100 - 91.60666665039064, abs=1e-9)
    assert at200["cost"] == pytest.approx(per_epoch * (200 + 1 / 3), rel=1e-9)
    seed888 = bench.objective_function(config, {"epoch": 200}, seed=888)
    assert seed888["info"]["valid_acc"] == pytest.approx(91.71999999023437, abs=1e-9)

    test = bench.objective_function_test(config)
    assert test["function_value"] == pytest.approx(100 - 94.37333333333333, abs=1e-9)
    assert test["info"]["dataset"] == "cifar10"


@pytest.mark.realdata
def test_objective_function_refuses_what_the_store_lacks(real_store: Store) -> None:
    bench = TabularBenchmark(real_store)
    config = {name: "none" for name in edge_names(real_store.space)}
    with pytest.raises(UnknownNameError, match=r"unknown epoch 50 for cifar10-valid; valid: 12, 200"):
        bench.objective_function(config, {"epoch": 50})
    with pytest.raises(UnknownNameError, match=r"a fidelity is \{'epoch': epochs\}"):
        bench.objective_function(config, {"epochs": 12})
    with pytest.raises(UnknownNameError, match="unknown seed 5"):
        bench.objective_function(config, {"epoch": 200}, seed=5)


def test_objective_function_matches_the_oracle_on_a_synthetic_store(wide: Store) -> None:
    bench = TabularBenchmark(wide)
    oracle = TabularOracle(
        wide, "cifar10-valid", Budget(BudgetKind.EVALUATIONS, 60), rng=np.random.default_rng(0), noise="mean"
    )
    cs = bench.get_configuration_space(seed=1)
    for config in cs.sample_configuration(20):
        arch = to_arch(wide.space, config)
        for fidelity in bench.fidelities:
            observed = oracle.evaluate(arch, fidelity)
            result = bench.objective_function(config, {"epoch": fidelity.epoch})
            assert result["function_value"] == pytest.approx(100 - observed.valid_acc, abs=1e-12)
            assert result["cost"] == pytest.approx(observed.cost_s, rel=1e-12)
    with pytest.raises(BudgetExhausted):  # 20 configs x 3 fidelities spent the oracle's 60 evaluations
        oracle.evaluate(arch, fidelity)
    for _ in range(100):  # the benchmark keeps no budget: the loop is the user's
        bench.objective_function(config)


# ---------------------------------------------------------------- the adapters' own rules
ADAPTERS = ["smac", "smac_mf", "dehb", "ngopt", "nevergrad"]


def _problem(store: Store):
    return TabularOracle(
        store, "cifar10-valid", Budget(BudgetKind.EVALUATIONS, 1), rng=np.random.default_rng(0)
    ).problem


@pytest.mark.parametrize("name", ADAPTERS)
def test_the_seed_comes_from_the_generator(name: str, wide: Store) -> None:
    problem = _problem(wide)
    asks = {}
    for seed in (0, 0, 1):
        strategy = registry.build(name, problem, np.random.default_rng(seed))
        asks.setdefault(seed, []).append([strategy.ask() for _ in range(12)])
    assert asks[0][0] == asks[0][1]
    assert asks[0][0] != asks[1][0]


@pytest.mark.parametrize("name", ["smac_mf", "dehb"])
def test_multi_fidelity_adapters_use_the_ladder(name: str, wide: Store) -> None:
    problem = _problem(wide)
    strategy = registry.build(name, problem, np.random.default_rng(0))
    seen = set()
    for _ in range(40):
        proposal = strategy.ask()
        seen.add(proposal.fidelity)
        strategy.tell(proposal, _observation(proposal))
    # eta=3 between epochs 4 and 12: rungs 4 and 12 (SMAC's and DEHB's max_SH_iter = 2); 8 is no rung
    assert seen == {Fidelity(4, 12), Fidelity(12, 12)}


def _observation(proposal):
    from nasbench_suite.protocol import Observation

    return Observation(proposal.arch, proposal.fidelity, 50.0 + sum(proposal.arch.ops), 1.0, 0.0)


def test_smac_writes_nothing_in_the_working_directory(
    wide: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("smac", "smac_mf", "dehb"):
        strategy = registry.build(name, _problem(wide), np.random.default_rng(0))
        for _ in range(30):
            proposal = strategy.ask()
            strategy.tell(proposal, _observation(proposal))
        pickle.loads(pickle.dumps(strategy)).ask()
    assert list(tmp_path.iterdir()) == []


def test_bad_hyperparameters_are_refused(wide: Store) -> None:
    problem = _problem(wide)
    cases = [
        (
            "nevergrad",
            {"optimizer": "DiscreteOnePlusOn"},
            r"got 'DiscreteOnePlusOn'; did you mean DiscreteOnePlusOne",
        ),
        ("ngopt", {"budget": 0}, "budget must be an integer >= 1, got 0"),
        ("dehb", {"strategy": "rand3_bin"}, "strategy must be one of rand1_bin"),
        ("dehb", {"min_fidelity": "12", "max_fidelity": "12"}, "needs at least two fidelities"),
        ("smac_mf", {"eta": 1}, "eta must be a number >= 2"),
        ("smac", {"n_trials": 0}, "n_trials must be an integer >= 1"),
        ("optuna", {"sampler": "CmaEsSampler"}, "CMA-ES does not model categorical parameters"),
        ("optuna", {"sampler": "QMCSampler"}, "numeric parameters only"),
        ("optuna", {"sampler": "Foo"}, "sampler must be one of TPESampler, GPSampler"),
    ]
    for name, hparams, message in cases:
        with pytest.raises(ConfigError, match=message):
            registry.build(name, problem, np.random.default_rng(0), hparams)


@pytest.mark.parametrize("sampler", ["GPSampler", "NSGAIIISampler", "RandomSampler", "BruteForceSampler"])
def test_optuna_samplers_search_the_categorical_edges(sampler: str, wide: Store) -> None:
    problem = _problem(wide)
    strategy = registry.build("optuna", problem, np.random.default_rng(0), {"sampler": sampler})
    archs = []
    for _ in range(14):
        proposal = strategy.ask()
        problem.space.validate(proposal.arch)
        archs.append(proposal.arch)
        strategy.tell(proposal, _observation(proposal))
    assert len(set(archs)) >= 12
    assert {t.params["edge0"] for t in strategy.study.trials} <= set(problem.space.ops)


def test_a_missing_optional_package_is_one_line(monkeypatch: pytest.MonkeyPatch, wide: Store) -> None:
    import sys

    from nasbench_suite.optional import MissingDependencyError

    monkeypatch.setitem(sys.modules, "nevergrad", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'nasbench-suite\[nevergrad\]'"):
        registry.build("ngopt", _problem(wide), np.random.default_rng(0))


@pytest.mark.realdata
def test_the_readme_example_runs(real_store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    marker = "<!-- configspace example: tests/test_configspace.py runs this block -->\n```python\n"
    assert marker in readme
    code = readme.split(marker, 1)[1].split("```", 1)[0]
    assert 'Store("data/store")' in code
    namespace: dict = {}
    exec(code.replace('Store("data/store")', f"Store({str(real_store_path)!r})"), namespace)
    result, config = namespace["result"], namespace["config"]
    arch = to_arch(namespace["bench"].space, config)
    store = Store(real_store_path)
    seed777 = store.query(arch, "cifar10-valid", "valid_acc", epochs=200, seed=777)
    assert result["function_value"] == pytest.approx(100 - seed777, abs=1e-9)
    printed = capsys.readouterr().out
    assert "epoch, Type: Ordinal, Sequence: {12, 200}, Default: 12" in printed
    assert store.space.format(arch) in printed


def test_the_contract_runs_smac_with_the_smaller_search_its_class_declares(wide: Store) -> None:
    from nasbench_suite.testing._harness import contract_hparams, start

    assert contract_hparams("smac") == {"challengers": 100, "local_search_iterations": 1}
    assert contract_hparams("rea") == {}  # everything else runs at its defaults
    strategy, _ = start("smac", wide, Budget(BudgetKind.EVALUATIONS, 5))
    assert (strategy.challengers, strategy.local_search_iterations) == (100, 1)
    assert registry.hyperparameters("smac")["challengers"] == 10000  # SMAC's own default stays
