"""The contract every registered strategy keeps, as plain check functions (after Optuna's
`optuna/testing/pytest_samplers.py` and scikit-learn's `estimator_checks`).

Each `check_*(name, store, ...)` builds strategy `name` from the registry, drives it, and raises
`AssertionError` with a message naming the strategy and the broken rule. A test suite parametrizes the
checks over `strategies.names()`; `build_synthetic_store` makes the small and the larger-than-NAS-Bench-201
spaces they run on. Loops run under a deadline, so a strategy that never returns fails instead of hanging.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.errors import InvalidArchError
from nasbench_suite.oracle import BudgetExhausted, Noise, TabularOracle, Trajectory
from nasbench_suite.protocol import (
    Constraint,
    Measured,
    Measurement,
    Observation,
    Proposal,
    SearchProblem,
    Strategy,
)
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.seeding import run_seed_sequence
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store, StoreBuilder, Table, TableSpec
from nasbench_suite.strategies.registry import build, strategy_class

DATASET = "cifar10-valid"
SCHEDULE = 12
NB201 = CellSpace.nb201()
# 27 cells: duplicates are unavoidable within a few dozen evaluations.
TINY_SPACE = CellSpace(("none", "skip_connect", "nor_conv_3x3"), 3)
# Larger than NAS-Bench-201 in ops (6 ops x 6 edges = 46656 cells) and in nodes (3 ops x 10 edges = 59049).
WIDE_SPACE = CellSpace((*NB201.ops, "sep_conv_3x3"), 4)
DEEP_SPACE = CellSpace(("none", "skip_connect", "nor_conv_3x3"), 5)
# What a strategy must never be able to reach: it sees the problem and observations, nothing else.
FORBIDDEN = (Store, TabularOracle, Table, Trajectory, np.memmap, mmap.mmap)


# ---------------------------------------------------------------- synthetic stores
def build_synthetic_store(path: Path | str, space: CellSpace, *, seed: int = 0) -> Path:
    """A dense store over every cell of `space` for searching on cifar10-valid (reported on cifar10).

    Accuracies are a smooth function of the ops, so a model has something to learn: an additive effect
    per (edge, op) plus a bonus for edges into the same node that agree, squashed into 74..86 %; two
    seeds at mean +- noise; 12-epoch curves recorded at epochs 4, 8, 12; per-epoch time 1..3 s from the
    ops. Cells are stored in a shuffled order, so the benchmark index is not the space's code.
    """
    rng = np.random.default_rng(seed)
    n, n_edges, n_ops = space.size, space.n_edges, space.n_ops
    codes = rng.permutation(n)
    ops = (codes[:, None] // n_ops ** np.arange(n_edges)) % n_ops
    effect = rng.normal(0.0, 1.0, n_ops)[None, :] + 0.5 * rng.normal(0.0, 1.0, (n_edges, n_ops))
    score = effect[np.arange(n_edges), ops].sum(axis=1)
    edge_node = np.array([j for _, j in space.edges])
    for a in range(n_edges):
        for b in range(a + 1, n_edges):
            if edge_node[a] == edge_node[b]:
                score += 0.3 * (ops[:, a] == ops[:, b])
    z = (score - score.mean()) / score.std()
    final = 80.0 + 6.0 * np.tanh(z / 2.0)
    op_cost = rng.uniform(0.0, 1.0, n_ops)
    per_epoch = 1.0 + 2.0 * op_cost[ops].mean(axis=1)

    def seeded(mean: np.ndarray, sd: float) -> np.ndarray:  # (n, 1 + 2 seeds, points), exact mean
        noise = rng.normal(0.0, sd, mean.shape)
        return np.stack([mean, mean + noise, mean - noise], axis=1)

    points = np.array([4, 8, 12])
    curve = final[:, None] - 12.0 - 8.0 * (1.0 - points / 12.0)[None, :] ** 2
    builder = StoreBuilder(
        space, ops.astype(np.int8), provenance={"importer": "strategies.contract", "seed": seed}
    )
    builder.add(TableSpec(DATASET, "valid_acc", 12, (0, 1), tuple(points.tolist())), seeded(curve, 0.5))
    builder.add(TableSpec(DATASET, "valid_acc", 200, (0, 1), (200,)), seeded(final[:, None], 0.3))
    for s in (12, 200):
        builder.add(TableSpec(DATASET, "train_time_s", s, (), (s,)), (per_epoch * s).reshape(n, 1, 1))
    test = final + rng.normal(0.0, 0.3, n)
    builder.add(TableSpec("cifar10", "test_acc", 200, (), (200,)), test.reshape(n, 1, 1))
    # per-arch properties to measure: a latency and FLOPs that grow with the training time, and a
    # zero-cost score that is informative but noisy
    builder.add(TableSpec(DATASET, "latency_s"), per_epoch / 100.0)
    builder.add(TableSpec(DATASET, "flops_m"), 10.0 * per_epoch + rng.normal(0.0, 0.5, n))
    builder.add(TableSpec(DATASET, "zc_zen"), final + rng.normal(0.0, 2.0, n))
    return builder.write(Path(path))


# ---------------------------------------------------------------- the problem each strategy needs
def problem_extras(name: str, store: Store) -> dict[str, Any]:
    """A constraint and/or second objective for strategies that declare `requires` (hardware-aware and
    multi-objective ones): latency_s at most its median, and flops_m."""
    needs = getattr(strategy_class(name), "requires", ())
    extras: dict[str, Any] = {}
    if "constraint" in needs:
        latency = np.asarray(store.table(DATASET, "latency_s").column("mean"))
        extras["constraint"] = Constraint("latency_s", float(np.nanmedian(latency)))
    if "objective" in needs:
        extras["objective"] = "flops_m"
    return extras


def _spec(name: str, store: Store, runs: int, budget: Budget, **kwargs: Any) -> ComparisonSpec:
    return ComparisonSpec((name,), (DATASET,), runs, budget, **(problem_extras(name, store) | kwargs))


# ---------------------------------------------------------------- the checks
def check_budget(name: str, store: Store, budget: Budget, *, runs: int = 2, seed: int = 0) -> None:
    """(a) Through the runner, every recorded evaluation fits the budget and costs add up to the clock."""
    spec = _spec(name, store, runs, budget, schedule=SCHEDULE, seed=seed)
    for run in range(runs):
        with _deadline(60.0, f"{name}: run {run} under {budget}"):
            columns, _ = run_one(store, spec, name, DATASET, run, build)
        _check_within_budget(name, columns, budget)


def check_deterministic(name: str, store: Store, *, evaluations: int = 40, seed: int = 5) -> None:
    """(b) The same seed gives the same trajectory: twice in this process, and once in a fresh process
    with another string-hash seed (catches iteration over sets of strings, time-based seeds)."""
    spec = _spec(name, store, 1, Budget(BudgetKind.EVALUATIONS, evaluations), seed=seed)
    with _deadline(60.0, f"{name}: determinism runs"):
        first, second = (_path(run_one(store, spec, name, DATASET, 0, build)[0]) for _ in range(2))
    if first != second:
        raise AssertionError(f"{name}: two runs with seed {seed} differ {_first_difference(first, second)}")
    other = _path_in_subprocess(name, store, spec)
    if first != other:
        raise AssertionError(
            f"{name}: a run with seed {seed} in another process (other PYTHONHASHSEED) differs "
            f"{_first_difference(first, other)}; iteration over sets/dicts of strings or time-based seeds?"
        )


def check_sees_no_test_metrics(
    name: str, store: Store, *, evaluations: int = 40, hang_s: float = 60.0
) -> None:
    """(c) Through the runner, tell() only ever gets `Observation`s (validation accuracy and cost, no
    test metric) equal to what the oracle logged, one per charged evaluation, and no store, oracle, table
    or memory map is reachable from the strategy."""
    spies: list[_Spy] = []

    def factory(n: str, problem: SearchProblem, rng: np.random.Generator, hparams: Any) -> Strategy:
        if type(problem) is not SearchProblem:
            raise AssertionError(
                f"{name}: the runner handed over a {type(problem).__name__}, not a SearchProblem"
            )
        spies.append(_Spy(build(n, problem, rng, hparams)))
        return spies[-1]

    spec = _spec(name, store, 1, Budget(BudgetKind.EVALUATIONS, evaluations), seed=0)
    with _deadline(hang_s, f"{name}: {evaluations} evaluations through the runner"):
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
    path = _reachable(spies[0].inner, FORBIDDEN)
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
    record = _search(name, store, Budget(BudgetKind.EVALUATIONS, evaluations), hang_s=hang_s)
    _check_count(name, record, evaluations)


def check_copes_with_ties(
    name: str, store: Store, *, evaluations: int = 100, value: float = 50.0, hang_s: float = 60.0
) -> None:
    """(d) Every evaluation shows the same validation accuracy: no best cell, no gradient, no progress;
    the strategy must still propose valid cells until the budget ends."""
    record = _search(
        name,
        store,
        Budget(BudgetKind.EVALUATIONS, evaluations),
        wrap=lambda o: _ConstantOracle(o, value),
        hang_s=hang_s,
    )
    _check_count(name, record, evaluations)


def check_larger_space(name: str, store: Store, *, evaluations: int = 40, hang_s: float = 60.0) -> None:
    """(e) The strategy works on a cell space with more ops or more nodes than NAS-Bench-201's, i.e.
    it derives its sizes from `space.n_edges` / `space.n_ops`."""
    space = store.space
    if not (space.n_ops > NB201.n_ops or space.n_nodes > NB201.n_nodes):
        raise ValueError(f"check_larger_space needs more than 5 ops or 4 nodes, got {space}")
    _check_count(
        name, _search(name, store, Budget(BudgetKind.EVALUATIONS, evaluations), hang_s=hang_s), evaluations
    )


def check_valid_proposals(name: str, store: Store, *, evaluations: int = 40, hang_s: float = 60.0) -> None:
    """(f) Every proposal, the extra one after the budget included, is a `Proposal` of a cell of the
    space at one of the problem's fidelities (every check's search loop verifies this too)."""
    _check_count(
        name, _search(name, store, Budget(BudgetKind.EVALUATIONS, evaluations), hang_s=hang_s), evaluations
    )


def check_picklable(name: str, store: Store, *, tells: int = 15, then: int = 3) -> None:
    """(g) After `tells` observations the strategy pickles, and the copy continues exactly as the
    original does when both are told the same observations (the runner may move strategies across
    processes)."""
    strategy, oracle = _start(name, store, Budget(BudgetKind.EVALUATIONS, tells + then), noise=Noise.MEAN)
    copy: Strategy | None = None
    with _deadline(60.0, f"{name}: pickling after {tells} tells"):
        for k in range(tells + then):
            if k == tells:
                try:
                    copy = pickle.loads(pickle.dumps(strategy))
                except Exception as exc:
                    raise AssertionError(
                        f"{name}: the strategy does not pickle after {tells} tells: {exc!r}"
                    ) from exc
            proposal = strategy.ask()
            _check_proposal(name, proposal, oracle.problem)
            if copy is not None:
                twin = copy.ask()
                if twin != proposal:
                    raise AssertionError(
                        f"{name}: after unpickling, ask {k - tells + 1} proposes {twin}, the original {proposal}"
                    )
            observation = _answer(oracle, proposal)
            strategy.tell(proposal, observation)
            if copy is not None:
                copy.tell(proposal, observation)


def check_parallel_workers(name: str, store: Store, *, workers: int = 4, evaluations: int = 40) -> None:
    """(i) With `workers` simulated workers an `asynchronous` strategy keeps up to that many evaluations
    running on one clock, never more, spends the evaluation budget exactly and stays deterministic; any
    other strategy is run one evaluation at a time and says so in the run metadata."""
    spec = _spec(name, store, 1, Budget(BudgetKind.EVALUATIONS, evaluations), workers=workers, seed=2)
    with _deadline(60.0, f"{name}: {evaluations} evaluations on {workers} workers"):
        columns, meta = run_one(store, spec, name, DATASET, 0, build)
        again, _ = run_one(store, spec, name, DATASET, 0, build)
    if _path(columns) != _path(again):
        raise AssertionError(
            f"{name}: two runs on {workers} workers differ {_first_difference(_path(columns), _path(again))}"
        )
    if meta["evaluations"] != evaluations:
        raise AssertionError(
            f"{name}: {meta['evaluations']} evaluations ran on {workers} workers, the budget allows {evaluations}"
        )
    asynchronous = bool(getattr(strategy_class(name), "asynchronous", False))
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
    with _deadline(hang_s, f"{name}: a {seconds:g} s search on the real store"):
        columns, meta = run_one(store, spec, name, DATASET, run, build)
    wall = time.perf_counter() - started
    _check_within_budget(name, columns, budget)
    if wall >= hang_s:
        raise AssertionError(
            f"{name}: a {seconds:g} s search took {wall:.1f} s of real time (limit {hang_s:g} s)"
        )
    return meta


# ---------------------------------------------------------------- the search loop the checks drive
@dataclass
class _Record:
    strategy: Strategy
    oracle: TabularOracle
    told: list[tuple[Proposal, Observation]]


class _Spy:
    """Passes ask/tell through to the strategy and records what tell() was given."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.told: list[tuple[Proposal, object]] = []

    def ask(self) -> Proposal:
        return self.inner.ask()

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        self.told.append((proposal, observation))
        self.inner.tell(proposal, observation)


class _ConstantOracle:
    """Charges like the real oracle but shows the same validation accuracy for every cell."""

    def __init__(self, oracle: TabularOracle, value: float) -> None:
        self._oracle, self._value = oracle, value

    def evaluate(self, arch: Arch, fidelity: Any) -> Observation:
        return replace(self._oracle.evaluate(arch, fidelity), valid_acc=self._value)

    def measure(self, arch: Arch, metric: str) -> Measured:
        return self._oracle.measure(arch, metric)


def _start(
    name: str, store: Store, budget: Budget, *, seed: int = 0, noise: Noise = Noise.RANDOM
) -> tuple[Strategy, TabularOracle]:
    """Strategy and oracle with independent streams, as the runner makes them."""
    strategy_seq, oracle_seq = run_seed_sequence(seed, 0).spawn(2)
    oracle = TabularOracle(
        store,
        DATASET,
        budget,
        rng=np.random.default_rng(oracle_seq),
        noise=noise,
        schedule=SCHEDULE,
        **problem_extras(name, store),
    )
    return build(name, oracle.problem, np.random.default_rng(strategy_seq)), oracle


def _search(
    name: str,
    store: Store,
    budget: Budget,
    *,
    wrap: Callable[[TabularOracle], Any] | None = None,
    hang_s: float = 60.0,
) -> _Record:
    """The runner's loop (ask, evaluate, tell until the budget is spent, one last ask), checking every
    proposal."""
    strategy, oracle = _start(name, store, budget)
    door = wrap(oracle) if wrap else oracle
    told: list[tuple[Proposal, Observation]] = []
    with _deadline(
        hang_s, f"{name}: {budget} on the {store.space.n_ops}-op, {store.space.n_nodes}-node space"
    ):
        while True:
            proposal = strategy.ask()
            _check_proposal(name, proposal, oracle.problem)
            try:
                observation = _answer(door, proposal)
            except BudgetExhausted:
                break
            strategy.tell(proposal, observation)
            if isinstance(observation, Observation):
                told.append((proposal, observation))
    return _Record(strategy, oracle, told)


def _answer(door: Any, request: Proposal | Measurement) -> Observation | Measured:
    if isinstance(request, Measurement):
        return door.measure(request.arch, request.metric)
    return door.evaluate(request.arch, request.fidelity)


def _check_proposal(name: str, proposal: object, problem: SearchProblem) -> None:
    if not isinstance(proposal, (Proposal, Measurement)):
        raise AssertionError(
            f"{name}: ask() must return a Proposal or a Measurement, got {type(proposal).__name__}"
        )
    try:
        problem.space.validate(proposal.arch)
    except InvalidArchError as exc:
        raise AssertionError(f"{name}: proposed a cell outside the space: {exc}") from None
    if isinstance(proposal, Measurement):
        if proposal.metric not in problem.measurable:
            raise AssertionError(
                f"{name}: asked to measure {proposal.metric!r}; the problem offers {problem.measurable}"
            )
        return
    if proposal.fidelity not in problem.fidelities:
        raise AssertionError(
            f"{name}: proposed fidelity {proposal.fidelity!r}; the problem offers {problem.fidelities}"
        )


def _check_count(name: str, record: _Record, evaluations: int) -> None:
    if len(record.told) != evaluations:
        raise AssertionError(f"{name}: {len(record.told)} evaluations ran, the budget allows {evaluations}")


def _check_within_budget(name: str, columns: dict[str, Any], budget: Budget) -> None:
    n = len(columns["arch_index"])
    if n == 0:
        raise AssertionError(f"{name}: no evaluation fitted into {budget}")
    clock, cost = np.asarray(columns["time_s"]), np.asarray(columns["cost_s"])
    if not np.allclose(np.cumsum(cost), clock):
        raise AssertionError(f"{name}: the clock {clock[:5]}... is not the running sum of the costs")
    used = {
        BudgetKind.SECONDS: clock,
        BudgetKind.EVALUATIONS: np.cumsum(np.asarray(columns["epoch"]) > 0),
        BudgetKind.EPOCHS: np.cumsum(columns["epoch"]),
    }[budget.kind]
    over = np.flatnonzero(used > budget.limit)
    if over.size:
        raise AssertionError(
            f"{name}: evaluation {over[0]} ends at {used[over[0]]:g} {budget.kind}, past {budget}"
        )


# ---------------------------------------------------------------- determinism across processes
_CHILD = """
import importlib, json, sys
args = json.load(sys.stdin)
importlib.import_module(args["module"])
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
from nasbench_suite.strategies.registry import build
spec = ComparisonSpec.from_json(args["spec"])
columns, _ = run_one(Store(args["store"]), spec, args["name"], args["dataset"], 0, build)
json.dump({k: columns[k] for k in ("arch_index", "epoch", "schedule")}, sys.stdout)
"""


def _path(columns: dict[str, Any]) -> list[tuple[int, int, int]]:
    return list(zip(columns["arch_index"], columns["epoch"], columns["schedule"], strict=True))


def _first_difference(a: list, b: list) -> str:
    k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at evaluation {k} ((arch index, epoch, schedule): {a[k : k + 1]} vs {b[k : k + 1]}; lengths {len(a)}, {len(b)})"


def _path_in_subprocess(name: str, store: Store, spec: ComparisonSpec) -> list[tuple[int, int, int]]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "1" if env.get("PYTHONHASHSEED") == "0" else "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    args = {
        "module": strategy_class(name).__module__,
        "spec": spec.to_json(),
        "store": str(Path(store.path).resolve()),
        "name": name,
        "dataset": DATASET,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=json.dumps(args),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{name}: a run in a fresh process did not finish within 60 s") from None
    if done.returncode != 0:
        raise AssertionError(f"{name}: a run in a fresh process failed:\n{done.stderr[-2000:]}")
    columns = json.loads(done.stdout)
    return _path(columns)


# ---------------------------------------------------------------- reachability and deadlines
def _reachable(root: object, forbidden: tuple[type, ...]) -> list[str]:
    """The chain of type names from `root` to the first reachable instance of `forbidden`, or []. Follows
    what the garbage collector sees, but not into classes, modules or module globals (every object is
    reachable from those), and into functions only through their closures and defaults."""
    module_dicts = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    parent: dict[int, int] = {id(root): 0}
    names: dict[int, str] = {id(root): type(root).__name__}
    stack, alive = [root], [root]  # `alive` keeps temporaries (frame locals) from recycling their ids
    while stack:
        obj = stack.pop()
        if isinstance(obj, forbidden):
            path, key = [], id(obj)
            while key:
                path.append(names[key])
                key = parent[key]
            return path[::-1]
        if isinstance(obj, (type, types.ModuleType)) or id(obj) in module_dicts:
            continue
        if isinstance(obj, np.ndarray):
            # arrays are not gc-tracked: follow the base (a view keeps its memory map alive) and objects
            children = [obj.base, *(obj.ravel().tolist() if obj.dtype == object else ())]
        elif isinstance(obj, types.FunctionType):
            children = [obj.__closure__, obj.__defaults__, obj.__kwdefaults__]
        elif isinstance(obj, types.FrameType):
            children = [obj.f_locals]
        else:
            children = gc.get_referents(obj)
        for child in children:
            if child is not None and id(child) not in parent:
                parent[id(child)] = id(obj)
                names[id(child)] = type(child).__name__
                stack.append(child)
                alive.append(child)
    return []


@contextmanager
def _deadline(seconds: float, what: str) -> Iterator[None]:
    """Turn an endless loop into an AssertionError after `seconds` (main thread on POSIX only, and only
    when no other interval timer is running; elsewhere this guards nothing)."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"{what} did not finish within {seconds:g} s of real time (an endless loop?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
