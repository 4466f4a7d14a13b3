"""Learning-curve extrapolation and early stopping for live training runs.

A live run trains one architecture for `schedule` epochs of the NB201 recipe and records the valid
accuracy (percent) after every epoch. `EarlyStopping` ends a run once even an optimistic extrapolation
of its final accuracy cannot beat the incumbent (the live oracle passes the best validation accuracy
seen so far at any fidelity, which is never above the best final one: the safe side).

Why not a parametric fit alone: the recipe anneals the lr with a cosine to ~0, so accuracy climbs
steeply in the last ~25% of the schedule. Saturating families fitted to a partial curve (Domhan et al.
2015, IJCAI, "Speeding up automatic hyperparameter optimization of deep neural networks by extrapolation
of learning curves": pow3 and friends) assume diminishing returns and so predict too low a final value:
on the real NATS-Bench sample curves every pow3 fit over the first 25..150 of 200 epochs falls 5.6 to 36
points short of the final value (see the tests). A rule that stops on such a fit drops good archs.
`fit_power_law` is kept as a documented baseline and for the point estimate when no references exist.

The rule instead borrows the end-of-schedule gain from `references`: complete curves of earlier runs
with the same schedule (Baker et al. 2017, "Accelerating neural architecture search using performance
prediction", also learn the final value from earlier complete curves; the median stopping rule of
Golovin et al. 2017, Google Vizier, compares a run with the other runs at the same epoch). The gain is
transferred as a ratio of errors (100 - accuracy) from each reference's best-so-far value at epoch t to
its final value: on the 3 real archs it transfers better between archs than an absolute gain
(leave-one-arch-out mean absolute error of the median prediction at t in 50..195 on cifar10-valid:
1.35 vs 3.39 points) and, at the default margin, never stops a run that would beat the incumbent where
the absolute gain does once (see the tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
from scipy.optimize import least_squares

from nasbench_suite.errors import ConfigError

__all__ = [
    "ACCURACY_CEILING",
    "EarlyStopping",
    "Extrapolation",
    "ExtrapolationMethod",
    "Pow3",
    "fit_pow3",
    "fit_power_law",
    "reference_predictions",
]

ACCURACY_CEILING = 100.0  # accuracies are in percent
Gain = Literal["error_ratio", "absolute"]
GAINS: tuple[Gain, ...] = ("error_ratio", "absolute")


# ============================================================================ parametric (Domhan et al.)
@dataclass(frozen=True)
class Pow3:
    """Domhan et al.'s pow3 family, acc(x) = c - a * x**(-alpha), x the 1-based epoch."""

    c: float
    a: float
    alpha: float

    def __call__(self, x: float | np.ndarray) -> float | np.ndarray:
        return self.c - self.a * np.power(x, -self.alpha)


def _curve_array(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be a 1-D sequence of finite accuracies, got {values!r}")
    return arr


def fit_pow3(epochs: np.ndarray, acc: np.ndarray) -> Pow3:
    """Least-squares pow3 fit (scipy trust-region reflective) with 0 <= c <= 100, a >= 0 and
    0.01 <= alpha <= 5, so the curve rises and saturates below the accuracy ceiling."""
    x, y = _curve_array(epochs, "epochs"), _curve_array(acc, "acc")
    if len(x) != len(y) or len(x) < 4 or (x <= 0).any():
        raise ConfigError(
            f"`epochs` and `acc` must have the same length >= 4 with epochs > 0 (1-based), "
            f"got {len(x)} epochs (min {x.min() if len(x) else None}) and {len(y)} accuracies"
        )
    c0 = min(float(y.max()), ACCURACY_CEILING)
    start = np.array([c0, max(c0 - float(y[0]), 1e-3), 0.5])

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] - p[1] * x ** (-p[2]) - y

    fit = least_squares(residuals, start, bounds=([0.0, 0.0, 0.01], [ACCURACY_CEILING, np.inf, 5.0]))
    return Pow3(*(float(v) for v in fit.x))


def fit_power_law(epochs: np.ndarray, acc: np.ndarray, at: float) -> float:
    """The pow3 fit of `acc` over the 1-based `epochs`, evaluated at epoch `at`. Biased low under the
    recipe's cosine schedule: it cannot foresee the climb as the lr goes to 0."""
    if not at > 0:
        raise ConfigError(f"`at` must be a 1-based epoch > 0, got {at!r}")
    return float(fit_pow3(epochs, acc)(at))


# ============================================================================ reference-based
def reference_predictions(
    partial: np.ndarray, references: np.ndarray, *, gain: Gain = "error_ratio"
) -> np.ndarray:
    """One prediction of `partial`'s final value per row of `references` (n_refs, schedule).

    With t = len(partial), b = best-so-far max(partial[:t]) and, per reference, b_r = max(r[:t]) and
    f_r = r[-1]: "absolute" predicts b + (f_r - b_r); "error_ratio" predicts 100 - (100 - b) * (100 - f_r)
    / (100 - b_r), i.e. the run keeps the fraction of its remaining error that the reference kept. The
    best-so-far (not the value at t) makes the prediction robust to the large epoch-to-epoch dips of the
    high-lr phase; the references are read the same way, so the gain stays consistent."""
    t = len(partial)
    if references.ndim != 2 or not 1 <= t <= references.shape[1]:
        raise ConfigError(
            f"`references` must be (n_refs, schedule) with 1 <= len(partial) <= schedule, got references of "
            f"shape {references.shape} and len(partial) = {t}"
        )
    best = float(partial.max())
    ref_best, ref_final = references[:, :t].max(axis=1), references[:, -1]
    if gain == "absolute":
        return best + (ref_final - ref_best)
    # a reference already at the ceiling keeps its (zero) error: ratio 1
    room = ACCURACY_CEILING - ref_best
    ratio = np.divide(ACCURACY_CEILING - ref_final, room, out=np.ones_like(room), where=room > 0)
    return ACCURACY_CEILING - (ACCURACY_CEILING - best) * ratio


class ExtrapolationMethod(StrEnum):
    COMPLETE = "complete"  # the curve is complete: its last value
    REFERENCES = "references"  # median / max of the reference predictions
    POWER_LAW = "power_law"  # too few references: pow3 point estimate, ceiling as the bound
    LAST_VALUE = "last_value"  # too few references and < 4 epochs to fit: last value, ceiling as the bound


@dataclass(frozen=True)
class Extrapolation:
    """A partial curve's predicted final accuracy: `point` (the estimate), `optimistic` (an upper bound
    the stopping rule compares with the incumbent), how it was made, from how many references, and the
    number of epochs the partial curve had."""

    point: float
    optimistic: float
    method: ExtrapolationMethod
    n_references: int
    epoch: int


# ============================================================================ the stopping rule
class EarlyStopping:
    """Stop a run when its optimistic extrapolated final accuracy + `margin` < the incumbent.

    Never stops before `min_fraction` of the `schedule` (`min_epochs`), nor before `min_references`
    complete curves exist: without them there is no calibrated estimate of the cosine end gain, and the
    only parametric estimate is biased low, so the rule falls back to never stopping (the bound is the
    accuracy ceiling). The optimistic bound is the max and the point estimate the median over the
    references' predictions (`reference_predictions`); `margin` (accuracy points) covers archs whose end
    gain exceeds every reference's. The default 2 is the smallest margin (of 0, 0.5, 1, 2) that never
    stopped a run which would have beaten the incumbent, over every set of >= 3 completed references drawn
    from the real sample curves (cifar10-valid, 200 and 12 epochs); margin 1 dropped the best arch when
    only the second best had finished (1.87 points short)."""

    def __init__(
        self,
        *,
        schedule: int,
        min_fraction: float = 0.25,
        min_references: int = 3,
        margin: float = 2.0,
        gain: Gain = "error_ratio",
    ) -> None:
        if isinstance(schedule, bool) or not isinstance(schedule, int) or schedule < 2:
            raise ConfigError(
                f"The 'schedule' parameter of EarlyStopping must be an int >= 2. Got {schedule!r} instead."
            )
        if not 0 < min_fraction <= 1:
            raise ConfigError(
                f"The 'min_fraction' parameter of EarlyStopping must be in (0, 1]. Got {min_fraction!r} instead."
            )
        if isinstance(min_references, bool) or not isinstance(min_references, int) or min_references < 1:
            raise ConfigError(
                f"The 'min_references' parameter of EarlyStopping must be an int >= 1. Got {min_references!r} instead."
            )
        if not (math.isfinite(margin) and margin >= 0):
            raise ConfigError(
                f"The 'margin' parameter of EarlyStopping must be a finite float >= 0. Got {margin!r} instead."
            )
        if gain not in GAINS:
            raise ConfigError(
                f"The 'gain' parameter of EarlyStopping must be one of {GAINS}. Got {gain!r} instead."
            )
        self.schedule, self.min_fraction, self.min_references = schedule, min_fraction, min_references
        self.margin, self.gain = float(margin), gain
        self._references = np.empty((0, schedule))  # (n_references, schedule)

    @property
    def min_epochs(self) -> int:
        """Epochs a run completes before it may be stopped: ceil(min_fraction * schedule)."""
        return max(1, math.ceil(self.min_fraction * self.schedule))

    @property
    def n_references(self) -> int:
        return len(self._references)

    def add_reference(self, curve: Sequence[float] | np.ndarray) -> None:
        """Record the valid-accuracy curve of a completed run (one value per epoch of the schedule)."""
        arr = _curve_array(curve, "a reference curve")
        if len(arr) != self.schedule:
            raise ConfigError(
                f"a reference curve must have one value per epoch of the schedule ({self.schedule}), got {len(arr)}"
            )
        self._references = np.vstack([self._references, arr])

    def _partial(self, partial_curve: Sequence[float] | np.ndarray) -> np.ndarray:
        arr = _curve_array(partial_curve, "the partial curve")
        if not 1 <= len(arr) <= self.schedule:
            raise ConfigError(
                f"the partial curve must have 1..{self.schedule} values (one per epoch run), got {len(arr)}"
            )
        return arr

    def extrapolate(self, partial_curve: Sequence[float] | np.ndarray) -> Extrapolation:
        """Predict the final valid accuracy of a run from its first len(partial_curve) epochs."""
        curve = self._partial(partial_curve)
        t, n = len(curve), self.n_references
        if t == self.schedule:
            last = float(curve[-1])
            return Extrapolation(last, last, ExtrapolationMethod.COMPLETE, n, t)
        if n >= self.min_references:
            preds = reference_predictions(curve, self._references, gain=self.gain)
            return Extrapolation(
                float(np.median(preds)), float(preds.max()), ExtrapolationMethod.REFERENCES, n, t
            )
        if t >= 4:
            point = fit_power_law(np.arange(1, t + 1), curve, at=self.schedule)
            return Extrapolation(point, ACCURACY_CEILING, ExtrapolationMethod.POWER_LAW, n, t)
        return Extrapolation(float(curve[-1]), ACCURACY_CEILING, ExtrapolationMethod.LAST_VALUE, n, t)

    def should_stop(self, partial_curve: Sequence[float] | np.ndarray, incumbent: float) -> bool:
        """True when the run with this partial curve should end now: at least `min_epochs` run, not yet
        complete, at least `min_references` references, and optimistic bound + margin < `incumbent`.
        Pass -inf as `incumbent` when there is none."""
        if math.isnan(incumbent):
            raise ConfigError("`incumbent` must be a number (-inf when there is none), got nan")
        curve = self._partial(partial_curve)
        if (
            len(curve) < self.min_epochs
            or len(curve) == self.schedule
            or self.n_references < self.min_references
        ):
            return False
        return self.extrapolate(curve).optimistic + self.margin < incumbent
