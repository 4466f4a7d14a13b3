"""Synthetic stores for the contract checks: every cell of a small or a larger-than-NAS-Bench-201 space,
with accuracies a model can learn, and the constraint / objective that strategies which need one get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.protocol import Constraint
from nasbench_suite.space import CellSpace
from nasbench_suite.store import Store, StoreBuilder, TableSpec
from nasbench_suite.strategies.registry import strategy_class

DATASET = "cifar10-valid"
SCHEDULE = 12
NB201 = CellSpace.nb201()
# 27 cells: duplicates are unavoidable within a few dozen evaluations.
TINY_SPACE = CellSpace(("none", "skip_connect", "nor_conv_3x3"), 3)
# Larger than NAS-Bench-201 in ops (6 ops x 6 edges = 46656 cells) and in nodes (3 ops x 10 edges = 59049).
WIDE_SPACE = CellSpace((*NB201.ops, "sep_conv_3x3"), 4)
DEEP_SPACE = CellSpace(("none", "skip_connect", "nor_conv_3x3"), 5)


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
        space, ops.astype(np.int8), provenance={"importer": "nasbench_suite.testing", "seed": seed}
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
