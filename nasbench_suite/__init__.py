"""nasbench-suite: fair-budget comparison of architecture-search strategies on NAS-Bench-201."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nasbench-suite")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
