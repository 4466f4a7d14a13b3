"""The strategy interface is declared, not patched on: every registered class inherits BaseStrategy and
declares its own name; `register` reads it and sets nothing; hyperparameters go through one checker."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.errors import ConfigError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import BaseStrategy, Proposal, SearchProblem
from nasbench_suite.store import Store
from nasbench_suite.strategies import registry
from nasbench_suite.strategies._candidates import require_int
from nasbench_suite.strategies.regularized_evolution import RegularizedEvolution


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


class _Climb(BaseStrategy):
    name = "climb"

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        self._problem, self._rng = problem, rng

    def ask(self) -> Proposal:
        return Proposal(self._problem.space.sample(self._rng), self._problem.default_fidelity)

    def tell(self, request: object, result: object) -> None:
        pass


def test_every_registered_strategy_declares_its_name_and_capabilities() -> None:
    for name in strategies.names():
        cls = registry.strategy_class(name)
        assert issubclass(cls, BaseStrategy) and cls.__dict__["name"] == name
        assert isinstance(cls.asynchronous, bool) and set(cls.requires) <= {"constraint", "objective"}
    assert registry.strategy_class("random").asynchronous is True
    assert registry.strategy_class("local_search").asynchronous is False  # the base's default
    assert registry.strategy_class("hw_rea").requires == ("constraint",)
    assert registry.strategy_class("rea").requires == ()


def test_register_reads_the_declared_name_and_sets_nothing(scratch_registry: None) -> None:
    before = dict(vars(_Climb))
    assert registry.register(_Climb) is _Climb and registry.strategy_class("climb") is _Climb
    assert dict(vars(_Climb)) == before


def test_register_with_a_name_checks_that_the_class_declares_it(scratch_registry: None) -> None:
    with pytest.raises(ConfigError, match=r"declares name = 'climb' but is registered as 'hill'"):
        registry.register("hill")(_Climb)
    assert registry.register("climb")(_Climb) is _Climb


def test_a_class_without_the_base_or_its_own_name_is_refused(scratch_registry: None) -> None:
    class Plain:
        name = "plain"

        def ask(self) -> None: ...

        def tell(self, request: object, result: object) -> None: ...

    with pytest.raises(
        ConfigError, match=r"Plain cannot be registered: a strategy class inherits .*BaseStrategy"
    ):
        registry.register(Plain)  # type: ignore[type-var]

    class Renamed(_Climb):  # a subclass inherits `climb`: it must declare a name of its own
        pass

    with pytest.raises(ConfigError, match=r"Renamed declares name = None"):
        registry.register(Renamed)
    with pytest.raises(ConfigError, match="registered twice"):
        registry.register(type("Rea2", (RegularizedEvolution,), {"name": "rea"}))


@pytest.mark.parametrize("bad", [True, 0, 2.0, "3"])
def test_rea_refuses_a_population_size_that_is_no_whole_number_as_hw_rea_does(
    bad: object, tiny_store: Store
) -> None:
    problem = TabularOracle(
        tiny_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 5), rng=np.random.default_rng(0)
    ).problem
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=rf"rea: population_size must be an integer >= 1, got {bad!r}"):
        strategies.build("rea", problem, rng, {"population_size": bad})
    with pytest.raises(
        ConfigError, match=r"rea: sample_size must be an integer in 1\.\.population_size \(10\), got True"
    ):
        strategies.build("rea", problem, rng, {"sample_size": True})


def test_require_int_bounds_and_messages() -> None:
    assert require_int("s", "k", 3, 1, 3) == 3
    with pytest.raises(ConfigError, match=r"s: k must be an integer in 1\.\.3, got 4"):
        require_int("s", "k", 4, 1, 3)
    with pytest.raises(ConfigError, match=r"s: k must be an integer in 1\.\.n \(3\), got True"):
        require_int("s", "k", True, 1, 3, high_name="n")
    with pytest.raises(ConfigError, match=r"s: k must be an integer >= 2, got 1"):
        require_int("s", "k", 1, 2)
