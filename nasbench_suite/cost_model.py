"""What an evaluation or measurement costs in simulated seconds, from the table's recorded times.

- Training `epoch` epochs of the `schedule`-epoch recipe costs the table's per-epoch training time of
  that schedule x `epoch`, plus one validation pass. The pass uses the store's measured `valid_time_s`
  where it has one (the official archive), otherwise `datasets.validation_epoch_fraction` training
  epochs (the wide table lacks validation times).
- FLOPs, parameters and latencies cost nothing (computed or measured outside the training budget, as
  HW-NAS-Bench treats them); a zero-cost proxy costs one forward pass over a minibatch of `PROXY_BATCH`
  images: `PROXY_BATCH / n_train / 3` training epochs of the default schedule.
"""

from __future__ import annotations

import numpy as np

from nasbench_suite.datasets import FORWARD_FRACTION, dataset_info, validation_epoch_fraction
from nasbench_suite.errors import StoreError
from nasbench_suite.protocol import Fidelity
from nasbench_suite.store import Store

PROXY_BATCH = 128  # images in the minibatch a zero-cost proxy scores an arch on (NASWOT uses 128)
PROXY_PREFIX = "zc_"


class CostModel:
    """Simulated seconds per arch index for the schedules of `dataset` that have training times.
    Read-only once built: every run of a process shares one (`of`)."""

    @classmethod
    def of(cls, store: Store, dataset: str, schedules: list[int], default_schedule: int) -> CostModel:
        """The store's cost model for these arguments, built once per open store."""
        key = ("cost_model", dataset, tuple(schedules), default_schedule)
        return store.derived(key, lambda: cls(store, dataset, schedules, default_schedule))

    def __init__(self, store: Store, dataset: str, schedules: list[int], default_schedule: int) -> None:
        fraction = validation_epoch_fraction(dataset)
        self._per_epoch_s: dict[int, np.ndarray] = {}
        self._valid_pass_s: dict[int, np.ndarray] = {}
        for s in schedules:
            if not store.has(dataset, "train_time_s", s):
                continue  # a schedule without training times cannot be priced
            self._per_epoch_s[s] = np.asarray(store.table(dataset, "train_time_s", s).column("mean")) / s
            pass_s = self._per_epoch_s[s] * fraction
            if store.has(dataset, "valid_time_s", s):
                measured = np.asarray(store.table(dataset, "valid_time_s", s).column("mean"))
                pass_s = np.where(np.isnan(measured), pass_s, measured)
            self._valid_pass_s[s] = pass_s
        if default_schedule not in self._per_epoch_s:
            raise StoreError(f"the store has no training times for {dataset} at {default_schedule} epochs")
        self.schedules = sorted(self._per_epoch_s)
        n_train = dataset_info(dataset).n_train
        self._proxy_s = self._per_epoch_s[default_schedule] * PROXY_BATCH / n_train * FORWARD_FRACTION
        for array in (*self._per_epoch_s.values(), *self._valid_pass_s.values(), self._proxy_s):
            array.flags.writeable = False
        self._training: dict[Fidelity, list[float]] = {}  # `training_all` as floats, per fidelity asked

    def training(self, index: int, fidelity: Fidelity) -> float:
        """Seconds to train arch `index` for `fidelity.epoch` epochs and validate it once (the same
        float as `training_all`'s element: numpy rounds an array's products and sums as a scalar's)."""
        return self.training_costs(fidelity)[index]

    def training_costs(self, fidelity: Fidelity) -> list[float]:
        """`training` of every arch index at `fidelity`, as a list built once (read it, never change it)."""
        costs = self._training.get(fidelity)
        if costs is None:
            costs = self._training[fidelity] = self.training_all(fidelity).tolist()
        return costs

    def training_all(self, fidelity: Fidelity) -> np.ndarray:
        """`training` for every arch index at once (NaN where the table has no time)."""
        costs: np.ndarray = (
            self._per_epoch_s[fidelity.schedule] * fidelity.epoch + self._valid_pass_s[fidelity.schedule]
        )
        return costs

    def measurement(self, index: int, metric: str) -> float:
        """Seconds to measure `metric` of arch `index`: a proxy's forward pass, nothing for the rest."""
        if metric.startswith(PROXY_PREFIX):
            return float(self._proxy_s[index])
        return 0.0
