"""The store covers its own manifest: edits are refused when a store is opened, and `data verify` checks
every file and prints the exact re-import command."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.cli import main
from nasbench_suite.errors import StoreError
from nasbench_suite.store import Store
from nasbench_suite.store.format import sha256_file
from nasbench_suite.store.verify import verify_store
from tests.conftest import build_tiny_store

TINY_FILES = 17  # archs.npy + 16 tables (conftest: 4 + 5 + 5 per dataset, cifar10 test, params)


def _edit_manifest(path: Path, edit) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _entry(manifest: dict, dataset: str, metric: str, epochs: int | None) -> dict:
    return next(
        e for e in manifest["tables"] if (e["dataset"], e["metric"], e["epochs"]) == (dataset, metric, epochs)
    )


def _reorder_seeds(manifest: dict) -> None:
    entry = _entry(manifest, "cifar100", "valid_acc", 200)
    entry["seeds"] = entry["seeds"][::-1]  # seed 7's values would be read as seed 8's


def _point_test_at_valid12(manifest: dict) -> None:
    test, valid12 = (
        _entry(manifest, "cifar100", "test_acc", 200),
        _entry(manifest, "cifar100", "valid_acc", 12),
    )
    test["file"], test["sha256"] = valid12["file"], valid12["sha256"]  # shapes agree: (27, 1, 1)


@pytest.mark.parametrize("edit", [_reorder_seeds, _point_test_at_valid12])
def test_an_edited_manifest_is_refused_by_queries_and_compare(
    tmp_path: Path, edit, capsys: pytest.CaptureFixture[str]
) -> None:
    path = build_tiny_store(tmp_path / "s")
    assert Store(path).query(2, "cifar100", "valid_acc", seed=7) == 52.0  # 50 + index
    assert Store(path).query(2, "cifar100", "test_acc") == 62.0  # 60 + index
    _edit_manifest(path, edit)
    with pytest.raises(StoreError, match=r"manifest.json does not match its checksum in manifest.sha256"):
        Store(path)
    capsys.readouterr()
    code = main(
        ["query", "--index", "2", "--dataset", "cifar100", "--metric", "test_acc", "--store", str(path)]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "edited or corrupt" in err
    results = tmp_path / "results"
    argv = ["compare", "--strategies", "random", "--dataset", "cifar100", "--eval-budget", "5", "--runs", "2"]
    code = main([*argv, "--out", str(results), "--store", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "manifest.sha256" in err
    assert not results.exists()


def test_a_store_without_a_manifest_checksum_is_refused(tmp_path: Path) -> None:
    path = build_tiny_store(tmp_path / "s")
    (path / "manifest.sha256").unlink()
    with pytest.raises(StoreError, match=r"manifest.sha256 is missing \(the store was made by an older"):
        Store(path)


def test_the_manifest_checksum_is_sha256sum_format(tmp_path: Path) -> None:
    path = build_tiny_store(tmp_path / "s")
    check = subprocess.run(["sha256sum", "-c", "manifest.sha256"], cwd=path, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "manifest.json: OK"


def test_verify_passes_a_fresh_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = build_tiny_store(tmp_path / "s")
    report = verify_store(path)
    assert report.ok and report.files == TINY_FILES
    assert report.bytes == sum(p.stat().st_size for p in path.glob("*.npy"))
    assert main(["data", "verify", "--store", str(path)]) == 0
    assert f"{TINY_FILES} array files" in capsys.readouterr().out


def test_verify_names_every_damaged_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = build_tiny_store(tmp_path / "s")
    manifest = json.loads((path / "manifest.json").read_text())
    valid200 = _entry(manifest, "cifar10-valid", "valid_acc", 200)["file"]
    params = _entry(manifest, "cifar10-valid", "params_mb", None)["file"]
    test100 = _entry(manifest, "cifar100", "test_acc", 200)["file"]
    array = np.load(path / valid200)
    array[5, 1, 0] += 0.01
    np.save(path / valid200, array)  # a changed value
    (path / params).unlink()  # a missing file
    (path / test100).write_bytes((path / test100).read_bytes()[:100])  # a truncated file
    (path / "notes.txt").write_text("x")  # something that does not belong
    report = verify_store(path)
    assert sorted(report.problems) == sorted(
        [
            f"{valid200}: fails its sha256 (corrupt or edited)",
            f"{test100}: fails its sha256 (corrupt or edited)",
            f"{params}: missing",
            "files the manifest does not name: notes.txt",
        ]
    )
    code = main(["data", "verify", "--store", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out.count("FAILED ") == 4
    assert len(err.splitlines()) == 1 and "4 problem(s)" in err
    assert f"nasbench-suite data import SOURCE --store {path}" in err  # the tiny store records no source


def test_verify_catches_a_manifest_edit_first(tmp_path: Path) -> None:
    path = build_tiny_store(tmp_path / "s")
    _edit_manifest(path, _reorder_seeds)
    report = verify_store(path)
    assert report.problems == (
        "manifest.json does not match its checksum in manifest.sha256 (edited or corrupt)",
    )


def test_verify_finds_a_manifest_inconsistent_with_its_arrays(tmp_path: Path) -> None:
    """A manifest made consistent with its checksum (by a hand-edit that also rewrote manifest.sha256) is
    still checked against the arrays: shape as the seeds imply, seeds listed once."""
    path = build_tiny_store(tmp_path / "s")

    def add_a_seed(manifest: dict) -> None:
        entry = _entry(manifest, "cifar10-valid", "valid_acc", 200)
        entry["seeds"] = [7, 7, 8]

    _edit_manifest(path, add_a_seed)
    digest = sha256_file(path / "manifest.json")
    (path / "manifest.sha256").write_text(f"{digest}  manifest.json\n")
    problems = verify_store(path).problems
    assert any("seeds listed twice: [7, 7, 8]" in p for p in problems)
    assert any("shape (27, 3, 1), the manifest implies (27, 4, 1)" in p for p in problems)


@pytest.mark.realdata
def test_the_printed_repair_command_repairs_the_store(
    real_store_path: Path, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store"
    shutil.copytree(real_store_path, path)
    good = Store(path).query(0, "cifar10-valid", "valid_acc", epochs=200)
    manifest = json.loads((path / "manifest.json").read_text())
    file = _entry(manifest, "cifar10-valid", "valid_acc", 200)["file"]
    array = np.load(path / file)
    array[0, 0, 0] = 99.0
    np.save(path / file, array)
    assert main(["data", "verify", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    command = err.split("repair: ", 1)[1].strip()
    source = (shared_dir / "nb201_tabular.parquet").resolve()
    assert command == f"nasbench-suite data import {source} --store {path}"
    assert main(shlex.split(command)[1:]) == 0
    assert main(["data", "verify", "--store", str(path)]) == 0
    assert Store(path).query(0, "cifar10-valid", "valid_acc", epochs=200) == good
