"""Synthetic stores, the one place they are built (for the contract checks and the suite's own tests):

- `build_synthetic_store`: every cell of a small or a larger-than-NAS-Bench-201 space, with accuracies
  a model can learn (the contract checks), and `problem_extras`, the constraint / objective that
  strategies which need one get;
- `build_known_store`: 27 cells whose every value is a simple formula of the index (unit tests);
- `build_curve_store`: a 27-epoch learning curve per cell, re-ranked at every epoch (multi-fidelity tests).
"""

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
    needs = strategy_class(name).requires
    extras: dict[str, Any] = {}
    if "constraint" in needs:
        latency = np.asarray(store.table(DATASET, "latency_s").column("mean"))
        extras["constraint"] = Constraint("latency_s", float(np.nanmedian(latency)))
    if "objective" in needs:
        extras["objective"] = "flops_m"
    return extras


KNOWN_SPACE = CellSpace(("none", "skip_connect", "conv"), 3)  # 3 edges, 27 cells


def build_known_store(path: Path | str) -> Path:
    """27 archs in reversed code order (so index != code). valid_acc@200 per seed (7, 8; seed 8 missing
    for odd indices), valid_acc@12 mean only, test_acc@200 mean, per-epoch time = 1 + index / 10 s."""
    archs = list(KNOWN_SPACE.enumerate())[::-1]
    ops = np.array([a.ops for a in archs], dtype=np.int8)
    n = len(archs)
    idx = np.arange(n, dtype=np.float64)
    builder = StoreBuilder(KNOWN_SPACE, ops, provenance={"importer": "test"})
    for ds in ("cifar10-valid", "cifar100", "ImageNet16-120"):
        v200 = np.full((n, 3, 1), np.nan)
        v200[:, 1, 0] = 50 + idx  # seed 7
        v200[::2, 2, 0] = 52 + idx[::2]  # seed 8, even indices only
        v200[:, 0, 0] = np.nanmean(v200[:, 1:, 0], axis=1)
        builder.add(TableSpec(ds, "valid_acc", 200, (7, 8), (200,)), v200)
        builder.add(TableSpec(ds, "valid_acc", 12, (), (12,)), (30 + idx).reshape(n, 1, 1))
        for s in (12, 200):
            builder.add(TableSpec(ds, "train_time_s", s, (), (s,)), ((1 + idx / 10) * s).reshape(n, 1, 1))
        if ds != "cifar10-valid":
            builder.add(TableSpec(ds, "test_acc", 200, (), (200,)), (60 + idx).reshape(n, 1, 1))
    builder.add(TableSpec("cifar10", "test_acc", 200, (), (200,)), (70 + idx).reshape(n, 1, 1))
    builder.add(TableSpec("cifar10-valid", "params_mb"), 0.1 * idx)
    return builder.write(Path(path))


CURVE_SPACE = CellSpace(("none", "skip_connect", "conv"), 4)  # 6 edges, 729 cells
CURVE_EPOCHS = 27


def build_curve_store(path: Path | str) -> Path:
    """cifar100 with a 27-epoch learning curve (every epoch recorded, mean only) whose values are drawn
    independently per (arch, epoch), so the ranking changes from rung to rung."""
    archs = list(CURVE_SPACE.enumerate())
    n = len(archs)
    rng = np.random.default_rng(0)
    builder = StoreBuilder(CURVE_SPACE, np.array([a.ops for a in archs], dtype=np.int8))
    curve = 40 + 50 * rng.random((n, 1, CURVE_EPOCHS))
    epochs = CURVE_EPOCHS
    builder.add(TableSpec("cifar100", "valid_acc", epochs, (), tuple(range(1, epochs + 1))), curve)
    builder.add(TableSpec("cifar100", "train_time_s", epochs, (), (epochs,)), np.full((n, 1, 1), 27.0))
    builder.add(TableSpec("cifar100", "valid_acc", 200, (), (200,)), curve[:, :, -1:])
    builder.add(TableSpec("cifar100", "test_acc", 200, (), (200,)), curve[:, :, -1:] - 1)
    return builder.write(Path(path))
