"""The contract suite for strategy authors (as `optuna.testing` is for samplers): run it on your strategy
before comparing it.

    from nasbench_suite.testing import run_contract
    verdicts = run_contract("hillclimb", workdir=tmp_path)   # after importing the module that registers it
    assert all(v.passed for v in verdicts), [v for v in verdicts if not v.passed]

or from the shell: `nasbench-suite check-strategy hillclimb --strategy-module my_strategies.py`.
Single checks are in `nasbench_suite.testing.checks` (`check_budget`, `check_deterministic`, ...), the stores
they run on in `nasbench_suite.testing.synthetic`.

Like the CLI, this package sits above the strategies package (it builds strategies from the registry);
nothing in the core imports it.
"""

from nasbench_suite.testing.checks import (
    FORBIDDEN,
    check_budget,
    check_copes_with_duplicates,
    check_copes_with_ties,
    check_deterministic,
    check_larger_space,
    check_parallel_workers,
    check_picklable,
    check_real_run,
    check_sees_no_test_metrics,
    check_valid_proposals,
    max_concurrent,
)
from nasbench_suite.testing.suite import CHECKS, ContractCheck, Verdict, run_contract
from nasbench_suite.testing.synthetic import (
    DEEP_SPACE,
    TINY_SPACE,
    WIDE_SPACE,
    build_synthetic_store,
    problem_extras,
)

__all__ = [
    "CHECKS",
    "DEEP_SPACE",
    "FORBIDDEN",
    "TINY_SPACE",
    "WIDE_SPACE",
    "ContractCheck",
    "Verdict",
    "build_synthetic_store",
    "check_budget",
    "check_copes_with_duplicates",
    "check_copes_with_ties",
    "check_deterministic",
    "check_larger_space",
    "check_parallel_workers",
    "check_picklable",
    "check_real_run",
    "check_sees_no_test_metrics",
    "check_valid_proposals",
    "max_concurrent",
    "problem_extras",
    "run_contract",
]
