"""The suite's exception types.

Every error a user can cause is a `SuiteError`: its message says what is wrong and what is valid, and
the CLI prints it as one line with a non-zero exit code. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class SuiteError(Exception):
    """Base class of user-facing errors."""


class InvalidArchError(SuiteError, ValueError):
    """An architecture string or op tuple that does not belong to the search space."""


class UnknownNameError(SuiteError, KeyError):
    """A dataset, metric, seed, schedule or strategy name that does not exist."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class StoreError(SuiteError):
    """A benchmark store that is missing, corrupt, or lacks the requested values."""


class ConfigError(SuiteError, ValueError):
    """An invalid budget, hyperparameter or comparison setting."""


class ResultsError(SuiteError):
    """A results directory that cannot be used as asked."""


def unknown(
    kind: str, got: object, valid: Iterable[object], where: str = "", hint: str = ""
) -> UnknownNameError:
    """The one message template for names outside a known set, with the closest valid name when one is
    close: `unknown strategy 'raa'; valid: random, rea, ...; did you mean 'rea'?` (then `hint`, if any)."""
    names = [str(v) for v in valid]
    close = closest(str(got), names)
    return UnknownNameError(
        f"unknown {kind} {got!r}{f' for {where}' if where else ''}; valid: {', '.join(names)}"
        + (f"; did you mean {close!r}?" if close is not None else "")
        + ((f" {hint[:1].upper()}{hint[1:]}" if close is not None else f"; {hint}") if hint else "")
    )


def closest(got: str, valid: Sequence[str]) -> str | None:
    """The valid name that `got` most likely meant: the same up to case, else difflib's closest match."""
    folded = {v.casefold(): v for v in valid}
    if got.casefold() in folded:
        return folded[got.casefold()]
    match = difflib.get_close_matches(got.casefold(), list(folded), n=1, cutoff=0.6)
    return folded[match[0]] if match else None
