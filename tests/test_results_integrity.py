"""One writer per results directory, self-describing run files, and comparisons that grow: each with
the real failure (two real processes, a truncated / empty / foreign run file, a changed setting)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.cli import main
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ResultsError
from nasbench_suite.results import load_rows, load_runs, read_config, run_file
from nasbench_suite.results_lock import LOCK, results_lock
from nasbench_suite.run_files import ResultsWarning, spec_hash
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store
from tests.conftest import build_tiny_store

SPEC = ComparisonSpec(("random", "rea"), ("cifar100",), 4, Budget(BudgetKind.EVALUATIONS, 20), seed=3)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _compare_argv(store: Path, out: Path, *, runs: int = 4, budget: int = 20, **extra: str) -> list[str]:
    """A table comparison on the tiny store; 200 epochs, where it has per-seed values (no fallback warning)."""
    argv = ["compare", "--strategies", "random,rea", "--dataset", "cifar100", "--eval-budget", str(budget)]
    argv += ["--epochs", "200", "--runs", str(runs), "--seed", "3", "--jobs", "1", "--quiet"]
    argv += ["--out", str(out), "--store", str(store)]
    for k, v in extra.items():
        argv += [f"--{k.replace('_', '-')}", v]
    return argv


def _rows(out: Path) -> pd.DataFrame:
    rows = load_rows(out).drop(columns="overhead_s")
    return rows.sort_values(["strategy", "dataset", "run", "step"]).reset_index(drop=True)


# ================================================================== one writer per directory
def test_a_second_writer_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    """Two real processes: a `compare` that is running holds the directory; a second `compare` with
    other arguments into the same --out exits 2 with one line naming the first's pid, host and command,
    and writes nothing. After the first is SIGKILLed the lock is free again (the kernel drops it)."""
    store = build_tiny_store(tmp_path / "tiny")
    out = tmp_path / "out"
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    first_argv = _compare_argv(store, out, runs=200_000)  # far more runs than the test waits for
    first = subprocess.Popen(
        [sys.executable, "-m", "nasbench_suite.cli", *first_argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(
            (out / "runs").glob("*.parquet")
        ):  # config written and a run finished: it holds the lock
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        config_before = (out / "config.json").read_bytes()
        second = subprocess.run(
            [sys.executable, "-m", "nasbench_suite.cli", *_compare_argv(store, out, runs=4, budget=30)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert second.returncode == 2 and second.stdout == ""
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"is being written by pid {first.pid} on {socket.gethostname()!r}" in lines[0]
        assert "--runs 200000" in lines[0] and "choose another --out" in lines[0]
        assert (out / "config.json").read_bytes() == config_before  # the second wrote nothing
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the killed writer's lock is gone with it; its different settings are now what stops the second
    second = subprocess.run(
        [sys.executable, "-m", "nasbench_suite.cli", *_compare_argv(store, out, runs=4, budget=30)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode == 2 and len(second.stderr.strip().splitlines()) == 1
    assert "budget: 20 evaluations -> 30 evaluations" in second.stderr


def test_the_lock_excludes_a_second_holder_and_is_released(tmp_path: Path) -> None:
    with results_lock(tmp_path / "d", command="first"):
        info = json.loads((tmp_path / "d" / LOCK).read_text())
        assert info["pid"] == os.getpid() and info["command"] == "first"
        with (
            pytest.raises(ResultsError, match=r"is being written by pid \d+ on .* \('first'\)"),
            results_lock(tmp_path / "d", command="second"),
        ):
            pass  # pragma: no cover - never reached
    with results_lock(tmp_path / "d", command="third"):  # released on exit
        assert json.loads((tmp_path / "d" / LOCK).read_text())["command"] == "third"


def test_an_out_that_cannot_be_a_directory_is_one_line(capsys, tmp_path: Path) -> None:
    store = build_tiny_store(tmp_path / "tiny")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for out, message in (
        (a_file, "is a file, not a directory"),
        (Path("/proc/nasbench-suite-test"), "cannot write results to '/proc/nasbench-suite-test'"),
        (tmp_path / ("x" * 300), "File name too long"),
    ):
        code, text, err = _cli(capsys, *_compare_argv(store, out))
        assert code == 2 and text == "" and len(err.strip().splitlines()) == 1, err
        assert message in err
    assert a_file.read_text() == "x"


# ================================================================== self-describing run files
def test_every_run_file_names_its_comparison_and_cell(tiny_store: Store, tmp_path: Path) -> None:
    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    runs = load_runs(tmp_path)
    expected = spec_hash(SPEC.to_json(), tiny_store.checksum)
    assert set(runs["spec_hash"]) == {expected}
    assert sorted(zip(runs.strategy, runs.dataset, runs.run, strict=True)) == [
        (s, "cifar100", r) for s in ("random", "rea") for r in range(4)
    ]
    assert set(runs["seed"]) == {3}
    # the hash is of the settings that shape a run, not of the grid's extent
    assert spec_hash(SPEC.to_json() | {"runs": 9, "strategies": ["x"]}, tiny_store.checksum) == expected
    assert spec_hash(SPEC.to_json() | {"noise": "mean"}, tiny_store.checksum) != expected
    assert spec_hash(SPEC.to_json(), "other data") != expected


def test_corrupt_truncated_and_empty_run_files_are_named_skipped_and_redone(
    capsys, tiny_store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, _, _ = _cli(capsys, *_compare_argv(tiny_store.path, out))
    assert code == 0
    before = _rows(out)
    truncated, empty, garbage = (
        run_file(out, "rea", "cifar100", 1),
        run_file(out, "random", "cifar100", 2),
        run_file(out, "random", "cifar100", 3),
    )
    truncated.write_bytes(truncated.read_bytes()[:-100])
    empty.write_bytes(b"")
    garbage.write_bytes(b"PAR1" + b"\x00" * 500 + b"PAR1")

    code, text, err = _cli(capsys, "report", str(out), "--json")
    assert code == 0 and "Traceback" not in err
    warned = [line for line in err.splitlines() if line.startswith("nasbench-suite: warning:")]
    assert len(warned) == 3
    for path in (truncated, empty, garbage):
        assert sum(path.name in line and "unreadable" in line for line in warned) == 1
    report = json.loads(text)
    assert {r["strategy"]: r["runs"] for r in report["summary"]} == {"random": 2, "rea": 3}
    assert report["notes"][0].startswith("3 run files in the directory left out (unreadable or not of this")
    assert all(p.name in report["notes"][0] for p in (truncated, empty, garbage))
    with pytest.warns(ResultsWarning) as record:
        rows = load_rows(out)
    assert sorted(str(w.message).split("runs/")[1].split(" ")[0] for w in record) == sorted(
        p.name for p in (truncated, empty, garbage)
    )
    assert rows.groupby("strategy")["run"].nunique().to_dict() == {"random": 2, "rea": 3}

    # resume: the three are moved aside (named) and redone, bit for bit the runs they were
    code, _, err = _cli(capsys, *_compare_argv(tiny_store.path, out))
    assert code == 0 and "3 runs done now, 5 were already there" in err
    assert err.count("moved to set-aside/ to be redone") == 3
    assert sorted(p.name.split(".")[0] for p in (out / "set-aside").iterdir()) == sorted(
        p.stem for p in (truncated, empty, garbage)
    )
    pd.testing.assert_frame_equal(_rows(out), before)


def test_a_run_file_bit_flip_inside_a_data_page_is_caught(tiny_store: Store, tmp_path: Path) -> None:
    """Run files carry page checksums: a flipped byte in the data (footer intact) is an unreadable
    file when rows are read, never a silently different number."""
    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    path = run_file(tmp_path, "rea", "cifar100", 0)
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF  # inside the first column chunk, after the 4-byte magic and the page header
    path.write_bytes(bytes(data))
    with pytest.warns(ResultsWarning, match=rf"{path.name} \(unreadable"):
        rows = load_rows(tmp_path)
    assert not ((rows.strategy == "rea") & (rows.run == 0)).any()
    assert len(rows.groupby(["strategy", "run"])) == 7


def test_foreign_run_files_are_set_aside_and_runs_stay_paired(
    capsys, tiny_store: Store, tmp_path: Path
) -> None:
    """Run files of another comparison (another seed) copied in are not counted: outside the grid they
    are skipped, so the report shows this comparison's runs and the significance test stays the paired
    Wilcoxon; under a grid cell's name the resume moves the file aside and redoes the cell."""
    out, other = tmp_path / "out", tmp_path / "other"
    assert _cli(capsys, *_compare_argv(tiny_store.path, out))[0] == 0
    argv = _compare_argv(tiny_store.path, other, runs=6)
    argv[argv.index("--seed") + 1] = "4"
    assert _cli(capsys, *argv)[0] == 0
    before = _rows(out)
    shutil.copy(run_file(other, "rea", "cifar100", 5), run_file(out, "rea", "cifar100", 5))
    shutil.copy(run_file(other, "random", "cifar100", 4), run_file(out, "random", "cifar100", 4))
    code, text, err = _cli(capsys, "report", str(out), "--significance")
    assert code == 0
    assert "rea__cifar100__0005.parquet (another comparison: spec hash" in err
    assert "random__cifar100__0004.parquet (another comparison: spec hash" in err
    assert "4 runs paired by seed" in text and "unpaired" not in text

    # under a cell's own name: skipped by readers, moved aside and redone by the resume
    shutil.copy(run_file(other, "rea", "cifar100", 3), run_file(out, "rea", "cifar100", 3))
    with pytest.warns(ResultsWarning) as record:
        assert sorted(load_runs(out).query("strategy == 'rea'").run) == [0, 1, 2]
    assert sum("rea__cifar100__0003.parquet (another comparison" in str(w.message) for w in record) == 1
    assert len(record) == 3
    code, _, err = _cli(capsys, *_compare_argv(tiny_store.path, out))
    assert code == 0 and "1 runs done now, 7 were already there" in err
    assert err.count("moved to set-aside/ to be redone") == 3
    pd.testing.assert_frame_equal(_rows(out), before)

    # a good file under another cell's name is set aside too
    shutil.copy(run_file(out, "rea", "cifar100", 0), run_file(out, "rea", "cifar100", 2))
    with pytest.warns(ResultsWarning, match=r"rea__cifar100__0002.parquet \(its name disagrees") as record:
        load_runs(out)
    assert len(record) == 1


def test_runs_left_from_a_deleted_config_are_not_mixed_into_a_new_comparison(
    capsys, tiny_store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _cli(capsys, *_compare_argv(tiny_store.path, out, runs=6))[0] == 0
    (out / "config.json").unlink()
    argv = _compare_argv(tiny_store.path, out, runs=2)
    argv[argv.index("--seed") + 1] = "9"
    code, _, err = _cli(capsys, *argv)
    assert code == 0 and err.count("moved to set-aside/") == 12 and "4 runs done now" in err
    runs = load_runs(out)
    assert len(runs) == 4 and set(runs.seed) == {9}
    assert len(list((out / "set-aside").glob("*.parquet"))) == 12


# ================================================================== a comparison can grow
def test_a_comparison_grows_by_runs_strategies_and_datasets(tiny_store: Store, tmp_path: Path) -> None:
    small = ComparisonSpec(
        ("rea",), ("cifar100",), 3, SPEC.budget, seed=3, hparams={"rea": {"sample_size": 5}}
    )
    run_comparison(tiny_store, small, tmp_path / "grown", strategies.build, jobs=1, progress=False)
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "grown" / "runs").iterdir()}
    big = ComparisonSpec(
        ("random", "rea"),  # another order, a new strategy
        ("ImageNet16-120", "cifar100"),  # a new dataset
        5,  # more runs
        SPEC.budget,
        seed=3,
        hparams={"rea": {"sample_size": 5}},
    )
    done = run_comparison(tiny_store, big, tmp_path / "grown", strategies.build, jobs=1, progress=False)
    assert len(done) == 2 * 2 * 5 - 3
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # the first three untouched
    run_comparison(tiny_store, big, tmp_path / "fresh", strategies.build, jobs=1, progress=False)
    pd.testing.assert_frame_equal(_rows(tmp_path / "grown"), _rows(tmp_path / "fresh"))
    spec = read_config(tmp_path / "grown")["spec"]
    assert spec["strategies"] == ["rea", "random"] and spec["datasets"] == ["cifar100", "ImageNet16-120"]
    assert spec["runs"] == 5 and spec["hparams"] == {"rea": {"sample_size": 5}}
    # asking for less afterwards is no change: nothing runs, nothing is forgotten
    assert (
        run_comparison(tiny_store, small, tmp_path / "grown", strategies.build, jobs=1, progress=False) == []
    )
    assert read_config(tmp_path / "grown")["spec"] == spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"budget": Budget(BudgetKind.EVALUATIONS, 100)}, "budget: 20 evaluations -> 100 evaluations"),
        ({"noise": "mean"}, "noise: 'random' -> 'mean'"),
        ({"schedule": 200}, "schedule: 12 epochs -> 200 epochs"),
        ({"seed": 4}, "seed: 3 -> 4"),
        ({"workers": 2}, "workers: 1 -> 2"),
        (
            {"hparams": {"rea": {"population_size": 7}}},
            "hyperparameters of rea: {} -> {'population_size': 7}",
        ),
    ],
)
def test_a_change_that_would_alter_existing_runs_is_refused(
    tiny_store: Store, tmp_path: Path, change: dict, message: str
) -> None:
    from dataclasses import replace

    run_comparison(tiny_store, SPEC, tmp_path, strategies.build, jobs=1, progress=False)
    config = (tmp_path / "config.json").read_bytes()
    with pytest.raises(ResultsError, match="holds a different comparison") as info:
        run_comparison(
            tiny_store, replace(SPEC, **change), tmp_path, strategies.build, jobs=1, progress=False
        )
    assert message in str(info.value)
    assert (tmp_path / "config.json").read_bytes() == config


def test_a_refusal_lists_every_differing_field_and_other_data(
    capsys, tiny_store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _cli(capsys, *_compare_argv(tiny_store.path, out))[0] == 0
    config = json.loads((out / "config.json").read_text())
    config["data_checksum"] = "0123456789abcdef"
    (out / "config.json").write_text(json.dumps(config))
    code, _, err = _cli(capsys, *_compare_argv(tiny_store.path, out, budget=100, noise="mean"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert (
        f"budget: 20 evaluations -> 100 evaluations; data checksum: 0123456789ab -> {tiny_store.checksum[:12]}; "
        "noise: 'random' -> 'mean'"
    ) in err


def test_hyperparameters_of_a_new_strategy_are_a_growth_not_a_change(
    tiny_store: Store, tmp_path: Path
) -> None:
    from dataclasses import replace

    only_random = replace(SPEC, strategies=("random",))
    run_comparison(tiny_store, only_random, tmp_path, strategies.build, jobs=1, progress=False)
    grown = replace(SPEC, hparams={"rea": {"population_size": 7}})
    assert len(run_comparison(tiny_store, grown, tmp_path, strategies.build, jobs=1, progress=False)) == 4
    assert set(load_runs(tmp_path).query("strategy == 'rea'").hparams.map(json.dumps)) == {
        json.dumps({"population_size": 7})
    }


# ================================================================== config.json that is not one
@pytest.mark.parametrize(
    "text", ["[]", "{}", '{"spec": []}', '{"spec": {"strategies": "rea"}}', "{", "\udcff"]
)
def test_a_malformed_config_is_one_line(capsys, tiny_store: Store, tmp_path: Path, text: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    for argv in (["report", str(out)], ["report", str(out), "--html"], _compare_argv(tiny_store.path, out)):
        code, stdout, err = _cli(capsys, *argv)
        assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1, err
        assert "config.json" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) in (["config.json"], [".lock", "config.json"])


def test_temporary_files_of_a_writer_killed_mid_write_are_removed_on_resume(
    tiny_store: Store, tmp_path: Path
) -> None:
    """A driver SIGKILLed inside `atomic_write_bytes` leaves `.NAME.XXXXXXXX.tmp` beside the file it was
    writing (tests/test_executors.py kills real drivers; here the leftovers are made by hand): the next
    command, holding the lock, removes them and writes every run."""
    out = tmp_path / "out"
    run_comparison(tiny_store, SPEC, out, strategies.build, progress=False)
    finished = run_file(out, "rea", "cifar100", 3)
    finished.unlink()
    leftovers = [
        out / "runs" / f".{finished.name}.k2j4x9aa.tmp",
        out / ".config.json.zz81qk0p.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"PAR1 half a file")
    done = run_comparison(tiny_store, SPEC, out, strategies.build, progress=False)
    assert [(r.strategy, r.run) for r in done] == [("rea", 3)]
    assert not any(path.exists() for path in leftovers)
    assert not list(out.rglob("*.tmp")) and len(list((out / "runs").glob("*.parquet"))) == 8
