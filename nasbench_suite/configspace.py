"""The search space as a ConfigSpace (Lindauer et al. 2019), and an HPOBench-style tabular benchmark.

Peers that benchmark optimizers (HPOBench, Eggensperger et al. 2021; CARP-S) reach every optimizer
through one ConfigSpace description. This module gives the suite's spaces that description:

- `configuration_space(space)`: one categorical hyperparameter per edge, named as HPOBench's
  NAS-Bench-201 benchmark names them (`"j<-i"`: the op on the edge from node i into node j), choices the
  space's ops in their order. The op set and node count are the space's own, so an out-of-table space
  (more ops, more nodes: the live trainer's) gets its own ConfigSpace; both are kept in its `meta`.
- `fidelity_space(fidelities)`: an ordinal `epoch` hyperparameter over one family of fidelities the
  store has (the default schedule's learning curve where it records several epochs, otherwise the full
  schedules: 12 and 200 on the wide table), or an empty space where there is only one.
- `to_config` / `to_arch`: the round trip between a configuration and an `Arch`.
- `TabularBenchmark`: `objective_function(config, fidelity, seed)` for users who bring their own loop,
  priced by the suite's oracle (training epochs plus one validation pass).

ConfigSpace is an optional dependency (`pip install 'nasbench-suite[configspace]'`), imported when a
function here is called. This module is part of the core: the ConfigSpace-based strategies
(`nasbench_suite.strategies.smac_adapter`, ...) import it, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.datasets import report_dataset
from nasbench_suite.errors import InvalidArchError, UnknownNameError, unknown
from nasbench_suite.optional import require
from nasbench_suite.protocol import Fidelity, Proposal
from nasbench_suite.space import Arch, CellSpace

if TYPE_CHECKING:
    from ConfigSpace import Configuration, ConfigurationSpace

    from nasbench_suite.store import Store

FIDELITY = "epoch"
_UNLIMITED = Budget(BudgetKind.EVALUATIONS, float(2**62))  # a benchmark for a user's loop has no budget


def _cs() -> Any:
    return require("ConfigSpace", extra="configspace", who="the ConfigSpace search space")


def edge_names(space: CellSpace) -> tuple[str, ...]:
    """One name per edge in the space's edge order: `"j<-i"` for the edge from node i into node j.

    >>> edge_names(CellSpace.nb201())
    ('1<-0', '2<-0', '2<-1', '3<-0', '3<-1', '3<-2')
    """
    return tuple(f"{j}<-{i}" for i, j in space.edges)


def configuration_space(space: CellSpace, *, seed: int | None = None) -> ConfigurationSpace:
    """One categorical hyperparameter per edge (choices: the space's ops, default: the first op).

    >>> configuration_space(CellSpace.nb201(), seed=0)["3<-2"].choices
    ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3')
    """
    cs = _cs()
    config_space: ConfigurationSpace = cs.ConfigurationSpace(
        name=f"cell-{space.n_nodes}nodes-{space.n_ops}ops",
        seed=seed,
        meta={"ops": list(space.ops), "n_nodes": space.n_nodes},
    )
    config_space.add([cs.Categorical(name, list(space.ops)) for name in edge_names(space)])
    return config_space


def fidelity_family(fidelities: Sequence[Fidelity], default: Fidelity) -> tuple[Fidelity, ...]:
    """The fidelities an epoch hyperparameter ranges over: the default schedule's curve where it has
    more than one point (official archive: epochs 1..12 of 12), otherwise the full schedules (wide table:
    12 and 200); the same family Hyperband's rungs are chosen from (`strategies.hyperband.ladder`)."""
    curve = [f for f in fidelities if f.schedule == default.schedule]
    family = curve if len(curve) > 1 else [f for f in fidelities if f.epoch == f.schedule]
    return tuple(sorted(family, key=lambda f: f.epoch))


def fidelity_space(
    family: Sequence[Fidelity], *, default: Fidelity | None = None, seed: int | None = None
) -> ConfigurationSpace:
    """An ordinal `epoch` hyperparameter over `family`'s epochs (default: `default`'s, else the
    largest); no hyperparameter where the family has one fidelity."""
    cs = _cs()
    config_space: ConfigurationSpace = cs.ConfigurationSpace(name="fidelity", seed=seed)
    epochs = [f.epoch for f in family]
    if len(epochs) > 1:
        chosen = default.epoch if default is not None and default in family else epochs[-1]
        config_space.add(cs.OrdinalHyperparameter(FIDELITY, epochs, default_value=chosen))
    return config_space


def to_config(config_space: ConfigurationSpace, space: CellSpace, arch: Arch) -> Configuration:
    """The configuration of `arch` in `config_space` (made by `configuration_space(space)`)."""
    space.validate(arch)
    values = {name: space.ops[o] for name, o in zip(edge_names(space), arch.ops, strict=True)}
    config: Configuration = _cs().Configuration(config_space, values=values)
    return config


def to_arch(space: CellSpace, config: Mapping[str, Any]) -> Arch:
    """The `Arch` of a configuration (or any mapping edge name -> op name)."""
    names = edge_names(space)
    values = dict(config)
    if set(values) != set(names):
        raise InvalidArchError(
            f"a configuration of this space has exactly the edges {', '.join(names)}; "
            f"got {', '.join(map(repr, sorted(values)))}"
        )
    index = {op: k for k, op in enumerate(space.ops)}
    ops = []
    for name in names:
        op = str(values[name])
        if op not in index:
            raise InvalidArchError(f"unknown op {op!r} on edge {name!r}; valid ops: {', '.join(space.ops)}")
        ops.append(index[op])
    return Arch(tuple(ops))


class TabularBenchmark:
    """HPOBench's benchmark interface over a store: for users who bring their own optimization loop.

    `objective_function` returns HPOBench's NAS-Bench-201 record: `function_value` = 100 - validation
    accuracy (minimized), `cost` = the simulated seconds the suite's oracle charges (training epochs plus
    one validation pass), and `info`. `seed=None` gives the seed mean, a seed the store has (777, 888,
    999 for the 200-epoch results) gives that training run's value; HPOBench averages the data seeds it
    is given, this returns one. No budget is kept: the loop is the user's.

    >>> bench = TabularBenchmark(Store("data/store"))  # doctest: +SKIP
    >>> config = bench.get_configuration_space(seed=0).sample_configuration()  # doctest: +SKIP
    >>> bench.objective_function(config, {"epoch": 200})["function_value"]  # doctest: +SKIP
    """

    def __init__(self, store: Store, dataset: str = "cifar10-valid", *, schedule: int = 12) -> None:
        from nasbench_suite.lookup import Noise
        from nasbench_suite.oracle import TabularOracle

        self.store, self.dataset, self.space = store, dataset, store.space
        self._oracle = TabularOracle(
            store, dataset, _UNLIMITED, rng=np.random.default_rng(0), noise=Noise.MEAN, schedule=schedule
        )
        problem = self._oracle.problem
        self.default_fidelity = problem.default_fidelity
        self.fidelities = fidelity_family(problem.fidelities, problem.default_fidelity)
        _cs()  # fail at construction, not at the first query, when ConfigSpace is missing

    def get_configuration_space(self, seed: int | None = None) -> ConfigurationSpace:
        return configuration_space(self.space, seed=seed)

    def get_fidelity_space(self, seed: int | None = None) -> ConfigurationSpace:
        return fidelity_space(self.fidelities, default=self.default_fidelity, seed=seed)

    def fidelity(self, fidelity: Mapping[str, Any] | None) -> Fidelity:
        """`{"epoch": e}` (or None: the default fidelity) -> the store's fidelity with that epoch."""
        if fidelity is None:
            return self.default_fidelity
        given = dict(fidelity)
        if set(given) != {FIDELITY}:
            raise UnknownNameError(f"a fidelity is {{{FIDELITY!r}: epochs}}, got {given!r}")
        for f in self.fidelities:
            if f.epoch == given[FIDELITY]:
                return f
        raise unknown(FIDELITY, given[FIDELITY], [f.epoch for f in self.fidelities], self.dataset)

    def objective_function(
        self,
        configuration: Mapping[str, Any],
        fidelity: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        arch = to_arch(self.space, configuration)
        at = self.fidelity(fidelity)
        valid = self.store.query(
            arch,
            self.dataset,
            "valid_acc",
            epochs=at.schedule,
            epoch=at.epoch,
            seed="mean" if seed is None else seed,
        )
        cost = self._oracle.start(Proposal(arch, at), 0.0).cost_s
        return {
            "function_value": 100.0 - valid,
            "cost": cost,
            "info": {"valid_acc": valid, "arch": self.space.format(arch), "fidelity": str(at), "seed": seed},
        }

    def objective_function_test(
        self, configuration: Mapping[str, Any], seed: int | None = None
    ) -> dict[str, Any]:
        """100 - the test accuracy after the full 200-epoch schedule, on the dataset the search is
        reported on (cifar10 for a cifar10-valid search); cost = that training's simulated seconds."""
        arch = to_arch(self.space, configuration)
        where = report_dataset(self.dataset)
        test = self.store.query(arch, where, "test_acc", epochs=200, seed="mean" if seed is None else seed)
        cost = self._oracle.start(Proposal(arch, Fidelity.full(200)), 0.0).cost_s
        return {
            "function_value": 100.0 - test,
            "cost": cost,
            "info": {"test_acc": test, "arch": self.space.format(arch), "dataset": where, "seed": seed},
        }
