"""Every input gives one line: the inputs that used to end in a traceback or in NaN with exit 0, the
API's refusal to coerce floats and bools, the budget that cannot fit one evaluation, and a grid of ten
million runs that is announced and submitted lazily."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.cli import main
from nasbench_suite.errors import ConfigError, InvalidArchError, SuiteError, UnknownNameError
from nasbench_suite.space import Arch
from nasbench_suite.store import Store
from tests.conftest import TINY_SPACE, build_tiny_store

ARCH = "|conv~0|+|none~0|skip_connect~1|"  # a cell of the tiny space (3 nodes)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own one-line errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _compare(store: Path, out: Path, *extra: str) -> list[str]:
    return [
        "compare", "--strategies", "random", "--dataset", "cifar100", "--eval-budget", "5", "--runs", "2",
        "--noise", "mean", "--quiet", "--out", str(out), "--store", str(store), *extra,
    ]  # fmt: skip


def _query(store: Path, *extra: str) -> list[str]:
    return ["query", "--dataset", "cifar100", "--metric", "valid_acc", "--store", str(store), *extra]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--index", "3", "--epochs", "12", "--seed", "random"), "seeds it has there: mean"),
        (("--index", "3", "--epochs", "200", "--seed", "random", "--rng-seed", "-1"), "--rng-seed must be"),
        (("--arch", ARCH.replace("~1", "~²")), "edge 'skip_connect~²' is not 'op~i'"),
        (("--arch", ARCH.replace("~0|+", "~٠|+")), "edge 'conv~٠' is not 'op~i'"),
        (("--index", "٣"), "argument --index: invalid integer value: '٣'"),
        (("--index", "3", "--seed", "٧", "--epochs", "200"), "got '٧'"),
        (("--index", "3", "--seed", "7.0", "--epochs", "200"), "got '7.0'"),
        (("--arch", "x\nnasbench-suite: forged line"), "'x\\nnasbench-suite: forged line'"),
        # found by the fuzz tests: argparse and the store echo these unquoted; the CLI escapes line breaks
        (("--index", "3", "\x85forged"), "unrecognized arguments: \\x85forged"),
        (("--index", "3", "--store", "x\nforged"), "no benchmark store at x\\nforged"),
    ],
)
def test_query_inputs_are_one_line(capsys, tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    store = build_tiny_store(tmp_path / "tiny")
    code, out, err = _run(capsys, *_query(store, *argv))
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert message in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--hparams", "{"), "--hparams must be a JSON object like"),
        (("--hparams", '["rea"]'), "got '[\"rea\"]'"),
        (("--jobs", "-1"), "--jobs must be a whole number >= 1, got -1"),
        (("--jobs", "0"), "--jobs must be a whole number >= 1, got 0"),
        (("--runs", "١٠"), "argument --runs: invalid integer value: '١٠'"),
        (("--time-budget", "nan"), "argument --time-budget: invalid number value: 'nan'"),
        (("--time-budget", "100"), "give exactly one budget"),
        (("--workers", "1.5"), "argument --workers: invalid integer value: '1.5'"),
        (("--strategies", "x\ny"), "unknown strategy 'x\\ny'"),
    ],
)
def test_compare_inputs_are_one_line_and_write_nothing(
    capsys, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    store = build_tiny_store(tmp_path / "tiny")
    argv = _compare(store, tmp_path / "out", *extra)
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert message in err
    assert not (tmp_path / "out").exists()


def test_a_budget_that_fits_no_evaluation_names_the_cheapest(capsys, tmp_path: Path) -> None:
    """The tiny store's arch i trains for 1 + i/10 s an epoch; a cifar100 validation pass is
    5000 / 50000 / 3 = 1/30 epoch: the cheapest 12-epoch evaluation is arch 0's 12 + 1/30 s, the dearest
    arch 26's 3.6 * (12 + 1/30) = 43.32 s."""
    store = build_tiny_store(tmp_path / "tiny")
    argv = _compare(store, tmp_path / "out")
    budget = argv.index("--eval-budget")
    for kind, limit, message in (
        ("--time-budget", "12.03", "the cheapest costs 12.0333 simulated seconds (arch 0)"),
        ("--epoch-budget", "11", "the cheapest trains 12 epochs"),
    ):
        argv[budget : budget + 2] = [kind, limit]
        code, out, err = _run(capsys, *argv)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, err
        assert f"cannot fit one evaluation at 12 epochs on cifar100: {message}" in err
        assert not (tmp_path / "out").exists()
    for kind, limit, most in (("--eval-budget", "100001", "1e+05"), ("--time-budget", "1e7", "8.31e+05")):
        argv[budget : budget + 2] = [kind, limit]  # a run that would not end: 1e7 / (12 + 1/30) evaluations
        code, out, err = _run(capsys, *argv)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, err
        assert f"allows up to {most} evaluations per run on cifar100; a run holds at most 100,000" in err
    argv[budget : budget + 2] = ["--time-budget", "12.04"]  # fits arch 0 only: a warning, and it runs
    code, _, err = _run(capsys, *argv)
    assert code == 0
    assert "(they cost 12.0333 to 43.32 simulated seconds)" in err


def test_the_api_refuses_floats_and_bools_instead_of_coercing(tmp_path: Path) -> None:
    store = Store(build_tiny_store(tmp_path / "tiny"))
    table = store.table("cifar100", "valid_acc", 200)
    for bad in ((1.0, 0, 0), (True, 0, 0), (np.float64(1), 0, 0), [1, 0, 0]):
        with pytest.raises(InvalidArchError, match="must be a tuple of whole numbers"):
            store.index(Arch(bad))  # type: ignore[arg-type]
    assert store.index(Arch((np.int64(1), 0, 0))) == store.index(Arch((1, 0, 0)))
    for bad in (True, 1.0, np.float32(2), "3"):
        with pytest.raises(SuiteError):
            store.index(bad)  # type: ignore[arg-type]
    for bad in (7.0, 7.9, True, np.float64(8)):
        with pytest.raises(UnknownNameError, match="unknown seed"):
            table.slot(bad)  # type: ignore[arg-type]
    assert table.slot(np.int64(8)) == table.slot(8) == 2
    for bad in (np.array([1.5]), np.array([True]), [0.0, 1.0]):
        with pytest.raises(UnknownNameError, match="arch indices must be whole numbers"):
            store.query_many(bad, "cifar100", "valid_acc", epochs=200)  # type: ignore[arg-type]
    assert store.query_many([], "cifar100", "valid_acc", epochs=200).shape == (0,)
    for bad in (True, "5", None):
        with pytest.raises(ConfigError, match="budget must be a number"):
            Budget(BudgetKind.EVALUATIONS, bad)  # type: ignore[arg-type]
    assert TINY_SPACE.n_edges == 3


def test_a_grid_of_ten_million_runs_is_announced_and_submitted_lazily(tmp_path: Path) -> None:
    """The driver's memory once runs are being written stays that of a small comparison (it was 2 GB
    before the first run when the whole grid was listed and submitted at once)."""
    store = build_tiny_store(tmp_path / "tiny")
    out = tmp_path / "out"
    argv = _compare(store, out, "--jobs", "2")
    argv[argv.index("--runs") + 1] = "10000000"
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasbench_suite.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the kill below ends its workers too
    )
    try:
        deadline = time.monotonic() + 90
        while len(list((out / "runs").glob("*.parquet"))) < 50:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        rss_kb = int(
            next(
                line
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                if line.startswith("VmRSS")
            ).split()[1]
        )
        assert rss_kb < 400_000, f"driver RSS {rss_kb} kB with a 10M-run grid"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    first = err.splitlines()[0]
    assert first.startswith(
        "nasbench-suite: large grid: 10000000 runs; estimated from one run of each strategy:"
    )
    assert "of run files" in first and "of memory in this process" in first and "submitted lazily" in first
