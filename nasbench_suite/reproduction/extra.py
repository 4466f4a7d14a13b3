"""Strategies beside a published protocol: `reproduce PAPER --also NAME[,NAME]` runs NAME (one of the
suite's, or one from `--strategy-module`) under the protocol's own searches, with the same datasets,
budgets, schedule, noise and seeds as the protocol's rows, so its runs pair by seed with theirs. No
published value stands beside them: the CLI prints their summary after the reproduction report.

Each search goes to `<out>/<key>-<dataset>-also`, a comparison directory like any other (`report` and
`report --significance` read it), whose config.json records the strategy modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from nasbench_suite.comparison import run_comparison
from nasbench_suite.reproduction.protocols import Protocol, SearchRow
from nasbench_suite.reproduction.run import comparison
from nasbench_suite.runner import ComparisonSpec, StrategyFactory
from nasbench_suite.store import Store


def also_plan(
    protocol: Protocol,
    strategies: Sequence[str],
    *,
    runs: int,
    seed: int,
    strategy_modules: Sequence[str] = (),
) -> list[tuple[str, ComparisonSpec]]:
    """(directory name, spec) per search of the protocol, for `strategies` at their default settings.

    >>> [name for name, _ in also_plan(NB201, ["hillclimb"], runs=10, seed=0)]  # doctest: +SKIP
    ['nb201-cifar10-valid-also']
    """
    rows = tuple(SearchRow(name, name) for name in strategies)
    return [
        (
            f"{protocol.key}-{dataset}-also",
            replace(
                comparison(protocol, dataset, budget, rows, runs=runs, seed=seed),
                strategy_modules=tuple(strategy_modules),
            ),
        )
        for dataset, budget in protocol.searches
    ]


def run_also(
    protocol: Protocol,
    store: Store,
    out: Path,
    strategies: Sequence[str],
    factory: StrategyFactory,
    *,
    runs: int,
    seed: int,
    strategy_modules: Sequence[str] = (),
    jobs: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Run (or finish) `also_plan` under `out`; returns the directories."""
    directories = []
    for name, spec in also_plan(
        protocol, strategies, runs=runs, seed=seed, strategy_modules=strategy_modules
    ):
        run_comparison(store, spec, Path(out) / name, factory, jobs=jobs, progress=progress)
        directories.append(Path(out) / name)
    return directories
