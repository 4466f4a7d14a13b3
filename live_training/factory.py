"""The live oracle of each run of a comparison, built from the comparison's recorded live settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def live_oracle_factory(
    settings: dict[str, Any], spec: Any, store: Any, out: Path, *, progress: bool = True
) -> Callable[..., Any]:
    """(strategy, dataset, run, rng) -> LiveOracle, as the runner wants; data loaded once per dataset,
    the same subset for every run (drawn from the comparison's seed)."""
    import numpy as np

    from nasbench_suite.live_training.curves import EarlyStopping
    from nasbench_suite.live_training.oracle import LiveOracle
    from nasbench_suite.live_training.scale import LiveScale, subset
    from nasbench_suite.live_training.sources import live_dataset
    from nasbench_suite.space import CellSpace

    space = CellSpace(tuple(settings["ops"]), int(settings["nodes"]))
    scale = LiveScale(**settings["scale"])
    in_table = space == store.space
    datasets: dict[str, Any] = {}

    def make(strategy: str, dataset: str, run: int, rng: np.random.Generator) -> LiveOracle:
        if dataset not in datasets:
            full = live_dataset(dataset, settings["images"], settings["splits"])
            datasets[dataset] = subset(full, scale, np.random.default_rng(spec.seed))
        return LiveOracle(
            space,
            datasets[dataset],
            spec.budget,
            rng=rng,
            scale=scale,
            device=settings["device"],
            compile_model=settings.get("compile", False),
            workdir=out / "live" / f"{strategy}-{dataset}-{run:04d}",
            stopping=EarlyStopping(schedule=scale.epochs) if settings["early_stop"] else None,
            constraint=spec.constraint,
            objective=spec.objective,
            arch_index=store.index if in_table else space.code,
            progress=progress,
        )

    return make
