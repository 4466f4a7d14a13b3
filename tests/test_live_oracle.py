"""The live oracle: same interface as the table, real training behind it, measured cost, budgets,
resume from its log and from a mid-training checkpoint, early stopping, and every strategy unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError, ResultsError, SuiteError, UnknownNameError
from nasbench_suite.live_training import oracle as live_oracle_module
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.model import build_network, param_count
from nasbench_suite.live_training.oracle import LiveOracle
from nasbench_suite.live_training.recipe import train, without_test
from nasbench_suite.live_training.scale import LiveScale, subset
from nasbench_suite.protocol import Constraint, Fidelity, Observation
from nasbench_suite.runner import ComparisonSpec, drive
from nasbench_suite.space import CellSpace
from nasbench_suite.store import Store
from nasbench_suite.strategies.registry import strategy_class

SPACE = CellSpace(("none", "skip_connect", "nor_conv_3x3"), 3)  # 27 cells
SCALE = LiveScale(channels=2, cells_per_stage=1, epochs=2, batch_size=32)
EVALS = Budget(BudgetKind.EVALUATIONS, 3)


def _data(n_train: int = 64, n_eval: int = 32, side: int = 8) -> LiveDataset:
    """Learnable synthetic data: the class is which quadrant is bright."""
    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 4, n)
        x = rng.integers(0, 60, (n, side, side, 3)).astype(np.uint8)
        h = side // 2
        for k, label in enumerate(y):
            r, c = divmod(int(label), 2)
            x[k, r * h : (r + 1) * h, c * h : (c + 1) * h] += 150
        return x, y.astype(np.int64)

    (tx, ty), (vx, vy), (sx, sy) = part(n_train), part(n_eval), part(n_eval)
    return LiveDataset("synthetic", tx, ty, vx, vy, sx, sy, (0.3,) * 3, (0.2,) * 3, 4, 1)


def _oracle(budget: Budget = EVALS, seed: int = 0, **kwargs: Any) -> LiveOracle:
    return LiveOracle(
        SPACE, _data(), budget, rng=np.random.default_rng(seed), scale=SCALE, threads=1, **kwargs
    )


def test_evaluation_is_a_real_training_run_with_the_drawn_seed() -> None:
    oracle = _oracle()
    arch = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|")
    obs = oracle.evaluate(arch, Fidelity(2, 2))
    # the same training by hand: the seed is the oracle generator's draw after the proxy batch and the
    # measurement seed
    rng = np.random.default_rng(0)
    rng.choice(64, size=64, replace=False)
    rng.integers(2**31 - 1)
    seed = int(rng.integers(2**31 - 1))
    model = build_network(
        SPACE,
        arch,
        num_classes=4,
        channels=2,
        cells_per_stage=1,
        generator=torch.Generator().manual_seed(seed),
    )
    data = _data()
    no_test = without_test(data)
    result = train(model, no_test, epochs=2, batch_size=32, seed=seed, threads=1)
    assert obs.valid_acc == result.final.valid_acc
    assert obs.fidelity == Fidelity(2, 2)
    assert obs.cost_s > 0 and obs.time_s == obs.cost_s
    # the test accuracy stays inside the oracle, for the report
    assert not hasattr(obs, "test_acc")
    assert 0 <= oracle.trajectory.incumbent_test[-1] <= 100


def test_evaluations_budget_and_clock() -> None:
    oracle = _oracle()
    rng = np.random.default_rng(1)
    seen = [oracle.evaluate(SPACE.sample(rng), Fidelity(1, 2)) for _ in range(3)]
    with pytest.raises(BudgetExhausted):
        oracle.evaluate(SPACE.sample(rng), Fidelity(1, 2))
    t = oracle.trajectory
    assert len(t) == 3 and oracle.spent.evaluations == 3 and oracle.spent.epochs == 3
    assert np.allclose(np.cumsum(t.cost_s), t.time_s)
    assert [o.time_s for o in seen] == t.time_s
    best = int(np.argmax(t.valid_seen))
    assert t.incumbent_valid_seen[-1] == t.valid_seen[best]


def test_seconds_budget_stops_training_and_records_nothing() -> None:
    oracle = _oracle(Budget(BudgetKind.SECONDS, 1e-6))
    with pytest.raises(BudgetExhausted):
        oracle.evaluate(SPACE.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"), Fidelity(2, 2))
    assert len(oracle.trajectory) == 0 and oracle.spent.evaluations == 0


def test_unknown_fidelity_metric_and_device_are_one_line_errors() -> None:
    oracle = _oracle()
    arch = SPACE.sample(np.random.default_rng(0))
    with pytest.raises(UnknownNameError, match=r"unknown fidelity \(epoch/schedule\) '12'; valid: 1/2, 2"):
        oracle.evaluate(arch, Fidelity(12, 12))
    with pytest.raises(UnknownNameError, match="valid: flops_m, params_mb, zc_"):
        oracle.measure(arch, "latency_s")
    with pytest.raises(SuiteError, match="valid: cpu"):
        _oracle(device="cuda:7" if torch.cuda.is_available() else "cuda")
    with pytest.raises(ConfigError, match="unsupported device"):
        _oracle(device="mps")


def test_search_needs_a_validation_split() -> None:
    from dataclasses import replace

    data = replace(_data(), valid_x=None, valid_y=None)
    with pytest.raises(ConfigError, match="no validation split"):
        LiveOracle(SPACE, data, EVALS, rng=np.random.default_rng(0), scale=SCALE)


def test_free_metrics_are_counted_from_the_network() -> None:
    oracle = _oracle()
    arch = SPACE.parse("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|")
    m = oracle.measure(arch, "params_mb")
    net = build_network(SPACE, arch, num_classes=4, channels=2, cells_per_stage=1)
    assert m.value == param_count(net) / 1e6 and m.cost_s == 0.0
    assert oracle.spent.evaluations == 0


def _run_search(oracle: LiveOracle, name: str = "random", seed: int = 3) -> list[Observation]:
    search = strategies.build(name, oracle.problem, np.random.default_rng(seed))
    drive(search, oracle)
    return oracle.trajectory


def test_a_restarted_search_replays_its_log_without_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run_search(_oracle(workdir=tmp_path))
    assert len(first) == 3 and (tmp_path / "evaluations.jsonl").is_file()
    assert not list((tmp_path / "checkpoints").glob("*.pt"))  # finished runs leave no checkpoint

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a replayed evaluation must not train")

    monkeypatch.setattr(live_oracle_module, "train", no_training)
    again = _run_search(_oracle(workdir=tmp_path))
    assert again.valid_seen == first.valid_seen and again.cost_s == first.cost_s
    assert again.incumbent_test == first.incumbent_test
    with pytest.raises(ResultsError, match="holds another search"):
        _run_search(_oracle(workdir=tmp_path, seed=99))


def test_an_interrupted_training_resumes_from_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arch = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|")
    uninterrupted = _oracle().evaluate(arch, Fidelity(2, 2))

    real_train = live_oracle_module.train

    def crash_after_first_epoch(*args: Any, on_epoch: Any, **kwargs: Any) -> Any:
        def crash(stats: Any) -> None:
            on_epoch(stats)
            raise KeyboardInterrupt

        return real_train(*args, on_epoch=crash, **kwargs)

    monkeypatch.setattr(live_oracle_module, "train", crash_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        _oracle(workdir=tmp_path).evaluate(arch, Fidelity(2, 2))
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 1
    (checkpoint,) = (tmp_path / "checkpoints").glob("*.pt")
    first_attempt_s = float(torch.load(checkpoint, weights_only=True)["train_seconds"])
    epochs_run: list[int] = []

    def counting(*args: Any, on_epoch: Any, **kwargs: Any) -> Any:
        def count(stats: Any) -> None:
            epochs_run.append(stats.epoch)
            on_epoch(stats)

        return real_train(*args, on_epoch=count, **kwargs)

    monkeypatch.setattr(live_oracle_module, "train", counting)
    resumed = _oracle(workdir=tmp_path).evaluate(arch, Fidelity(2, 2))
    assert epochs_run == [1]  # only the epoch the crash left undone
    assert resumed.valid_acc == uninterrupted.valid_acc  # CPU resumption is bit-exact
    assert resumed.cost_s > first_attempt_s  # the first attempt's training is charged too
    assert not checkpoint.exists()


def test_an_epochs_budget_refuses_what_does_not_fit_and_replays_in_step_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arch = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|")
    budget = Budget(BudgetKind.EPOCHS, 5)

    def search(oracle: LiveOracle) -> list[float]:
        seen = [
            oracle.evaluate(arch, Fidelity(2, 2)).valid_acc,
            oracle.evaluate(arch, Fidelity(2, 2)).valid_acc,
        ]
        with pytest.raises(BudgetExhausted):
            oracle.evaluate(arch, Fidelity(2, 2))  # 6 > 5 epochs: refused, not recorded
        seen.append(oracle.evaluate(arch, Fidelity(1, 2)).valid_acc)
        seen.append(oracle.measure(arch, "params_mb").value)
        return seen

    first = _oracle(budget, workdir=tmp_path)
    values = search(first)
    assert first.spent.epochs == 5 and first.spent.evaluations == 3
    monkeypatch.setattr(live_oracle_module, "train", lambda *a, **k: pytest.fail("a replay must not train"))
    assert search(_oracle(budget, workdir=tmp_path)) == values


def test_a_log_line_cut_short_by_a_crash_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _run_search(_oracle(workdir=tmp_path))
    log = tmp_path / "evaluations.jsonl"
    intact = log.read_bytes()
    with open(log, "ab") as f:
        f.write(b'{"step": 3, "request": "train |none')  # the crash
    monkeypatch.setattr(live_oracle_module, "train", lambda *a, **k: pytest.fail("a replay must not train"))
    oracle = _oracle(workdir=tmp_path)
    assert log.read_bytes() == intact  # truncated back to the last whole line
    again = _run_search(oracle)
    assert again.valid_seen == first.valid_seen


def test_a_seconds_budget_exhaustion_is_logged_and_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arch = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|")
    budget = Budget(BudgetKind.SECONDS, 1e-6)
    with pytest.raises(BudgetExhausted):
        _oracle(budget, workdir=tmp_path).evaluate(arch, Fidelity(2, 2))
    monkeypatch.setattr(live_oracle_module, "train", lambda *a, **k: pytest.fail("a replay must not train"))
    with pytest.raises(BudgetExhausted):
        _oracle(budget, workdir=tmp_path).evaluate(arch, Fidelity(2, 2))


def test_a_measurement_has_one_value_per_arch_and_costs_each_time() -> None:
    arch = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|")
    oracle = _oracle(Budget(BudgetKind.SECONDS, 1e9))
    a, b = oracle.measure(arch, "zc_synflow"), oracle.measure(arch, "zc_synflow")
    assert a.value == b.value and a.cost_s == b.cost_s > 0 and b.time_s == pytest.approx(2 * a.cost_s)
    assert _oracle(Budget(BudgetKind.SECONDS, 1e9)).measure(arch, "zc_synflow").value == a.value
    assert oracle.spent.evaluations == 0


def test_a_space_too_large_for_int64_ids_is_refused() -> None:
    with pytest.raises(ConfigError, match="more than an int64 arch id can number"):
        LiveOracle(
            CellSpace(("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"), 8),
            _data(),
            EVALS,
            rng=np.random.default_rng(0),
            scale=SCALE,
        )


class _StopAlways:
    def __init__(self) -> None:
        self.references: list[list[float]] = []
        self.asked: list[tuple[list[float], float]] = []

    def should_stop(self, curve: list[float], incumbent: float) -> bool:
        self.asked.append((list(curve), incumbent))
        return True

    def add_reference(self, curve: list[float]) -> None:
        self.references.append(list(curve))


def test_early_stopping_shortens_full_runs_once_there_is_an_incumbent() -> None:
    rule = _StopAlways()
    oracle = LiveOracle(
        SPACE,
        _data(),
        EVALS,
        rng=np.random.default_rng(0),
        scale=SCALE.with_(epochs=3),
        threads=1,
        stopping=rule,
    )
    a, b = (
        SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|"),
        SPACE.parse("|none~0|+|none~0|none~1|"),
    )
    first = oracle.evaluate(a, Fidelity(3, 3))
    assert first.fidelity == Fidelity(3, 3) and len(rule.references) == 1 and len(rule.references[0]) == 3
    second = oracle.evaluate(b, Fidelity(3, 3))
    assert second.fidelity == Fidelity(1, 3)  # stopped after its first epoch, reported at that fidelity
    assert rule.asked[0] == ([second.valid_acc], first.valid_acc)
    lower = oracle.evaluate(b, Fidelity(2, 3))  # a lower fidelity is the strategy's own early stop
    assert lower.fidelity == Fidelity(2, 3)
    meta = oracle.run_metadata()
    assert meta["early_stopped"] == 1 and meta["early_stopped_epochs_saved"] == 2
    assert oracle.spent.epochs == 3 + 1 + 2


@pytest.mark.parametrize("name", strategies.names())
def test_every_strategy_searches_live_unchanged(name: str) -> None:
    needs = strategy_class(name).requires
    extras: dict[str, Any] = {}
    sizes = sorted(
        param_count(SCALE.network(SPACE, a, num_classes=4, seed=0)) / 1e6 for a in SPACE.enumerate()
    )
    if "constraint" in needs:
        extras["constraint"] = Constraint("params_mb", sizes[len(sizes) // 2])  # half the cells are feasible
    if "objective" in needs:
        extras["objective"] = "params_mb"
    hparams = {"zc": {"pool_size": 5, "proxy": "zc_naswot"}}.get(name, {})
    oracle = LiveOracle(
        SPACE,
        _data(),
        Budget(BudgetKind.EVALUATIONS, 4),
        rng=np.random.default_rng(0),
        scale=SCALE,
        threads=1,
        **extras,
    )
    search = strategies.build(name, oracle.problem, np.random.default_rng(1), hparams)
    drive(search, oracle)
    t = oracle.trajectory
    assert oracle.spent.evaluations == 4 and sum(e > 0 for e in t.epoch) == 4
    assert all(0 <= i < SPACE.size for i in t.arch_index)
    if name == "zc":
        assert {m for m in t.measure if m} == {"zc_naswot"}
    if "constraint" in needs and t.incumbent_index[-1] >= 0:
        incumbent = SPACE.from_code(t.incumbent_index[-1])
        assert (
            param_count(SCALE.network(SPACE, incumbent, num_classes=4, seed=0)) / 1e6
            <= sizes[len(sizes) // 2]
        )


def test_an_out_of_table_space_is_searched_live() -> None:
    with pytest.raises(ConfigError, match=r"no implementation for op\(s\) 'conv_5x5'"):
        LiveOracle(
            CellSpace(("none", "conv_5x5"), 3), _data(), EVALS, rng=np.random.default_rng(0), scale=SCALE
        )
    space = CellSpace(("none", "skip_connect", "sep_conv_3x3", "dil_conv_3x3", "nor_conv_5x5"), 5)
    oracle = LiveOracle(space, _data(), EVALS, rng=np.random.default_rng(0), scale=SCALE, threads=1)
    search = strategies.build("rea", oracle.problem, np.random.default_rng(0))
    drive(search, oracle)
    t = oracle.trajectory
    assert len(t) == 3 and all(0 <= v <= 100 for v in t.valid_seen)
    assert space.n_edges == 10 and len(oracle.problem.fidelities) == SCALE.epochs


def test_live_comparison_through_the_runner(tmp_path: Path, real_store: Store) -> None:
    from nasbench_suite.results import load_runs

    spec = ComparisonSpec(("random",), ("cifar10-valid",), 2, EVALS, live={"scale": SCALE.to_json()})

    def make_oracle(strategy: str, dataset: str, run: int, rng: np.random.Generator) -> LiveOracle:
        return LiveOracle(
            SPACE,
            _data(),
            spec.budget,
            rng=rng,
            scale=SCALE,
            threads=1,
            workdir=tmp_path / "live" / f"{strategy}-{run}",
        )

    done = run_comparison(
        real_store, spec, tmp_path / "out", strategies.build, progress=False, make_oracle=make_oracle
    )
    assert len(done) == 2 and all(r.evaluations == 3 for r in done)
    runs = load_runs(tmp_path / "out")
    assert len(runs) == 2
    assert ComparisonSpec.from_json(spec.to_json()) == spec


def test_subset_keeps_source_order_and_sizes() -> None:
    data = _data(64, 32)
    small = subset(data, LiveScale(train_subset=10, eval_subset=5), np.random.default_rng(0))
    assert len(small.train_x) == 10 and len(small.valid_x) == 5 and len(small.test_x) == 5
    rows = [int(np.flatnonzero((data.train_x == x).all(axis=(1, 2, 3)))[0]) for x in small.train_x]
    assert rows == sorted(rows)
    with pytest.raises(ConfigError, match="train_subset must be a whole number"):
        LiveScale(train_subset=0)


def test_compile_is_passed_to_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real_train = live_oracle_module.train

    def spy(*args: Any, compile_model: bool, **kwargs: Any) -> Any:
        seen.append(compile_model)
        return real_train(*args, compile_model=False, **kwargs)  # compiling takes ~40 s on a CPU

    monkeypatch.setattr(live_oracle_module, "train", spy)
    arch = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|")
    _oracle(compile_model=True).evaluate(arch, Fidelity(1, 2))
    _oracle().evaluate(arch, Fidelity(1, 2))
    assert seen == [True, False]
