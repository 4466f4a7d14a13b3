"""The suite's exception types.

Every error a user can cause is a `SuiteError`: its message says what is wrong and what is valid, and
the CLI prints it as one line with a non-zero exit code. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


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


def unknown(kind: str, got: object, valid: Iterable[object], where: str = "") -> UnknownNameError:
    """The one message template for names outside a known set: `unknown metric 'acc' for cifar10; valid: ...`."""
    choices = ", ".join(str(v) for v in valid)
    return UnknownNameError(f"unknown {kind} {got!r}{f' for {where}' if where else ''}; valid: {choices}")
