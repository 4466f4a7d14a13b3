"""Where runs execute: one interface, a local implementation (a process pool on this machine) and a
Ray one (a Ray cluster, for studies that outgrow one machine).

An executor maps a `Work` over items and yields `(item, result)` as results finish, in any order.
Work is plain data (a picklable object); `setup()` runs once per worker process (open the store, import
strategy modules) and `work(state, item)` returns plain data. Workers never write anything: the caller
(the driver) writes each result as it arrives, so a driver killed at any point loses only unfinished
work, and a rerun resumes. Items are taken from the iterable lazily, a bounded number in flight, so a
grid of millions of runs is never submitted at once.

Ray (`pip install 'nasbench-suite[ray]'`) sends items in batches, so that scheduling (about a
millisecond a task) does not dominate runs that take a few milliseconds each; a batch whose worker dies
(killed, out of memory, node lost) is rerun elsewhere up to `max_retries` times (an exception raised by
the work itself is not retried: it is the suite's error and ends the map). Workers open the store at the
driver's path (a shared file system, or the same `data import` on every node) and refuse one whose data
checksum differs from the driver's.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from nasbench_suite.errors import ConfigError, SuiteError

T = TypeVar("T")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)

EXECUTORS = ("local", "ray")
# items in flight per worker: enough to keep each busy while the driver writes, few enough to stay lazy
IN_FLIGHT_PER_WORKER = 2
# Ray's automatic batch: at least BATCHES_PER_SLOT batches per CPU (so the last ones finish together),
# at most MAX_AUTO_BATCH items (16 table runs take ~0.2 s: Ray's ~1 ms a task is then ~0.5%)
BATCHES_PER_SLOT = 8
MAX_AUTO_BATCH = 16


class ExecutorError(SuiteError):
    """A worker that kept dying, or a cluster that cannot be reached."""


class Work(Protocol[T_contra, R_co]):
    """What an executor runs: plain data. `setup_key` names what `setup` builds, so a worker process
    that runs several batches of the same study sets up once. A work whose items are long (a training)
    may set `items_per_task = 1` so that Ray never batches them."""

    @property
    def setup_key(self) -> Hashable: ...

    def setup(self) -> Any: ...

    def __call__(self, state: Any, item: T_contra, /) -> R_co: ...


@dataclass(frozen=True)
class Resources:
    """What one item needs from a worker: Ray schedules a batch on a node that has it free."""

    cpus: float = 1.0
    gpus: float = 0.0


class Executor(ABC):
    """Runs `work` over `items`; yields (item, result) as each finishes."""

    name: str

    @abstractmethod
    def map(
        self, work: Work[T, R], items: Iterable[T], *, resources: Resources = Resources(), state: Any = None
    ) -> Iterator[tuple[T, R]]:
        """Results as they finish. Stopping the iteration early (or an exception) cancels the rest.
        `state`: what `work.setup()` returns, built already in this process (the driver's open store);
        an executor may use it instead of setting up again (one local process, or a pool that forks)."""

    def connect(self) -> None:  # noqa: B027 - optional: a local pool needs nothing up front
        """Start or reach the workers now (before a command writes anything), so that an unreachable
        cluster fails first, in one line."""

    def check_resources(self, resources: Resources) -> None:  # noqa: B027 - a local pool runs anything
        """ExecutorError now, before anything is written, when no worker could ever run an item that
        needs `resources` (a GPU on a cluster without one): `map` would wait for it forever."""

    def close(self) -> None:  # noqa: B027 - optional: most executors hold nothing between maps
        """Release what the executor started (a local Ray instance)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- worker-side setup, once per process
# A worker process keeps what the last setup built (the open store), keyed by the work's setup_key: a
# process pool worker or a Ray worker runs many items of one study. Touched inside workers only, but for
# the driver's own state, which a pool that forks hands down (`LocalExecutor.map`).
_setup_cache: dict[Hashable, Any] = {}


def _state_of(work: Work[Any, Any]) -> Any:
    key = work.setup_key
    if key not in _setup_cache:
        _setup_cache.clear()  # one study at a time per worker: release the previous store
        _setup_cache[key] = work.setup()
    return _setup_cache[key]


def run_batch(work: Work[T, R], items: list[T]) -> list[R]:
    """A batch of items in one worker (the unit Ray schedules and retries)."""
    state = _state_of(work)
    return [work(state, item) for item in items]


# ---------------------------------------------------------------- local
_local_work: Work[Any, Any] | None = None


def _init_local(work: Work[Any, Any]) -> None:
    global _local_work
    _local_work = work
    _state_of(work)  # fail in the initializer, before any item, when the store cannot be opened


def _run_local(items: list[Any]) -> list[Any]:
    assert _local_work is not None
    state = _state_of(_local_work)
    return [_local_work(state, item) for item in items]


class LocalExecutor(Executor):
    """`jobs` processes on this machine (one: in this process, no pool). `context` is the
    multiprocessing start method's context (the runner's `pool_context`). A pool's workers take
    `batch_size` items a task (a work's `items_per_task` overrides it): a task costs the driver a
    fraction of a millisecond (pickling, queues, a wake-up), as much as a quick table run."""

    name = "local"

    def __init__(self, jobs: int = 1, *, context: Any = None, batch_size: int = 1) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"jobs must be a whole number >= 1, got {jobs!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        self.jobs = jobs
        self.context = context
        self.batch_size = batch_size

    def map(
        self, work: Work[T, R], items: Iterable[T], *, resources: Resources = Resources(), state: Any = None
    ) -> Iterator[tuple[T, R]]:
        if self.jobs == 1:
            state = work.setup() if state is None else state
            for item in items:
                yield item, work(state, item)
            return
        forks = (self.context or multiprocessing.get_context()).get_start_method() == "fork"
        if forks and state is not None:  # workers inherit the driver's state: none sets up again
            _setup_cache.clear()
            _setup_cache[work.setup_key] = state
        try:
            yield from self._pool_map(work, items)
        finally:
            _setup_cache.pop(work.setup_key, None)

    def _pool_map(self, work: Work[T, R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        with ProcessPoolExecutor(
            self.jobs, mp_context=self.context, initializer=_init_local, initargs=(work,)
        ) as pool:
            source = iter(items)
            size = getattr(work, "items_per_task", None) or self.batch_size
            pending: dict[Future[list[R]], list[T]] = {}
            try:
                while True:
                    while len(pending) < IN_FLIGHT_PER_WORKER * self.jobs:
                        batch = list(itertools.islice(source, size))
                        if not batch:
                            break
                        pending[pool.submit(_run_local, batch)] = batch
                    if not pending:
                        return
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield from zip(pending.pop(future), future.result(), strict=True)
            except BaseException:  # a failing item, Ctrl-C or an abandoned iteration: start nothing new
                pool.shutdown(wait=True, cancel_futures=True)
                raise


# ---------------------------------------------------------------- ray
def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs Ray: pip install 'nasbench-suite[ray]' (or pip install ray)"
        ) from None
    return ray


class RayExecutor(Executor):
    """A Ray cluster: `address` of a running one ("auto", "ray://host:10001", "host:6379"), or None to
    start a local Ray with `num_cpus` CPUs (all by default) that `close` shuts down. `batch_size` items
    a task (None: at least 8 batches per CPU, at most 16 items); a task whose worker dies is retried
    `max_retries` times."""

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        batch_size: int | None = None,
        max_retries: int = 3,
    ) -> None:
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ConfigError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        if address is not None and num_cpus is not None:
            raise ConfigError(
                "num_cpus (--jobs) sizes a local Ray; a cluster at --address brings its own CPUs"
            )
        self.address = address
        self.num_cpus = num_cpus
        self.batch_size = batch_size
        self.max_retries = max_retries
        self._started = False

    def _ray(self) -> Any:
        ray = import_ray()
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    num_cpus=self.num_cpus,
                    include_dashboard=False,
                    logging_level="WARNING",
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ExecutorError(
                    f"cannot start or reach Ray at {self.address or 'a new local instance'!r}: {exc}"
                ) from None
            self._started = self.address is None
        return ray

    def connect(self) -> None:
        if self.address is not None and self.address != "auto":
            _check_reachable(self.address)
        self._ray()

    def cpus(self) -> int:
        return max(1, int(self._ray().cluster_resources().get("CPU", 1)))

    def check_resources(self, resources: Resources) -> None:
        nodes = [n.get("Resources", {}) for n in self._ray().nodes() if n.get("Alive")]
        gpus = max((n.get("GPU", 0) for n in nodes), default=0)
        cpus = max((n.get("CPU", 0) for n in nodes), default=0)
        if resources.gpus > gpus:  # Ray would wait for a GPU node forever
            raise ExecutorError(
                f"each task asks for {resources.gpus:g} GPU(s) but no node of the Ray cluster has more "
                f"than {gpus:g}; add GPU nodes or train on the CPU (--device cpu)"
            )
        if resources.cpus > cpus:
            raise ExecutorError(
                f"each task asks for {resources.cpus:g} CPUs but no node of the Ray cluster has more than "
                f"{cpus:g}; ask for fewer (--threads)"
            )

    def batch_for(self, n_items: int | None, resources: Resources) -> int:
        if self.batch_size is not None:
            return self.batch_size
        if n_items is None:
            return 16
        slots = max(1, int(self.cpus() / max(resources.cpus, 1e-9)))
        return max(1, min(MAX_AUTO_BATCH, math.ceil(n_items / (BATCHES_PER_SLOT * slots))))

    def map(
        self, work: Work[T, R], items: Iterable[T], *, resources: Resources = Resources(), state: Any = None
    ) -> Iterator[tuple[T, R]]:
        ray = self._ray()  # `state` stays here: Ray's workers are other processes, on other nodes
        size = getattr(work, "items_per_task", None) or self.batch_for(
            len(items) if isinstance(items, Sized) else None, resources
        )
        task = ray.remote(run_batch).options(
            num_cpus=resources.cpus,
            num_gpus=resources.gpus,
            max_retries=self.max_retries,
            retry_exceptions=False,  # the work's own errors are answers, not failures to retry
        )
        self.check_resources(resources)
        work_ref = ray.put(work)
        slots = max(1, int(self.cpus() / max(resources.cpus, 1e-9)))
        source = iter(items)
        pending: dict[Any, list[T]] = {}
        try:
            while True:
                while len(pending) < IN_FLIGHT_PER_WORKER * slots:
                    batch = list(itertools.islice(source, size))
                    if not batch:
                        break
                    pending[task.remote(work_ref, batch)] = batch
                if not pending:
                    return
                [ready], _ = ray.wait(list(pending), num_returns=1)
                batch = pending.pop(ready)
                yield from zip(batch, self._get(ray, ready, batch), strict=True)
        finally:
            for ref in pending:  # an error, Ctrl-C or an abandoned iteration: stop what is still running
                ray.cancel(ref, force=True)

    def _get(self, ray: Any, ref: Any, batch: list[Any]) -> list[Any]:
        try:
            results: list[Any] = ray.get(ref)
            return results
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None  # the work's own error (a SuiteError is one line at the CLI)
            raise
        except (
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.TaskUnschedulableError,
        ) as exc:
            raise ExecutorError(
                f"a Ray worker died on a batch of {len(batch)} items (first {batch[0]!r}) "
                f"{self.max_retries + 1} times ({type(exc).__name__}); finished runs are kept, rerun to continue"
            ) from None

    def close(self) -> None:
        if self._started:
            import_ray().shutdown()
            self._started = False


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A quick TCP check of a Ray address (`host:port` or `ray://host:port`): Ray itself retries an
    unreachable cluster for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isascii() or not port.isdigit():
        raise ConfigError(f"--address must be auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        raise ExecutorError(f"cannot reach the Ray cluster at {address!r} ({exc})") from None


def make_executor(
    name: str, *, jobs: int | None = None, address: str | None = None, context: Any = None
) -> Executor:
    """The executor a command asked for: `local` with `jobs` processes (all cores by default), or `ray`
    at `address` (None: a local Ray with `jobs` CPUs)."""
    if name == "local":
        if address is not None:
            raise ConfigError("--address names a Ray cluster; use it with --executor ray")
        return LocalExecutor(jobs or os.cpu_count() or 1, context=context)
    if name == "ray":
        return RayExecutor(address=address, num_cpus=jobs)
    raise ConfigError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")


__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "RayExecutor",
    "Resources",
    "Work",
    "make_executor",
    "run_batch",
]
