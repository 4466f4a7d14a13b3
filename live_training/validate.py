"""Does the table say what training gives? Two checks of the whole pipeline.

`validate_live`: train K in-table archs whose table accuracies are spread evenly over the range and
report the rank agreement (Spearman, Kendall) of live and table accuracy. At a reduced scale the
absolute accuracies are far below the table's; the ranking is what is validated.

`validate_pipeline`: search on the table, retrain the found arch live, and compare it with the
ResNet-like reference cell trained the same way (same scale, same seeds), next to their table values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.executors import Executor, LocalExecutor, Resources
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.recipe import accuracy, train, without_test
from nasbench_suite.live_training.scale import LiveScale
from nasbench_suite.rank_agreement import RankCorrelation, rank_correlation
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store

RESNET_CELL = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


# ============================================================================ one arch
@dataclass(frozen=True)
class LiveRun:
    """One arch trained once: live valid/test accuracy (percent), training seconds, wall seconds."""

    arch: str
    seed: int
    valid_acc: float
    test_acc: float
    train_seconds: float
    wall_seconds: float
    curve: tuple[float, ...]


def train_arch(
    space: CellSpace,
    arch: Arch,
    data: LiveDataset,
    scale: LiveScale,
    *,
    seed: int,
    device: str = "cpu",
    threads: int | None = None,
    compile_model: bool = False,
) -> LiveRun:
    """Train `arch` at `scale` from `seed` (init and data order); test accuracy measured at the end."""
    started = time.perf_counter()
    model = scale.network(space, arch, num_classes=data.num_classes, seed=seed)
    result = train(
        model,
        without_test(data),  # the test split is measured once, after training
        epochs=scale.epochs,
        batch_size=scale.batch_size,
        device=device,
        seed=seed,
        threads=threads,
        compile_model=compile_model,
    )
    final = result.final
    valid = final.valid_acc if final.valid_acc is not None else float("nan")
    test = accuracy(model, data, data.test_x, data.test_y, device=device)
    curve = tuple(v for v in result.valid_acc if v is not None)
    return LiveRun(
        space.format(arch), seed, valid, test, result.train_seconds, time.perf_counter() - started, curve
    )


@dataclass(frozen=True)
class TrainArchs:
    """Training as an executor's work (`nasbench_suite.executors`): plain data in, a LiveRun out. The
    dataset travels once per worker (Ray: once per cluster, in the object store)."""

    data: LiveDataset
    scale: LiveScale
    device: str = "cpu"
    threads: int | None = None
    compile_model: bool = False

    setup_key = "live-training"  # nothing to set up: the dataset is part of the work
    items_per_task = 1  # a training takes minutes: Ray never batches them

    def setup(self) -> None:
        return None

    def __call__(self, state: None, item: tuple[int, CellSpace, Arch, int]) -> LiveRun:
        _, space, arch, seed = item
        return train_arch(
            space,
            arch,
            self.data,
            self.scale,
            seed=seed,
            device=self.device,
            threads=self.threads,
            compile_model=self.compile_model,
        )


def train_many(
    jobs_args: Sequence[tuple[CellSpace, Arch, int]],
    data: LiveDataset,
    scale: LiveScale,
    *,
    device: str = "cpu",
    jobs: int = 1,
    on_done: Callable[[LiveRun], None] | None = None,
    compile_model: bool = False,
    executor: Executor | None = None,
) -> list[LiveRun]:
    """Train each (space, arch, seed); the runs in order of the input. On CPU with `jobs` > 1, that many
    processes with one thread each (measured faster than one process with every thread on small
    networks). With `executor` (Ray), one training a task, each asking for a GPU when `device` is CUDA
    (Ray then gives each task its own GPU) and one CPU otherwise."""
    if jobs < 1:
        raise ConfigError(f"jobs must be >= 1, got {jobs}")
    cuda = device.startswith("cuda")
    if executor is None:
        executor = LocalExecutor(1 if cuda else jobs)
    threads = 1 if jobs > 1 or (executor.name != "local" and not cuda) else None
    work = TrainArchs(data, scale, device, threads, compile_model)
    items = [(k, space, arch, seed) for k, (space, arch, seed) in enumerate(jobs_args)]
    runs: dict[int, LiveRun] = {}
    for (k, *_), run in executor.map(work, items, resources=Resources(cpus=1, gpus=1 if cuda else 0)):
        runs[k] = run
        if on_done:
            on_done(run)
    return [runs[k] for k in range(len(items))]


# ============================================================================ validate live
def spread_indices(
    store: Store, dataset: str, k: int, *, epochs: int = 200, min_gap: float = 0.5
) -> list[int]:
    """`k` in-table archs whose `epochs`-schedule validation accuracies spread evenly from the worst to the
    best: for each of `k` evenly spaced targets, the nearest arch at least `min_gap` points away from every
    arch already chosen (so the 10%-cluster of archs without a path to the output is used once, not for
    every low target). Archs flagged for a params mismatch are skipped."""
    if k < 3:
        raise ConfigError(f"--archs must be at least 3 to rank anything, got {k}")
    acc = np.asarray(store.table(dataset, "valid_acc", epochs).column("mean"), dtype=float)
    usable = np.isfinite(acc)
    if store.has(None, "params_counts_mismatch"):
        usable &= ~np.asarray(store.table(None, "params_counts_mismatch").values).astype(bool)
    candidates = np.flatnonzero(usable)
    targets = np.linspace(acc[candidates].min(), acc[candidates].max(), k)
    chosen: list[int] = []
    for target in targets:
        free = candidates[np.all(np.abs(acc[candidates][:, None] - acc[chosen][None, :]) >= min_gap, axis=1)]
        if not len(free):
            raise ConfigError(
                f"--archs {k} is more than {dataset} has accuracy levels {min_gap} points apart"
            )
        chosen.append(int(free[np.argmin(np.abs(acc[free] - target))]))
    return sorted(chosen, key=lambda i: acc[i])


@dataclass(frozen=True)
class LiveValidation:
    dataset: str
    table_epochs: int
    scale: LiveScale
    indices: tuple[int, ...]
    table_acc: np.ndarray
    runs: tuple[LiveRun, ...]
    correlation: RankCorrelation
    wall_seconds: float
    notes: tuple[str, ...] = field(default=())

    @property
    def live_acc(self) -> np.ndarray:
        return np.array([r.valid_acc for r in self.runs])

    def to_json(self) -> dict[str, Any]:
        c = self.correlation
        return {
            "dataset": self.dataset,
            "table_epochs": self.table_epochs,
            "scale": self.scale.to_json(),
            "archs": [
                {
                    "index": i,
                    "arch": r.arch,
                    "table_valid": float(t),
                    "live_valid": r.valid_acc,
                    "live_test": r.test_acc,
                    "train_seconds": r.train_seconds,
                    "curve": list(r.curve),
                }
                for i, t, r in zip(self.indices, self.table_acc, self.runs, strict=True)
            ],
            "spearman": c.spearman,
            "spearman_p": c.spearman_p,
            "kendall": c.kendall,
            "kendall_p": c.kendall_p,
            "wall_seconds": self.wall_seconds,
            "notes": list(self.notes),
        }

    def to_markdown(self) -> str:
        lines = [
            f"# Live training vs the table ({self.dataset})",
            "",
            f"Scale: {self.scale}. Table: {self.table_epochs}-epoch validation accuracy (seed mean).",
            f"**{self.correlation}** over {len(self.runs)} archs, {self.wall_seconds:.0f} s wall.",
            "",
            "| index | arch | table valid | live valid | live test | train s |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for i, t, r in zip(self.indices, self.table_acc, self.runs, strict=True):
            lines.append(
                f"| {i} | `{r.arch}` | {t:.2f} | {r.valid_acc:.2f} | {r.test_acc:.2f} | {r.train_seconds:.1f} |"
            )
        lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


def validate_live(
    store: Store,
    data: LiveDataset,
    indices: Sequence[int],
    scale: LiveScale,
    *,
    table_epochs: int = 200,
    seed: int = 0,
    device: str = "cpu",
    jobs: int = 1,
    on_done: Callable[[LiveRun], None] | None = None,
    source_note: str | None = None,
    compile_model: bool = False,
    executor: Executor | None = None,
) -> LiveValidation:
    """Train the archs `indices` of the store once each (seed `seed + k` for the k-th) and rank them
    against the table's `table_epochs`-schedule validation accuracy on `data.name`."""
    started = time.perf_counter()
    table = np.asarray(store.table(data.name, "valid_acc", table_epochs).column("mean"))[list(indices)]
    work = [(store.space, store.arch(i), seed + k) for k, i in enumerate(indices)]
    runs = train_many(
        work,
        data,
        scale,
        device=device,
        jobs=jobs,
        on_done=on_done,
        compile_model=compile_model,
        executor=executor,
    )
    live = np.array([r.valid_acc for r in runs])
    notes = [
        "Live accuracy is measured on a random subset of the same validation split the table's numbers use."
        if scale.eval_subset
        else "Live accuracy is measured on the whole validation split the table's numbers use.",
        "One training run (one seed) per arch; the table is a mean over seeds.",
    ]
    if source_note:
        notes.append(source_note)
    return LiveValidation(
        data.name,
        table_epochs,
        scale,
        tuple(int(i) for i in indices),
        table,
        tuple(runs),
        rank_correlation(table, live),
        time.perf_counter() - started,
        tuple(notes),
    )


# ============================================================================ validate pipeline
@dataclass(frozen=True)
class PipelineArch:
    role: str  # "found" or "reference"
    index: int
    arch: str
    table_valid: float
    table_test: float
    runs: tuple[LiveRun, ...]

    def live(self, what: str) -> tuple[float, float]:
        values = np.array([getattr(r, what) for r in self.runs])
        return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float("nan")


@dataclass(frozen=True)
class PipelineValidation:
    strategy: str
    dataset: str
    search: dict[str, Any]
    scale: LiveScale
    archs: tuple[PipelineArch, ...]
    report_dataset: str

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "dataset": self.dataset,
            "search": self.search,
            "scale": self.scale.to_json(),
            "report_dataset": self.report_dataset,
            "archs": [
                {
                    "role": a.role,
                    "index": a.index,
                    "arch": a.arch,
                    "table_valid": a.table_valid,
                    "table_test": a.table_test,
                    "live_valid": [r.valid_acc for r in a.runs],
                    "live_test": [r.test_acc for r in a.runs],
                    "seeds": [r.seed for r in a.runs],
                }
                for a in self.archs
            ],
        }

    def to_markdown(self) -> str:
        s = self.search
        lines = [
            f"# Pipeline: {self.strategy} on the table, the found arch retrained live",
            "",
            f"Search: {self.strategy} on {self.dataset}, {s['budget']}, seed {s['seed']}: "
            f"{s['evaluations']} evaluations. Live scale: {self.scale}, {len(self.archs[0].runs)} seed(s).",
            "",
            f"| | arch | table valid | table test ({self.report_dataset}) | live valid | live test |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for a in self.archs:
            (vm, vs), (tm, ts) = a.live("valid_acc"), a.live("test_acc")
            lines.append(
                f"| {a.role} | `{a.arch}` | {a.table_valid:.2f} | {a.table_test:.2f} | {vm:.2f}{_sd(vs)} | {tm:.2f}{_sd(ts)} |"
            )
        found, ref = self.archs
        table_gap = found.table_test - ref.table_test
        (f_mean, f_sd), (r_mean, r_sd) = found.live("test_acc"), ref.live("test_acc")
        live_gap = f_mean - r_mean
        se = float(
            np.hypot(f_sd, r_sd) / np.sqrt(len(found.runs))
        )  # paired seeds, unpaired SE (conservative)
        sign = "same" if np.sign(table_gap) == np.sign(live_gap) else "opposite"
        resolved = (
            f"{abs(live_gap) / se:.1f} standard errors"
            if se == se and se > 0
            else "one seed: no standard error"
        )
        lines += [
            "",
            f"Found minus reference on test: table {table_gap:+.2f} points, live {live_gap:+.2f} points "
            f"({sign} sign; the live difference is {resolved}).",
            "Live values are mean ± sd over seeds at the reduced scale; their absolute level is not the table's.",
        ]
        return "\n".join(lines) + "\n"


def _sd(x: float) -> str:
    return "" if x != x else f" ± {x:.2f}"


def validate_pipeline(
    store: Store,
    data: LiveDataset,
    found_index: int,
    search: dict[str, Any],
    scale: LiveScale,
    *,
    strategy: str,
    seeds: int = 2,
    seed: int = 0,
    device: str = "cpu",
    jobs: int = 1,
    on_done: Callable[[LiveRun], None] | None = None,
    compile_model: bool = False,
    executor: Executor | None = None,
) -> PipelineValidation:
    """Retrain the found arch and the ResNet-like cell `seeds` times each with the same seeds."""
    from nasbench_suite.datasets import report_dataset

    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    reference = store.index(RESNET_CELL)
    shown = report_dataset(data.name)
    valid = np.asarray(store.table(data.name, "valid_acc", 200).column("mean"))
    test = np.asarray(store.table(shown, "test_acc", 200).column("mean"))
    work = [(store.space, store.arch(i), seed + s) for i in (found_index, reference) for s in range(seeds)]
    runs = train_many(
        work,
        data,
        scale,
        device=device,
        jobs=jobs,
        on_done=on_done,
        compile_model=compile_model,
        executor=executor,
    )
    archs = tuple(
        PipelineArch(
            role,
            i,
            store.arch_str(i),
            float(valid[i]),
            float(test[i]),
            tuple(runs[k * seeds : (k + 1) * seeds]),
        )
        for k, (role, i) in enumerate((("found", found_index), ("reference", reference)))
    )
    return PipelineValidation(strategy, data.name, search, scale, archs, shown)
