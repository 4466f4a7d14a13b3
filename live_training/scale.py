"""The scale a live run trains at: network width and depth, schedule, and how much of the data it sees.

NAS-Bench-201 itself trains C = 16 channels, 5 cells per stage, on all of the split for 12 or 200
epochs. On a CPU that takes hours per arch, so validation runs use a reduced scale (fewer channels and
cells, a random subset of the images, a short schedule) and report the correlation with the table, not
its accuracies. `LiveScale.nb201(epochs)` is the benchmark's own scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.space import Arch, CellSpace

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class LiveScale:
    """channels/cells_per_stage: the network; epochs: the schedule (cosine over exactly these epochs);
    train_subset/eval_subset: random images kept from the train and from the valid and test splits each
    (None keeps all); batch_size: the recipe's (NAS-Bench-201: 256)."""

    channels: int = 16
    cells_per_stage: int = 5
    epochs: int = 12
    train_subset: int | None = None
    eval_subset: int | None = None
    batch_size: int = 256

    def __post_init__(self) -> None:
        for name in ("channels", "cells_per_stage", "epochs", "batch_size", "train_subset", "eval_subset"):
            value = getattr(self, name)
            if value is None and name.endswith("subset"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")

    @classmethod
    def nb201(cls, epochs: int = 12) -> LiveScale:
        return cls(epochs=epochs)

    @classmethod
    def cpu_small(cls) -> LiveScale:
        """The scale `validate live` uses by default on a CPU: about 15 s per arch on one core. Measured
        on 20 spread archs: 1 cell per stage ranked pool/skip cells at chance (the reduction blocks'
        convs dominate), 2 cells did not; batch 64 gives 4x the steps of 256 on 1500 images."""
        return cls(
            channels=8, cells_per_stage=2, epochs=4, train_subset=1500, eval_subset=1000, batch_size=64
        )

    def network(self, space: CellSpace, arch: Arch, *, num_classes: int, seed: int) -> nn.Module:
        """The NAS-Bench-201 network of `arch` at this width and depth, initialized from `seed`."""
        import torch

        from nasbench_suite.live_training.model import build_network

        generator = torch.Generator().manual_seed(seed)
        return build_network(
            space,
            arch,
            num_classes=num_classes,
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
            generator=generator,
        )

    def with_(self, **changes: int | None) -> LiveScale:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, int | None]:
        return asdict(self)

    def __str__(self) -> str:
        data = "all" if self.train_subset is None else f"{self.train_subset}"
        return (
            f"C={self.channels}, {self.cells_per_stage} cell(s)/stage, {self.epochs} epochs, "
            f"{data} train images, batch {self.batch_size}"
        )


def subset(data: LiveDataset, scale: LiveScale, rng: np.random.Generator) -> LiveDataset:
    """`data` cut to the scale's subset sizes: images drawn without replacement, kept in source order."""

    def take(x: np.ndarray | None, y: np.ndarray | None, n: int | None) -> tuple:
        if x is None or y is None or n is None or n >= len(x):
            return x, y
        keep = np.sort(rng.choice(len(x), size=n, replace=False))
        return x[keep], y[keep]

    train_x, train_y = take(data.train_x, data.train_y, scale.train_subset)
    valid_x, valid_y = take(data.valid_x, data.valid_y, scale.eval_subset)
    test_x, test_y = take(data.test_x, data.test_y, scale.eval_subset)
    return replace(
        data, train_x=train_x, train_y=train_y, valid_x=valid_x, valid_y=valid_y, test_x=test_x, test_y=test_y
    )
