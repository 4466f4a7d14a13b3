"""Self-describing run files: what a run file must say about itself to be read as part of a comparison.

Every run file's metadata carries the comparison's `spec_hash` and the run's grid coordinates
(strategy, dataset, run index, root seed) and its strategy's hyperparameters. The spec hash covers every
setting that shapes a run (budget, schedule, noise, seed, workers, constraint, objective, live settings)
and the data checksum, and leaves out the grid's extent (which strategies and datasets, how many runs),
so a comparison can grow without touching the runs it has.

`check(path, expected)` says why a file does not belong (unreadable, no metadata, another comparison,
outside the grid, other hyperparameters, a name that disagrees with its content), or None; `scan`
sorts a directory's run files into those that belong and those set aside, each with its reason. Readers
(`results.load_runs` / `load_rows`) skip the set-aside files and warn naming them; resume moves them
to `DIR/set-aside/` and redoes their grid cells.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench_suite.errors import ResultsError

RUN_META_KEY = b"nasbench_suite.run"
RUNS = "runs"
SET_ASIDE = "set-aside"
# Fields of a spec's JSON that are the grid's extent, not settings of a run (`strategy_modules` say
# where outside strategies come from; a strategy's hyperparameters are checked per strategy).
GRID_FIELDS = frozenset({"strategies", "datasets", "runs", "hparams", "strategy_modules"})
_NAME = re.compile(r"(?P<strategy>.+)__(?P<dataset>.+)__(?P<run>[0-9]{4,})\.parquet")


class ResultsWarning(UserWarning):
    """Run files a reader set aside; the CLI prints each as one `warning:` line."""


def normal(value: Any) -> Any:
    """JSON-like data with integral floats as ints and tuples as lists, so that a spec and its JSON
    round trip (where `20` may come back as `20.0`) hash alike."""
    if isinstance(value, Mapping):
        return {str(k): normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_settings(spec_json: Mapping[str, Any], data_checksum: str) -> dict[str, Any]:
    """The settings that shape every run of a comparison: its spec minus the grid, plus the data."""
    settings = {k: v for k, v in spec_json.items() if k not in GRID_FIELDS}
    normalized: dict[str, Any] = normal(settings | {"data_checksum": data_checksum})
    return normalized


def spec_hash(spec_json: Mapping[str, Any], data_checksum: str) -> str:
    text = json.dumps(run_settings(spec_json, data_checksum), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def stamp(spec_json: Mapping[str, Any], data_checksum: str, strategy: str) -> dict[str, Any]:
    """What every run file's metadata adds about the comparison it belongs to."""
    return {
        "spec_hash": spec_hash(spec_json, data_checksum),
        "hparams": normal(dict(spec_json.get("hparams", {}).get(strategy, {}))),
    }


@dataclass(frozen=True)
class Expected:
    """What a run file of one results directory must say (from its config.json)."""

    spec_hash: str
    seed: int
    strategies: frozenset[str]
    datasets: frozenset[str]
    runs: int
    hparams: Mapping[str, Any]

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Expected:
        spec = config["spec"]
        return cls(
            spec_hash(spec, config.get("data_checksum", "")),
            spec["seed"],
            frozenset(spec["strategies"]),
            frozenset(spec["datasets"]),
            spec["runs"],
            normal(spec.get("hparams", {})),
        )


@dataclass(frozen=True)
class SetAside:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path.parent.name}/{self.path.name} ({self.reason})"


def read_footer(path: Path) -> tuple[Any, dict[str, Any]]:
    """(pyarrow ParquetFile, its run metadata); ResultsError naming the file when it is unreadable."""
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path, page_checksum_verification=True)
        raw = (handle.schema_arrow.metadata or {}).get(RUN_META_KEY)
        meta = json.loads(raw) if raw is not None else None
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError; a truncated file an OSError
        raise ResultsError(f"unreadable: {first_line(exc)}") from None
    if not isinstance(meta, dict):
        raise ResultsError("no run metadata: not a run file of this suite")
    return handle, meta


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def mismatch(path: Path, meta: Mapping[str, Any], expected: Expected) -> str | None:
    """Why a readable run file does not belong to the comparison, or None."""
    found = meta.get("spec_hash")
    if found is None:
        return "no spec hash: written by another tool, or by the suite before run files carried one"
    if found != expected.spec_hash:
        return f"another comparison: spec hash {str(found)[:12]}, this directory's {expected.spec_hash[:12]}"
    strategy, dataset, run = meta.get("strategy"), meta.get("dataset"), meta.get("run")
    name = _NAME.fullmatch(path.name)
    if name is None or (name["strategy"], name["dataset"], int(name["run"])) != (strategy, dataset, run):
        return f"its name disagrees with its content ({strategy!r}, {dataset!r}, run {run!r})"
    if strategy not in expected.strategies or dataset not in expected.datasets:
        return f"{strategy!r} on {dataset!r} is not in this comparison's grid"
    if not (isinstance(run, int) and 0 <= run < expected.runs):
        return f"run {run!r} is outside this comparison's {expected.runs} runs"
    if meta.get("seed") != expected.seed:
        return f"root seed {meta.get('seed')!r}, this comparison's {expected.seed}"
    want = expected.hparams.get(strategy, {})
    if normal(meta.get("hparams", {})) != want:
        return f"hyperparameters {meta.get('hparams')!r}, this comparison's {want!r}"
    return None


def check(
    path: Path, expected: Expected, *, keep_open: bool = False
) -> tuple[Any, dict[str, Any]] | SetAside:
    """(open file or None, metadata) when `path` belongs to the comparison, else why not. The file
    stays open only with `keep_open` (the caller closes it): thousands of run files would exceed the
    process's limit of open files."""
    try:
        handle, meta = read_footer(path)
    except ResultsError as exc:
        return SetAside(path, str(exc))
    reason = mismatch(path, meta, expected)
    if reason or not keep_open:
        handle.close()
    return SetAside(path, reason) if reason else (handle if keep_open else None, meta)


def run_paths(out: Path) -> list[Path]:
    return sorted((Path(out) / RUNS).glob("*.parquet"))


@dataclass(frozen=True)
class Scan:
    """A directory's run files: (path, metadata) of those that belong, and those that don't."""

    good: list[tuple[Path, dict[str, Any]]]
    set_aside: list[SetAside]


def scan(out: Path, config: Mapping[str, Any]) -> Scan:
    expected = Expected.of(config)
    good: list[tuple[Path, dict[str, Any]]] = []
    bad: list[SetAside] = []
    for path in run_paths(out):
        found = check(path, expected)
        if isinstance(found, SetAside):
            bad.append(found)
        else:
            good.append((path, found[1]))
    return Scan(good, bad)


def warn_set_aside(out: Path, bad: Sequence[SetAside], *, doing: str) -> None:
    """One warning per set-aside file, naming it and why (`doing` says what happens to it)."""
    for item in bad:
        warnings.warn(f"{str(out)!r}: {doing} {item}", ResultsWarning, stacklevel=3)


def move_aside(out: Path, bad: Sequence[SetAside]) -> list[Path]:
    """Move set-aside run files to `out/set-aside/` (never deleted: a user may want them), so that
    readers no longer meet them and resume can redo their grid cells; returns the new paths."""
    if not bad:
        return []
    folder = Path(out) / SET_ASIDE
    folder.mkdir(exist_ok=True)
    stamp_ = time.strftime("%Y%m%dT%H%M%S")
    moved = []
    for k, item in enumerate(bad):
        target = folder / f"{item.path.stem}.{stamp_}.{k}{item.path.suffix}"
        item.path.replace(target)
        moved.append(target)
    return moved
