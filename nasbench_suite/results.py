"""The results directory of a comparison.

    DIR/config.json            everything needed to rerun it, plus suite version and data checksum
    DIR/runs/<strategy>__<dataset>__<run>.parquet
                               one row per evaluation; run metadata in the file's schema metadata

Every file is written to a temporary name and renamed into place, so a crash leaves only whole runs,
and a rerun of the same comparison skips the runs that exist. Every run file names the comparison's
spec hash and its grid cell (`nasbench_suite.run_files`); readers set aside, with a `ResultsWarning`
naming each, the files that are unreadable or do not belong to the directory's config.json.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite import parquet_writer, run_files

if TYPE_CHECKING:
    import pandas as pd
from nasbench_suite.errors import ResultsError
from nasbench_suite.run_files import RUN_META_KEY, RUNS

__all__ = ["COLUMNS", "CONFIG", "RUNS", "RUN_META_KEY", "load_rows", "load_runs", "read_config", "run_file"]

CONFIG = "config.json"
_WHOLE = frozenset({"run", "step", "arch_index", "epoch", "schedule", "incumbent_index"})
_TEXT = frozenset({"strategy", "dataset", "measure"})

# Columns of a run file, in order, with what they mean (documented in the README too).
COLUMNS: dict[str, str] = {
    "run": "run number within the comparison (seeds derive from it)",
    "strategy": "strategy name",
    "dataset": "search dataset",
    "step": "evaluation number within the run, from 0",
    "arch_index": "benchmark index of the evaluated arch",
    "epoch": "epochs trained",
    "schedule": "length of the training schedule (12 or 200)",
    "cost_s": "simulated cost of this evaluation, seconds",
    "time_s": "simulated time when it finished, seconds",
    "valid_seen": "validation accuracy the strategy saw",
    "incumbent_index": "arch with the best validation accuracy seen so far",
    "incumbent_valid_seen": "its validation accuracy as seen",
    "incumbent_valid": "its 200-epoch seed-mean validation accuracy on the search dataset (reporting only)",
    "incumbent_test": "its 200-epoch seed-mean test accuracy on the report dataset (reporting only)",
    "overhead_s": "real seconds the strategy spent in ask/tell since the previous row",
    "measure": "for a measurement row (epoch 0): the metric measured; empty for a training row",
    "measured_value": "for a measurement row: the value the strategy saw",
}
# The type of each column: whole numbers, real numbers (NaN where a row has no value) or text.
COLUMN_TYPES: dict[str, str] = {
    name: "int64" if name in _WHOLE else "string" if name in _TEXT else "float64" for name in COLUMNS
}


def run_file(out: Path, strategy: str, dataset: str, run: int) -> Path:
    return Path(out) / RUNS / f"{strategy}__{dataset}__{run:04d}.parquet"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run(
    path: Path, columns: Mapping[str, Iterable[Any]], meta: Mapping[str, Any], extra: Sequence[str] = ()
) -> None:
    atomic_write_bytes(path, encode_run(columns, meta, extra))


def encode_run(
    columns: Mapping[str, Iterable[Any]], meta: Mapping[str, Any], extra: Sequence[str] = ()
) -> bytes:
    """A run file's bytes (workers encode, the driver writes them with `atomic_write_bytes`); `extra`
    names columns written after the standard ones (one-shot runs add `table_equiv_s`).

    The standard columns have the types of `COLUMN_TYPES`; a numpy array of int32, int64, float32 or
    float64 keeps its own type; an extra column that is a list is whole numbers, real numbers or text
    by its values. The file is written by `parquet_writer` (pyarrow's writer costs about three times
    as much per run file, and `pyarrow.array` on a list would import pandas into every worker)."""
    table = []
    for name in [*COLUMNS, *extra]:
        values = _values(columns[name])
        table.append(parquet_writer.Column(name, _kind(name, values), values))
    return parquet_writer.encode(table, {RUN_META_KEY: json.dumps(meta).encode()})


def _values(values: Iterable[Any]) -> Sequence[Any] | np.ndarray:
    """The values as a sequence (an iterator is read once)."""
    return values if isinstance(values, (list, tuple, np.ndarray)) else list(values)


def _kind(name: str, values: Sequence[Any] | np.ndarray) -> str:
    """The type a column is written with (a key of `parquet_writer.NUMERIC`, or text)."""
    if isinstance(values, np.ndarray) and values.dtype.name in parquet_writer.NUMERIC:
        return values.dtype.name
    kind = COLUMN_TYPES.get(name)
    if kind is not None:
        return kind
    items = list(values)
    if all(isinstance(v, str) for v in items):  # no values at all: text
        return parquet_writer.TEXT
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items):
        return "int64"
    if all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in items
    ):
        return "float64"
    raise ResultsError(
        f"run file column {name!r} holds values that are neither all whole numbers, real numbers nor text"
    )


def read_run_meta(path: Path) -> dict[str, Any]:
    """The metadata of one run file; ResultsError naming it when it is unreadable."""
    try:
        return run_files.read_footer(path)[1]
    except ResultsError as exc:
        raise ResultsError(f"run file {str(path)!r} is {exc}") from None


def write_config(out: Path, config: Mapping[str, Any]) -> None:
    atomic_write_bytes(Path(out) / CONFIG, json.dumps(config, indent=1, sort_keys=True).encode())


def read_config(out: Path) -> dict[str, Any]:
    path = Path(out) / CONFIG
    if not os.path.isfile(path):  # False, not an OSError, for a name too long or a path through a file
        raise ResultsError(
            f"{str(out)!r} is not a results directory (no {CONFIG}); run `nasbench-suite compare --out DIR` first"
        )
    try:
        config: dict[str, Any] = json.loads(path.read_bytes())
    except (ValueError, OSError) as exc:  # bad JSON or bytes that are no UTF-8 text
        raise ResultsError(
            f"{str(path)!r} is corrupt ({exc}); delete the directory or choose another --out"
        ) from None
    check_config(config, path)
    return config


_SPEC_FIELDS = {"strategies": list, "datasets": list, "runs": int, "seed": int, "budget": dict}


def check_config(config: Any, path: Path) -> None:
    """ResultsError unless `config` has the shape the suite writes (a `spec` object with a grid)."""
    spec = config.get("spec") if isinstance(config, dict) else None
    bad = (
        [
            k
            for k, kind in _SPEC_FIELDS.items()
            if not isinstance(spec.get(k), kind) or isinstance(spec.get(k), bool)
        ]
        if isinstance(spec, dict)
        else ["spec"]
    )
    if bad:
        raise ResultsError(
            f"{str(path)!r} is not a comparison's config (missing or malformed: {', '.join(bad)}); "
            "it was not written by `nasbench-suite compare`: delete it or choose another --out"
        )


def _scan(out: Path) -> run_files.Scan:
    """The run files that belong to the directory's comparison, and the others, each named in a
    ResultsWarning and skipped."""
    found = run_files.scan(Path(out), read_config(out))
    run_files.warn_set_aside(out, found.set_aside, doing="skipped")
    if not found.good:
        raise ResultsError(
            f"{str(out)!r} has no finished runs yet"
            + (" that belong to its config.json" if found.set_aside else "")
        )
    return found


@dataclass(frozen=True)
class RunMetas:
    """A results directory's finished runs as plain data: each run file's metadata, the directory's
    config and the run files left out (each with why)."""

    metas: list[dict[str, Any]]
    config: dict[str, Any]
    set_aside: list[str]


def load_run_metas(out: Path) -> RunMetas:
    """`load_runs` without pandas (the report's text needs no frame; importing pandas takes longer
    than reading a few hundred footers)."""
    found = _scan(out)
    return RunMetas([meta for _, meta in found.good], read_config(out), [str(i) for i in found.set_aside])


def load_runs(out: Path) -> pd.DataFrame:
    """One row of metadata per finished run (reads only the files' footers); the config in `.attrs`,
    and the run files left out, each with why, in `.attrs["set_aside"]`."""
    return runs_frame(load_run_metas(out))


def runs_frame(found: RunMetas) -> pd.DataFrame:
    """`load_runs`' frame of runs read with `load_run_metas`."""
    import pandas as pd

    runs = pd.DataFrame(found.metas)
    runs.attrs["config"] = found.config
    runs.attrs["set_aside"] = list(found.set_aside)
    return runs


def load_rows(out: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every evaluation row of every finished run; only `columns` if given (much faster on big
    comparisons: the tables are joined in arrow and converted once). Files that are unreadable or do
    not belong to the directory's comparison are skipped with a ResultsWarning naming each."""
    import pyarrow as pa

    names = list(columns) if columns is not None else None
    expected = run_files.Expected.of(read_config(out))
    paths = run_files.run_paths(out)
    if not paths:
        raise ResultsError(f"{str(out)!r} has no finished runs yet")
    parts, bad = [], []
    for path in paths:
        found = run_files.check(path, expected, keep_open=True)
        if isinstance(found, run_files.SetAside):
            bad.append(found)
            continue
        handle = found[0]
        # ParquetFile.read skips the dataset layer of pq.read_table: twice as fast over thousands of small files
        try:
            parts.append(handle.read(columns=names, use_threads=False))
        except (OSError, ValueError) as exc:
            bad.append(run_files.SetAside(path, f"unreadable: {run_files.first_line(exc)}"))
        finally:
            handle.close()
    run_files.warn_set_aside(out, bad, doing="skipped")
    if not parts:
        raise ResultsError(f"{str(out)!r} has no readable runs that belong to its config.json")
    return pa.concat_tables(parts, promote_options="default").to_pandas()
