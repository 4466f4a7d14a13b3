"""Where the benchmark store is when no path is given, the same from any working directory.

The order: the path given (`--store`, `open_store(path)`), else `$NASBENCH_SUITE_STORE`, else `data/store`
under the working directory, else `data/store` in the source tree the suite runs from (a checkout with an
editable install, as `make` makes it). A store that is not found anywhere fails with a message naming every
directory searched and how to choose another.
"""

from __future__ import annotations

import os
from pathlib import Path

from nasbench_suite.errors import StoreError

STORE_ENV = "NASBENCH_SUITE_STORE"
DEFAULT_STORE = Path("data") / "store"
MANIFEST = "manifest.json"


def source_tree_store() -> Path:
    """`data/store` beside the package's source tree (where `make data` imports it)."""
    return Path(__file__).resolve().parents[2] / DEFAULT_STORE


def candidates(given: str | Path | None = None) -> list[Path]:
    """The directories searched, in order; a given path or `$NASBENCH_SUITE_STORE` is the only one."""
    chosen = given or os.environ.get(STORE_ENV)
    if chosen:
        return [Path(chosen).expanduser()]
    found = [Path.cwd() / DEFAULT_STORE]
    tree = source_tree_store()
    if tree != found[0].resolve():
        found.append(tree)
    return found


def locate_store(given: str | Path | None = None) -> Path:
    """The store directory to open: the first candidate that holds a manifest. A given path (or the
    environment's) is returned as is, so that opening it reports what is wrong with it.

    >>> locate_store("/data/nb201")
    PosixPath('/data/nb201')
    """
    paths = candidates(given)
    if given or os.environ.get(STORE_ENV):
        return paths[0]
    for path in paths:
        if (path / MANIFEST).is_file():
            return path
    searched = " and ".join(repr(str(p)) for p in paths)
    raise StoreError(
        f"no benchmark store found: searched {searched}; import one with `nasbench-suite data import SOURCE "
        f"--store DIR`, then pass --store DIR or set ${STORE_ENV}=DIR"
    )


def import_target(given: str | Path | None = None) -> Path:
    """Where `data import` writes when no --store is given: `$NASBENCH_SUITE_STORE`, else `data/store`
    under the working directory."""
    return Path(given or os.environ.get(STORE_ENV) or DEFAULT_STORE).expanduser()
