"""The benchmark store: one compact on-disk format, importers into it, and array-index queries."""

from __future__ import annotations

from pathlib import Path

from nasbench_suite.errors import StoreError
from nasbench_suite.store.format import StoreBuilder, TableSpec
from nasbench_suite.store.store import Store, Table

__all__ = ["Store", "StoreBuilder", "Table", "TableSpec", "import_source"]

WIDE_TABLE_NAME = "nb201_tabular.parquet"


def import_source(source: Path | str, target: Path | str) -> Path:
    """Import a benchmark source into a store at `target`, choosing the importer by what `source` is:
    the wide parquet table (or a directory holding it), an official NATS-Bench topology archive
    directory (`meta.pickle.pbz2` + `NNNNNN.pickle.pbz2`), or an official NAS-Bench-201 `.pth` file."""
    source, target = Path(source), Path(target)
    if source.is_dir() and (source / WIDE_TABLE_NAME).is_file():
        source = source / WIDE_TABLE_NAME
    if source.is_file() and source.suffix == ".parquet":
        from nasbench_suite.store.wide_table import import_wide_table

        return import_wide_table(source, target)
    if source.is_dir() and (source / "meta.pickle.pbz2").is_file():
        from nasbench_suite.store.nats_archive import import_nats_archive

        return import_nats_archive(source, target)
    if source.is_file() and source.suffix == ".pth":
        from nasbench_suite.store.nb201_pth import import_nb201_pth

        return import_nb201_pth(source, target)
    raise StoreError(
        f"cannot import {source}: expected {WIDE_TABLE_NAME} (or a directory holding it), a NATS-Bench "
        "topology archive directory (meta.pickle.pbz2 + NNNNNN.pickle.pbz2), or a NAS-Bench-201 .pth file"
    )
