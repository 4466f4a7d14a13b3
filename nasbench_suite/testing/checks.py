"""The contract every strategy keeps, as plain check functions (after Optuna's
`optuna/testing/pytest_samplers.py` and scikit-learn's `estimator_checks`).

Each `check_*(name, store, ...)` builds strategy `name` from the registry, drives it, and raises
`AssertionError` with a message naming the strategy and the broken rule. Run them on the synthetic stores of
`nasbench_suite.testing.synthetic` (`build_synthetic_store`); `check_real_run` wants the NAS-Bench-201 store.
Loops run under a deadline, so a strategy that never returns fails instead of hanging.
"""

from __future__ import annotations

import mmap
import pickle
import time
from typing import Any

import numpy as np

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import BaseStrategy, Measured, Observation, SearchProblem, Strategy
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store, Table
from nasbench_suite.strategies.registry import build, strategy_class
from nasbench_suite.testing._harness import (
    ConstantOracle,
    Spy,
    answer,
    check_count,
    check_proposal,
    check_within_budget,
    contract_hparams,
    deadline,
    first_difference,
    path_in_subprocess,
    path_of,
    reachable,
    search,
    start,
)
from nasbench_suite.testing.synthetic import DATASET, NB201, SCHEDULE, problem_extras
from nasbench_suite.trajectory import Trajectory

# What a strategy must never be able to reach: it sees the problem and observations, nothing else.
FORBIDDEN = (Store, TabularOracle, Table, Trajectory, np.memmap, mmap.mmap)


def _spec(name: str, store: Store, runs: int, budget: Budget, **kwargs: Any) -> ComparisonSpec:
    hparams = contract_hparams(name)
    extras = problem_extras(name, store) | ({"hparams": {name: hparams}} if hparams else {})
    return ComparisonSpec((name,), (DATASET,), runs, budget, **(extras | kwargs))


# ---------------------------------------------------------------- the checks
def check_budget(name: str, store: Store, budget: Budget, *, runs: int = 2, seed: int = 0) -> None:
    """(a) Through the runner, every recorded evaluation fits the budget and costs add up to the clock."""
    spec = _spec(name, store, runs, budget, schedule=SCHEDULE, seed=seed)
    for run in range(runs):
        with deadline(60.0, f"{name}: run {run} under {budget}"):
            columns, _ = run_one(store, spec, name, DATASET, run, build)
        check_within_budget(name, columns, budget)


def check_deterministic(name: str, store: Store, *, evaluations: int = 40, seed: int = 5) -> None:
    """(b) The same seed gives the same trajectory: twice in this process, and once in a fresh process
    with another string-hash seed (catches iteration over sets of strings, time-based seeds)."""
    spec = _spec(name, store, 1, Budget(BudgetKind.EVALUATIONS, evaluations), seed=seed)
    with deadline(60.0, f"{name}: determinism runs"):
        first, second = (path_of(run_one(store, spec, name, DATASET, 0, build)[0]) for _ in range(2))
    if first != second:
        raise AssertionError(f"{name}: two runs with seed {seed} differ {first_difference(first, second)}")
    other = path_in_subprocess(name, store, spec)
    if first != other:
        raise AssertionError(
            f"{name}: a run with seed {seed} in another process (other PYTHONHASHSEED) differs "
            f"{first_difference(first, other)}; iteration over sets/dicts of strings or time-based seeds?"
        )


def check_sees_no_test_metrics(
    name: str, store: Store, *, evaluations: int = 40, hang_s: float = 60.0
) -> None:
    """(c) Through the runner, tell() only ever gets `Observation`s (validation accuracy and cost, no
    test metric) equal to what the oracle logged, one per charged evaluation, and no store, oracle, table
    or memory map is reachable from the strategy."""
    spies: list[Spy] = []

    def factory(n: str, problem: SearchProblem, rng: np.random.Generator, hparams: Any) -> BaseStrategy:
        if type(problem) is not SearchProblem:
            raise AssertionError(
                f"{name}: the runner handed over a {type(problem).__name__}, not a SearchProblem"
            )
        spies.append(Spy(build(n, problem, rng, hparams)))
        return spies[-1]

    spec = _spec(name, store, 1, Budget(BudgetKind.EVALUATIONS, evaluations), seed=0)
    with deadline(hang_s, f"{name}: {evaluations} evaluations through the runner"):
        columns, _ = run_one(store, spec, name, DATASET, 0, factory)
    told = spies[0].told
    if len(told) != len(columns["valid_seen"]):
        raise AssertionError(
            f"{name}: told {len(told)} times for {len(columns['valid_seen'])} charged evaluations"
        )
    for k, (proposal, observation) in enumerate(told):
        if type(observation) is Measured:
            logged = (columns["measured_value"][k], columns["cost_s"][k], columns["time_s"][k])
            shown = (observation.value, observation.cost_s, observation.time_s)
        elif type(observation) is Observation:
            logged = (columns["valid_seen"][k], columns["cost_s"][k], columns["time_s"][k])
            shown = (observation.valid_acc, observation.cost_s, observation.time_s)
        else:
            raise AssertionError(
                f"{name}: tell() got a {type(observation).__name__}, not an Observation or Measured"
            )
        if not np.array_equal(shown, logged, equal_nan=True) or observation.arch != proposal.arch:
            raise AssertionError(
                f"{name}: observation {k} {observation} is not what the oracle logged {logged}"
            )
    path = reachable(spies[0].inner, FORBIDDEN)
    if path:
        raise AssertionError(f"{name}: the strategy can reach a {path[-1]}: {' -> '.join(path)}")


def check_copes_with_duplicates(
    name: str, store: Store, *, evaluations: int = 200, hang_s: float = 60.0
) -> None:
    """(d) On a space smaller than the budget, repeated cells are unavoidable: the strategy must keep
    proposing (restart, resample) until the budget ends, without an error or an endless loop."""
    if store.space.size >= evaluations:
        raise ValueError(
            f"check_copes_with_duplicates needs a space smaller than evaluations ({evaluations}), "
            f"got {store.space.size} cells"
        )
    record = search(name, store, Budget(BudgetKind.EVALUATIONS, evaluations), hang_s=hang_s)
    check_count(name, record, evaluations)


def check_copes_with_ties(
    name: str, store: Store, *, evaluations: int = 100, value: float = 50.0, hang_s: float = 60.0
) -> None:
    """(d) Every evaluation shows the same validation accuracy: no best cell, no gradient, no progress;
    the strategy must still propose valid cells until the budget ends."""
    record = search(
        name,
        store,
        Budget(BudgetKind.EVALUATIONS, evaluations),
        wrap=lambda o: ConstantOracle(o, value),
        hang_s=hang_s,
    )
    check_count(name, record, evaluations)


def check_larger_space(name: str, store: Store, *, evaluations: int = 40, hang_s: float = 60.0) -> None:
    """(e) The strategy works on a cell space with more ops or more nodes than NAS-Bench-201's, i.e.
    it derives its sizes from `space.n_edges` / `space.n_ops`."""
    space = store.space
    if not (space.n_ops > NB201.n_ops or space.n_nodes > NB201.n_nodes):
        raise ValueError(f"check_larger_space needs more than 5 ops or 4 nodes, got {space}")
    check_count(
        name, search(name, store, Budget(BudgetKind.EVALUATIONS, evaluations), hang_s=hang_s), evaluations
    )


def check_valid_proposals(name: str, store: Store, *, evaluations: int = 40, hang_s: float = 60.0) -> None:
    """(f) Every proposal, the extra one after the budget included, is a `Proposal` of a cell of the
    space at one of the problem's fidelities (every check's search loop verifies this too)."""
    check_count(
        name, search(name, store, Budget(BudgetKind.EVALUATIONS, evaluations), hang_s=hang_s), evaluations
    )


def check_picklable(name: str, store: Store, *, tells: int = 15, then: int = 3) -> None:
    """(g) After `tells` observations the strategy pickles, and the copy continues exactly as the
    original does when both are told the same observations (the runner may move strategies across
    processes)."""
    strategy, oracle = start(name, store, Budget(BudgetKind.EVALUATIONS, tells + then), noise=Noise.MEAN)
    copy: Strategy | None = None
    with deadline(60.0, f"{name}: pickling after {tells} tells"):
        for k in range(tells + then):
            if k == tells:
                try:
                    copy = pickle.loads(pickle.dumps(strategy))
                except Exception as exc:
                    raise AssertionError(
                        f"{name}: the strategy does not pickle after {tells} tells: {exc!r}"
                    ) from exc
            proposal = strategy.ask()
            check_proposal(name, proposal, oracle.problem)
            if copy is not None:
                twin = copy.ask()
                if twin != proposal:
                    raise AssertionError(
                        f"{name}: after unpickling, ask {k - tells + 1} proposes {twin}, the original {proposal}"
                    )
            observation = answer(oracle, proposal)
            strategy.tell(proposal, observation)
            if copy is not None:
                copy.tell(proposal, observation)


def check_parallel_workers(name: str, store: Store, *, workers: int = 4, evaluations: int = 40) -> None:
    """(i) With `workers` simulated workers an `asynchronous` strategy keeps up to that many evaluations
    running on one clock, never more, spends the evaluation budget exactly and stays deterministic; any
    other strategy is run one evaluation at a time and says so in the run metadata."""
    spec = _spec(name, store, 1, Budget(BudgetKind.EVALUATIONS, evaluations), workers=workers, seed=2)
    with deadline(60.0, f"{name}: {evaluations} evaluations on {workers} workers"):
        columns, meta = run_one(store, spec, name, DATASET, 0, build)
        again, _ = run_one(store, spec, name, DATASET, 0, build)
    if path_of(columns) != path_of(again):
        raise AssertionError(
            f"{name}: two runs on {workers} workers differ {first_difference(path_of(columns), path_of(again))}"
        )
    if meta["evaluations"] != evaluations:
        raise AssertionError(
            f"{name}: {meta['evaluations']} evaluations ran on {workers} workers, the budget allows {evaluations}"
        )
    asynchronous = strategy_class(name).asynchronous
    if meta["sequential_fallback"] == asynchronous:
        raise AssertionError(
            f"{name}: asynchronous={asynchronous} but the run metadata says sequential_fallback={meta['sequential_fallback']}"
        )
    finish = np.asarray(columns["time_s"])
    if (np.diff(finish) < 0).any():
        raise AssertionError(f"{name}: records are not in finishing order on {workers} workers")
    at_once = max_concurrent(finish - np.asarray(columns["cost_s"]), finish)
    limit = workers if asynchronous else 1
    if at_once > limit:
        raise AssertionError(f"{name}: {at_once} evaluations ran at once; at most {limit} may")


def max_concurrent(start: np.ndarray, finish: np.ndarray, tol: float = 1e-6) -> int:
    """The most intervals [start, finish) running at one moment; a start within `tol` of a finish counts
    as after it (a start is computed as finish - cost, so it carries float error)."""
    return int(max(((start <= s + tol) & (finish > s + tol)).sum() for s in start)) if len(start) else 0


def check_real_run(
    name: str, store: Store, *, seconds: float = 12000.0, run: int = 0, seed: int = 0, hang_s: float = 30.0
) -> dict[str, Any]:
    """(h) One NAS-Bench-201 search of `seconds` simulated seconds on cifar10-valid: the budget holds and
    the run ends within `hang_s` of real time (a bound against hangs, not a speed target). Returns the
    run's metadata, whose `overhead_s` is the time spent inside the strategy."""
    budget = Budget(BudgetKind.SECONDS, seconds)
    spec = _spec(name, store, run + 1, budget, schedule=SCHEDULE, seed=seed)
    started = time.perf_counter()
    with deadline(hang_s, f"{name}: a {seconds:g} s search on the real store"):
        columns, meta = run_one(store, spec, name, DATASET, run, build)
    wall = time.perf_counter() - started
    check_within_budget(name, columns, budget)
    if wall >= hang_s:
        raise AssertionError(
            f"{name}: a {seconds:g} s search took {wall:.1f} s of real time (limit {hang_s:g} s)"
        )
    return meta
