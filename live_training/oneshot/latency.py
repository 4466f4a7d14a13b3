"""Latency-aware one-shot search: FBNet-style expected latency as a penalty on the architecture loss.

Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural Architecture
Search", CVPR 2019, add the expected latency of the relaxed network, sum over edges of softmax(alpha) x
per-op latency, to the loss. Their per-op latency table is measured on the phone; here it is fitted by
least squares to the table's per-arch hardware latencies of one device (HW-NAS-Bench / HELP columns
`hw_latency_ms/DEVICE`): latency(cell) ~ intercept + sum over edges of t[edge, op of the edge], over every
cell of the space. `LatencyModel.r2` says how much of the per-arch variance this additive model explains.

The penalty serves a hard limit L (`--constraint hw_latency_ms/DEVICE<=L`): weight * relu(E[lat] -
(1 - margin) L) / L, so it is zero well inside the limit and pushes alpha towards cheaper ops as the
expected latency nears or passes it. Deviation from FBNet: a hinge towards a limit instead of their
multiplicative alpha log(LAT)^beta factor, which trades latency off without a limit. The found cell's true
latency is looked up in the table (reporting only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nasbench_suite.errors import ConfigError
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store


@dataclass(frozen=True, eq=False)
class LatencyModel:
    """intercept + sum_e per_op[e, op_e] in the metric's unit; r2 of the fit over `n` cells."""

    metric: str
    intercept: float
    per_op: np.ndarray  # (n_edges, n_ops)
    r2: float
    n: int

    def predict(self, arch: Arch) -> float:
        return self.intercept + float(sum(self.per_op[e, o] for e, o in enumerate(arch.ops)))

    def expected(self, probs: torch.Tensor) -> torch.Tensor:
        """E[latency] when edge e runs op o with probability probs[e, o]."""
        table = torch.as_tensor(self.per_op, dtype=probs.dtype, device=probs.device)
        return self.intercept + (probs * table).sum()


def fit_latency(store: Store, dataset: str, metric: str) -> LatencyModel:
    """Least-squares fit of the additive per-op model to `metric` of `dataset` over the store's archs."""
    if not metric.startswith("hw_latency_ms/") or not store.has(dataset, metric):
        devices = [m for m in store.metrics(dataset) if m.startswith("hw_latency_ms/")]
        raise ConfigError(
            f"latency-aware search needs a hardware latency of {dataset}, e.g. --constraint "
            f"'{devices[0] if devices else 'hw_latency_ms/DEVICE'}<=10'; got {metric!r}"
        )
    space: CellSpace = store.space
    y = np.asarray(store.table(dataset, metric).column("mean"), dtype=np.float64)
    ops = np.asarray(store.arch_ops)
    keep = np.isfinite(y)
    design = np.zeros((int(keep.sum()), 1 + space.n_edges * space.n_ops))
    design[:, 0] = 1.0
    rows = np.arange(len(design))[:, None]
    design[rows, 1 + np.arange(space.n_edges) * space.n_ops + ops[keep]] = 1.0
    coef, *_ = np.linalg.lstsq(design, y[keep], rcond=None)
    residual = y[keep] - design @ coef
    r2 = 1.0 - float(residual.var() / y[keep].var())
    per_op = coef[1:].reshape(space.n_edges, space.n_ops)
    # the one-hot columns of an edge sum to the intercept column: move each edge's mean into the intercept
    means = per_op.mean(axis=1, keepdims=True)
    return LatencyModel(metric, float(coef[0] + means.sum()), per_op - means, r2, int(keep.sum()))


@dataclass(frozen=True, eq=False)
class LatencyPenalty:
    """weight * relu(E[lat] - (1 - margin) limit) / limit on the softmax of the architecture parameters."""

    model: LatencyModel
    limit: float
    weight: float = 2.0
    margin: float = 0.05

    def __post_init__(self) -> None:
        if not self.limit > 0:
            raise ConfigError(f"the latency limit must be > 0, got {self.limit!r}")

    def __call__(self, probs: torch.Tensor) -> torch.Tensor:
        excess = self.model.expected(probs) - (1.0 - self.margin) * self.limit
        return self.weight * torch.relu(excess) / self.limit
