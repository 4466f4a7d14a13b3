"""The validation accuracy an evaluation shows, looked up in the store with the protocol's noise.

- `random` shows one seed's result per evaluation, drawn from the seeds that exist for that arch
  (NAS-Bench-201's protocol); evaluating an arch again draws again.
- `mean` shows the seed mean.
Where the store holds only a seed mean (the wide table's 12-epoch results), `random` falls back to the
mean and the fidelity is listed in `noise_fallbacks`; nothing is imputed: a missing mean is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from nasbench_suite.errors import ConfigError, StoreError
from nasbench_suite.protocol import Fidelity
from nasbench_suite.store import Store


class Noise(StrEnum):
    RANDOM = "random"
    MEAN = "mean"


def parse_noise(noise: Noise | str) -> Noise:
    if noise in tuple(Noise):
        return Noise(noise)
    raise ConfigError(f"noise must be one of {', '.join(Noise)}, got {noise!r}")


@dataclass(frozen=True)
class _FidelityTable:
    values: np.ndarray  # (n_archs, 1 + n_seeds, n_points) memory map; column 0 is the seed mean
    point: int
    has_seeds: bool


class ValidationLookup:
    """Validation accuracy of any arch index at every fidelity of the given schedules of `dataset`."""

    def __init__(self, store: Store, dataset: str, schedules: list[int], noise: Noise) -> None:
        self.dataset = dataset
        self.noise = noise
        self.noise_fallbacks: set[Fidelity] = set()
        self._tables: dict[Fidelity, _FidelityTable] = {}
        self._store = store
        for s in schedules:
            valid = store.table(dataset, "valid_acc", s)
            for k, epoch in enumerate(valid.spec.points):
                self._tables[Fidelity(epoch, s)] = _FidelityTable(valid.values, k, bool(valid.spec.seeds))

    @property
    def fidelities(self) -> tuple[Fidelity, ...]:
        return tuple(sorted(self._tables))

    def __contains__(self, fidelity: object) -> bool:
        return fidelity in self._tables

    def fallback_fidelities(self) -> list[Fidelity]:
        """Fidelities where `random` noise must fall back to the mean (the store has no per-seed values)."""
        if self.noise is Noise.MEAN:
            return []
        return [f for f, t in self._tables.items() if not t.has_seeds]

    def value(self, index: int, fidelity: Fidelity, rng: np.random.Generator) -> float:
        """The accuracy one evaluation of arch `index` at `fidelity` shows (draws from `rng` under
        `random` noise where seeds exist)."""
        return self.reader(fidelity)(index, rng)

    def reader(self, fidelity: Fidelity) -> Callable[[int, np.random.Generator], float]:
        """`value` at one fidelity, as a function of (index, rng): the oracle resolves the fidelity once
        and calls it per evaluation. Seed means are read from a list built once per open store (a list
        item is the same float as the array's element, several times cheaper to read)."""
        table = self._tables[fidelity]
        if self.noise is Noise.RANDOM and table.has_seeds:
            return lambda index, rng: self._draw(index, fidelity, table, rng)
        means: list[float] = self._store.derived(
            ("valid_means", self.dataset, fidelity), lambda: table.values[:, 0, table.point].tolist()
        )
        # `random` noise without seeds to draw from falls back to the mean: recorded at the first read
        fallback = [self.noise is Noise.RANDOM]

        def mean(index: int, _: np.random.Generator) -> float:
            if fallback[0]:
                self.noise_fallbacks.add(fidelity)
                fallback[0] = False
            value: float = means[index]
            if value != value:
                raise self._missing(index, fidelity)
            return value

        return mean

    def _missing(self, index: int, fidelity: Fidelity) -> StoreError:
        return StoreError(
            f"the store has no {self.dataset} validation accuracy at {fidelity} epochs for arch {index}"
        )

    def _draw(self, index: int, fidelity: Fidelity, table: _FidelityTable, rng: np.random.Generator) -> float:
        """One seed's value of an arch drawn from those that exist; the mean where it has none."""
        seeds = table.values[index, 1:, table.point]
        present = np.flatnonzero(~np.isnan(seeds))
        if len(present):
            return float(seeds[present[rng.integers(len(present))]])
        self.noise_fallbacks.add(fidelity)
        value = float(table.values[index, 0, table.point])
        if value != value:
            raise self._missing(index, fidelity)
        return value
