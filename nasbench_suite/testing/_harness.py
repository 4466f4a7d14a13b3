"""The machinery the contract checks share: the runner's search loop with every proposal checked, a spy on
what `tell` receives, a run in a fresh process, reachability through the object graph, and deadlines."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind
from nasbench_suite.errors import InvalidArchError
from nasbench_suite.imports import source_of
from nasbench_suite.lookup import Noise
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import (
    BaseStrategy,
    Measured,
    Measurement,
    Observation,
    Proposal,
    Request,
    Result,
    SearchProblem,
    Strategy,
)
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.seeding import run_seed_sequence
from nasbench_suite.space import Arch
from nasbench_suite.store import Store
from nasbench_suite.strategies.registry import build, strategy_class
from nasbench_suite.testing.synthetic import DATASET, SCHEDULE, problem_extras


# ---------------------------------------------------------------- the search loop the checks drive
@dataclass
class Record:
    strategy: Strategy
    oracle: TabularOracle
    told: list[tuple[Request, Observation]]


class Spy(BaseStrategy):
    """Passes ask/tell through to the strategy and records what tell() was given; the runner asks it
    as the base declares (one request at a time), which is how the check runs every strategy."""

    def __init__(self, inner: BaseStrategy) -> None:
        self.inner = inner
        self.told: list[tuple[Request, Result]] = []

    def ask(self) -> Request:
        return self.inner.ask()

    def tell(self, request: Request, result: Result) -> None:
        self.told.append((request, result))
        self.inner.tell(request, result)


class ConstantOracle:
    """Charges like the real oracle but shows the same validation accuracy for every cell."""

    def __init__(self, oracle: TabularOracle, value: float) -> None:
        self._oracle, self._value = oracle, value

    def evaluate(self, arch: Arch, fidelity: Any) -> Observation:
        return replace(self._oracle.evaluate(arch, fidelity), valid_acc=self._value)

    def measure(self, arch: Arch, metric: str) -> Measured:
        return self._oracle.measure(arch, metric)


def start(
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
    return build(name, oracle.problem, np.random.default_rng(strategy_seq), contract_hparams(name)), oracle


def contract_hparams(name: str) -> dict[str, Any]:
    """The hyperparameters the checks build strategy `name` with: its class's `contract_hparams` (a slow
    strategy's smaller settings of the same algorithm, e.g. SMAC's acquisition search), else none
    (its defaults)."""
    return dict(getattr(strategy_class(name), "contract_hparams", {}))


def search(
    name: str,
    store: Store,
    budget: Budget,
    *,
    wrap: Callable[[TabularOracle], Any] | None = None,
    hang_s: float = 60.0,
) -> Record:
    """The runner's loop (ask, evaluate, tell until the budget is spent, one last ask), checking every
    proposal."""
    strategy, oracle = start(name, store, budget)
    door = wrap(oracle) if wrap else oracle
    told: list[tuple[Request, Observation]] = []
    with deadline(
        hang_s, f"{name}: {budget} on the {store.space.n_ops}-op, {store.space.n_nodes}-node space"
    ):
        while True:
            proposal = strategy.ask()
            check_proposal(name, proposal, oracle.problem)
            try:
                observation = answer(door, proposal)
            except BudgetExhausted:
                break
            strategy.tell(proposal, observation)
            if isinstance(observation, Observation):
                told.append((proposal, observation))
    return Record(strategy, oracle, told)


def answer(door: Any, request: Proposal | Measurement) -> Observation | Measured:
    if isinstance(request, Measurement):
        return door.measure(request.arch, request.metric)
    return door.evaluate(request.arch, request.fidelity)


def check_proposal(name: str, proposal: object, problem: SearchProblem) -> None:
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


def check_count(name: str, record: Record, evaluations: int) -> None:
    if len(record.told) != evaluations:
        raise AssertionError(f"{name}: {len(record.told)} evaluations ran, the budget allows {evaluations}")


def check_within_budget(name: str, columns: dict[str, Any], budget: Budget) -> None:
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
import json, sys
args = json.load(sys.stdin)
from nasbench_suite.imports import load
load(args["module"])
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
from nasbench_suite.strategies.registry import build
spec = ComparisonSpec.from_json(args["spec"])
columns, _ = run_one(Store(args["store"]), spec, args["name"], args["dataset"], 0, build)
json.dump({k: columns[k] for k in ("arch_index", "epoch", "schedule")}, sys.stdout)
"""


def path_of(columns: dict[str, Any]) -> list[tuple[int, int, int]]:
    return list(zip(columns["arch_index"], columns["epoch"], columns["schedule"], strict=True))


def first_difference(a: list, b: list) -> str:
    k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at evaluation {k} ((arch index, epoch, schedule): {a[k : k + 1]} vs {b[k : k + 1]}; lengths {len(a)}, {len(b)})"


def path_in_subprocess(name: str, store: Store, spec: ComparisonSpec) -> list[tuple[int, int, int]]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "1" if env.get("PYTHONHASHSEED") == "0" else "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    args = {
        "module": source_of(strategy_class(name).__module__),
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
    return path_of(columns)


# ---------------------------------------------------------------- reachability and deadlines
def reachable(root: object, forbidden: tuple[type, ...]) -> list[str]:
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
def deadline(seconds: float, what: str) -> Iterator[None]:
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
