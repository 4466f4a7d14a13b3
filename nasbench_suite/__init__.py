"""nasbench-suite: fair-budget comparison of architecture-search strategies on NAS-Bench-201.

The Python API (`nasbench_suite.api`, see docs/api.md) is available from the package itself, loaded on
first use so that `import nasbench_suite` stays cheap: `nasbench_suite.open_store()`, `.make_oracle(...)`,
`.search(...)`, `.compare(...)`, `.load_results(...)`; `nasbench_suite.__all__` lists every name.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("nasbench-suite")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports on first use
    from nasbench_suite.api import *  # noqa: F403

# nasbench_suite.api.__all__, spelled out so that looking up any other name (a submodule being imported,
# say) never imports the API; tests/test_api_docs.py keeps the two lists equal
_API = (
    "Arch",
    "BaseStrategy",
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
)
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (PEP 562)."""
    if name in _API:
        return getattr(import_module("nasbench_suite.api"), name)
    raise AttributeError(f"module 'nasbench_suite' has no attribute {name!r}")
