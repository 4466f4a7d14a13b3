"""Checks a comparison gets before anything runs or is written.

- `check_budget_fits`: a budget that cannot fit one evaluation of the chosen schedule would give a table
  of NaN with exit status 0; it is an error naming the cheapest evaluation's cost instead.
  `budget_warning`: one that fits the cheapest but not the dearest evaluation (a run may end empty).
  A budget that allows more than `MAX_EVALUATIONS_PER_RUN` evaluations (a run that would not end) is an
  error too.
- `estimate`: a grid larger than `LARGE_GRID` runs is announced with its estimated time, disk and
  memory, measured on one run of each strategy (run 0 on the first dataset, nothing written), before the
  runner starts submitting it lazily.
- `check_comparison` and `announce_grid` apply these to a table comparison; `comparison.run_comparison`
  calls them (so the CLI and the Python API check the same things, in one place). Warnings and the
  estimate go to a `notify` callback: the CLI prints each as one line, the API's default logs them on
  the `nasbench_suite.preflight` logger at WARNING (which Python prints on stderr when logging is not
  configured).
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nasbench_suite.budget import BudgetKind, Spent
from nasbench_suite.errors import ConfigError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.results import encode_run
from nasbench_suite.runner import ComparisonSpec, StrategyFactory, run_one, table_oracle
from nasbench_suite.store import Store

LARGE_GRID = 100_000  # runs; above this the CLI prints the estimate first
# evaluations one run may make at the cheapest fidelity (NAS-Bench-201's protocol makes about 100-300;
# a run's trajectory lives in memory, about 1 kB an evaluation, until its file is written)
MAX_EVALUATIONS_PER_RUN = 100_000
# what the driver keeps per finished run (its RunResult in the returned list, the cell in the done set)
DRIVER_BYTES_PER_RUN = 400


def check_budget_fits(oracle: TabularOracle) -> None:
    """ConfigError unless the oracle's budget fits one evaluation of its default fidelity (the full
    schedule) on at least one arch, by the budget's own overshoot rule, and allows at most
    `MAX_EVALUATIONS_PER_RUN` evaluations at the cheapest fidelity."""
    fidelity, budget = oracle.problem.default_fidelity, oracle.budget
    costs = oracle.cost.training_all(fidelity)
    index = int(np.nanargmin(costs))
    cost = float(costs[index])
    if Spent.fits(budget, cost, fidelity.epoch, 0.0, 0, 0):
        _check_not_endless(oracle)
        return
    cheapest = {
        BudgetKind.SECONDS: f"costs {cost:.6g} simulated seconds (arch {index})",
        BudgetKind.EPOCHS: f"trains {fidelity.epoch} epochs",
        BudgetKind.EVALUATIONS: "is 1 evaluation",
    }[budget.kind]
    raise ConfigError(
        f"a budget of {budget} cannot fit one evaluation at {fidelity.schedule} epochs on {oracle.dataset}: "
        f"the cheapest {cheapest}; raise the budget or choose a shorter --epochs"
    )


def _check_not_endless(oracle: TabularOracle) -> None:
    budget = oracle.budget
    cheapest_s = min(float(np.nanmin(oracle.cost.training_all(f))) for f in oracle.problem.fidelities)
    cheapest_epochs = min(f.epoch for f in oracle.problem.fidelities)
    most = {
        BudgetKind.SECONDS: budget.limit / cheapest_s,
        BudgetKind.EPOCHS: budget.limit / cheapest_epochs,
        BudgetKind.EVALUATIONS: budget.limit,
    }[budget.kind]
    if most > MAX_EVALUATIONS_PER_RUN:
        raise ConfigError(
            f"a budget of {budget} allows up to {most:.3g} evaluations per run on {oracle.dataset}; a run "
            f"holds at most {MAX_EVALUATIONS_PER_RUN:,} (its trajectory is kept in memory): lower the budget"
        )


def budget_warning(oracle: TabularOracle) -> str | None:
    """A warning when the budget fits the cheapest evaluation but not every one: a run whose first
    proposal does not fit ends with no evaluation (a NaN row in the report)."""
    fidelity, budget = oracle.problem.default_fidelity, oracle.budget
    costs = oracle.cost.training_all(fidelity)
    index = int(np.nanargmax(costs))
    if Spent.fits(budget, float(costs[index]), fidelity.epoch, 0.0, 0, 0):
        return None
    return (
        f"a budget of {budget} does not fit every evaluation at {fidelity.schedule} epochs on "
        f"{oracle.dataset} (they cost {np.nanmin(costs):.6g} to {costs[index]:.6g} simulated seconds): a run "
        "whose first proposal does not fit ends with no evaluation"
    )


Notify = Callable[[str], None]
_log = logging.getLogger(__name__)


def log_notice(text: str) -> None:
    """The default `notify`: a WARNING on this module's logger."""
    _log.warning(text)


def check_comparison(store: Store, spec: ComparisonSpec, *, notify: Notify = log_notice) -> None:
    """Before a table comparison runs or writes anything, for each of its datasets: ConfigError when the
    budget cannot fit one evaluation of the schedule (`check_budget_fits`), and a `warning: ...` notice
    when it does not fit every one (`budget_warning`) or when the store has only seed means where the
    comparison asks for a random seed's value."""
    for dataset in spec.datasets:
        oracle = table_oracle(store, spec, dataset, np.random.default_rng(0))
        check_budget_fits(oracle)
        if (note := budget_warning(oracle)) is not None:
            notify(f"warning: {note}")
        if oracle.problem.default_fidelity in oracle.noise_fallback_fidelities():
            notify(
                f"warning: the store has only seed means for {dataset} at {spec.schedule} epochs; noise "
                "'random' falls back to the mean there (recorded in the run metadata and the report)"
            )


def is_large(spec: ComparisonSpec) -> bool:
    """Whether `spec`'s grid has more than `LARGE_GRID` runs (it is announced before it starts)."""
    return len(spec.strategies) * len(spec.datasets) * spec.runs > LARGE_GRID


def announce_grid(
    store: Store, spec: ComparisonSpec, factory: StrategyFactory, *, jobs: int, notify: Notify = log_notice
) -> Estimate | None:
    """A grid of more than `LARGE_GRID` runs: its `estimate` on `jobs` workers, notified (and returned)
    before any run of it starts; None for a smaller grid."""
    if not is_large(spec):
        return None
    found = estimate(store, spec, factory, jobs)
    notify(str(found))
    return found


@dataclass(frozen=True)
class Estimate:
    """What a grid will take, scaled from one measured run of each strategy."""

    runs: int
    cpu_s: float
    jobs: int
    disk_bytes: float
    memory_bytes: float

    def __str__(self) -> str:
        return (
            f"large grid: {self.runs} runs; estimated from one run of each strategy: "
            f"{_duration(self.cpu_s)} of CPU ({_duration(self.cpu_s / self.jobs)} on {self.jobs} processes), "
            f"{_size(self.disk_bytes)} of run files, about {_size(self.memory_bytes)} of memory in this "
            "process by the end; runs are submitted lazily, a few per process at a time"
        )


def estimate(store: Store, spec: ComparisonSpec, factory: StrategyFactory, jobs: int) -> Estimate:
    """Time one run of each strategy (run 0, first dataset; nothing written) and scale to the grid."""
    runs = len(spec.strategies) * len(spec.datasets) * spec.runs
    seconds, size = [], []
    for name in spec.strategies:
        started = time.perf_counter()
        columns, meta = run_one(store, spec, name, spec.datasets[0], 0, factory)
        seconds.append(time.perf_counter() - started)
        size.append(len(encode_run(columns, meta)))
    per_strategy = runs / len(spec.strategies)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return Estimate(
        runs,
        cpu_s=sum(seconds) * per_strategy,
        jobs=jobs,
        disk_bytes=sum(size) * per_strategy,
        memory_bytes=peak + runs * DRIVER_BYTES_PER_RUN,
    )


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{math.ceil(n)} B"
