"""The results directory of a comparison.

    DIR/config.json            everything needed to rerun it, plus suite version and data checksum
    DIR/runs/<strategy>__<dataset>__<run>.parquet
                               one row per evaluation; run metadata in the file's schema metadata

Every file is written to a temporary name and renamed into place, so a crash leaves only whole runs,
and a rerun of the same comparison skips the runs that exist.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nasbench_suite.errors import ResultsError

CONFIG = "config.json"
RUNS = "runs"
RUN_META_KEY = b"nasbench_suite.run"

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


def write_run(path: Path, columns: Mapping[str, Iterable[Any]], meta: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            name: list(columns[name]) if not hasattr(columns[name], "__array__") else columns[name]
            for name in COLUMNS
        }
    )
    table = table.replace_schema_metadata({RUN_META_KEY: json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_run_meta(path: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[RUN_META_KEY])


def write_config(out: Path, config: Mapping[str, Any]) -> None:
    atomic_write_bytes(Path(out) / CONFIG, json.dumps(config, indent=1, sort_keys=True).encode())


def read_config(out: Path) -> dict[str, Any]:
    path = Path(out) / CONFIG
    if not path.is_file():
        raise ResultsError(
            f"{out} is not a results directory (no {CONFIG}); run `nasbench-suite compare --out {out}` first"
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is corrupt ({exc})") from None


def _run_files(out: Path) -> list[Path]:
    read_config(out)
    files = sorted((Path(out) / RUNS).glob("*.parquet"))
    if not files:
        raise ResultsError(f"{out} has no finished runs yet")
    return files


def load_runs(out: Path):  # -> pandas.DataFrame
    """One row of metadata per finished run (reads only the files' footers); the config in `.attrs`."""
    import pandas as pd

    runs = pd.DataFrame([read_run_meta(f) for f in _run_files(out)])
    runs.attrs["config"] = read_config(out)
    return runs


def load_rows(out: Path, columns: Sequence[str] | None = None):  # -> pandas.DataFrame
    """Every evaluation row of every finished run; only `columns` if given (much faster on big
    comparisons: the tables are joined in arrow and converted once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(columns) if columns is not None else None
    # ParquetFile.read skips the dataset layer of pq.read_table: twice as fast over thousands of small files
    parts = [pq.ParquetFile(f).read(columns=names, use_threads=False) for f in _run_files(out)]
    return pa.concat_tables(parts, promote_options="default").to_pandas()
