from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench_suite.cli import main

pytestmark = pytest.mark.realdata


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_query_prints_the_value(capsys, real_store_path: Path) -> None:
    code, out, _ = run_cli(
        capsys,
        "query",
        "--index",
        "6111",
        "--dataset",
        "cifar10",
        "--metric",
        "test_acc",
        "--store",
        str(real_store_path),
    )
    assert code == 0 and float(out) == pytest.approx(94.3733333, abs=1e-6)
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    code, out, _ = run_cli(
        capsys,
        "query",
        "--arch",
        arch,
        "--dataset",
        "cifar10-valid",
        "--metric",
        "valid_acc",
        "--epochs",
        "12",
        "--store",
        str(real_store_path),
    )
    assert code == 0 and float(out) == pytest.approx(82.83399999, abs=1e-6)
    code, out, _ = run_cli(
        capsys,
        "query",
        "--index",
        "0",
        "--dataset",
        "cifar100",
        "--metric",
        "valid_acc",
        "--seed",
        "888",
        "--store",
        str(real_store_path),
    )
    assert code == 0 and float(out) == pytest.approx(53.07999993286133)


def test_data_info_lists_tables_and_checksum(capsys, real_store_path: Path) -> None:
    code, out, _ = run_cli(capsys, "data", "info", "--store", str(real_store_path))
    assert code == 0
    assert "valid_acc@200  seeds: 777, 888, 999" in out and "checksum" in out


BAD_INPUTS = [
    (
        ["query", "--arch", "|conv~0|", "--dataset", "cifar10", "--metric", "test_acc"],
        "malformed arch string",
    ),
    (
        ["query", "--index", "3", "--dataset", "cifar11", "--metric", "test_acc"],
        "unknown dataset 'cifar11'; valid:",
    ),
    (
        ["query", "--index", "3", "--dataset", "cifar10", "--metric", "acc"],
        "unknown metric 'acc' for cifar10; valid:",
    ),
    (
        ["query", "--index", "3", "--dataset", "cifar10", "--metric", "test_acc", "--seed", "abc"],
        "--seed must be 'mean', 'random' or a seed number",
    ),
    (
        ["query", "--index", "3", "--dataset", "cifar10", "--metric", "test_acc", "--epochs", "50"],
        "unknown schedule (epochs) 50",
    ),
    (
        ["query", "--index", "-1", "--dataset", "cifar10", "--metric", "test_acc"],
        "arch index -1 out of range; valid: 0..15624",
    ),
    (
        [
            "compare",
            "--strategies",
            "random",
            "--dataset",
            "cifar10-valid",
            "--time-budget",
            "0",
            "--runs",
            "2",
        ],
        "must be a positive finite number",
    ),
    (
        [
            "compare",
            "--strategies",
            "random",
            "--dataset",
            "cifar10-valid",
            "--eval-budget",
            "-3",
            "--runs",
            "2",
        ],
        "must be a positive finite number",
    ),
    (
        ["compare", "--strategies", "random", "--dataset", "cifar10-valid", "--runs", "2"],
        "give exactly one budget",
    ),
    (
        [
            "compare",
            "--strategies",
            "randon",
            "--dataset",
            "cifar10-valid",
            "--eval-budget",
            "5",
            "--runs",
            "2",
        ],
        "unknown strategy 'randon'; valid: ",
    ),
    (
        ["compare", "--strategies", "random", "--dataset", "cifar10", "--eval-budget", "5", "--runs", "2"],
        "cannot search on 'cifar10'",
    ),
    (
        [
            "compare",
            "--strategies",
            "random",
            "--dataset",
            "cifar10-valid",
            "--eval-budget",
            "5",
            "--epochs",
            "90",
        ],
        "unknown schedule (epochs) 90",
    ),
    (
        [
            "compare",
            "--strategies",
            "rea",
            "--dataset",
            "cifar100",
            "--eval-budget",
            "5",
            "--hparams",
            '{"rea": {"population_size": -1}}',
        ],
        "population_size must be an integer >= 1",
    ),
    (
        ["compare", "--strategies", "rea", "--dataset", "cifar100", "--eval-budget", "5", "--noise", "loud"],
        "invalid choice: 'loud'",
    ),
    (
        ["compare", "--strategies", "rea", "--dataset", "cifar100", "--eval-budget", "5", "--runs", "0"],
        "runs must be a whole number >= 1",
    ),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_writes_nothing(
    capsys, real_store_path: Path, tmp_path: Path, argv: list[str], message: str
) -> None:
    out_dir = tmp_path / "out"
    extra = ["--out", str(out_dir)] if argv[0] == "compare" else []
    code, out, err = run_cli(capsys, *argv, *extra, "--store", str(real_store_path))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert not out_dir.exists()


def test_missing_and_corrupt_store(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "data", "info", "--store", str(tmp_path / "none"))
    assert code == 2 and "no benchmark store" in err and len(err.splitlines()) == 1
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("[]")
    code, _, err = run_cli(capsys, "data", "info", "--store", str(tmp_path / "bad"))
    assert code == 2 and "corrupt store manifest" in err and len(err.splitlines()) == 1


def test_compare_then_report_json(capsys, real_store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = [
        "compare",
        "--strategies",
        "random,rea",
        "--dataset",
        "cifar10-valid",
        "--time-budget",
        "12000",
        "--runs",
        "6",
    ]
    code, text, err = run_cli(
        capsys, *args, "--jobs", "1", "--out", str(out), "--store", str(real_store_path)
    )
    assert code == 0 and "random" in text and "cifar10-valid   cifar10" in text
    assert "falls back to the mean" in err
    code, text, _ = run_cli(capsys, "report", str(out), "--json")
    report = json.loads(text)
    assert {(r["strategy"], r["runs"]) for r in report["summary"]} == {("random", 6), ("rea", 6)}
    assert any("reported on cifar10" in n or "report the found arch" in n for n in report["notes"])
    # running the same command again does nothing new
    code, _, err = run_cli(capsys, *args, "--jobs", "1", "--out", str(out), "--store", str(real_store_path))
    assert code == 0 and "0 runs done now, 12 were already there" in err


def test_the_installed_command_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nasbench_suite.cli",
            "query",
            "--index",
            "1",
            "--dataset",
            "x",
            "--metric",
            "y",
            "--store",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr.strip()
        == f"nasbench-suite: error: no benchmark store at {tmp_path}: run `nasbench-suite data import SOURCE` (or `make data`) first"
    )


def test_report_significance_html_and_reproduce(capsys, real_store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = [
        "compare",
        "--strategies",
        "random,rea",
        "--dataset",
        "cifar100",
        "--eval-budget",
        "20",
        "--runs",
        "5",
    ]
    assert (
        run_cli(capsys, *args, "--jobs", "1", "--quiet", "--out", str(out), "--store", str(real_store_path))[
            0
        ]
        == 0
    )
    code, text, _ = run_cli(capsys, "report", str(out), "--significance")
    assert code == 0 and "### cifar100" in text and "REA" in text
    code, _, _ = run_cli(capsys, "report", str(out), "--html", "--store", str(real_store_path))
    assert code == 0 and (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert pngs and pngs == sorted(
        p.stem for p in (out / "figures").glob("*.svg")
    )  # every figure, both formats
    code, text, _ = run_cli(
        capsys,
        "reproduce",
        "nb201",
        "--runs",
        "3",
        "--jobs",
        "1",
        "--quiet",
        "--out",
        str(tmp_path / "rep"),
        "--store",
        str(real_store_path),
    )
    assert code == 0 and "93.70" in text  # random search's published cifar10 test accuracy
    assert (tmp_path / "rep" / "nb201.md").read_text() + "\n" == text  # printed and saved alike
