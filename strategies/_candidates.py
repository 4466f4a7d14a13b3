"""Helpers shared by the model-based strategies: validation of integer/real hyperparameters and the
candidate pools (mutants of the best archs, fresh random archs) that their acquisition functions rank."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import Observation
from nasbench_suite.space import Arch, CellSpace

PATIENCE = 5  # official BANANAS get_candidates: mutate at most num_parents * 5 of the best archs
EXHAUSTIVE_BELOW = 4096  # spaces this small are enumerated to find unseen archs


def require_int(
    owner: str, name: str, value: object, low: int, high: int | None = None, *, high_name: str = ""
) -> int:
    """A whole number (True is not 1) in `low`..`high` (no upper end by default); `high_name` names the
    hyperparameter that sets `high`, for the message."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        upper = f"{high_name} ({high})" if high_name else f"{high}"
        rule = f"an integer >= {low}" if high is None else f"an integer in {low}..{upper}"
        raise ConfigError(f"{owner}: {name} must be {rule}, got {value!r}")
    return value


def require_positive(owner: str, name: str, value: object, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        bound = f" and <= {high:g}" if high < math.inf else ""
        raise ConfigError(f"{owner}: {name} must be > 0{bound}, got {value!r}")
    return float(value)


def require_real(
    owner: str, name: str, value: object, low: float, high: float, *, open_low: bool, open_high: bool
) -> float:
    """A finite real number between `low` and `high`, each end open or closed as told."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    x = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not (ok and (low < x if open_low else low <= x) and (x < high if open_high else x <= high)):
        interval = f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        if low == -math.inf:  # no lower end: say so plainly
            interval = f"{'<' if open_high else '<='} {high:g}"
        raise ConfigError(f"{owner}: {name} must be a finite number {interval}, got {value!r}")
    return x


# ---------------------------------------------------------------- candidates (acquisition optimizer)
def ranked_archs(observations: Iterable[Observation]) -> list[Arch]:
    """Distinct archs, best observed validation accuracy first (first seen first on ties)."""
    ordered = sorted(observations, key=lambda o: -o.valid_acc)  # stable: ties keep arrival order
    return list(dict.fromkeys(o.arch for o in ordered))


def mutant_ops(
    space: CellSpace, parent: Arch, count: int, edge_prob: float, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """The op tuples of `count` mutants of `parent`: every edge independently gets a different uniform
    op with probability `edge_prob` (a mutant may equal its parent)."""
    ops = np.asarray(parent.ops, dtype=np.int64)
    flip = rng.random((count, space.n_edges)) < edge_prob
    shift = rng.integers(1, space.n_ops, size=(count, space.n_edges))
    children = (ops + flip * shift) % space.n_ops
    return [tuple(row) for row in children.tolist()]


def mutation_candidates(
    space: CellSpace,
    ranked: Sequence[Arch],
    exclude: set[Arch],
    rng: np.random.Generator,
    *,
    num: int,
    num_parents: int,
    edge_prob: float,
) -> list[Arch]:
    """BANANAS' acquisition optimizer (official `get_candidates`, 'mutation'): `num // num_parents`
    mutants of each of the best archs, skipping archs in `exclude` and repeats, moving on to the next
    best arch (at most `num_parents * 5`) until `num` candidates exist. Repeats are found on op tuples,
    whose hash is C's, not the arch dataclass's Python-level one (a third of a gp_bo step's pool)."""
    out: list[Arch] = []
    seen = {arch.ops for arch in exclude}
    for parent in ranked[: num_parents * PATIENCE]:
        if len(out) >= num:
            break
        for ops in mutant_ops(space, parent, max(num // num_parents, 1), edge_prob, rng):
            if ops not in seen:
                seen.add(ops)
                out.append(Arch(ops))
    return out


def fresh_random(
    space: CellSpace, exclude: Iterable[Arch], count: int, rng: np.random.Generator
) -> list[Arch]:
    """Up to `count` distinct uniform samples outside `exclude`: drawn from the list of unseen archs in
    a small space, else by rejection with at most 4 * count + 100 draws (so a nearly exhausted space
    returns fewer instead of looping). Repeats are found on op tuples, as in `mutation_candidates`."""
    seen = {arch.ops for arch in exclude}
    if space.size <= EXHAUSTIVE_BELOW:
        unseen = [a for a in space.enumerate() if a.ops not in seen]
        return [unseen[int(i)] for i in rng.permutation(len(unseen))[:count]]
    out: list[Arch] = []
    draws = 4 * count + 100
    while len(out) < count and draws > 0:
        # the archs that one-at-a-time sampling would draw before it could stop (each adds at most
        # one), in one call: same archs, same generator state
        block = space.sample_many(rng, min(count - len(out), draws))
        draws -= len(block)
        for arch in block:
            if arch.ops not in seen:
                seen.add(arch.ops)
                out.append(arch)
    return out


# ---------------------------------------------------------------- the neural predictor
