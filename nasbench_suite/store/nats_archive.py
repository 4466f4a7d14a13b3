"""Importer of the official NATS-Bench topology archive (`NATS-tss-v1_0-3ffb9-simple/`).

The archive is a directory: `meta.pickle.pbz2` (`meta_archs`: the 15625 arch strings in index order) and
one `NNNNNN.pickle.pbz2` per arch, `{hp: ArchResults.state_dict()}` with hp "12" and "200" (epochs).
Each trial, `all_results[(dataset, seed)]`, holds per-epoch dicts keyed by the 0-based epoch
(`train_acc1es`, `train_losses`, `train_times`) or by `"<split>@<epoch>"` (`eval_acc1es`, `eval_losses`,
`eval_times`), plus `params`, `flop` and `latency`. Key `e` is the value after epoch `e + 1`, which is
the point the store records. Files are read with the restricted unpickler, one at a time, into
preallocated arrays, so the import never holds more than one record as Python objects.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from nasbench_suite.errors import InvalidArchError, StoreError
from nasbench_suite.space import CellSpace
from nasbench_suite.store.format import StoreBuilder, TableSpec, sha256_file
from nasbench_suite.store.safe_pickle import load_pickle_bz2

META_FILE = "meta.pickle.pbz2"
RECORD_FILE = re.compile(r"^(?P<index>\d+)\.pickle\.pbz2$")  # NATS-Bench writes 000011, also reads 11
PROGRESS_MIN_ITEMS = 50

# NAS-Bench-201's split rule (the official API's get_more_info): which evaluation set each role reads.
# cifar10-valid's test set is the CIFAR-10 test set; cifar100 / ImageNet16-120 test on the x-test half
# and report the whole test set as "valtest"; cifar10 has no validation split.
EVAL_SPLITS: dict[str, dict[str, str]] = {
    "cifar10-valid": {"valid": "x-valid", "test": "ori-test"},
    "cifar10": {"test": "ori-test"},
    "cifar100": {"valid": "x-valid", "test": "x-test", "valtest": "ori-test"},
    "ImageNet16-120": {"valid": "x-valid", "test": "x-test", "valtest": "ori-test"},
}
# Times are per-arch constants the benchmark copies into every trial (NATS-Bench assigns "pseudo" per-epoch
# times), not seed outcomes: their seed mean is the shared value, since np.mean of equal floats can be
# off by an ulp (the wide table stores the shared value).
CONSTANT_METRICS = frozenset({"train_time_s", "valid_time_s"})
MEAN_NOTES = [
    "slot 0 of an accuracy or loss is np.mean over the seeds present, in ascending seed order (the official "
    "API's is_random=False)",
    "slot 0 of a time (and every static metric) is the value all seeds share; the mean where they differ",
]


def seed_mean(per_seed: np.ndarray, *, constant: bool) -> np.ndarray:
    """Mean over axis 1 of (n, n_seeds, n_points), skipping NaN, summed in slot order like np.mean of the
    present values; with `constant`, the shared value where all present seeds agree. NaN if none."""
    shape = (per_seed.shape[0], per_seed.shape[2])
    total, count = np.zeros(shape), np.zeros(shape, dtype=np.int64)
    first, agree = np.full(shape, np.nan), np.ones(shape, dtype=bool)
    for k in range(per_seed.shape[1]):
        v = per_seed[:, k]
        present = ~np.isnan(v)
        total = np.where(present, total + v, total)
        count += present
        first = np.where(np.isnan(first), v, first)
        agree &= ~present | (v == first)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(agree & (count > 0), first, mean) if constant else mean


class CurveTable:
    """One scheduled table filled trial by trial: (n_archs, 1 + n_seeds, n_points) float64, slot 0 left for
    the seed mean. The seeds the first record lists are reserved up front and its epochs fix the points,
    so each array is normally allocated once; a later trial with a new seed or epoch grows an axis."""

    def __init__(
        self, n_archs: int, epochs: int, *, constant: bool, source: str, seeds: Sequence[int] = ()
    ) -> None:
        self.epochs, self.constant, self.source = epochs, constant, source
        self.seeds: list[int] = []
        self.points: list[int] = []
        self._slot: dict[int, int] = {}
        self._pos: dict[int, int] = {}
        self._positions: dict[tuple[int, ...], np.ndarray] = {}
        self.values = np.full((n_archs, 1, 0), np.nan)
        for seed in sorted(seeds):  # reserving the expected seeds now is free: there are no points yet
            self._add_seed(int(seed))

    def put(self, index: int, seed: int, points: Sequence[int], values: Sequence[float]) -> None:
        slot = self._slot.get(seed)
        if slot is None:
            slot = self._add_seed(seed)
        key = tuple(points)
        positions = self._positions.get(key)
        if positions is None:
            positions = self._positions[key] = self._add_points(key)
        self.values[index, slot, positions] = values

    def _add_points(self, points: tuple[int, ...]) -> np.ndarray:
        if any(not 1 <= p <= self.epochs for p in points) or len(set(points)) != len(points):
            raise StoreError(f"epochs {points} do not fit a {self.epochs}-epoch schedule")
        new = [p for p in points if p not in self._pos]
        for p in new:
            self._pos[p] = len(self.points)
            self.points.append(p)
        if new:
            self.values = _grow(self.values, axis=2, by=len(new))
        return np.array([self._pos[p] for p in points], dtype=np.intp)

    def _add_seed(self, seed: int) -> int:
        self._slot[seed] = 1 + len(self.seeds)
        self.seeds.append(seed)
        self.values = _grow(self.values, axis=1, by=1)
        return self._slot[seed]

    def finish(self) -> tuple[tuple[int, ...], tuple[int, ...], np.ndarray]:
        """(seeds, points, values) with both axes sorted and slot 0 filled with the seed mean."""
        values = self.values
        seed_order, point_order = np.argsort(self.seeds), np.argsort(self.points)
        if (np.diff(seed_order) < 0).any():
            values = values[:, np.r_[0, 1 + seed_order]]
        if (np.diff(point_order) < 0).any():
            values = values[:, :, point_order]
        values[:, 0] = seed_mean(values[:, 1:], constant=self.constant)
        return tuple(sorted(self.seeds)), tuple(sorted(self.points)), values


def _grow(values: np.ndarray, *, axis: int, by: int) -> np.ndarray:
    shape = list(values.shape)
    if values.size == 0:
        shape[axis] += by
        return np.full(shape, np.nan)
    shape[axis] = by
    return np.concatenate([values, np.full(shape, np.nan)], axis=axis)


class TableSet:
    """All tables of one import: scheduled `CurveTable`s and static (per-arch) arrays."""

    def __init__(self, n_archs: int, label: str) -> None:
        self.n_archs, self.label = n_archs, label
        self.curves: dict[tuple[str, str, int], CurveTable] = {}
        self.statics: dict[tuple[str, str], tuple[np.ndarray, str]] = {}

    def curve(
        self, dataset: str, metric: str, epochs: int, source: str, seeds: Sequence[int] = ()
    ) -> CurveTable:
        """The table for (dataset, metric, epochs); `seeds` (the seeds the first record lists) and
        `source` only matter when it is created."""
        key = (dataset, metric, epochs)
        if key not in self.curves:
            constant = metric in CONSTANT_METRICS
            self.curves[key] = CurveTable(
                self.n_archs, epochs, constant=constant, source=f"{self.label}: {source}", seeds=seeds
            )
        return self.curves[key]

    def put_static(self, dataset: str, metric: str, index: int, trials: Sequence[float], source: str) -> None:
        """Store the value the trials share (their mean where they differ); NaN entries are skipped."""
        key = (dataset, metric)
        if key not in self.statics:
            self.statics[key] = (np.full(self.n_archs, np.nan), f"{self.label}: {source}")
        values = np.asarray(trials, dtype=np.float64)[None, :, None]
        self.statics[key][0][index] = seed_mean(values, constant=True)[0, 0]

    def add_to(self, builder: StoreBuilder) -> None:
        """Finish every table into `builder`, releasing each accumulator once it is copied."""
        for key in sorted(self.curves):
            table = self.curves.pop(key)
            seeds, points, values = table.finish()
            builder.add(TableSpec(*key, seeds, points, table.source), values)
        for (dataset, metric), (values, source) in sorted(self.statics.items()):
            builder.add(TableSpec(dataset, metric, source=source), values)


def import_nats_archive(source: Path, target: Path) -> Path:
    source = Path(source)
    archs = read_meta_archs(source / META_FILE)
    space = CellSpace.nb201()
    ops = _arch_ops(space, archs, source / META_FILE)
    files = _record_files(source, len(archs))
    tables = TableSet(len(archs), f"NATS-Bench archive {source.name}")
    progress = tqdm(
        files,
        desc="NATS-Bench records",
        unit="arch",
        file=sys.stderr,
        disable=len(files) < PROGRESS_MIN_ITEMS,
    )
    for index, path in progress:
        read_record(load_pickle_bz2(path), index, archs[index], path, tables)
    builder = StoreBuilder(
        space,
        ops,
        provenance={
            "importer": "nats-archive",
            "source": str(source.resolve()),
            "meta_sha256": sha256_file(source / META_FILE),
            "records": len(files),
            "notes": [
                f"{len(files)} of {len(archs)} archs have a record; the others are NaN everywhere",
                "points are epochs 1..E: record key e is the value after epoch e + 1",
                "train_time_s is cumulative (sum of per-epoch train_times up to the point); "
                "valid_time_s is the time of one x-valid evaluation pass",
                *MEAN_NOTES,
            ],
        },
    )
    tables.add_to(builder)
    return builder.write(target)


def read_meta_archs(path: Path) -> list[str]:
    if not path.is_file():
        raise StoreError(f"{path.parent} is not a NATS-Bench topology archive: {path.name} is missing")
    meta = load_pickle_bz2(path)
    archs = meta.get("meta_archs") if isinstance(meta, Mapping) else None
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise StoreError(
            f"{path} has no 'meta_archs' list of arch strings; is it a NATS-Bench topology archive?"
        )
    if len(set(archs)) != len(archs):
        raise StoreError(f"{path}: 'meta_archs' lists an arch twice")
    return archs


def _arch_ops(space: CellSpace, archs: list[str], path: Path) -> np.ndarray:
    try:
        return np.array([space.parse(a).ops for a in archs], dtype=np.int8).reshape(-1, space.n_edges)
    except InvalidArchError as exc:
        raise StoreError(f"{path}: {exc} (only the topology search space, NATS-tss, is supported)") from None


def _record_files(source: Path, n_archs: int) -> list[tuple[int, Path]]:
    found: dict[int, Path] = {}
    for path in source.iterdir():
        m = RECORD_FILE.match(path.name)
        if not m:
            continue
        index = int(m["index"])
        if index >= n_archs:
            raise StoreError(f"{path}: index {index} is outside the archive's {n_archs} archs")
        if index in found:
            raise StoreError(f"two records for arch {index}: {found[index].name} and {path.name}")
        found[index] = path
    if not found:
        raise StoreError(f"{source} holds no NNNNNN.pickle.pbz2 records beside {META_FILE}")
    return sorted(found.items())


def read_record(record: object, index: int, arch: str, path: Path, tables: TableSet) -> None:
    """Fill `tables` with one arch's record ({hp: ArchResults state dict})."""
    try:
        _read_record(record, index, arch, tables)
    except StoreError as exc:
        raise StoreError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreError(
            f"{path} is not a NATS-Bench topology record ({type(exc).__name__}: {exc}); "
            "use the official NATS-tss-v1_0-3ffb9-simple archive"
        ) from None


def _read_record(record: object, index: int, arch: str, tables: TableSet) -> None:
    if not isinstance(record, Mapping):
        raise StoreError(f"expected a dict of schedules, got {type(record).__name__}")
    cost_trials: dict[str, tuple[int, list[Mapping[str, Any]]]] = {}
    for hp, results in record.items():
        epochs = int(hp)
        if results.get("arch_index", index) != index or results.get("arch_str", arch) != arch:
            raise StoreError(
                f"record is arch {results.get('arch_index')} {results.get('arch_str')}, but the file name "
                f"and meta_archs say {index} {arch}"
            )
        by_dataset: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for (dataset, seed), trial in results["all_results"].items():
            if dataset not in EVAL_SPLITS:
                raise StoreError(f"unknown dataset {dataset!r}; known: {', '.join(EVAL_SPLITS)}")
            if int(trial.get("epochs", epochs)) != epochs:
                raise StoreError(f"a {trial['epochs']}-epoch trial under schedule {hp!r}")
            seeds = results.get("dataset_seed", {}).get(dataset, ())
            for metric, source, points, values in trial_curves(dataset, trial, epochs):
                table = tables.curve(dataset, metric, epochs, source, seeds)
                table.put(index, int(seed), points, values)
            by_dataset[dataset].append(trial)
        for dataset, trials in by_dataset.items():  # costs come from the longest schedule
            if dataset not in cost_trials or cost_trials[dataset][0] < epochs:
                cost_trials[dataset] = (epochs, trials)
    for dataset, (epochs, trials) in cost_trials.items():
        where = f"{epochs}-epoch trials"
        tables.put_static(dataset, "params_mb", index, [t["params"] for t in trials], f"params of {where}")
        tables.put_static(dataset, "flops_m", index, [t["flop"] for t in trials], f"flop of {where}")
        latencies = [trial_latency(t.get("latency")) for t in trials]
        tables.put_static(dataset, "latency_s", index, latencies, f"latency of {where}")


def trial_latency(latency: Sequence[float] | None) -> float:
    """A trial's latency as the official ResultsCount.get_latency reads it; NaN where it is absent."""
    if not latency:
        return np.nan
    value = sum(latency) / len(latency)
    return float(value) if value > 0 else np.nan


def trial_curves(
    dataset: str, trial: Mapping[str, Any], epochs: int
) -> Iterator[tuple[str, str, list[int], list[float]]]:
    """(metric, source, points, values) for every curve one trial records."""
    for metric, field in (("train_acc", "train_acc1es"), ("train_loss", "train_losses")):
        if trial.get(field):
            points, values = _epoch_series(trial[field])
            yield metric, field, points, values
    if trial.get("train_times"):
        points, values = _epoch_series(trial["train_times"])
        # a running total only makes sense over the epochs 1..k that are all there
        k = next((i for i, p in enumerate(points) if p != i + 1), len(points))
        yield "train_time_s", "cumulative train_times", points[:k], list(np.cumsum(values[:k]))
    accs, losses = _split_series(trial.get("eval_acc1es")), _split_series(trial.get("eval_losses"))
    for role, split in EVAL_SPLITS[dataset].items():
        if split in accs:
            yield f"{role}_acc", f"eval_acc1es[{split}@*]", *accs[split]
        if split in losses:
            yield f"{role}_loss", f"eval_losses[{split}@*]", *losses[split]
    times = _split_series(trial.get("eval_times"))
    if "valid" in EVAL_SPLITS[dataset] and "x-valid" in times:
        yield "valid_time_s", "eval_times[x-valid@*] (one pass)", *times["x-valid"]


def _epoch_series(by_epoch: Mapping[int, float]) -> tuple[list[int], list[float]]:
    items = sorted((int(e), v) for e, v in by_epoch.items())
    return [e + 1 for e, _ in items], [v for _, v in items]


def _split_series(by_key: Mapping[str, float] | None) -> dict[str, tuple[list[int], list[float]]]:
    """{"x-valid@0": a, "x-valid@1": b, ...} -> {"x-valid": ([1, 2, ...], [a, b, ...])}."""
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for key, value in (by_key or {}).items():
        split, _, epoch = key.rpartition("@")
        out[split].append((int(epoch), value))
    return {split: ([e + 1 for e, _ in sorted(s)], [v for _, v in sorted(s)]) for split, s in out.items()}
