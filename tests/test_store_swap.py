"""A real SIGKILL in every window of an import's swap: the next command finds the old store or the new
one, never nothing, and the next import removes what the killed one left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nasbench_suite.cli import main
from nasbench_suite.errors import StoreError
from nasbench_suite.store import Store
from nasbench_suite.store.swap import PAUSE_ENV
from tests.conftest import build_tiny_store

ROOT = Path(__file__).resolve().parents[1]

# Writes the tiny store with every test accuracy shifted by `shift` (so old and new stores differ).
WRITER = """
import sys
from pathlib import Path
import tests.conftest as c
from nasbench_suite.store import StoreBuilder
shift = float(sys.argv[2])
add = StoreBuilder.add
def shifted(self, spec, values):
    add(self, spec, values + shift if spec.metric == "test_acc" else values)
StoreBuilder.add = shifted
c.build_tiny_store(Path(sys.argv[1]))
"""

OLD, NEW = 0.0, 0.5  # cifar100 test_acc of arch 2: 62.0 in the old store, 62.5 in the new one

# window -> which store a later command must find after a kill there
WINDOWS = {
    "writing": OLD,  # some tables of the new store written to .s.tmp-*
    "staged": OLD,  # the new store complete in .s.tmp-*
    "ready": OLD,  # renamed to .s.new; the old store untouched
    "old-moved": NEW,  # the old store moved to .s.old: no s at all until recovery completes the swap
    "swapped": NEW,  # the new store in place, .s.old not yet removed
}


def _import_killed_at(
    point: str, target: Path, shift: float, tmp_path: Path, while_paused: Callable[[], None] | None = None
) -> None:
    """Run an import that pauses at `point`, call `while_paused`, then kill the importer with SIGKILL."""
    marker = tmp_path / f"paused-{point}"
    env = os.environ | {PAUSE_ENV: f"{point}:{marker}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(shift)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert proc.poll() is None, f"the importer exited ({proc.returncode}) before reaching {point!r}"
            assert time.monotonic() < deadline, f"the importer never reached {point!r}"
            time.sleep(0.02)
        assert int(marker.read_text()) == proc.pid
        if while_paused is not None:
            while_paused()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()


def _cifar100_test(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[float, str]:
    """What a later command prints for cifar100 test_acc of arch 2, and its stderr."""
    code = main(
        ["query", "--index", "2", "--dataset", "cifar100", "--metric", "test_acc", "--store", str(path)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return float(out), err


@pytest.mark.parametrize("point", list(WINDOWS))
def test_a_kill_in_each_window_leaves_the_old_or_the_new_store(
    point: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "stores" / "s"
    build_tiny_store(target)
    _import_killed_at(point, target, NEW, tmp_path)
    value, err = _cifar100_test(target, capsys)
    assert value == 62.0 + WINDOWS[point]
    assert ("note: completed an interrupted import" in err) == (point == "old-moved")
    assert Store(target).recovered is None  # recovered once, for good
    # the next import removes every leftover: only the store and its lock remain
    build_tiny_store(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [".s.lock", "s"]
    assert _cifar100_test(target, capsys)[0] == 62.0


def test_a_kill_during_the_first_import_leaves_no_store_and_no_litter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "stores" / "s"
    _import_killed_at("writing", target, NEW, tmp_path)
    assert [p.name for p in target.parent.glob(".s.tmp-*")]  # the killed import's partial store
    assert main(["data", "info", "--store", str(target)]) == 2
    assert "no benchmark store" in capsys.readouterr().err
    build_tiny_store(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [".s.lock", "s"]


def test_a_store_left_in_old_by_an_earlier_suite_version_is_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The layout the issue reports: the old store in .s.old and no s (killed between the two renames
    of the earlier swap, which had no .new)."""
    target = tmp_path / "stores" / "s"
    build_tiny_store(target)
    shutil.move(target, target.with_name(".s.old"))
    value, err = _cifar100_test(target, capsys)
    assert value == 62.0 and "note: undid an interrupted import" in err
    assert sorted(p.name for p in target.parent.iterdir()) == [".s.lock", "s"]


def test_a_damaged_leftover_is_not_installed(tmp_path: Path) -> None:
    target = tmp_path / "stores" / "s"
    build_tiny_store(target)
    old = target.with_name(".s.old")
    shutil.move(target, old)
    (old / "manifest.json").write_text("{}")  # fails manifest.sha256: not a complete store
    with pytest.raises(StoreError, match=r"no benchmark store .*interrupted import left \.s\.old"):
        Store(target)
    assert not target.exists()


def test_a_reader_waits_for_a_running_import_instead_of_racing_it(tmp_path: Path) -> None:
    """Opened between the two renames of an import that is still alive, a store waits on the import's
    lock (it does not install .new behind the importer's back), and recovers once the importer dies."""
    target = tmp_path / "stores" / "s"
    build_tiny_store(target)
    opened: list[float] = []
    reader = threading.Thread(target=lambda: opened.append(Store(target).query(2, "cifar100", "test_acc")))

    def open_while_the_importer_holds_the_lock() -> None:
        assert not target.exists()  # the window without a store
        reader.start()
        time.sleep(0.5)
        assert reader.is_alive() and not target.exists()  # waiting on the lock, touching nothing

    _import_killed_at("old-moved", target, NEW, tmp_path, open_while_the_importer_holds_the_lock)
    reader.join(timeout=30)
    assert opened == [62.0 + NEW]
