"""The suite's on-disk benchmark format, and its writer.

A store is a directory:
- `manifest.json`: format version, the search space, provenance, and one entry per table with its
  shape, dtype, seeds, recorded epochs, source and the sha256 of its array file;
- `archs.npy`: (n_archs, n_edges) int8 op indices in the benchmark's index order;
- one `.npy` per table (float64, memory-mappable, no pickles):
  * a scheduled metric (accuracies, train time) is (n_archs, 1 + n_seeds, n_points): slot 0 is the seed
    mean as the source gives it, slots 1.. are the seeds listed in the manifest, points are the epochs
    of the schedule the source recorded (only the last one for the wide table, every epoch for the
    official archive);
  * a static metric (params, FLOPs, latencies, zero-cost scores) is (n_archs,);
- NaN means "the source does not have this value"; nothing is imputed.

Stores are written into a temporary sibling and renamed into place, so a crash never leaves half a store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from nasbench_suite.errors import StoreError
from nasbench_suite.space import CellSpace

FORMAT_NAME = "nasbench-suite-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
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
    provenance: dict = field(default_factory=dict)
    tables: list[tuple[TableSpec, np.ndarray]] = field(default_factory=list)

    def add(self, spec: TableSpec, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != spec.expected_shape(len(self.arch_ops)):
            raise ValueError(
                f"table {spec.key}: shape {values.shape} != {spec.expected_shape(len(self.arch_ops))}"
            )
        if spec.scheduled and (not spec.points or max(spec.points) > spec.epochs or min(spec.points) < 1):
            raise ValueError(f"table {spec.key}: points {spec.points} outside 1..{spec.epochs}")
        if any(s.key == spec.key for s, _ in self.tables):
            raise ValueError(f"table {spec.key} added twice")
        self.tables.append((spec, values))

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            entries = []
            digests: dict[int, dict] = {}  # one file per distinct array: aliases share it
            for k, (spec, values) in enumerate(self.tables):
                if id(values) not in digests:
                    name = f"t{k:03d}.npy"
                    digests[id(values)] = {"file": name, "sha256": _save(tmp / name, values)}
                entry = asdict(spec) | digests[id(values)]
                entry |= {"shape": list(values.shape), "dtype": str(values.dtype)}
                entries.append(entry)
            ops = np.ascontiguousarray(self.arch_ops, dtype=np.int8)
            manifest = {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "space": {"ops": list(self.space.ops), "n_nodes": self.space.n_nodes},
                "n_archs": len(ops),
                "archs": {
                    "file": ARCHS_FILE,
                    "sha256": _save(tmp / ARCHS_FILE, ops),
                    "shape": list(ops.shape),
                },
                "provenance": self.provenance,
                "tables": entries,
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
            _replace_dir(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _save(path: Path, array: np.ndarray) -> str:
    np.save(path, array, allow_pickle=False)
    return sha256_file(path)


def _replace_dir(new: Path, target: Path) -> None:
    """Move `new` to `target`, replacing an existing store only once the new one is complete."""
    if target.exists():
        if not (target / MANIFEST).exists() and any(target.iterdir()):
            raise StoreError(f"{target} exists and is not a store; choose another --store directory")
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)
