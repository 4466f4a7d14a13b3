"""Benchmark: comparison throughput (runs per second) on the local process pool and on Ray, same machine.

What is measured: one comparison (random search and REA on cifar10-valid, the NAS-Bench-201 protocol:
12-epoch validation accuracy, 12000 simulated seconds; `--runs` runs each), every run file encoded by a
worker and written by this process as the runner does, on:
- `local 1`: this process, no pool;
- `local N`: the process pool with N processes (pool start-up included);
- `ray N`: a local Ray with N CPUs, already started (its start-up is reported on its own line: a cluster
  starts once per study), in batches of the automatic size, then one run a task.
For each: wall seconds (median of the rounds; rounds alternate the backends so load drift hits them alike),
the workers' CPU milliseconds per run (process time inside the work: what a dedicated core spends on a
run, independent of the machine's load) and this process's CPU milliseconds per run (receiving and
writing). Then Ray's own cost per task: no-op tasks, one a task. Every backend's final test accuracies
must equal those of one process (the script checks).

Why: the README's "Scaling out on Ray" extrapolates a 100-node study from these figures.

Run: python benchmarks/bench_executors.py [--store data/store] [--runs 250] [--cpus N] [--rounds 3] [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.executors import Executor, LocalExecutor, RayExecutor, import_ray
from nasbench_suite.results import atomic_write_bytes, run_file
from nasbench_suite.run_tasks import TableRuns
from nasbench_suite.runner import ComparisonSpec, RunResult
from nasbench_suite.store import Store

Cell = tuple[str, str, int]


def _spec(runs: int) -> ComparisonSpec:
    return ComparisonSpec(
        strategies=("random", "rea"),
        datasets=("cifar10-valid",),
        runs=runs,
        budget=Budget(BudgetKind.SECONDS, 12000),
        seed=0,
    )


@dataclass(frozen=True)
class CpuTimed:
    """The runner's work, returning also the worker's CPU seconds for the run."""

    inner: TableRuns

    @property
    def setup_key(self) -> Hashable:
        return self.inner.setup_key

    def setup(self) -> Store:
        return self.inner.setup()

    def __call__(self, store: Store, cell: Cell) -> tuple[bytes, RunResult, float]:
        c0 = time.process_time()
        data, result = self.inner(store, cell)
        return data, result, time.process_time() - c0


@dataclass(frozen=True)
class Nothing:
    """A no-op item: what is left is the executor's own cost per task."""

    setup_key = "nothing"

    def setup(self) -> None:
        return None

    def __call__(self, state: None, item: int) -> int:
        return item


@dataclass(frozen=True)
class Sample:
    wall_s: float
    worker_cpu_s: float
    driver_cpu_s: float
    finals: dict[tuple[str, int], float]


def _measure(executor: Executor, work: CpuTimed, cells: list[Cell]) -> Sample:
    with tempfile.TemporaryDirectory(prefix="bench-executors-") as out:
        t0, c0 = time.perf_counter(), time.process_time()
        worker_cpu, finals = 0.0, {}
        for (s, d, r), (data, result, cpu) in executor.map(work, cells):
            atomic_write_bytes(run_file(Path(out), s, d, r), data)
            worker_cpu += cpu
            finals[(s, r)] = result.final_test
        return Sample(time.perf_counter() - t0, worker_cpu, time.process_time() - c0, finals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--runs", type=int, default=250, help="runs per strategy (2 strategies)")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--noop-tasks", type=int, default=2000)
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args()

    store, spec = Store(args.store), _spec(args.runs)
    cells = [(s, d, r) for s in spec.strategies for d in spec.datasets for r in range(spec.runs)]
    work = CpuTimed(TableRuns(str(store.path), store.checksum, spec, strategies.build))
    ray = import_ray()
    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING")
    ray_start = time.perf_counter() - t0
    backends: dict[str, Callable[[], Executor]] = {
        "local 1 (this process)": lambda: LocalExecutor(1),
        f"local {args.cpus} (process pool)": lambda: LocalExecutor(args.cpus),
        f"ray {args.cpus} CPUs (auto batches)": lambda: RayExecutor(),
        f"ray {args.cpus} CPUs (1 run a task)": lambda: RayExecutor(batch_size=1),
    }
    list(RayExecutor().map(work, cells[:50]))  # warm-up: Ray's workers start and import the suite once
    samples: dict[str, list[Sample]] = {name: [] for name in backends}
    for _ in range(args.rounds):
        for name, make in backends.items():
            samples[name].append(_measure(make(), work, cells))
    t0, c0 = time.perf_counter(), time.process_time()
    echoed = sorted(r for _, r in RayExecutor(batch_size=1).map(Nothing(), range(args.noop_tasks)))
    noop_wall, noop_cpu = time.perf_counter() - t0, time.process_time() - c0
    ray.shutdown()
    if echoed != list(range(args.noop_tasks)):
        raise RuntimeError("no-op tasks lost or duplicated items")
    reference = samples["local 1 (this process)"][0].finals
    for name, runs in samples.items():
        if any(s.finals != reference for s in runs):
            raise RuntimeError(f"{name} gave other results than one process")

    n = len(cells)
    rows: list[dict[str, Any]] = []
    for name, runs in samples.items():
        wall = statistics.median(s.wall_s for s in runs)
        rows.append(
            {
                "backend": name,
                "median_s": wall,
                "runs_per_s": n / wall,
                "worker_cpu_ms_per_run": 1e3 * statistics.median(s.worker_cpu_s for s in runs) / n,
                "driver_cpu_ms_per_run": 1e3 * statistics.median(s.driver_cpu_s for s in runs) / n,
                "all_s": [s.wall_s for s in runs],
            }
        )
    report = {
        "runs": n,
        "ray_start_s": ray_start,
        "noop_tasks_per_s": args.noop_tasks / noop_wall,
        "noop_driver_cpu_ms_per_task": 1e3 * noop_cpu / args.noop_tasks,
        "rows": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        "ray": ray.__version__,
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "executors.json").write_text(json.dumps(report, indent=1))
    print(f"{n} runs of random+REA on cifar10-valid, 12000 s each; median of {args.rounds} rounds")
    print(f"ray start-up (local, {args.cpus} CPUs): {ray_start:.1f} s, once per study")
    print(
        f"ray no-op tasks, one a task: {report['noop_tasks_per_s']:.0f} tasks/s, "
        f"driver CPU {report['noop_driver_cpu_ms_per_task']:.2f} ms a task"
    )
    print("| backend | median s | runs/s | worker CPU ms/run | driver CPU ms/run |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['backend']} | {row['median_s']:.2f} | {row['runs_per_s']:.0f} | "
            f"{row['worker_cpu_ms_per_run']:.2f} | {row['driver_cpu_ms_per_run']:.2f} |"
        )
    print(report["machine"], f"ray {report['ray']}")


if __name__ == "__main__":
    main()
