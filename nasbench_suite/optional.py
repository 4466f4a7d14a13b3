"""Optional dependencies, imported only when a feature that needs them is used."""

from __future__ import annotations

import importlib
from types import ModuleType

from nasbench_suite.errors import SuiteError


class MissingDependencyError(SuiteError, ImportError):
    """An optional package that a feature needs is not installed."""


def require(module: str, *, extra: str, who: str) -> ModuleType:
    """Import `module`, or fail in one line that names the extra that installs it.

    >>> require("ConfigSpace", extra="configspace", who="the ConfigSpace search space")  # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{who} needs the optional package {module!r} ({exc}); install it with "
            f"`pip install 'nasbench-suite[{extra}]'`"
        ) from None
