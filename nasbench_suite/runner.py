"""Runs a comparison: the grid strategy x dataset x run, in parallel processes, resumable.

Run r of every strategy and dataset uses the seed sequence `SeedSequence(seed).spawn(...)[r]`
(`seeding.run_seed_sequence`), split into one stream for the strategy and one for the oracle's noise,
so every run can be reproduced alone and runs are paired by seed across strategies.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind, Spent
from nasbench_suite.errors import ConfigError
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import Pending, TabularOracle
from nasbench_suite.protocol import (
    BaseStrategy,
    Constraint,
    Fidelity,
    Request,
    Result,
    SearchProblem,
    Strategy,
)
from nasbench_suite.run_files import stamp
from nasbench_suite.seeding import run_seed_sequence
from nasbench_suite.store import Store
from nasbench_suite.trajectory import Trajectory, value_at

# (name, problem, rng, hyperparameters) -> strategy; the CLI passes `strategies.build`.
StrategyFactory = Callable[[str, SearchProblem, np.random.Generator, Mapping[str, Any]], BaseStrategy]


class SteppedOracle(Protocol):
    """What the runner drives: an oracle that prices and runs a request (`start`) separately from
    recording it (`finish`), so simulated workers can overlap. TabularOracle and the live oracle are
    two; an oracle may add `run_metadata() -> dict` to the run's metadata."""

    problem: SearchProblem
    spent: Spent
    trajectory: Trajectory

    @property
    def noise_fallbacks(self) -> set[Fidelity]: ...

    def start(self, request: Request, at_s: float) -> Pending: ...

    def finish(self, pending: Pending) -> Result: ...


# (strategy, dataset, run, rng) -> the oracle of that run (the live one); None means the table.
OracleFactory = Callable[[str, str, int, np.random.Generator], SteppedOracle]


@dataclass(frozen=True)
class ComparisonSpec:
    """Everything that defines a comparison; saved as config.json and checked on resume."""

    strategies: tuple[str, ...]
    datasets: tuple[str, ...]
    runs: int
    budget: Budget
    schedule: int = 12
    noise: Noise = Noise.RANDOM
    seed: int = 0
    hparams: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    workers: int = 1
    constraint: Constraint | None = None
    objective: str | None = None
    live: Mapping[str, Any] | None = None  # the live oracle's settings; None: the table
    # modules (dotted names or .py files) that define strategies from outside the suite; every process
    # imports them before building a strategy (`nasbench_suite.imports`)
    strategy_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise ConfigError(f"workers must be a whole number >= 1, got {self.workers!r}")
        if not self.strategies or not self.datasets:
            raise ConfigError("a comparison needs at least one strategy and one dataset")
        if not (isinstance(self.runs, int) and self.runs >= 1):
            raise ConfigError(f"runs must be a whole number >= 1, got {self.runs!r}")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed!r}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["budget"] = {"kind": str(self.budget.kind), "limit": self.budget.limit}
        d["noise"] = str(self.noise)
        d["strategies"], d["datasets"] = list(self.strategies), list(self.datasets)
        d["hparams"] = {k: dict(v) for k, v in self.hparams.items()}
        d["constraint"] = (
            None
            if self.constraint is None
            else {"metric": self.constraint.metric, "limit": self.constraint.limit}
        )
        d["strategy_modules"] = list(self.strategy_modules)
        if not self.strategy_modules:  # so comparisons made before the field existed still resume
            del d["strategy_modules"]
        return d

    def stamp(self, data_checksum: str, strategy: str) -> dict[str, Any]:
        """`run_files.stamp` of this spec for a run of `strategy`, computed once per strategy (every
        run file carries it)."""
        key = (data_checksum, strategy)
        if key not in self._stamps:
            self._stamps[key] = stamp(self.to_json(), data_checksum, strategy)
        return dict(self._stamps[key])

    @cached_property
    def _stamps(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ComparisonSpec:
        return cls(
            strategies=tuple(d["strategies"]),
            datasets=tuple(d["datasets"]),
            runs=int(d["runs"]),
            budget=Budget(BudgetKind(d["budget"]["kind"]), float(d["budget"]["limit"])),
            schedule=int(d["schedule"]),
            noise=Noise(d["noise"]),
            seed=int(d["seed"]),
            hparams=d.get("hparams", {}),
            workers=int(d.get("workers", 1)),
            constraint=Constraint(**d["constraint"]) if d.get("constraint") else None,
            objective=d.get("objective"),
            live=d.get("live"),
            strategy_modules=tuple(d.get("strategy_modules", ())),
        )


@dataclass(frozen=True)
class RunResult:
    strategy: str
    dataset: str
    run: int
    evaluations: int
    final_test: float
    overhead_s: float
    noise_fallbacks: tuple[str, ...]

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> RunResult:
        return cls(
            meta["strategy"],
            meta["dataset"],
            meta["run"],
            meta["evaluations"],
            meta["final_test"],
            meta["overhead_s"],
            tuple(meta["noise_fallbacks"]),
        )


def table_oracle(store: Store, spec: ComparisonSpec, dataset: str, rng: np.random.Generator) -> TabularOracle:
    """The table oracle a run of `spec` on `dataset` searches (with `rng` drawing its noise)."""
    return TabularOracle(
        store,
        dataset,
        spec.budget,
        rng=rng,
        noise=spec.noise,
        schedule=spec.schedule,
        constraint=spec.constraint,
        objective=spec.objective,
    )


def run_one(
    store: Store,
    spec: ComparisonSpec,
    strategy: str,
    dataset: str,
    run: int,
    factory: StrategyFactory,
    make_oracle: OracleFactory | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One search: returns (columns, run metadata). Pure given its arguments (on the table)."""
    strategy_seq, oracle_seq = run_seed_sequence(spec.seed, run).spawn(2)
    oracle: SteppedOracle
    if make_oracle is not None:
        oracle = make_oracle(strategy, dataset, run, np.random.default_rng(oracle_seq))
    else:
        oracle = table_oracle(store, spec, dataset, np.random.default_rng(oracle_seq))
    started = time.perf_counter()
    search = factory(
        strategy, oracle.problem, np.random.default_rng(strategy_seq), spec.hparams.get(strategy, {})
    )
    asynchronous = search.asynchronous
    workers = spec.workers if asynchronous else 1
    construction = time.perf_counter() - started
    overheads, overhead = drive(search, oracle, workers)
    overhead += construction
    if overheads:
        overheads[0] += construction
    traj = oracle.trajectory
    n = len(traj)
    columns: dict[str, Any] = traj.columns() | {
        "run": [run] * n,
        "strategy": [strategy] * n,
        "dataset": [dataset] * n,
        "step": list(range(n)),
        "overhead_s": overheads,
    }
    trained = [k for k in range(n) if traj.epoch[k] > 0]
    meta = {
        "run": run,
        "strategy": strategy,
        "dataset": dataset,
        "seed": spec.seed,
        "spawn_key": [run],
        "evaluations": len(trained),
        "measurements": n - len(trained),
        "workers": workers,
        "sequential_fallback": spec.workers > 1 and not asynchronous,
        "spent_seconds": oracle.spent.seconds,
        "spent_epochs": oracle.spent.epochs,
        "overhead_s": overhead,
        "wall_s": time.perf_counter() - started,
        "final_test": traj.incumbent_test[-1] if n else float("nan"),
        "final_valid": traj.incumbent_valid[-1] if n else float("nan"),
        # NATS-Bench's reading of a run at the budget point (interpolated between the nearest evaluations)
        "test_at_budget": value_at(
            np.array([traj.time_s[k] for k in trained]),
            np.array([traj.incumbent_test[k] for k in trained]),
            spec.budget.limit,
        )
        if spec.budget.kind is BudgetKind.SECONDS
        else float("nan"),
        "noise_fallbacks": sorted(str(f) for f in oracle.noise_fallbacks),
    } | spec.stamp(store.checksum, strategy)  # the spec hash and hparams: run_files.check
    if hasattr(oracle, "run_metadata"):
        meta |= oracle.run_metadata()
    return columns, meta


def drive(search: Strategy, oracle: SteppedOracle, workers: int = 1) -> tuple[list[float], float]:
    """The ask/start/finish/tell loop with `workers` simulated parallel workers; returns the strategy's
    real seconds since the previous record for every record, and its total real seconds.

    An idle worker asks at the current simulated time; the earliest-finishing request is recorded and
    told next (ties in the order they started). A request that does not fit the budget retires its
    worker; the run ends when no work is pending and no worker is left. With one worker this is exactly
    the sequential loop: ask, evaluate, tell.
    """
    if workers == 1:
        return _drive_one(search, oracle)
    clock = time.perf_counter
    heap: list[tuple[float, int, Pending]] = []
    order = itertools.count()
    now, idle = 0.0, workers
    overheads: list[float] = []
    overhead = since_last = 0.0
    while True:
        while idle > 0:
            t0 = clock()
            request = search.ask()
            spent = clock() - t0
            overhead, since_last = overhead + spent, since_last + spent
            idle -= 1
            try:
                pending = oracle.start(request, now)
            except BudgetExhausted:
                continue  # this worker retires
            heapq.heappush(heap, (pending.finish_s, next(order), pending))
        if not heap:
            return overheads, overhead
        now, _, pending = heapq.heappop(heap)
        result = oracle.finish(pending)
        overheads.append(since_last)
        t0 = clock()
        search.tell(pending.request, result)
        since_last = clock() - t0
        overhead += since_last
        idle += 1


def _drive_one(search: Strategy, oracle: SteppedOracle) -> tuple[list[float], float]:
    """`drive` with one worker, without the queue: ask, start at the clock, finish, tell."""
    clock = time.perf_counter
    ask, tell, start, finish = search.ask, search.tell, oracle.start, oracle.finish
    overheads: list[float] = []
    now = overhead = since_last = 0.0
    while True:
        t0 = clock()
        request = ask()
        spent = clock() - t0
        overhead, since_last = overhead + spent, since_last + spent
        try:
            pending = start(request, now)
        except BudgetExhausted:
            return overheads, overhead
        now = pending.finish_s
        result = finish(pending)
        overheads.append(since_last)
        t0 = clock()
        tell(pending.request, result)
        since_last = clock() - t0
        overhead += since_last
