"""nasbench-suite: fair-budget comparison of architecture-search strategies on NAS-Bench-201.

The Python API (`nasbench_suite.api`, see docs/api.md) is available from the package itself, loaded on
first use so that `import nasbench_suite` stays cheap: `nasbench_suite.open_store()`, `.make_oracle(...)`,
`.search(...)`, `.compare(...)`, `.load_results(...)`.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("nasbench-suite")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# nasbench_suite.api's __all__ (a test keeps the two equal), imported on first use by __getattr__
_API = [
    "Arch",
    "Budget",
    "BudgetKind",
    "CellSpace",
    "ComparisonSpec",
    "Constraint",
    "Fidelity",
    "Measured",
    "Measurement",
    "Noise",
    "Observation",
    "Proposal",
    "SearchProblem",
    "Store",
    "Strategy",
    "SuiteError",
    "TabularOracle",
    "build_strategy",
    "compare",
    "epochs",
    "evaluations",
    "load_results",
    "load_runs",
    "make_oracle",
    "open_store",
    "register",
    "search",
    "seconds",
    "strategy_names",
    "summarize",
]
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (PEP 562)."""
    if name in _API:
        from nasbench_suite import api

        return getattr(api, name)
    raise AttributeError(f"module 'nasbench_suite' has no attribute {name!r}")
