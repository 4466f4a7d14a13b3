"""The suite's on-disk benchmark format, and its writer.

A store is a directory:
- `manifest.json`: format version, the search space, provenance, and one entry per table with its
  shape, dtype, seeds, recorded epochs, source and the sha256 of its array file;
- `manifest.sha256`: the sha256 of `manifest.json` itself (`manifest.py`), so the manifest is covered too;
- `archs.npy`: (n_archs, n_edges) int8 op indices in the benchmark's index order;
- one `.npy` per table (float64, memory-mappable, no pickles):
  * a scheduled metric (accuracies, train time) is (n_archs, 1 + n_seeds, n_points): slot 0 is the seed
    mean as the source gives it, slots 1.. are the seeds listed in the manifest, points are the epochs
    of the schedule the source recorded (only the last one for the wide table, every epoch for the
    official archive);
  * a static metric (params, FLOPs, latencies, zero-cost scores) is (n_archs,);
- NaN means "the source does not have this value"; nothing is imputed.

Stores are written into a temporary sibling and swapped into place (`swap.py`), so a crash in any window
leaves the old store or the new one, never half a store or none.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.space import CellSpace
from nasbench_suite.store.manifest import MANIFEST, MANIFEST_SHA, write_manifest
from nasbench_suite.store.swap import (
    check_target,
    checkpoint,
    fsync_dir,
    import_lock,
    install,
    recover,
    remove_leftovers,
    staging_dir,
)

__all__ = [
    "ARCHS_FILE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST",
    "MANIFEST_SHA",
    "StoreBuilder",
    "TableSpec",
    "sha256_file",
]

FORMAT_NAME = "nasbench-suite-store"
FORMAT_VERSION = 1
ARCHS_FILE = "archs.npy"


@dataclass(frozen=True)
class TableSpec:
    """What one table holds. `epochs` is the schedule length; None for a static (per-arch) metric.
    `dataset` is None for an arch-level flag that belongs to no dataset."""

    dataset: str | None
    metric: str
    epochs: int | None = None
    seeds: tuple[int, ...] = ()
    points: tuple[int, ...] = ()
    source: str = ""

    @property
    def key(self) -> tuple[str | None, str, int | None]:
        return (self.dataset, self.metric, self.epochs)

    @property
    def scheduled(self) -> bool:
        return self.epochs is not None

    def expected_shape(self, n_archs: int) -> tuple[int, ...]:
        if self.scheduled:
            return (n_archs, 1 + len(self.seeds), len(self.points))
        return (n_archs,)


@dataclass
class StoreBuilder:
    """Collects tables in memory, then writes them as one store."""

    space: CellSpace
    arch_ops: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)
    tables: list[tuple[TableSpec, np.ndarray]] = field(default_factory=list)

    def add(self, spec: TableSpec, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != spec.expected_shape(len(self.arch_ops)):
            raise ValueError(
                f"table {spec.key}: shape {values.shape} != {spec.expected_shape(len(self.arch_ops))}"
            )
        if spec.epochs is not None and (
            not spec.points or max(spec.points) > spec.epochs or min(spec.points) < 1
        ):
            raise ValueError(f"table {spec.key}: points {spec.points} outside 1..{spec.epochs}")
        if any(s.key == spec.key for s, _ in self.tables):
            raise ValueError(f"table {spec.key} added twice")
        self.tables.append((spec, values))

    def write(self, path: Path) -> Path:
        """Write the store to `path`, replacing a store there only once the new one is complete
        (see `swap`: a crash in any window leaves the old store or the new one)."""
        path = Path(path)
        check_target(path)
        with import_lock(path):
            recover(path)
            remove_leftovers(path)
            tmp = staging_dir(path)
            try:
                self._write_files(tmp)
                fsync_dir(tmp)
                install(tmp, path)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return path

    def _write_files(self, tmp: Path) -> None:
        ops = np.ascontiguousarray(self.arch_ops, dtype=np.int8)
        archs = {"file": ARCHS_FILE, "sha256": _save(tmp / ARCHS_FILE, ops), "shape": list(ops.shape)}
        entries = []
        digests: dict[int, dict[str, Any]] = {}  # one file per distinct array: aliases share it
        for k, (spec, values) in enumerate(self.tables):
            if id(values) not in digests:
                name = f"t{k:03d}.npy"
                digests[id(values)] = {"file": name, "sha256": _save(tmp / name, values)}
                checkpoint("writing")
            entry = asdict(spec) | digests[id(values)]
            entry |= {"shape": list(values.shape), "dtype": str(values.dtype)}
            entries.append(entry)
        write_manifest(
            tmp,
            {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "space": {"ops": list(self.space.ops), "n_nodes": self.space.n_nodes},
                "n_archs": len(ops),
                "archs": archs,
                "provenance": self.provenance,
                "tables": entries,
            },
        )


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _save(path: Path, array: np.ndarray) -> str:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return sha256_file(path)
