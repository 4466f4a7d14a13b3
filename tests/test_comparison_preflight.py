"""The Python API checks a comparison as the CLI does (`preflight`, called by `run_comparison`): a budget
that cannot fit one evaluation is a ConfigError naming the cheapest evaluation's cost and writes nothing;
one that fits only some evaluations is a warning; a grid over the threshold is announced with its
estimate before its first run. The tiny store's arch i trains for 1 + i/10 s an epoch and a cifar100
validation pass is 1/30 epoch: the cheapest 12-epoch evaluation is arch 0's 12 + 1/30 s, the dearest
arch 26's 3.6 x (12 + 1/30) = 43.32 s."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nasbench_suite import api, preflight, strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError
from nasbench_suite.lookup import Noise
from nasbench_suite.results import RUNS
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store
from tests.conftest import build_tiny_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(build_tiny_store(tmp_path / "tiny"))


def _spec(budget: Budget, runs: int = 2, names: tuple[str, ...] = ("random",)) -> ComparisonSpec:
    return ComparisonSpec(names, ("cifar100",), runs, budget, noise=Noise.MEAN, seed=3)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (
            Budget(BudgetKind.SECONDS, 12.03),
            "a budget of 12.03 seconds cannot fit one evaluation at 12 epochs on cifar100: the cheapest "
            "costs 12.0333 simulated seconds (arch 0)",
        ),
        (Budget(BudgetKind.EPOCHS, 11), "the cheapest trains 12 epochs"),
        (Budget(BudgetKind.EVALUATIONS, 100_001), "allows up to 1e+05 evaluations per run on cifar100"),
    ],
)
def test_run_comparison_refuses_a_budget_that_cannot_fit_and_writes_nothing(
    store: Store, tmp_path: Path, budget: Budget, message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(
        ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")
    ):
        run_comparison(store, _spec(budget), out, strategies.build, progress=False)
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"cannot fit one evaluation|allows up to"):  # the facade too
        api.compare(store, out, strategies=["random"], datasets=["cifar100"], budget=budget, runs=2)
    assert not out.exists()


def test_a_budget_that_fits_some_evaluations_is_a_warning_and_runs(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notices: list[str] = []
    done = run_comparison(
        store,
        _spec(Budget(BudgetKind.SECONDS, 12.04)),
        tmp_path / "a",
        strategies.build,
        progress=False,
        notify=notices.append,
    )
    assert len(done) == 2
    assert len(notices) == 1 and notices[0].startswith("warning: a budget of 12.04 seconds does not fit")
    assert "(they cost 12.0333 to 43.32 simulated seconds)" in notices[0]
    with caplog.at_level(logging.WARNING, logger="nasbench_suite.preflight"):  # the API's default: logged
        api.compare(
            store,
            tmp_path / "b",
            strategies=["random"],
            datasets=["cifar100"],
            budget=api.seconds(12.04),
            runs=1,
        )
    fallback = (
        "warning: the store has only seed means for cifar100 at 12 epochs; noise 'random' falls back to the "
        "mean there (recorded in the run metadata and the report)"
    )  # the facade's default noise is 'random'; the tiny store holds 12-epoch means only
    assert [r.getMessage() for r in caplog.records] == [*notices, fallback]


def test_a_large_grid_is_announced_with_its_estimate_before_its_first_run(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(preflight, "LARGE_GRID", 5)
    out = tmp_path / "out"
    seen: list[tuple[str, bool]] = []

    def notify(text: str) -> None:
        seen.append((text, (out / RUNS).exists() or (out / "config.json").exists()))

    spec = _spec(Budget(BudgetKind.EVALUATIONS, 5), runs=3, names=("random", "rea"))  # 6 runs > 5
    done = run_comparison(store, spec, out, strategies.build, jobs=1, progress=False, notify=notify)
    assert len(done) == 6 and len(seen) == 1
    text, written = seen[0]
    assert not written  # announced before config.json or any run file
    assert text.startswith("large grid: 6 runs; estimated from one run of each strategy: ")
    assert "on 1 processes" in text and "of run files" in text and "of memory in this process" in text
    # a grid at the threshold is not announced; through the facade, an announcement is logged
    assert (
        preflight.announce_grid(
            store, _spec(Budget(BudgetKind.EVALUATIONS, 5), runs=5), strategies.build, jobs=1
        )
        is None
    )
    with caplog.at_level(logging.WARNING, logger="nasbench_suite.preflight"):
        api.compare(
            store,
            tmp_path / "api",
            strategies=["random"],
            datasets=["cifar100"],
            budget=api.evaluations(5),
            runs=6,
            noise="mean",
        )
    assert [r.getMessage().split(";")[0] for r in caplog.records] == ["large grid: 6 runs"]
