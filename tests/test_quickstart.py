"""The quickstart: the README's first commands put the CLI on the PATH and then compare and report; `make`
checks BENCHMARK_SOURCE before installing anything and refuses a store imported from another source.

The make tests pass `-o .venv/.installed` (make's "old file": never remake it), so they check the Makefile's
logic without reinstalling the shared virtualenv."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from nasbench_suite.cli import main
from nasbench_suite.store import Store
from nasbench_suite.store.provenance import check_source, imported_from

ROOT = Path(__file__).resolve().parents[1]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_readme_starts_with_the_path_then_compare_and_reports() -> None:
    first = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands[:4] == [
        "make compare",
        "source .venv/bin/activate",
        "nasbench-suite report results/default --significance",
        "nasbench-suite report results/default --html",
    ]
    # make compare writes where the README's reports read, and says how to get the CLI on the PATH
    makefile = (ROOT / "Makefile").read_text()
    assert "OUT ?= results/default" in makefile
    assert "source $(VENV)/bin/activate" in makefile


def test_a_missing_source_stops_make_before_the_install(tmp_path: Path) -> None:
    done = make("compare", f"BENCHMARK_SOURCE={tmp_path / 'nope'}", f"STORE={tmp_path / 'store'}")
    assert done.returncode == 2
    assert done.stdout == ""  # nothing ran before the check: no venv, no pip, no import
    assert f"BENCHMARK_SOURCE={tmp_path / 'nope'} does not exist" in done.stderr
    assert "make compare BENCHMARK_SOURCE=/path/to/nasbench201" in done.stderr
    assert not (tmp_path / "store").exists()


def test_the_install_says_each_step_and_shows_progress() -> None:
    done = subprocess.run(
        ["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    pip = [line for line in done.stdout.splitlines() if "pip install" in line]
    assert len(pip) == 2 and all("--quiet" not in line and "--progress-bar on" in line for line in pip)
    steps = [line for line in done.stdout.splitlines() if line.startswith('echo "==> [')]
    assert [re.findall(r"\[\d/\d\]", s) for s in steps] == [["[1/3]"], ["[2/3]"], ["[3/3]"]]


@pytest.mark.realdata
def test_a_changed_source_is_refused_not_ignored(
    real_store_path: Path, shared_dir: Path, tmp_path: Path
) -> None:
    store = Store(real_store_path)
    assert imported_from(store) == (shared_dir / "nb201_tabular.parquet").resolve()
    check_source(store, shared_dir)  # the directory that holds the imported file
    check_source(store, shared_dir / "nb201_tabular.parquet")

    other = tmp_path / "other-nb201"
    other.mkdir()
    done = make("data", f"BENCHMARK_SOURCE={other}", f"STORE={real_store_path}")
    assert done.returncode == 2
    assert (
        f"was imported from {str((shared_dir / 'nb201_tabular.parquet').resolve())!r}, not from {str(other)!r}"
        in done.stderr
    )
    assert f"make reimport BENCHMARK_SOURCE={other}" in done.stderr
    assert Store(real_store_path).checksum == store.checksum  # the store is left as it was

    done = make("data", f"BENCHMARK_SOURCE={shared_dir}", f"STORE={real_store_path}")
    assert done.returncode == 0, done.stderr


@pytest.mark.realdata
def test_data_info_expect_source(real_store_path: Path, shared_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["data", "info", "--store", str(real_store_path), "--expect-source", str(shared_dir)]) == 0
    capsys.readouterr()
    assert main(["data", "info", "--store", str(real_store_path), "--expect-source", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("nasbench-suite: error: the store ") and err.count("\n") == 1
    assert f"`nasbench-suite data import {tmp_path} --store {real_store_path}`" in err
