"""`data verify`: check every file of a store against its manifest, and the manifest against its checksum,
reading everything (opening a store checks only the manifest, and each table when it is first read)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.space import CellSpace
from nasbench_suite.store.format import FORMAT_NAME, FORMAT_VERSION, TableSpec, sha256_file
from nasbench_suite.store.manifest import (
    MANIFEST,
    MANIFEST_SHA,
    manifest_problem,
    recorded_provenance,
    repair_hint,
)
from nasbench_suite.store.swap import recover


@dataclass(frozen=True)
class Verification:
    """What `verify_store` found: `problems` is empty when every check passed."""

    store: Path
    files: int  # array files whose checksum was computed
    bytes: int
    problems: tuple[str, ...]
    repair: str  # the re-import command that rebuilds the store from its recorded source
    recovered: str | None  # what was done to finish an import killed mid-swap, if anything

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(path: Path | str) -> Verification:
    """Check the manifest against `manifest.sha256`, then every array file it names: present, sha256,
    loadable without pickles, shape and dtype as recorded, and each table's shape as its seeds and
    points imply."""
    path = Path(path)
    recovered = recover(path)
    try:
        raw = (path / MANIFEST).read_bytes()
    except OSError as exc:
        unreadable = f"{MANIFEST}: cannot be read ({exc.strerror})"
        return Verification(path, 0, 0, (unreadable,), repair_hint(path, {}), recovered)
    repair = repair_hint(path, recorded_provenance(raw))
    if mismatch := manifest_problem(path, raw):
        return Verification(path, 0, 0, (mismatch,), repair, recovered)
    problems: list[str] = []
    try:
        manifest = json.loads(raw)
        if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"not a {FORMAT_NAME} version {FORMAT_VERSION} manifest")
        n_archs = int(manifest["n_archs"])
        space = CellSpace(tuple(manifest["space"]["ops"]), int(manifest["space"]["n_nodes"]))
        checks: list[tuple[dict[str, Any], tuple[int, ...], str]] = [
            (manifest["archs"], (n_archs, space.n_edges), "int8")
        ]
        for entry in manifest["tables"]:
            spec = TableSpec(
                entry["dataset"],
                entry["metric"],
                entry["epochs"],
                tuple(entry["seeds"]),
                tuple(entry["points"]),
                entry["source"],
            )
            problems += _spec_problems(spec, entry)
            checks.append((entry, spec.expected_shape(n_archs), "float64"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Verification(path, 0, 0, (f"{MANIFEST}: malformed ({exc})",), repair, recovered)
    seen: dict[str, str] = {}
    size = 0
    for entry, shape, dtype in checks:
        name = entry["file"]
        if name in seen:  # aliases share a file; check it once
            if seen[name] != entry["sha256"]:
                problems.append(f"{name}: two manifest entries give it different checksums")
            continue
        seen[name] = entry["sha256"]
        problem, nbytes = _file_problem(path / name, entry, shape, dtype)
        size += nbytes
        if problem:
            problems.append(f"{name}: {problem}")
    stray = sorted(p.name for p in path.iterdir() if p.name not in {*seen, MANIFEST, MANIFEST_SHA})
    if stray:
        problems.append(f"files the manifest does not name: {', '.join(stray)}")
    return Verification(path, len(seen), size, tuple(problems), repair, recovered)


def _spec_problems(spec: TableSpec, entry: dict[str, Any]) -> list[str]:
    where = f"{entry['file']} ({spec.dataset}/{spec.metric}" + (f"@{spec.epochs})" if spec.scheduled else ")")
    out = []
    if len(set(spec.seeds)) != len(spec.seeds):
        out.append(f"{where}: seeds listed twice: {list(spec.seeds)}")
    if spec.epochs is not None and (
        not spec.points
        or min(spec.points) < 1
        or max(spec.points) > spec.epochs
        or list(spec.points) != sorted(set(spec.points))
    ):
        out.append(f"{where}: points {list(spec.points)} are not increasing within 1..{spec.epochs}")
    return out


def _file_problem(
    file: Path, entry: dict[str, Any], shape: tuple[int, ...], dtype: str
) -> tuple[str | None, int]:
    if not file.is_file():
        return "missing", 0
    nbytes = file.stat().st_size
    if sha256_file(file) != entry["sha256"]:
        return "fails its sha256 (corrupt or edited)", nbytes
    try:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        return f"unreadable ({exc})", nbytes
    if array.shape != tuple(shape) or list(array.shape) != list(entry.get("shape", shape)):
        return f"shape {array.shape}, the manifest implies {tuple(shape)}", nbytes
    if array.dtype != np.dtype(dtype):
        return f"dtype {array.dtype}, expected {dtype}", nbytes
    return None, nbytes
