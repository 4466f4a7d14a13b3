"""Read-only access to a store: every query is an array index into memory-mapped tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

import numpy as np

from nasbench_suite.errors import StoreError, UnknownNameError, unknown
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store.format import FORMAT_NAME, FORMAT_VERSION, MANIFEST, TableSpec, sha256_file
from nasbench_suite.store.manifest import manifest_problem, recorded_provenance, repair_hint
from nasbench_suite.store.swap import leftovers, recover

SeedSpec = str | int  # "mean", "random" or a seed number
T = TypeVar("T")
_PLAIN_INTS = {int}  # the element types of an Arch that `index` may look up without validating it
ArchRef = Arch | str | int


@dataclass(frozen=True)
class Table:
    """One table of a store: its spec and its (memory-mapped) values."""

    spec: TableSpec
    values: np.ndarray

    @cached_property
    def _slot_of_seed(self) -> dict[int, int]:
        return {s: k + 1 for k, s in enumerate(self.spec.seeds)}

    @cached_property
    def _point_of_epoch(self) -> dict[int, int]:
        return {e: k for k, e in enumerate(self.spec.points)}

    def describe(self) -> str:
        s = self.spec
        where = f"{s.dataset}/" if s.dataset else ""
        return f"{where}{s.metric}" + (f"@{s.epochs}" if s.scheduled else "")

    def point(self, epoch: int | None) -> int:
        """Position of `epoch` on the recorded points; None means the end of the schedule."""
        if not self.spec.scheduled:
            if epoch is not None:
                raise UnknownNameError(f"{self.describe()} does not depend on the epoch; omit it")
            return 0
        epoch = self.spec.epochs if epoch is None else epoch
        if epoch not in self._point_of_epoch:
            raise unknown("epoch", epoch, _ranges(self.spec.points), self.describe())
        return self._point_of_epoch[epoch]

    def slot(self, seed: SeedSpec) -> int | None:
        """Seed slot for a fixed seed or "mean"; None for "random" (drawn per arch)."""
        if seed == "random":
            return None
        if seed == "mean":
            return 0
        if not self.spec.scheduled:
            raise UnknownNameError(f"{self.describe()} has no per-seed values; use seed 'mean'")
        if not _is_whole(seed):  # 7.9, True or "7" are refused, not coerced to a seed
            raise unknown("seed", seed, ["mean", "random", *self.spec.seeds])
        number = int(seed)
        if number not in self._slot_of_seed:
            raise unknown("seed", seed, ["mean", "random", *self.spec.seeds], self.describe())
        return self._slot_of_seed[number]

    def column(self, seed: SeedSpec = "mean", epoch: int | None = None) -> np.ndarray:
        """All archs' values for one seed slot and epoch: a view, no copy."""
        slot = self.slot(seed)
        if slot is None:
            raise UnknownNameError("a whole column needs a fixed seed or 'mean', not 'random'")
        if not self.spec.scheduled:
            return self.values
        return self.values[:, slot, self.point(epoch)]

    def seed_values(self, epoch: int | None = None) -> np.ndarray:
        """(n_archs, n_seeds) per-seed values at `epoch` (NaN where a seed is missing)."""
        return self.values[:, 1:, self.point(epoch)] if self.spec.scheduled else self.values[:, None][:, :0]

    def draw(self, indices: np.ndarray, epoch: int | None, rng: np.random.Generator) -> np.ndarray:
        """One uniformly drawn existing seed's value per arch; archs without per-seed values give NaN."""
        per_seed = self.seed_values(epoch)[indices]
        if per_seed.shape[1] == 0:  # a table of seed means only: nothing to draw from
            return np.full(len(indices), np.nan)
        present = ~np.isnan(per_seed)
        counts = present.sum(axis=1)
        pick = np.floor(rng.random(len(indices)) * np.maximum(counts, 1)).astype(np.int64)
        # position of the pick-th present seed in each row
        rank = np.cumsum(present, axis=1) - 1
        chosen = np.argmax(present & (rank == pick[:, None]), axis=1)
        out: np.ndarray = per_seed[np.arange(len(indices)), chosen]
        out[counts == 0] = np.nan
        return out


class Store:
    """A benchmark store opened read-only. The manifest is checked against `manifest.sha256` on opening;
    array checksums are verified the first time a file is read. A store left mid-swap by a killed import
    is recovered first (`swap.recover`)."""

    def __init__(self, path: Path | str, *, verify: bool = True) -> None:
        self.path = Path(path)
        self.verify = verify
        # what was done to finish an import killed mid-swap (the CLI prints it); None: nothing
        self.recovered = recover(self.path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            left = [p.name for p in leftovers(self.path)] if self.path.parent.is_dir() else []
            raise StoreError(
                f"no benchmark store at {self.path}: run `nasbench-suite data import SOURCE` "
                f"(or `make data`) first"
                + (
                    f" (an interrupted import left {', '.join(left)}, incomplete; it removes them)"
                    if left
                    else ""
                )
            )
        raw = manifest_path.read_bytes()
        self._repair = repair_hint(self.path, recorded_provenance(raw))
        # the manifest is checked whatever `verify` says: it is a few kB, and it says what every array means
        if problem := manifest_problem(self.path, raw):
            raise StoreError(f"corrupt store manifest {manifest_path}: {problem}; {self._repair}")
        try:
            manifest = json.loads(raw)
            if (
                not isinstance(manifest, dict)
                or manifest.get("format") != FORMAT_NAME
                or manifest.get("format_version") != FORMAT_VERSION
            ):
                raise ValueError("not a store of this format version")
            self.space = CellSpace(tuple(manifest["space"]["ops"]), int(manifest["space"]["n_nodes"]))
            self.n_archs = int(manifest["n_archs"])
            specs = {}
            for entry in manifest["tables"]:
                spec = TableSpec(
                    dataset=entry["dataset"],
                    metric=entry["metric"],
                    epochs=entry["epochs"],
                    seeds=tuple(entry["seeds"]),
                    points=tuple(entry["points"]),
                    source=entry["source"],
                )
                specs[spec.key] = (spec, entry)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"corrupt store manifest {manifest_path} ({exc}); {self._repair}") from None
        self.manifest = manifest
        # the data's fingerprint: every array checksum and table definition, not the import time
        identity = {k: v for k, v in manifest.items() if k not in ("created", "provenance")}
        identity["source_sha256"] = manifest["provenance"].get("source_sha256")
        self.checksum = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        self._specs = specs
        self._tables: dict[tuple[str | None, str, int | None], Table] = {}
        self._derived: dict[Hashable, Any] = {}
        self._verified: set[str] = set()
        self.arch_ops = self._load(manifest["archs"], (self.n_archs, self.space.n_edges))
        self._index_of_code = np.full(self.space.size, -1, dtype=np.int64)
        self._index_of_code[self.space.codes(self.arch_ops)] = np.arange(self.n_archs)

    # ---------------------------------------------------------------- files
    def _load(self, entry: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
        file = self.path / entry["file"]
        if not file.is_file():
            raise StoreError(f"store {self.path} is missing {entry['file']}; {self._repair}")
        if self.verify and entry["file"] not in self._verified:
            if sha256_file(file) != entry["sha256"]:
                raise StoreError(f"store file {file} fails its checksum (corrupt or edited); {self._repair}")
            self._verified.add(entry["file"])
        try:
            array: np.ndarray = np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise StoreError(f"store file {file} is unreadable ({exc}); {self._repair}") from None
        if array.shape != tuple(shape):
            raise StoreError(f"store file {file} has shape {array.shape}, manifest says {tuple(shape)}")
        return array

    # ---------------------------------------------------------------- what exists
    def datasets(self) -> list[str]:
        return sorted({k[0] for k in self._specs if k[0] is not None})

    def metrics(self, dataset: str) -> list[str]:
        return sorted({k[1] for k in self._specs if k[0] == dataset})

    def schedules(self, dataset: str, metric: str) -> list[int]:
        return list(self._schedules.get((dataset, metric), ()))

    @cached_property
    def _schedules(self) -> dict[tuple[str | None, str], tuple[int, ...]]:
        """(dataset, metric) -> its schedules, ascending (every oracle asks for each metric)."""
        found: dict[tuple[str | None, str], list[int]] = {}
        for dataset, metric, epochs in self._specs:
            if epochs is not None:
                found.setdefault((dataset, metric), []).append(epochs)
        return {key: tuple(sorted(epochs)) for key, epochs in found.items()}

    def specs(self) -> list[TableSpec]:
        return [spec for spec, _ in self._specs.values()]

    def has(self, dataset: str | None, metric: str, epochs: int | None = None) -> bool:
        return (dataset, metric, epochs) in self._specs

    def table(self, dataset: str | None, metric: str, epochs: int | None = None) -> Table:
        """The table for (dataset, metric, schedule); epochs=None picks the longest schedule of a
        scheduled metric."""
        key = (dataset, metric, epochs)
        if key in self._tables:
            return self._tables[key]
        if dataset is not None and dataset not in self.datasets():
            raise unknown("dataset", dataset, self.datasets())
        schedules = self.schedules(dataset, metric) if dataset is not None else []
        if epochs is None and schedules:
            table = self._tables[key] = self.table(dataset, metric, schedules[-1])  # cache the default too
            return table
        if key not in self._specs:
            if dataset is not None and metric not in self.metrics(dataset):
                raise unknown("metric", metric, self.metrics(dataset), dataset)
            if dataset is None:
                flags = sorted(k[1] for k in self._specs if k[0] is None)
                raise unknown("arch-level table", metric, flags)
            if schedules:
                raise unknown("schedule (epochs)", epochs, schedules, f"{dataset}/{metric}")
            raise UnknownNameError(f"{dataset}/{metric} does not depend on the schedule; omit --epochs")
        spec, entry = self._specs[key]
        # a plain ndarray view of the memory map: same pages, without np.memmap's per-index overhead
        table = Table(spec, self._load(entry, spec.expected_shape(self.n_archs)).view(np.ndarray))
        self._tables[key] = table
        return table

    def derived(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, computed once per open store for `key`: read-only values derived from its tables
        (an oracle's cost model) that every run in this process shares."""
        if key not in self._derived:
            self._derived[key] = build()
        value: T = self._derived[key]
        return value

    # ---------------------------------------------------------------- archs
    def index(self, arch: ArchRef) -> int:
        """The benchmark index of an arch, its official string, or an index (checked)."""
        # the oracle's hot path: an Arch of plain ints is looked up without validating and coding it
        if type(arch) is Arch and type(arch.ops) is tuple and set(map(type, arch.ops)) == _PLAIN_INTS:
            found = self._index_of_ops.get(arch.ops)
            if found is not None:
                return found
        if _is_whole(arch):
            if not 0 <= arch < self.n_archs:
                raise UnknownNameError(f"arch index {arch} out of range; valid: 0..{self.n_archs - 1}")
            return int(arch)
        if isinstance(arch, str):
            arch = self.space.parse(arch)
        arch = self.space.validate(arch)
        index = int(self._index_of_code[self.space.code(arch)])
        if index < 0:
            raise UnknownNameError(f"arch {self.space.format(arch)} is not in this store")
        return index

    @cached_property
    def _index_of_ops(self) -> dict[tuple[int, ...], int]:
        """Benchmark index by op tuple: a dict lookup is ten times cheaper than validating and coding."""
        return {ops: k for k, ops in enumerate(map(tuple, self.arch_ops.tolist()))}

    def indices(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Vectorized `index` for a sequence of Archs or a (n, n_edges) op-index array."""
        ops = np.array([a.ops for a in archs]) if not isinstance(archs, np.ndarray) else archs
        out: np.ndarray = self._index_of_code[self.space.codes(ops.reshape(-1, self.space.n_edges))]
        if (out < 0).any():
            raise UnknownNameError("some archs are not in this store")
        return out

    def arch(self, index: int) -> Arch:
        return Arch(tuple(int(o) for o in self.arch_ops[self.index(index)]))

    def arch_str(self, index: int) -> str:
        return self.space.format(self.arch(index))

    # ---------------------------------------------------------------- queries
    def query(
        self,
        arch: ArchRef,
        dataset: str,
        metric: str,
        *,
        epochs: int | None = None,
        seed: SeedSpec = "mean",
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> float:
        """One value. seed: "mean", a seed number, or "random" (a seed that exists for this arch, drawn
        with `rng`). epochs: the schedule; epoch: a point within it where the store has curves."""
        index = self.index(arch)
        table = self.table(dataset, metric, epochs)
        slot = table.slot(seed)
        if slot is None:  # a random seed: the vectorized draw does the bookkeeping
            drawn = self.query_many(
                np.array([index]), dataset, metric, epochs=epochs, seed=seed, epoch=epoch, rng=rng
            )
            return float(drawn[0])
        value = float(
            table.values[index, slot, table.point(epoch)] if table.spec.scheduled else table.values[index]
        )
        if value != value:
            raise self._missing(table, index, seed, epoch)
        return value

    def query_many(
        self,
        indices: np.ndarray,
        dataset: str,
        metric: str,
        *,
        epochs: int | None = None,
        seed: SeedSpec = "mean",
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Vectorized `query` over benchmark indices; raises if any value is missing."""
        table = self.table(dataset, metric, epochs)
        given = np.asarray(indices)
        if given.size and given.dtype.kind not in "iu":  # floats and bools are refused, not truncated
            raise UnknownNameError(f"arch indices must be whole numbers, got an array of {given.dtype}")
        indices = given.astype(np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_archs):
            raise UnknownNameError(f"arch indices must be in 0..{self.n_archs - 1}")
        slot = table.slot(seed)
        if slot is None:
            if rng is None:
                raise UnknownNameError("seed 'random' needs a random generator")
            out = table.draw(indices, epoch, rng)
        else:
            out = np.asarray(table.column(seed, epoch)[indices], dtype=np.float64)
        if np.isnan(out).any():
            raise self._missing(table, int(indices[np.isnan(out)][0]), seed, epoch)
        return out

    def _missing(self, table: Table, index: int, seed: SeedSpec, epoch: int | None) -> StoreError:
        what = f"{table.describe()} (seed {seed}" + (f", epoch {epoch})" if epoch is not None else ")")
        if table.spec.scheduled:
            present: list[str | int] = ["mean"] * (not np.isnan(table.values[index, 0, table.point(epoch)]))
            present += [
                s
                for s, v in zip(table.spec.seeds, table.seed_values(epoch)[index], strict=True)
                if not np.isnan(v)
            ]
            have = ", ".join(map(str, present)) or "none"
            return StoreError(
                f"the store has no value of {what} for arch {index}; seeds it has there: {have}"
            )
        return StoreError(f"the store has no value of {what} for arch {index}")


def _is_whole(value: object) -> TypeGuard[int | np.integer[Any]]:
    """An int or numpy integer, and not a bool (True is not arch 1 or seed 1)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _ranges(points: Sequence[int]) -> list[str]:
    """[1, 2, 3, 5] -> ["1-3", "5"], to keep error messages short."""
    out: list[str] = []
    start: int | None = None
    prev = 0
    for p in sorted(points):
        if start is None:
            start = prev = p
        elif p == prev + 1:
            prev = p
        else:
            out.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = p
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else str(start))
    return out
