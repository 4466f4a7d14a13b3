"""Reading a search trajectory at a point in (simulated) time."""

from __future__ import annotations

import numpy as np


def value_at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    """The trajectory's value at time `t`, as the NATS-Bench paper's tables compute it.

    NATS-Bench (`query_performance` in its plotting scripts) takes the two recorded points whose times
    are nearest to `t` and interpolates linearly between them (extrapolating when both lie on one side).
    With a single point, its value. Ties in time keep the first point.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if len(times) == 0:
        return float("nan")
    if len(times) == 1:
        return float(values[0])
    a, b = np.argsort(np.abs(times - t), kind="stable")[:2]
    if times[a] == times[b]:
        return float(values[a])
    w = (t - times[a]) / (times[b] - times[a])
    return float((1 - w) * values[a] + w * values[b])


def step_at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    """The last recorded value at or before `t` (the incumbent a user would hold at `t`); NaN before
    the first evaluation."""
    k = int(np.searchsorted(np.asarray(times), t, side="right"))
    return float(values[k - 1]) if k else float("nan")
