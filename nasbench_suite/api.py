"""The suite from Python: open the store, query it, build an oracle, run one search with any strategy
object, run a comparison and load its results (docs/api.md walks through every call).

    >>> import nasbench_suite as nbs
    >>> store = nbs.open_store()                                   # doctest: +SKIP
    >>> oracle = nbs.make_oracle(store, "cifar10-valid", nbs.seconds(12000), seed=0)  # doctest: +SKIP
    >>> trajectory = nbs.search(nbs.build_strategy("rea", oracle.problem, seed=0), oracle)  # doctest: +SKIP

Like the CLI, this module is a composition root above the core, the strategies and the analysis; the
names in `__all__` are the public API (the core modules stay importable, but may be reorganized).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError, SuiteError
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import (
    BaseStrategy,
    Constraint,
    Fidelity,
    Measured,
    Measurement,
    Observation,
    Proposal,
    SearchProblem,
    Strategy,
)
from nasbench_suite.runner import ComparisonSpec, RunResult, drive
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store
from nasbench_suite.store.locate import locate_store

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
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
]


# ---------------------------------------------------------------- the store
def open_store(path: str | Path | None = None) -> Store:
    """The benchmark store at `path`; without one, `$NASBENCH_SUITE_STORE`, else `data/store` in the
    working directory, else in the suite's source tree.

    >>> store = open_store("data/store")                           # doctest: +SKIP
    >>> store.query("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ...             "cifar10", "test_acc", epochs=200)             # doctest: +SKIP
    94.37333333333333
    """
    return Store(locate_store(path))


# ---------------------------------------------------------------- budgets
def seconds(limit: float) -> Budget:
    """A budget of simulated training seconds (NAS-Bench-201's protocol: `seconds(12000)`)."""
    return Budget(BudgetKind.SECONDS, limit)


def evaluations(limit: int) -> Budget:
    """A budget of evaluations (trained archs): `evaluations(100)`."""
    return Budget(BudgetKind.EVALUATIONS, limit)


def epochs(limit: int) -> Budget:
    """A budget of total training epochs: `epochs(2000)`."""
    return Budget(BudgetKind.EPOCHS, limit)


# ---------------------------------------------------------------- one search
def make_oracle(
    store: Store,
    dataset: str,
    budget: Budget,
    *,
    noise: Noise | str = Noise.RANDOM,
    schedule: int = 12,
    seed: int | np.random.Generator = 0,
    constraint: Constraint | None = None,
    objective: str | None = None,
) -> TabularOracle:
    """The oracle of one search: evaluates archs of the store's space on `dataset` under `budget`, with
    `noise` "random" (a seed drawn per evaluation, from `seed`) or "mean"; strategies see the validation
    accuracy of the `schedule`-epoch recipe. Its `problem` is what a strategy is built with.

    >>> oracle = make_oracle(store, "cifar100", evaluations(50), noise="mean")  # doctest: +SKIP
    >>> oracle.problem.default_fidelity                                    # doctest: +SKIP
    Fidelity(epoch=12, schedule=12)
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return TabularOracle(
        store,
        dataset,
        budget,
        rng=rng,
        noise=noise,
        schedule=schedule,
        constraint=constraint,
        objective=objective,
    )


def strategy_names() -> list[str]:
    """The registered strategies (the suite's, and those of modules imported so far).

    >>> "rea" in strategy_names()
    True
    """
    from nasbench_suite import strategies

    return strategies.names()


def register(cls: type[BaseStrategy]) -> type[BaseStrategy]:
    """Class decorator that registers a `BaseStrategy` subclass under the `name` it declares (then
    `compare` and the CLI know it).

    >>> class HillClimb(BaseStrategy):                              # doctest: +SKIP
    ...     name = "hillclimb"
    ...     ...
    >>> register(HillClimb)  # or @register on the class             # doctest: +SKIP
    """
    from nasbench_suite.strategies.registry import register as _register

    return _register(cls)


def build_strategy(
    name: str, problem: SearchProblem, *, seed: int | np.random.Generator = 0, **hyperparameters: Any
) -> Strategy:
    """Registered strategy `name` for `problem`, with its random generator from `seed`.

    >>> rea = build_strategy("rea", oracle.problem, seed=0, population_size=20)  # doctest: +SKIP
    """
    from nasbench_suite import strategies

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return strategies.build(name, problem, rng, hyperparameters)


def search(strategy: Strategy, oracle: TabularOracle, *, workers: int = 1) -> pd.DataFrame:
    """Run `strategy` (any object with `ask()` and `tell(request, result)`) against `oracle` until its
    budget is spent; returns the trajectory, one row per evaluation: `step`, `arch_index`, `epoch`,
    `cost_s`, `time_s` (simulated clock), `valid_seen`, the incumbent's `incumbent_valid_seen`,
    `incumbent_valid` and `incumbent_test` (200-epoch seed means, for reporting), and `overhead_s` (real
    seconds in the strategy). An oracle runs one search: make a new one for the next.

    >>> trajectory = search(rea, oracle)                            # doctest: +SKIP
    >>> trajectory["incumbent_test"].iloc[-1]                       # doctest: +SKIP
    93.76
    """
    import pandas as pd

    if not isinstance(strategy, Strategy):
        raise ConfigError(
            f"a strategy needs ask() and tell(request, result) methods; got a {type(strategy).__name__}"
        )
    if len(oracle.trajectory):
        raise ConfigError("this oracle has run a search already (its budget is spent): make a new one")
    overheads, _ = drive(strategy, oracle, workers)
    frame = pd.DataFrame(oracle.trajectory.columns())
    frame.insert(0, "step", np.arange(len(frame)))
    frame["overhead_s"] = overheads
    return frame


# ---------------------------------------------------------------- comparisons
def compare(
    store: Store,
    out: str | Path,
    *,
    strategies: Sequence[str],
    datasets: Sequence[str] = ("cifar10-valid",),
    budget: Budget,
    runs: int = 100,
    seed: int = 0,
    noise: Noise | str = Noise.RANDOM,
    schedule: int = 12,
    hparams: Mapping[str, Mapping[str, Any]] | None = None,
    strategy_modules: Sequence[str] = (),
    jobs: int | None = 1,
    start_method: str | None = None,
    progress: bool = False,
) -> list[RunResult]:
    """Run (or resume) a comparison into directory `out`, exactly as `nasbench-suite compare` does:
    the same runs, seeds and files, so `report` and `load_results` read it. `strategy_modules` names
    modules or .py files that define strategies from outside the suite (they are recorded; a module
    already imported in this process is recorded by itself). With `jobs` > 1 the runs go to worker
    processes started by `start_method` ("fork", "spawn", "forkserver"; default
    $NASBENCH_SUITE_START_METHOD, else fork on Linux). Returns the runs run now.

    >>> compare(store, "results/mine", strategies=["random", "rea"], budget=seconds(12000), runs=10)  # doctest: +SKIP
    """
    from nasbench_suite import strategies as registry
    from nasbench_suite.strategies import external

    external.load(strategy_modules)
    spec = ComparisonSpec(
        strategies=tuple(strategies),
        datasets=tuple(datasets),
        runs=runs,
        budget=budget,
        schedule=schedule,
        noise=Noise(noise),
        seed=seed,
        hparams={k: dict(v) for k, v in (hparams or {}).items()},
        strategy_modules=external.modules_of(tuple(strategies)),
    )
    return run_comparison(
        store, spec, Path(out), registry.build, jobs=jobs, progress=progress, start_method=start_method
    )


def load_results(out: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every evaluation row of every finished run in `out` (`run`, `strategy`, `dataset`, `step`, and
    the trajectory columns of `search`); only `columns` if given.

    >>> rows = load_results("results/mine", columns=["strategy", "run", "time_s", "incumbent_test"])  # doctest: +SKIP
    """
    from nasbench_suite.results import load_rows

    return load_rows(Path(out), columns)


def load_runs(out: str | Path) -> pd.DataFrame:
    """One row per finished run: its metadata (`final_test`, `final_valid`, `evaluations`, ...); the
    comparison's config.json is in `.attrs["config"]`.

    >>> load_runs("results/mine").groupby("strategy")["final_test"].mean()  # doctest: +SKIP
    """
    from nasbench_suite.results import load_runs as _load_runs

    return _load_runs(Path(out))


def summarize(out: str | Path) -> pd.DataFrame:
    """The table `nasbench-suite report` prints: per strategy and dataset, mean and standard deviation
    of the final test and validation accuracy, evaluations and overhead.

    >>> summarize("results/mine")[["strategy", "runs", "test_mean", "test_std"]]  # doctest: +SKIP
    """
    from nasbench_suite.analysis.summary import summarize as _summarize

    return _summarize(load_runs(out))
