"""Every registered strategy against the contract in `nasbench_suite.testing`, then the checks themselves
against strategies that break each rule (a check that cannot fail proves nothing).

The parametrization reads `strategies.names()` at collection time, so a strategy is covered as soon as
`strategies/__init__.py` imports its module.
"""

from __future__ import annotations

import gc
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite import testing as contract
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.protocol import BaseStrategy, Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.store import Store
from nasbench_suite.strategies import registry
from nasbench_suite.testing import _harness

NAMES = strategies.names()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(
        contract.build_synthetic_store(tmp_path_factory.mktemp("contract") / "tiny", contract.TINY_SPACE)
    )


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(
        contract.build_synthetic_store(tmp_path_factory.mktemp("contract") / "wide", contract.WIDE_SPACE)
    )


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(
        contract.build_synthetic_store(tmp_path_factory.mktemp("contract") / "deep", contract.DEEP_SPACE)
    )


# ---------------------------------------------------------------- every strategy
# The named suite that `nasbench-suite check-strategy` runs, on the synthetic stores; the 12000 s search
# on NAS-Bench-201 is test_real_run below.
SYNTHETIC = [check for check in contract.CHECKS if check.store != "real"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("check", SYNTHETIC, ids=str)
def test_contract(name: str, check: contract.ContractCheck, request: pytest.FixtureRequest) -> None:
    check.run(name, request.getfixturevalue(check.store))


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_budget_on_the_real_store(name: str, real_store: Store) -> None:
    contract.check_budget(name, real_store, Budget(BudgetKind.EVALUATIONS, 30))


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_real_run(name: str, real_store: Store, record_property: pytest.RecordProperty) -> None:
    meta = contract.check_real_run(name, real_store)
    record_property("overhead_s", meta["overhead_s"])
    record_property("evaluations", meta["evaluations"])


# ---------------------------------------------------------------- the checks catch rule breakers
class _Base(BaseStrategy):
    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        self._problem, self._rng = problem, rng

    def ask(self) -> Proposal:
        return Proposal(self._problem.space.sample(self._rng), self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        pass


class _ClockSeeded(_Base):
    name = "bad-clockseeded"

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        import time

        super().__init__(problem, np.random.default_rng(time.perf_counter_ns()))


class _Peeking(_Base):
    name = "bad-peeking"

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        super().__init__(problem, rng)
        self._found = [o for o in gc.get_objects() if type(o) is Store]


class _NoRestart(_Base):
    name = "bad-norestart"

    """Local search that only ever moves to an unseen cell: stuck for good once all are seen."""

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        super().__init__(problem, rng)
        self._seen: set[Arch] = set()

    def ask(self) -> Proposal:
        arch = self._problem.space.sample(self._rng)
        while arch in self._seen:
            arch = self._problem.space.sample(self._rng)
        self._seen.add(arch)
        return Proposal(arch, self._problem.default_fidelity)


class _Normalizing(_Base):
    name = "bad-normalizing"

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        super().__init__(problem, rng)
        self._values: list[float] = []

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        self._values.append(observation.valid_acc)
        if len(self._values) > 1:
            _ = (observation.valid_acc - min(self._values)) / (max(self._values) - min(self._values))


class _HardCoded(_Base):
    name = "bad-hardcoded"

    def ask(self) -> Proposal:
        return Proposal(
            Arch(tuple(int(o) for o in self._rng.integers(5, size=6))), self._problem.default_fidelity
        )


class _OffGrid(_Base):
    name = "bad-offgrid"

    def ask(self) -> Proposal:
        return Proposal(self._problem.space.sample(self._rng), Fidelity(7, 12))


class _Unpicklable(_Base):
    name = "bad-unpicklable"

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        super().__init__(problem, rng)
        self._draws = (problem.space.sample(rng) for _ in iter(int, 1))

    def ask(self) -> Proposal:
        return Proposal(next(self._draws), self._problem.default_fidelity)


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch):
    """Register a strategy for one test only."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def add(cls: type[BaseStrategy]) -> str:
        registry.register(cls)
        return cls.name

    return add


def test_a_clock_seeded_strategy_is_not_deterministic(register, wide: Store) -> None:
    with pytest.raises(AssertionError, match="two runs with seed 5 differ at evaluation 0"):
        contract.check_deterministic(register(_ClockSeeded), wide)


def test_string_hash_dependence_is_caught_in_a_fresh_process(
    register, wide: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "contract_hash_order_strategy"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            from nasbench_suite.protocol import BaseStrategy, Proposal
            from nasbench_suite.strategies.registry import register

            @register
            class HashSeeded(BaseStrategy):
                name = "bad-hash-seeded"

                def __init__(self, problem, rng):
                    self._problem = problem
                    self._rng = np.random.default_rng(hash(problem.space.ops[0]) % 2**32)  # PYTHONHASHSEED

                def ask(self):
                    return Proposal(self._problem.space.sample(self._rng), self._problem.default_fidelity)

                def tell(self, proposal, observation):
                    pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    __import__(module)
    try:
        with pytest.raises(AssertionError, match="in another process"):
            contract.check_deterministic("bad-hash-seeded", wide)
    finally:
        sys.modules.pop(module, None)


def test_a_strategy_holding_the_store_is_caught(register, wide: Store) -> None:
    with pytest.raises(AssertionError, match="can reach a Store: _Peeking -> list -> Store"):
        contract.check_sees_no_test_metrics(register(_Peeking), wide)


def test_a_search_that_never_restarts_fails_instead_of_hanging(register, tiny: Store) -> None:
    with pytest.raises(AssertionError, match="did not finish within 1 s"):
        contract.check_copes_with_duplicates(register(_NoRestart), tiny, hang_s=1.0)


def test_a_strategy_dividing_by_the_spread_fails_on_ties(register, tiny: Store) -> None:
    with pytest.raises(ZeroDivisionError):
        contract.check_copes_with_ties(register(_Normalizing), tiny)


def test_sizes_hard_coded_for_nas_bench_201_fail_on_a_deeper_space(register, deep: Store) -> None:
    with pytest.raises(AssertionError, match="proposed a cell outside the space"):
        contract.check_larger_space(register(_HardCoded), deep)


def test_a_fidelity_the_problem_does_not_offer_is_caught(register, tiny: Store) -> None:
    with pytest.raises(AssertionError, match=r"proposed fidelity Fidelity\(epoch=7, schedule=12\)"):
        contract.check_valid_proposals(register(_OffGrid), tiny)


def test_an_unpicklable_strategy_is_caught(register, wide: Store) -> None:
    with pytest.raises(AssertionError, match="does not pickle after 15 tells"):
        contract.check_picklable(register(_Unpicklable), wide)


def test_the_budget_check_reads_every_kind() -> None:
    columns = {
        "arch_index": [0, 1, 2],
        "cost_s": [5.0, 5.0, 5.0],
        "time_s": [5.0, 10.0, 15.0],
        "epoch": [12, 12, 200],
    }
    _harness.check_within_budget("x", columns, Budget(BudgetKind.SECONDS, 15))
    with pytest.raises(AssertionError, match="evaluation 2 ends at 15 seconds, past 12 seconds"):
        _harness.check_within_budget("x", columns, Budget(BudgetKind.SECONDS, 12))
    with pytest.raises(AssertionError, match="evaluation 2 ends at 3 evaluations"):
        _harness.check_within_budget("x", columns, Budget(BudgetKind.EVALUATIONS, 2))
    with pytest.raises(AssertionError, match="evaluation 2 ends at 224 epochs"):
        _harness.check_within_budget("x", columns, Budget(BudgetKind.EPOCHS, 100))
    with pytest.raises(AssertionError, match="not the running sum"):
        _harness.check_within_budget(
            "x", columns | {"time_s": [5.0, 9.0, 15.0]}, Budget(BudgetKind.SECONDS, 99)
        )


def test_the_synthetic_stores_are_larger_than_nas_bench_201_and_learnable(wide: Store, deep: Store) -> None:
    assert wide.space.n_ops > 5 and deep.space.n_nodes > 4
    for store in (wide, deep):
        rows = np.random.default_rng(0).choice(store.n_archs, 4000, replace=False)
        valid = np.asarray(store.table("cifar10-valid", "valid_acc", 200).column("mean"))[rows]
        ops = np.asarray(store.arch_ops)[rows]
        # an additive model in the one-hot ops explains most of the variance
        x = np.zeros((len(ops), store.space.n_edges * store.space.n_ops))
        x[np.arange(len(ops))[:, None], np.arange(store.space.n_edges) * store.space.n_ops + ops] = 1.0
        fit = np.linalg.lstsq(x, valid, rcond=None)[0]
        assert 1 - np.var(valid - x @ fit) / np.var(valid) > 0.8
