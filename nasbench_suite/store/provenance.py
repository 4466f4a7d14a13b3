"""Which benchmark source a store was imported from, and a check that it is the one expected (so that
`make compare BENCHMARK_SOURCE=...` does not silently keep using a store imported from another source)."""

from __future__ import annotations

from pathlib import Path

from nasbench_suite.errors import StoreError
from nasbench_suite.store.store import Store


def imported_from(store: Store) -> Path | None:
    """The source recorded by the importer in the manifest's provenance (resolved), if any."""
    source = store.manifest.get("provenance", {}).get("source")
    return Path(source) if source else None


def check_source(store: Store, expected: str | Path) -> None:
    """Raise unless `store` was imported from `expected`: the same file or directory, or the directory
    holding the file that was imported (`data import DIR` reads DIR/nb201_tabular.parquet).

    >>> check_source(Store("data/store"), "../shared/nasbench201")  # doctest: +SKIP
    """
    want = Path(expected).expanduser().resolve()
    got = imported_from(store)
    if got is not None and (got == want or got.parent == want):
        return
    raise StoreError(
        f"the store {str(store.path)!r} was imported from {str(got) if got else 'an unrecorded source'!r}, "
        f"not from {str(want)!r}; import that one with `nasbench-suite data import {expected} --store "
        f"{store.path}` (it replaces the store), or choose another store with --store"
    )
