from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError, ResultsError
from nasbench_suite.results import COLUMNS, load_rows, load_runs, read_config, run_file
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.seeding import run_seed_sequence
from nasbench_suite.store import Store

SPEC = ComparisonSpec(
    ("random", "rea"), ("cifar100", "ImageNet16-120"), 4, Budget(BudgetKind.SECONDS, 3000), seed=11
)


def test_results_directory_has_one_row_per_evaluation_and_full_metadata(
    tiny_store: Store, tmp_path: Path
) -> None:
    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    rows, runs = load_rows(tmp_path), load_runs(tmp_path)
    assert list(rows.columns) == list(COLUMNS)
    assert len(runs) == 16 and runs["evaluations"].sum() == len(rows)
    first = rows[(rows.strategy == "rea") & (rows.dataset == "cifar100") & (rows.run == 2)]
    assert list(first["step"]) == list(range(len(first)))
    assert np.allclose(first["time_s"], first["cost_s"].cumsum())
    assert (first["time_s"] <= 3000).all()
    meta = runs[(runs.strategy == "rea") & (runs.dataset == "cifar100") & (runs.run == 2)].iloc[0]
    assert meta["final_test"] == first["incumbent_test"].iloc[-1]
    # every time is <= 3000, so the two points nearest to 3000 are the last two: extrapolate from them
    (t1, t2), (v1, v2) = first["time_s"].iloc[-2:], first["incumbent_test"].iloc[-2:]
    assert t1 < t2 < 3000
    assert meta["test_at_budget"] == pytest.approx(v2 + (v2 - v1) * (3000 - t2) / (t2 - t1), rel=1e-12)
    config = read_config(tmp_path)
    assert config["data_checksum"] == tiny_store.checksum and config["spec"] == SPEC.to_json()
    assert ComparisonSpec.from_json(config["spec"]) == SPEC


def test_a_run_is_reproducible_alone_and_runs_are_paired_by_seed(tiny_store: Store, tmp_path: Path) -> None:
    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    rows = load_rows(tmp_path)
    alone, _ = run_one(tiny_store, SPEC, "rea", "ImageNet16-120", 3, strategies.build)
    saved = rows[(rows.strategy == "rea") & (rows.dataset == "ImageNet16-120") & (rows.run == 3)]
    assert (
        list(saved["arch_index"]) == alone["arch_index"] and list(saved["valid_seen"]) == alone["valid_seen"]
    )
    # spawn semantics: run r's stream is SeedSequence(seed).spawn(n)[r]
    spawned = np.random.SeedSequence(11).spawn(4)[3]
    assert run_seed_sequence(11, 3).generate_state(4).tolist() == spawned.generate_state(4).tolist()
    # the first proposals of random search and REA (random while filling the population) coincide
    rs = rows[(rows.strategy == "random") & (rows.dataset == "ImageNet16-120") & (rows.run == 3)]
    assert list(rs["arch_index"][:10]) == list(saved["arch_index"][:10])


def test_parallel_runs_equal_serial_runs(tiny_store: Store, tmp_path: Path) -> None:
    run_comparison(tiny_store, SPEC, tmp_path / "serial", strategies.build, jobs=1, progress=False)
    run_comparison(tiny_store, SPEC, tmp_path / "parallel", strategies.build, jobs=2, progress=False)
    a, b = load_rows(tmp_path / "serial"), load_rows(tmp_path / "parallel")
    pd.testing.assert_frame_equal(a.drop(columns="overhead_s"), b.drop(columns="overhead_s"))


def test_an_interrupted_comparison_does_only_the_missing_runs(tiny_store: Store, tmp_path: Path) -> None:
    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    before = load_rows(tmp_path)
    kept = run_file(tmp_path, "random", "cifar100", 0)
    kept_mtime = kept.stat().st_mtime_ns
    for run in (1, 2):
        run_file(tmp_path, "rea", "cifar100", run).unlink()
    (tmp_path / "runs" / ".half-written.parquet.tmp").write_bytes(b"partial")  # what a crash could leave
    done = run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    assert sorted((r.strategy, r.dataset, r.run) for r in done) == [
        ("rea", "cifar100", 1),
        ("rea", "cifar100", 2),
    ]
    assert kept.stat().st_mtime_ns == kept_mtime
    pd.testing.assert_frame_equal(
        before.drop(columns="overhead_s"), load_rows(tmp_path).drop(columns="overhead_s")
    )


def test_a_different_comparison_cannot_reuse_a_results_directory(tiny_store: Store, tmp_path: Path) -> None:
    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    other = ComparisonSpec(("random",), ("cifar100",), 4, Budget(BudgetKind.SECONDS, 3000), seed=12)
    with pytest.raises(ResultsError, match="holds a different comparison"):
        run_comparison(tiny_store, other, tmp_path, strategies.build, jobs=1, progress=False)


def test_a_crashing_strategy_keeps_the_finished_runs(tiny_store: Store, tmp_path: Path) -> None:
    def flaky(name, problem, rng, hparams):
        strategy = strategies.build(name, problem, rng, hparams)
        if name == "rea":
            raise RuntimeError("boom")
        return strategy

    with pytest.raises(RuntimeError, match="boom"):
        run_comparison(tiny_store, SPEC, tmp_path, flaky, jobs=1, progress=False)
    assert len(load_runs(tmp_path)) == 8  # every random run finished before rea started
    assert not list((tmp_path / "runs").glob("rea__*"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"runs": 0}, "runs must be a whole number >= 1"),
        ({"seed": -1}, "seed must be"),
        ({"strategies": ()}, "at least one strategy"),
    ],
)
def test_bad_comparison_settings(kwargs: dict, message: str) -> None:
    base = {
        "strategies": ("random",),
        "datasets": ("cifar100",),
        "runs": 1,
        "budget": Budget(BudgetKind.EVALUATIONS, 5),
    }
    with pytest.raises(ConfigError, match=message):
        ComparisonSpec(**(base | kwargs))


def test_unknown_hyperparameters_and_bad_values_fail_before_running(tiny_store: Store) -> None:
    from nasbench_suite.oracle import TabularOracle

    problem = TabularOracle(
        tiny_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 5), rng=np.random.default_rng(0)
    ).problem
    with pytest.raises(
        ConfigError, match="has no hyperparameter popsize; valid: population_size, sample_size"
    ):
        strategies.check_hyperparameters("rea", problem, {"popsize": 3})
    with pytest.raises(ConfigError, match="population_size must be an integer >= 1, got -3"):
        strategies.check_hyperparameters("rea", problem, {"population_size": -3})
    with pytest.raises(ConfigError, match=r"sample_size must be an integer in 1\.\.population_size"):
        strategies.check_hyperparameters("rea", problem, {"population_size": 5, "sample_size": 6})
