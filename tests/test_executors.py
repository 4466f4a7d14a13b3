"""Executors: the local process pool and Ray give the same run files as one process, a Ray worker killed
mid-task is retried, and the work's own errors come back as the suite's errors. One local Ray with 2 CPUs
is shared by the module (starting Ray takes seconds)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.cli import main
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError, StoreError
from nasbench_suite.executors import (
    Executor,
    ExecutorError,
    LocalExecutor,
    RayExecutor,
    Resources,
    make_executor,
)
from nasbench_suite.results import RUN_META_KEY, RUNS
from nasbench_suite.run_tasks import TableRuns
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store
from tests.conftest import build_tiny_store

SPEC = ComparisonSpec(
    ("random", "rea"), ("cifar100", "ImageNet16-120"), 3, Budget(BudgetKind.EVALUATIONS, 12), seed=5
)
TIMING = {"overhead_s", "wall_s"}  # real seconds, measured: the only fields that differ between runs


def _contents(out: Path) -> dict[str, str]:
    """Every run file of `out` as canonical JSON of its columns and metadata (exact: floats print as the
    shortest repr that round-trips, NaN as NaN), without the measured real-time fields."""
    files = {}
    for path in sorted((out / RUNS).glob("*.parquet")):
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[RUN_META_KEY])
        columns = table.drop_columns(["overhead_s"]).to_pydict()
        kept = {k: v for k, v in meta.items() if k not in TIMING}
        files[path.name] = json.dumps([columns, kept], sort_keys=True)
    return files


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(build_tiny_store(tmp_path_factory.mktemp("store") / "tiny"))


@pytest.fixture(scope="module")
def serial(store: Store, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("serial")
    run_comparison(store, SPEC, out, strategies.build, jobs=1, progress=False)
    files = _contents(out)
    assert len(files) == 12
    return files


@pytest.fixture(scope="module")
def ray_cluster():
    import ray  # the dev extra installs it

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


# ---------------------------------------------------------------- local
def test_the_local_pool_writes_the_same_run_files_as_one_process(
    store: Store, serial: dict, tmp_path: Path
) -> None:
    run_comparison(store, SPEC, tmp_path, strategies.build, executor=LocalExecutor(2), progress=False)
    assert _contents(tmp_path) == serial


@dataclass(frozen=True)
class Square:
    setup_key = "square"

    def setup(self) -> int:
        return os.getpid()

    def __call__(self, pid: int, item: int) -> tuple[int, int]:
        return item * item, pid


def _counted(pulled: list[int]):
    """0, 1, 2, ... without end, each one appended to `pulled` when it is taken."""
    for k in itertools.count():
        pulled.append(k)
        yield k


def test_the_local_pool_takes_items_lazily() -> None:
    pulled: list[int] = []
    results = LocalExecutor(2).map(Square(), _counted(pulled))
    first = dict(itertools.islice(results, 5))
    results.close()  # abandoning the iteration cancels what is in flight
    assert all(first[k][0] == k * k for k in first)
    assert len(pulled) <= 5 + 2 * 2  # at most two items in flight per worker beyond those taken


def test_the_local_pool_sends_items_in_batches_lazily() -> None:
    pulled: list[int] = []
    results = LocalExecutor(2, batch_size=3).map(Square(), _counted(pulled))
    first = dict(itertools.islice(results, 7))
    results.close()
    assert all(first[k][0] == k * k for k in first) and len(first) == 7
    assert len(pulled) <= 9 + 2 * 2 * 3  # whole batches: two in flight per worker beyond those taken
    done = list(LocalExecutor(2, batch_size=4).map(Square(), range(10)))
    assert sorted(k for k, _ in done) == list(range(10)) and all(r[0] == k * k for k, r in done)
    assert len({pid for k, (_, pid) in done if k < 4}) == 1  # a batch runs in one worker


def test_executor_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="jobs must be a whole number >= 1, got 0"):
        LocalExecutor(0)
    with pytest.raises(ConfigError, match="batch_size must be a whole number >= 1, got 0"):
        LocalExecutor(2, batch_size=0)
    with pytest.raises(ConfigError, match="unknown executor 'dask'; valid: local, ray"):
        make_executor("dask")
    with pytest.raises(ConfigError, match="--address names a Ray cluster"):
        make_executor("local", address="auto")
    with pytest.raises(ConfigError, match=r"num_cpus .* sizes a local Ray"):
        RayExecutor(address="auto", num_cpus=4)


def test_without_ray_the_cli_says_how_to_install_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    out = tmp_path / "out"
    argv = ["compare", "--strategies", "random", "--dataset", "cifar100", "--eval-budget", "5", "--runs", "2"]
    code = main([*argv, "--executor", "ray", "--out", str(out), "--store", str(store.path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "pip install 'nasbench-suite[ray]'" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:9", "cannot reach the Ray cluster at '127.0.0.1:9'"),
        ("ray://127.0.0.1:9", "cannot reach the Ray cluster at 'ray://127.0.0.1:9'"),
        (
            "head-without-port",
            "--address must be auto, HOST:PORT or ray://HOST:PORT, got 'head-without-port'",
        ),
    ],
)
def test_an_unreachable_cluster_is_one_line_before_anything_is_written(
    address: str, message: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["compare", "--strategies", "random", "--dataset", "cifar100", "--eval-budget", "5", "--runs", "2"]
    argv += ["--noise", "mean", "--executor", "ray", "--address", address]
    code = main([*argv, "--out", str(out), "--store", str(store.path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not out.exists()


# ---------------------------------------------------------------- ray
def test_ray_writes_the_same_run_files_as_one_process(
    ray_cluster, store: Store, serial: dict, tmp_path: Path
) -> None:
    executor = RayExecutor(batch_size=2)
    run_comparison(store, SPEC, tmp_path, strategies.build, executor=executor, progress=False)
    assert _contents(tmp_path) == serial


def test_compare_executor_ray_from_the_cli(
    ray_cluster, store: Store, serial: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "compare",
        "--strategies",
        "random,rea",
        "--dataset",
        "cifar100,ImageNet16-120",
        "--eval-budget",
        "12",
    ]
    argv += [
        "--runs",
        "3",
        "--seed",
        "5",
        "--executor",
        "ray",
        "--out",
        str(tmp_path),
        "--store",
        str(store.path),
    ]
    assert main([*argv, "--quiet"]) == 0, capsys.readouterr().err
    assert _contents(tmp_path) == serial


@dataclass(frozen=True)
class StallOnce:
    """The strategy factory, except that the first call anywhere writes its process id to `marker` and
    waits there to be killed."""

    marker: str

    def __call__(self, name: str, problem: Any, rng: Any, hparams: Any) -> Any:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return strategies.build(name, problem, rng, hparams)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        time.sleep(120)
        raise AssertionError("this worker should have been killed")


def test_a_ray_worker_killed_mid_task_is_retried(
    ray_cluster, store: Store, serial: dict, tmp_path: Path
) -> None:
    marker = tmp_path / "stalled-pid"
    killed: list[int] = []

    def kill_the_stalled_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = marker.read_text() if marker.exists() else ""
            if text.endswith("\n"):
                killed.append(int(text))
                os.kill(killed[0], signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_stalled_worker)
    killer.start()
    out = tmp_path / "out"
    done = run_comparison(
        store, SPEC, out, StallOnce(str(marker)), executor=RayExecutor(batch_size=3), progress=False
    )
    killer.join()
    assert killed and killed[0] != os.getpid()  # a real worker process was killed
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    assert len(done) == 12 and _contents(out) == serial


@dataclass(frozen=True)
class FailOnce:
    """The strategy factory, except that the first call anywhere fails (as a crash of the study would)."""

    marker: str

    def __call__(self, name: str, problem: Any, rng: Any, hparams: Any) -> Any:
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return strategies.build(name, problem, rng, hparams)
        raise ConfigError("the study stops here")


def test_without_retries_a_killed_worker_is_one_error(ray_cluster, store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "stalled-pid"

    def kill_the_stalled_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = marker.read_text() if marker.exists() else ""
            if text.endswith("\n"):
                os.kill(int(text), signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_stalled_worker)
    killer.start()
    with pytest.raises(ExecutorError, match=r"a Ray worker died on a batch of 3 items .* 1 times"):
        run_comparison(
            store,
            SPEC,
            tmp_path / "out",
            StallOnce(str(marker)),
            executor=RayExecutor(batch_size=3, max_retries=0),
            progress=False,
        )
    killer.join()


def test_a_gpu_task_on_a_cluster_without_gpus_is_one_error(ray_cluster) -> None:
    with pytest.raises(
        ExecutorError, match=r"asks for 1 GPU\(s\) but no node of the Ray cluster has more than 0"
    ):
        list(RayExecutor().map(Square(), [1], resources=Resources(gpus=1)))
    with pytest.raises(
        ExecutorError, match=r"asks for 3 CPUs but no node of the Ray cluster has more than 2"
    ):
        RayExecutor().check_resources(Resources(cpus=3))
    RayExecutor().check_resources(Resources(cpus=2))  # what the local Ray has: runs


def test_a_study_stopped_on_ray_resumes_to_the_same_files(
    ray_cluster, store: Store, serial: dict, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="the study stops here"):
        run_comparison(
            store,
            SPEC,
            out,
            FailOnce(str(tmp_path / "failed")),
            executor=RayExecutor(batch_size=1),
            progress=False,
        )
    kept = len(list((out / RUNS).glob("*.parquet"))) if (out / RUNS).exists() else 0
    assert kept < 12  # the failed run is missing
    done = run_comparison(
        store, SPEC, out, strategies.build, executor=RayExecutor(batch_size=2), progress=False
    )
    assert len(done) == 12 - kept and _contents(out) == serial


def test_a_workers_error_is_the_suites_error(ray_cluster, store: Store) -> None:
    work = TableRuns(str(store.path), "0" * 64, SPEC, strategies.build)  # data other than the worker's
    with pytest.raises(StoreError, match="holds other data"):
        list(RayExecutor(batch_size=2).map(work, [("random", "cifar100", 0)]))


@pytest.mark.realdata
def test_reproduce_on_ray_writes_the_same_runs_as_one_process(
    ray_cluster, real_store: Store, tmp_path: Path
) -> None:
    from nasbench_suite.reproduction.protocols import NB201
    from nasbench_suite.reproduction.run import reproduce

    methods = ("RS", "REA")
    here = reproduce(NB201, real_store, tmp_path / "one", runs=3, jobs=1, progress=False, methods=methods)
    there = reproduce(
        NB201, real_store, tmp_path / "ray", runs=3, progress=False, methods=methods, executor=RayExecutor()
    )
    (directory,) = [p.name for p in (tmp_path / "one").iterdir()]
    assert _contents(tmp_path / "ray" / directory) == _contents(tmp_path / "one" / directory)
    assert len(_contents(tmp_path / "one" / directory)) == 6 and here.cells == there.cells


# ---------------------------------------------------------------- live training
def test_live_trainings_on_ray_equal_one_process(ray_cluster, real_store: Store) -> None:
    from nasbench_suite.live_training.validate import train_arch, train_many
    from tests.test_live_validate import TINY, _data

    archs = [(real_store.space, real_store.arch(i), 7 + k) for k, i in enumerate([5241, 6111])]
    on_ray = train_many(archs, _data(), TINY, executor=RayExecutor())  # one thread a task
    here = [train_arch(space, arch, _data(), TINY, seed=seed, threads=1) for space, arch, seed in archs]
    assert [(r.arch, r.seed, r.valid_acc, r.test_acc, r.curve) for r in on_ray] == [
        (r.arch, r.seed, r.valid_acc, r.test_acc, r.curve) for r in here
    ]
    assert [r.arch for r in on_ray] == [real_store.arch_str(i) for i in [5241, 6111]]


ONE_CPU = Resources()


class Recording(Executor):
    """Records what a map asks for and answers each item with a placeholder run."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Resources]] = []

    def map(self, work, items, *, resources=ONE_CPU):
        from nasbench_suite.live_training.validate import LiveRun

        self.calls.append((work, resources))
        for item in items:
            yield item, LiveRun(str(item[0]), item[3], 0.0, 0.0, 0.0, 0.0, ())


def test_cuda_trainings_ask_the_executor_for_a_gpu_each(real_store: Store) -> None:
    from nasbench_suite.live_training.validate import train_many
    from tests.test_live_validate import TINY, _data

    archs = [(real_store.space, real_store.arch(i), 0) for i in (1, 2)]
    for device, gpus, threads in (("cuda", 1, None), ("cpu", 0, 1)):
        executor = Recording()
        runs = train_many(archs, _data(), TINY, device=device, jobs=1, executor=executor)
        ((work, resources),) = executor.calls
        assert resources == Resources(cpus=1, gpus=gpus) and work.device == device
        assert work.threads == threads and [r.arch for r in runs] == ["0", "1"]


def test_compare_live_on_ray_trains_on_the_workers(
    ray_cluster, real_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    from nasbench_suite.runner import run_one

    argv = ["compare", "--live", "--strategies", "random", "--dataset", "cifar10-valid", "--eval-budget", "2"]
    argv += ["--runs", "1", "--epochs", "1", "--channels", "2", "--cells", "1", "--subset", "128"]
    argv += ["--eval-subset", "64", "--batch-size", "64", "--quiet", "--store", str(real_store.path)]
    out = tmp_path / "ray"
    assert main([*argv, "--executor", "ray", "--out", str(out)]) == 0, capsys.readouterr().err
    (file,) = (out / RUNS).glob("*.parquet")
    trained = pq.read_table(file)
    # random search proposes from its seed alone: the archs the table run of the same seed evaluates
    table = ComparisonSpec(("random",), ("cifar10-valid",), 1, Budget(BudgetKind.EVALUATIONS, 2), seed=0)
    table_run, _ = run_one(real_store, table, "random", "cifar10-valid", 0, strategies.build)
    assert trained.column("arch_index").to_pylist() == table_run["arch_index"][:2]
    assert min(trained.column("cost_s").to_pylist()) > 0  # measured training seconds, on a worker
    assert not (out / "live").exists()  # no worker wrote into the results directory
    scratch = Path(tempfile.gettempdir()) / "nasbench-suite-live"
    assert not list(scratch.glob("*/live/*"))  # each run's logs and checkpoints removed once it is done


def test_a_driver_killed_mid_study_resumes_to_the_same_files(
    ray_cluster, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real SIGKILL of the driver (a `compare` process joined to this module's Ray) while runs are being
    written; the same command then finishes the study, and every file equals one process's."""
    import subprocess

    address = ray_cluster.get_runtime_context().gcs_address
    out = tmp_path / "out"
    argv = [
        "compare",
        "--strategies",
        "random,rea",
        "--dataset",
        "cifar100,ImageNet16-120",
        "--eval-budget",
        "12",
    ]
    argv += ["--runs", "150", "--seed", "5", "--quiet", "--store", str(store.path), "--out", str(out)]
    root = Path(__file__).resolve().parents[1]
    driver = subprocess.Popen(
        [sys.executable, "-m", "nasbench_suite.cli", *argv, "--executor", "ray", "--address", address],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((out / RUNS).glob("*.parquet")) if (out / RUNS).exists() else []) < 20:
            assert driver.poll() is None and time.monotonic() < deadline, (
                "the driver ended before it was killed"
            )
            time.sleep(0.01)
        os.kill(driver.pid, signal.SIGKILL)
        assert driver.wait(timeout=30) == -signal.SIGKILL
    finally:
        if driver.poll() is None:
            driver.kill()
    written = len(list((out / RUNS).glob("*.parquet")))
    assert 20 <= written < 600  # killed mid-study
    assert main([*argv, "--executor", "ray", "--address", address]) == 0, capsys.readouterr().err
    here = tmp_path / "here"
    run_comparison(
        store,
        ComparisonSpec(SPEC.strategies, SPEC.datasets, 150, SPEC.budget, seed=5, noise=SPEC.noise),
        here,
        strategies.build,
        jobs=1,
        progress=False,
    )
    assert _contents(out) == _contents(here) and len(_contents(here)) == 600
    assert not list(out.rglob("*.tmp"))  # no half-written file left behind


def test_compare_live_on_cuda_workers_needs_no_cuda_here_and_a_cluster_without_gpus_is_refused(
    ray_cluster, real_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This machine has no CUDA: the workers would train, so only the device's name is checked here, and
    the local Ray (no GPU) is refused before config.json is written instead of waited on forever."""
    argv = ["compare", "--live", "--strategies", "random", "--dataset", "cifar10-valid", "--eval-budget", "2"]
    argv += ["--runs", "1", "--epochs", "1", "--channels", "2", "--cells", "1", "--subset", "128"]
    argv += ["--eval-subset", "64", "--quiet", "--store", str(real_store.path), "--executor", "ray"]
    out = tmp_path / "out"
    for device, message in (
        ("cuda", "each task asks for 1 GPU(s) but no node of the Ray cluster has more than 0"),
        ("tpu", "unknown device 'tpu'; valid: cpu, cuda, cuda:N"),
    ):
        assert main([*argv, "--device", device, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"nasbench-suite: error: {message}") and err.count("\n") == 1, err
        assert not out.exists()
