"""Full-pipeline validation: arch selection over the accuracy range, rank correlation, `validate live`
and `validate pipeline` on tiny data, and the live commands' CLI (one-line errors, a real `compare --live`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nasbench_suite.analysis.correlation import plot_correlation
from nasbench_suite.cli import main
from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.scale import LiveScale
from nasbench_suite.live_training.validate import (
    RESNET_CELL,
    spread_indices,
    validate_live,
    validate_pipeline,
)
from nasbench_suite.rank_agreement import rank_correlation
from nasbench_suite.store import Store

TINY = LiveScale(channels=2, cells_per_stage=1, epochs=1, batch_size=32)


def _data(name: str = "cifar10-valid") -> LiveDataset:
    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.integers(0, 255, (n, 8, 8, 3)).astype(np.uint8), rng.integers(0, 10, n).astype(np.int64)

    (tx, ty), (vx, vy), (sx, sy) = part(64), part(32), part(32)
    return LiveDataset(name, tx, ty, vx, vy, sx, sy, (0.5,) * 3, (0.25,) * 3, 10, 1)


def test_spread_indices_span_the_range_with_distinct_levels(real_store: Store) -> None:
    acc = np.asarray(real_store.table("cifar10-valid", "valid_acc", 200).column("mean"))
    flagged = np.asarray(real_store.table(None, "params_counts_mismatch").values).astype(bool)
    chosen = spread_indices(real_store, "cifar10-valid", 20)
    values = acc[chosen]
    assert len(set(chosen)) == 20 and not flagged[chosen].any()
    assert list(values) == sorted(values)
    assert values[0] == np.nanmin(acc[~flagged]) and values[-1] == np.nanmax(acc[~flagged])
    assert values[-1] == pytest.approx(91.61, abs=0.005)  # the README's sanity value
    assert np.diff(values).min() >= 0.5
    with pytest.raises(ConfigError, match="at least 3"):
        spread_indices(real_store, "cifar10-valid", 2)
    with pytest.raises(ConfigError, match="accuracy levels"):
        spread_indices(real_store, "cifar10-valid", 200, min_gap=5.0)


def test_rank_correlation_is_scipys_on_the_finite_pairs() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    y = np.array([2.0, 1.0, 4.0, 3.0, 5.0, 7.0])
    r = rank_correlation(x, y)
    assert r.n == 5
    assert r.spearman == pytest.approx(stats.spearmanr(x[:5], y[:5]).statistic, abs=1e-15)
    assert r.spearman == pytest.approx(0.8, abs=1e-12)  # 1 - 6*4/(5*24)
    assert r.kendall == pytest.approx(0.6, abs=1e-12)  # (8 - 2) / 10 pairs
    assert rank_correlation(x[:5], -y[:5]).kendall == pytest.approx(-0.6, abs=1e-12)
    with pytest.raises(ConfigError, match="at least 3 pairs"):
        rank_correlation([1.0, np.nan, 2.0], [1.0, 2.0, np.nan])
    # a proxy's -inf (no path through the cell) is the lowest score when asked to keep it
    scores, acc = np.array([-np.inf, 1.0, 2.0, np.nan]), np.array([10.0, 50.0, 90.0, 70.0])
    with pytest.raises(ConfigError, match="got 2"):  # finite pairs only: the -inf one is dropped
        rank_correlation(scores, acc)
    assert rank_correlation(scores, acc, keep_infinite=True).kendall == pytest.approx(1.0)
    assert rank_correlation(scores, acc, keep_infinite=True).n == 3
    fig = plot_correlation(x[:5], y[:5], xlabel="table", ylabel="live", title="t")
    assert "Kendall 0.60" in fig.axes[0].get_title()


def test_validate_live_trains_each_arch_and_ranks_against_the_table(real_store: Store) -> None:
    indices = [5241, 1835, 6111]
    seen: list[str] = []
    result = validate_live(
        real_store, _data(), indices, TINY, seed=7, on_done=lambda run: seen.append(run.arch)
    )
    table = np.asarray(real_store.table("cifar10-valid", "valid_acc", 200).column("mean"))[indices]
    assert np.array_equal(result.table_acc, table)
    assert seen == [real_store.arch_str(i) for i in indices]
    assert [r.seed for r in result.runs] == [7, 8, 9]
    assert result.correlation == rank_correlation(table, result.live_acc)
    payload = result.to_json()
    assert [a["index"] for a in payload["archs"]] == indices and payload[
        "kendall"
    ] == result.correlation.kendall
    json.dumps(payload)
    assert "Kendall" in result.to_markdown() and "`" + real_store.arch_str(6111) + "`" in result.to_markdown()


def test_validate_pipeline_trains_found_and_reference_with_the_same_seeds(real_store: Store) -> None:
    search = {"budget": "12000 seconds", "seed": 0, "evaluations": 150, "found_index": 6111}
    result = validate_pipeline(real_store, _data(), 6111, search, TINY, strategy="rea", seeds=2, seed=3)
    found, reference = result.archs
    assert (found.role, reference.role) == ("found", "reference")
    assert reference.arch == RESNET_CELL and found.index == 6111
    assert [r.seed for r in found.runs] == [r.seed for r in reference.runs] == [3, 4]
    assert found.table_test == pytest.approx(94.3733333, abs=1e-6)  # cifar10 test of 6111
    assert reference.table_valid == real_store.query(RESNET_CELL, "cifar10-valid", "valid_acc", epochs=200)
    text = result.to_markdown()
    assert "found minus reference" in text.lower() and ("same sign" in text or "opposite sign" in text)
    assert len(result.to_json()["archs"][0]["live_valid"]) == 2
    with pytest.raises(ConfigError, match="--seeds"):
        validate_pipeline(real_store, _data(), 6111, search, TINY, strategy="rea", seeds=0)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "live", "--archs", "2"], "--archs must be at least 3"),
        (["validate", "proxies", "--proxies", "naswot,fisher"], "unknown zero-cost proxy 'fisher'"),
        # an --out that cannot be a folder fails before the first arch is scored (no bar drawn first)
        (
            ["validate", "proxies", "--archs", "2", "--out", "/proc/nasbench-suite"],
            "cannot use '/proc/nasbench-suite'",
        ),
        (["validate", "live", "--channels", "0"], "channels must be a whole number >= 1"),
        (["validate", "live", "--images", "/nonexistent"], "no images at /nonexistent"),
        (["validate", "live", "--dataset", "cifar100"], "holds 10 classes, but cifar100 has 100"),
        (
            [
                "compare",
                "--live",
                "--strategies",
                "random",
                "--dataset",
                "cifar10-valid",
                "--eval-budget",
                "2",
                "--workers",
                "2",
                "--out",
                "{out}",
            ],
            "live runs train one at a time",
        ),
        (
            [
                "compare",
                "--live",
                "--ops",
                "none,conv_9x9",
                "--strategies",
                "random",
                "--dataset",
                "cifar10-valid",
                "--eval-budget",
                "2",
                "--out",
                "{out}",
            ],
            "no implementation for op(s) 'conv_9x9'",
        ),
    ],
)
def test_bad_live_input_is_one_line(
    capsys: pytest.CaptureFixture[str], real_store_path: Path, tmp_path: Path, argv: list[str], message: str
) -> None:
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in argv]
    code, _, err = _cli(capsys, *argv, "--store", str(real_store_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_compare_live_runs_a_real_search_on_cifar10(
    capsys: pytest.CaptureFixture[str], real_store_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "live"
    argv = [
        "compare", "--live", "--strategies", "random,rea", "--dataset", "cifar10-valid", "--eval-budget", "2",
        "--runs", "1", "--epochs", "1", "--channels", "2", "--cells", "1", "--subset", "128",
        "--eval-subset", "64", "--batch-size", "64", "--out", str(out), "--quiet", "--store", str(real_store_path),
    ]  # fmt: skip
    code, text, _ = _cli(capsys, *argv)
    assert code == 0 and "live training" in text
    config = json.loads((out / "config.json").read_text())
    assert (
        config["spec"]["live"]["scale"]["train_subset"] == 128 and config["spec"]["live"]["ops"][0] == "none"
    )
    from nasbench_suite.results import load_rows, load_runs

    runs = load_runs(out)
    assert sorted(runs["strategy"]) == ["random", "rea"] and (runs["evaluations"] == 2).all()
    assert runs["live"].all() and (runs["incumbent_live_test"] == runs["final_test"]).all()
    rows = load_rows(out)
    assert (rows["cost_s"] > 0).all() and (rows["epoch"] == 1).all()
    logs = sorted((out / "live").glob("*/evaluations.jsonl"))
    assert len(logs) == 2 and all(len(p.read_text().splitlines()) == 2 for p in logs)
    # a rerun finds every run done and trains nothing
    code, _, err = _cli(capsys, *argv)
    assert code == 0 and "0 runs done now, 2 were already there" in err
    code, _, err = _cli(capsys, *[*argv[:-2], "--channels", "3", *argv[-2:]])  # another scale: refused
    assert code == 2 and "holds a different comparison" in err
    code, text, _ = _cli(capsys, "report", str(out), "--significance")
    assert code == 0 and "random" in text
    code, _, err = _cli(capsys, "report", str(out), "--html", "--store", str(real_store_path))
    assert code == 2 and "holds live runs" in err and len(err.strip().splitlines()) == 1


def test_profiles_give_the_small_cpu_scale_or_nas_bench_201s_own() -> None:
    import argparse

    from nasbench_suite.cli.live import scale_from

    flags = {"channels": None, "cells": None, "subset": None, "eval_subset": None, "batch_size": None}
    cpu = scale_from(argparse.Namespace(**flags, epochs=None), "cpu")
    assert cpu == LiveScale.cpu_small() and (cpu.channels, cpu.cells_per_stage, cpu.epochs) == (8, 2, 4)
    gpu = scale_from(argparse.Namespace(**flags, epochs=None), "gpu")
    assert gpu == LiveScale(channels=16, cells_per_stage=5, epochs=12, batch_size=256)
    assert gpu.train_subset is None and gpu.eval_subset is None  # the whole split, as the table trained
    custom = scale_from(argparse.Namespace(**{**flags, "channels": 4, "subset": 300}, epochs=2), "cpu")
    assert (custom.channels, custom.train_subset, custom.epochs, custom.cells_per_stage) == (4, 300, 2, 2)


@pytest.mark.realdata
def test_validate_proxies_logs_each_arch_and_a_rerun_reuses_the_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, real_store_path: Path
) -> None:
    out = tmp_path / "proxies"
    argv = ["validate", "proxies", "--archs", "3", "--proxies", "synflow", "--batch", "8", "--out", str(out)]
    argv += ["--store", str(real_store_path)]
    code, first, _ = _cli(capsys, *argv)
    assert code == 0
    log = out / "validate_proxies.scores.jsonl"
    lines = log.read_text().splitlines()
    assert len(lines) == 3 and all('"synflow"' in line for line in lines)
    report = json.loads((out / "validate_proxies.json").read_text())
    code, again, _ = _cli(capsys, *argv)  # every arch is in the log: nothing is scored again
    assert code == 0 and log.read_text().splitlines() == lines
    assert json.loads((out / "validate_proxies.json").read_text()) == report and again == first
    code, _, _ = _cli(capsys, *argv, "--proxies", "synflow,grad_norm")  # one more proxy (the last flag wins)
    assert code == 0
    more = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(more) == 6
    for old, new in zip(more[:3], more[3:], strict=True):  # grad_norm computed, synflow and its seconds kept
        assert new["index"] == old["index"] and set(new["scores"]) == {"synflow", "grad_norm"}
        assert (new["scores"]["synflow"], new["seconds"]["synflow"]) == (
            old["scores"]["synflow"],
            old["seconds"]["synflow"],
        )
