"""The `oneshot` command's searches as an executor's work (`nasbench_suite.executors`): each (method, run)
search is one task, in this process or on a Ray worker.

The work is plain data: the cell space, the searches' images (the driver loaded and subset them once;
Ray puts them in its object store once per command, so a worker node needs no copy of the dataset), the
latency penalty of each latency-aware method, and the supernet's scale. A task returns the search's
epoch records and the measured training speed of the reference cell on the worker; the driver turns them
into the run file and writes it atomically (`cli/oneshot.py`), so a driver killed at any point resumes
like a local command and no worker writes the results directory.

Resources: a search on CUDA asks Ray for one GPU (and one CPU); on the CPU for `threads` CPUs, and runs
that many torch threads.

Checkpoints: a search checkpoints after every epoch at the path the driver names (`DIR/oneshot/...`).
A task whose worker died is retried (`RayExecutor(max_retries=...)`) and resumes from the last finished
epoch when that path is on a file system the retrying node shares with the one that died (NFS, Lustre;
on one machine it always is). A node that cannot create the path (the results directory exists only on
the driver's node) checkpoints into a scratch directory of its own instead (`$TMPDIR/nasbench-suite-
oneshot/<command>/`), where a retry on the same node resumes and one elsewhere starts the search again;
either way the run file is the same on the CPU (the search's randomness is in its checkpoint).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from nasbench_suite.executors import Resources
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.model import build_network
from nasbench_suite.live_training.oneshot.base import ArchPenalty
from nasbench_suite.live_training.oneshot.search import EpochRecord, SearchSettings, run_search
from nasbench_suite.live_training.recipe import device_kind, train, without_test
from nasbench_suite.space import CellSpace

PROBE_IMAGES = 512  # images the reference cell trains on for one epoch to measure its speed


@dataclass(frozen=True)
class SearchTask:
    """One search: `method`'s run `run` with its `settings` (seed included), checkpointed at `checkpoint`."""

    method: str
    run: int
    settings: SearchSettings
    checkpoint: str


@dataclass(frozen=True)
class SearchOutcome:
    """A finished search: one record per epoch, the worker's measured seconds per training image of the
    reference cell at the search's scale (NaN when there is no reference cell), and the task's wall
    seconds (the search and its reporting evaluations)."""

    records: tuple[EpochRecord, ...]
    seconds_per_image: float
    wall_s: float


@dataclass(frozen=True, eq=False)
class OneShotSearches:
    """The searches of one command. `data` without its test split; `penalties` by method (latency-aware
    ones only); `reference`: the cell whose speed scales wall time to table seconds (None: no scaling, an
    out-of-table space); `key` names the command, so a worker process that runs several of its searches
    measures the reference once; `progress`: a bar over each search's steps (in this process only)."""

    space: CellSpace
    data: LiveDataset
    penalties: Mapping[str, ArchPenalty]
    reference: str | None
    channels: int
    cells_per_stage: int
    batch_size: int | None
    device: str
    threads: int | None
    key: str
    progress: bool = False
    items_per_task = 1  # a search trains for minutes to hours: never batch them

    @property
    def setup_key(self) -> Hashable:
        return ("oneshot", self.key)

    @property
    def resources(self) -> Resources:
        if device_kind(self.device) == "cuda":
            return Resources(cpus=1, gpus=1)
        return Resources(cpus=float(self.threads or 1))

    def setup(self) -> float:
        """Measured seconds per training image of the reference cell at this scale on this worker."""
        if self.reference is None:
            return float("nan")
        n = min(len(self.data.train_x), PROBE_IMAGES)
        probe = replace(
            without_test(self.data),
            train_x=self.data.train_x[:n],
            train_y=self.data.train_y[:n],
            valid_x=None,
            valid_y=None,
        )
        net = build_network(
            self.space,
            self.space.parse(self.reference),
            num_classes=self.data.num_classes,
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
        )
        result = train(
            net,
            probe,
            epochs=1,
            batch_size=self.batch_size or 64,
            device=self.device,
            seed=0,
            threads=self.threads,
        )
        return 1.0 / result.images_per_second

    def __call__(self, seconds_per_image: float, task: SearchTask) -> SearchOutcome:
        from tqdm import tqdm

        settings = task.settings
        steps = -(-len(self.data.train_x) // settings.batch) * settings.epochs
        started = time.perf_counter()
        with tqdm(
            total=steps,
            desc=f"{task.method} run {task.run}",
            unit="step",
            disable=not self.progress or None,
            leave=False,
        ) as bar:
            records = run_search(
                self.space,
                self.data,
                settings,
                checkpoint=self._checkpoint(task),
                penalty=self.penalties.get(task.method),
                on_step=bar.update,
            )
        return SearchOutcome(records, seconds_per_image, time.perf_counter() - started)

    def _checkpoint(self, task: SearchTask) -> Path:
        """The driver's checkpoint path where this node can write it, else a scratch path on the node."""
        path = Path(task.checkpoint)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return path
        except OSError:
            return Path(tempfile.gettempdir()) / "nasbench-suite-oneshot" / self.key / path.name


__all__ = ["OneShotSearches", "SearchOutcome", "SearchTask"]
