"""Mistakes a review found that were not one line before anything runs: --address without --executor
ray, and the validate commands' counts (--archs, --seeds, --jobs), which named an internal parameter or
drew a progress bar first; and a one-shot search into a results directory another writer holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nasbench_suite.cli import main

NOT_A_STORE = "/nonexistent/store"  # the checks come before the store is opened


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "--strategies", "random", "--dataset", "cifar100", "--eval-budget", "5", "--runs", "2"],
        ["compare", "--live", "--strategies", "random", "--dataset", "cifar10-valid", "--eval-budget", "1"],
        ["reproduce", "nb201", "--runs", "1"],
        ["validate", "live"],
        ["validate", "pipeline"],
        ["oneshot", "rsps"],
    ],
)
def test_address_without_executor_ray_is_one_line_before_anything_is_imported_or_written(
    argv: list[str], tmp_path: Path
) -> None:
    """In a fresh process: neither Ray nor torch is imported, and --out is not created."""
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "from nasbench_suite.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(code, 'ray' in sys.modules, 'torch' in sys.modules)\n"
    )
    full = [*argv, "--address", "127.0.0.1:6379", "--out", str(out), "--store", NOT_A_STORE]
    done = subprocess.run(
        [sys.executable, "-c", script, *full], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.split() == ["2", "False", "False"], done.stderr
    assert done.stderr == (
        "nasbench-suite: error: --address needs --executor ray (got --address '127.0.0.1:6379')\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "proxies", "--archs", "-3"], "--archs must be a positive integer, got -3"),
        (["validate", "proxies", "--batch", "0"], "--batch must be a positive integer, got 0"),
        (["validate", "pipeline", "--seeds", "0"], "--seeds must be a positive integer, got 0"),
        (["validate", "pipeline", "--jobs", "0"], "--jobs must be a positive integer, got 0"),
        (["validate", "live", "--archs", "0"], "--archs must be a positive integer, got 0"),
        (["validate", "live", "--jobs", "-1"], "--jobs must be a positive integer, got -1"),
    ],
)
def test_validate_counts_are_one_line_naming_the_option_before_any_output(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out), "--store", NOT_A_STORE]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "\r" not in captured.err  # no progress bar drawn first
    assert captured.err == f"nasbench-suite: error: {message}\n"
    assert not out.exists()


@pytest.mark.realdata
def test_oneshot_refuses_a_results_directory_another_writer_holds(
    real_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nasbench_suite.results_lock import results_lock

    out = tmp_path / "out"
    with results_lock(out, command="nasbench-suite oneshot (the first writer)"):
        code = main(
            [
                "oneshot",
                "rsps",
                "--epochs",
                "1",
                "--runs",
                "1",
                "--out",
                str(out),
                "--store",
                str(real_store_path),
            ]
        )
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert (
        f"{str(out)!r} is being written by pid " in err and "nasbench-suite oneshot (the first writer)" in err
    )
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # no config.json, no run
