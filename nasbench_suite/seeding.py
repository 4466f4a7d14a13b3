"""The one place where seeds become random generators."""

from __future__ import annotations

import numpy as np

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Turn a seed, a SeedSequence or a Generator into a Generator (a Generator passes through)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def run_seed_sequence(root_seed: int, run: int) -> np.random.SeedSequence:
    """The seed sequence of run `run` of a comparison with root seed `root_seed`.

    Identical to `SeedSequence(root_seed).spawn(n)[run]` for any n > run, so a single run can be
    reproduced without building the whole grid, and run r of every strategy gets the same stream
    (runs are paired by seed, which the significance tests use).
    """
    return np.random.SeedSequence(entropy=root_seed, spawn_key=(run,))
