"""A restricted unpickler for the official benchmark files.

Unpickling runs whatever callable a file names, so an untrusted `.pickle.pbz2` could run any command.
The official NATS-Bench / NAS-Bench-201 records hold only dicts, lists, strings, numbers and numpy
scalars, so `find_class` admits exactly the globals those need and refuses everything else.
"""

from __future__ import annotations

import bz2
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import numpy as np

from nasbench_suite.errors import StoreError

try:  # numpy >= 2 moved the pickling helpers to numpy._core; numpy 1.x pickles still name numpy.core
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

# (module, name) as written in the pickle -> the object it may resolve to. Resolving through this table
# (never through import) also avoids importing the deprecated numpy.core alias under numpy 2.
OFFICIAL_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
}
ADMITTED = "dicts, lists, strings, numbers, collections.OrderedDict and numpy scalars/dtypes/arrays"


class SafeUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` that resolves only `OFFICIAL_GLOBALS`; `path` names the file in errors."""

    def __init__(self, file: IO[bytes], path: str) -> None:
        super().__init__(file)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return OFFICIAL_GLOBALS[(module, name)]
        except KeyError:
            raise StoreError(
                f"refusing to load {module}.{name} from {self.path}: official benchmark files contain "
                f"only {ADMITTED}; this file is not an official record (or it holds network weights: "
                "use the '-simple' NATS-Bench archive)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        # persistent ids are how torch.save points at tensor storages; official records have none
        raise StoreError(f"refusing to load {self.path}: it references external objects ({pid!r})")


def load_pickle(source: Path | str | IO[bytes]) -> Any:
    """Unpickle a file path or an open binary file with `SafeUnpickler`."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            return _load(f, str(source))
    return _load(source, str(getattr(source, "name", "<stream>")))


def load_pickle_bz2(path: Path | str) -> Any:
    """Unpickle a bz2-compressed pickle (NATS-Bench's `*.pickle.pbz2`) with `SafeUnpickler`."""
    try:
        with bz2.open(path, "rb") as f:
            return _load(f, str(path))
    except FileNotFoundError:
        raise StoreError(f"no such file: {path}") from None


def _load(file: IO[bytes], name: str) -> Any:
    try:
        return SafeUnpickler(file, name).load()
    except StoreError:
        raise
    except FileNotFoundError:
        raise StoreError(f"no such file: {name}") from None
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError) as exc:
        # OSError covers a corrupt bz2 stream; the rest a truncated or malformed pickle
        raise StoreError(
            f"cannot read {name}: {type(exc).__name__}: {exc} (corrupt or not a pickle)"
        ) from None
