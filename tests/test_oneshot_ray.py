"""One-shot searches on Ray (`oneshot ... --executor ray`): each (method, run) search is one Ray task and
the driver writes the run files; they equal a local command's in everything but the measured seconds.
Real CIFAR-10 images at a tiny scale (64 training images, C=4, one cell a stage, one epoch, one thread),
on one local Ray with 2 CPUs shared by the module."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from nasbench_suite.cli import main
from nasbench_suite.errors import ConfigError
from nasbench_suite.executors import Resources
from nasbench_suite.live_training.oneshot import runs
from nasbench_suite.live_training.recipe import device_kind
from nasbench_suite.results import RUN_META_KEY, RUNS

TINY = ["rsps,darts_v1", "--epochs", "1", "--runs", "1", "--subset", "64", "--eval-subset", "32",
        "--channels", "4", "--cells", "1", "--threads", "1", "--quiet"]  # fmt: skip
# measured real seconds, the only fields that differ between two runs of the same search: the epochs'
# wall time (cost_s, its running sum time_s and their table-equivalent), the task's, and the reference
# cell's measured speed that scales them
MEASURED_COLUMNS = ("cost_s", "time_s", "table_equiv_s")
MEASURED_META = {"wall_s", "spent_seconds", "search_wall_s", "table_equiv_s", "table_equiv_scale"}


def _contents(out: Path) -> dict[str, str]:
    """Every run file of `out` as canonical JSON of its columns and metadata, without the measured
    seconds (exact: floats print as the shortest repr that round-trips)."""
    files = {}
    for path in sorted((out / RUNS).glob("*.parquet")):
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[RUN_META_KEY])
        columns = table.drop_columns(list(MEASURED_COLUMNS)).to_pydict()
        kept = {k: v for k, v in meta.items() if k not in MEASURED_META}
        files[path.name] = json.dumps([columns, kept], sort_keys=True)
    return files


def _oneshot(out: Path, store: Path, *extra: str) -> list[str]:
    return ["oneshot", *TINY, "--out", str(out), "--store", str(store), *extra]


@pytest.fixture(scope="module")
def ray_cluster():
    import ray  # the dev extra installs it

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local(real_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("local") / "os"
    assert main(_oneshot(out, real_store_path)) == 0
    files = _contents(out)
    assert sorted(files) == ["darts_v1__cifar10-valid__0000.parquet", "rsps__cifar10-valid__0000.parquet"]
    return files


@pytest.mark.realdata
def test_oneshot_on_ray_writes_the_same_run_files_as_locally(
    ray_cluster,
    local: dict[str, str],
    real_store_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("a search ran in the driver")

    monkeypatch.setattr(runs, "run_search", not_here)  # the Ray workers import their own copy
    out = tmp_path / "ray"
    assert main(_oneshot(out, real_store_path, "--executor", "ray")) == 0, capsys.readouterr().err
    assert _contents(out) == local
    meta = json.loads(
        pq.read_table(out / RUNS / "rsps__cifar10-valid__0000.parquet").schema.metadata[RUN_META_KEY]
    )
    assert meta["wall_s"] > 0 and meta["table_equiv_scale"] > 0  # measured on the worker
    assert sorted(p.name for p in (out / "oneshot").iterdir()) == [
        "darts_v1__cifar10-valid__0000.pt",
        "rsps__cifar10-valid__0000.pt",
    ]  # the workers checkpointed where the driver said (one machine: a shared file system)
    # a driver restart: a lost run file is searched again on Ray, resumed from its last epoch's checkpoint
    (out / RUNS / "darts_v1__cifar10-valid__0000.parquet").unlink()
    assert main(_oneshot(out, real_store_path, "--executor", "ray")) == 0
    assert _contents(out) == local


def _ray_task_processes(function: str) -> list[int]:
    """Processes of this test's Ray (descendants of this process) that are running `function` now
    (Ray titles a worker `ray::FUNCTION` while it executes a task)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(f"ray::{function}".encode()) and _descends_from(int(entry.name), os.getpid()):
            found.append(int(entry.name))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the name: state, then ppid
        if pid == ancestor:
            return True
    return False


@pytest.mark.realdata
def test_a_ray_worker_killed_mid_search_is_retried_and_resumes_from_its_epoch_checkpoint(
    ray_cluster, real_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real SIGKILL of the worker once the search has checkpointed an epoch: Ray runs the task again,
    the retry resumes from the checkpoint (the first epoch keeps the seconds measured before the kill)
    and the run file equals an uninterrupted local search's."""
    import torch

    argv = ["darts_v1", "--epochs", "8", *TINY[3:]]
    local_out, out = tmp_path / "local", tmp_path / "ray"
    assert main(["oneshot", *argv, "--out", str(local_out), "--store", str(real_store_path)]) == 0
    checkpoint = out / "oneshot" / "darts_v1__cifar10-valid__0000.pt"
    killed: list[int] = []
    before_kill: list[float] = []

    def kill_the_searching_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not checkpoint.exists():
            time.sleep(0.005)
        workers = _ray_task_processes("run_batch")
        if len(workers) == 1:
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])
            state = torch.load(checkpoint, weights_only=True)
            before_kill.extend(h["seconds"] for h in state["history"])

    killer = threading.Thread(target=kill_the_searching_worker)
    killer.start()
    code = main(["oneshot", *argv, "--out", str(out), "--store", str(real_store_path), "--executor", "ray"])
    killer.join()
    assert code == 0, capsys.readouterr().err
    assert killed and 1 <= len(before_kill) < 8, "the search was not killed mid-way"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    cost = pq.read_table(out / RUNS / "darts_v1__cifar10-valid__0000.parquet").column("cost_s").to_pylist()
    assert cost[: len(before_kill)] == before_kill  # resumed: the epochs before the kill were not redone
    assert _contents(out) == _contents(local_out)


@pytest.mark.realdata
def test_a_cuda_search_on_a_cluster_without_gpus_is_one_line_and_writes_nothing(
    ray_cluster, real_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gpu"
    code = main(_oneshot(out, real_store_path, "--executor", "ray", "--device", "cuda"))
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "each task asks for 1 GPU(s) but no node of the Ray cluster has more than 0" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--executor", "ray", "--address", "127.0.0.1:9"], "cannot reach the Ray cluster at '127.0.0.1:9'"),
        (["--address", "127.0.0.1:9"], "--address needs --executor ray"),
        (["--executor", "ray", "--device", "tpu"], "unknown device 'tpu'; valid: cpu, cuda, cuda:N"),
    ],
)
@pytest.mark.realdata
def test_bad_ray_options_are_one_line_before_anything_is_written(
    extra: list[str], message: str, real_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_oneshot(out, real_store_path, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_a_search_asks_ray_for_a_gpu_on_cuda_and_for_its_threads_on_the_cpu() -> None:
    def work(device: str, threads: int | None) -> runs.OneShotSearches:
        return runs.OneShotSearches(
            space=None,  # type: ignore[arg-type]  # resources read the device and threads only
            data=None,  # type: ignore[arg-type]
            penalties={},
            reference=None,
            channels=4,
            cells_per_stage=1,
            batch_size=None,
            device=device,
            threads=threads,
            key="k",
        )

    assert work("cuda", 4).resources == Resources(cpus=1, gpus=1)
    assert work("cuda:1", None).resources == Resources(cpus=1, gpus=1)
    assert work("cpu", 3).resources == Resources(cpus=3, gpus=0)
    assert work("cpu", None).resources == Resources(cpus=1, gpus=0)
    assert device_kind("cuda:0") == "cuda"
    for bad in ("tpu", "cuda:x", ""):
        with pytest.raises(ConfigError, match="unknown device"):
            device_kind(bad)
