"""The contract as a named list of checks for one strategy, and a runner that returns each check's verdict
(what `nasbench-suite check-strategy NAME` prints).

    >>> from nasbench_suite.testing import run_contract
    >>> verdicts = run_contract("random", workdir)          # doctest: +SKIP
    >>> [v.check for v in verdicts if not v.passed]         # doctest: +SKIP
    []
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.space import CellSpace
from nasbench_suite.store import Store
from nasbench_suite.testing import checks
from nasbench_suite.testing.synthetic import DEEP_SPACE, TINY_SPACE, WIDE_SPACE, build_synthetic_store

SPACES: dict[str, CellSpace] = {"tiny": TINY_SPACE, "wide": WIDE_SPACE, "deep": DEEP_SPACE}


@dataclass(frozen=True)
class ContractCheck:
    """One check of the contract on one store: `store` is "tiny", "wide", "deep" (synthetic) or "real"."""

    name: str
    store: str
    run: Callable[[str, Store], object]

    @property
    def rule(self) -> str:
        """The rule the check enforces: the first docstring line of its check function."""
        func = getattr(self.run, "func", self.run)
        return (inspect.getdoc(func) or "").splitlines()[0]

    def __str__(self) -> str:
        return self.name


CHECKS: tuple[ContractCheck, ...] = (
    ContractCheck(
        "budget, 600 simulated seconds, tiny space",
        "tiny",
        partial(checks.check_budget, budget=Budget(BudgetKind.SECONDS, 600)),
    ),
    ContractCheck(
        "budget, 400 epochs, wide space",
        "wide",
        partial(checks.check_budget, budget=Budget(BudgetKind.EPOCHS, 400)),
    ),
    ContractCheck("deterministic per seed, also in a fresh process", "wide", checks.check_deterministic),
    ContractCheck("sees no test metrics, reaches no store", "wide", checks.check_sees_no_test_metrics),
    ContractCheck("parallel workers", "wide", checks.check_parallel_workers),
    ContractCheck("copes with duplicates", "tiny", checks.check_copes_with_duplicates),
    ContractCheck("copes with ties", "tiny", checks.check_copes_with_ties),
    ContractCheck("larger space: more ops", "wide", checks.check_larger_space),
    ContractCheck("larger space: more nodes", "deep", checks.check_larger_space),
    ContractCheck("valid proposals", "tiny", checks.check_valid_proposals),
    ContractCheck("picklable mid-search", "wide", checks.check_picklable),
    ContractCheck("a 12000 s search on NAS-Bench-201", "real", checks.check_real_run),
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: `message` says what broke (empty when it passed)."""

    check: str
    passed: bool
    message: str
    seconds: float


@dataclass
class SyntheticStores:
    """The synthetic stores the checks run on, built under `workdir` the first time each is needed."""

    workdir: Path
    _open: dict[str, Store] = field(default_factory=dict)

    def __getitem__(self, which: str) -> Store:
        if which not in self._open:
            path = Path(self.workdir) / which
            if not (path / "manifest.json").exists():
                build_synthetic_store(path, SPACES[which])
            self._open[which] = Store(path)
        return self._open[which]


def run_contract(
    name: str,
    workdir: Path,
    *,
    real_store: Store | None = None,
    on_verdict: Callable[[ContractCheck, Verdict], None] | None = None,
) -> tuple[Verdict, ...]:
    """Run every check of the contract on strategy `name` (registered, e.g. by importing its module);
    the synthetic stores are built under `workdir`, the real-run check needs `real_store`. A check fails
    on an `AssertionError` (the broken rule) or on any other exception the strategy raises."""
    stores = SyntheticStores(Path(workdir))
    verdicts = []
    for check in CHECKS:
        if check.store == "real" and real_store is None:
            continue
        store = real_store if check.store == "real" else stores[check.store]
        assert store is not None
        started = time.perf_counter()
        try:
            check.run(name, store)
        except AssertionError as exc:
            verdict = Verdict(check.name, False, str(exc), time.perf_counter() - started)
        except Exception as exc:
            verdict = Verdict(
                check.name, False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started
            )
        else:
            verdict = Verdict(check.name, True, "", time.perf_counter() - started)
        verdicts.append(verdict)
        if on_verdict is not None:
            on_verdict(check, verdict)
    return tuple(verdicts)
