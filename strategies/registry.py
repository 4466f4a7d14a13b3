"""Name -> strategy class. A strategy module registers its `BaseStrategy` subclasses with `@register`, which
reads the name each declares; importing `strategies` imports every built-in module, so the registry is complete."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import numpy as np

from nasbench_suite.errors import ConfigError, unknown
from nasbench_suite.protocol import BaseStrategy, SearchProblem

_REGISTRY: dict[str, type[BaseStrategy]] = {}
ENTRY_POINT_GROUP = "nasbench_suite.strategies"  # installed packages' strategies (see `external`)
S = TypeVar("S", bound=type[BaseStrategy])


@overload
def register(name_or_class: S) -> S: ...


@overload
def register(name_or_class: str) -> Callable[[S], S]: ...


def register(name_or_class: str | S) -> S | Callable[[S], S]:
    """Class decorator: registers a `BaseStrategy` subclass under the `name` it declares (`@register`),
    or under `name` when it declares that same name (`@register("name")`). Nothing is set on the class."""
    if isinstance(name_or_class, str):
        expected = name_or_class
        return lambda cls: _register(cls, expected)
    return _register(name_or_class, None)


def _register(cls: S, expected: str | None) -> S:
    where = f"{cls.__module__}.{cls.__qualname__}"
    if not (isinstance(cls, type) and issubclass(cls, BaseStrategy)):
        raise ConfigError(
            f"{where} cannot be registered: a strategy class inherits nasbench_suite.protocol.BaseStrategy "
            'and declares its name (name = "..."), whether it is asynchronous and what it requires'
        )
    name = cls.__dict__.get("name")  # its own: a subclass does not take its parent's name
    if not isinstance(name, str) or not name or (expected is not None and name != expected):
        raise ConfigError(
            f"{where} declares name = {name!r}"
            + (f" but is registered as {expected!r}" if expected is not None else "")
            + "; a registered strategy declares the name it is registered under"
        )
    if name in _REGISTRY:
        first = _REGISTRY[name]
        raise ConfigError(
            f"strategy {name!r} is registered twice, by {first.__module__}.{first.__qualname__} and by "
            f"{where}; rename one (a module imported both by name and as a file counts twice)"
        )
    _REGISTRY[name] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY)


def strategy_class(name: str) -> type[BaseStrategy]:
    if name not in _REGISTRY:
        raise unknown(
            "strategy",
            name,
            names(),
            hint="a strategy from outside the suite must be imported first: --strategy-module MODULE_OR_FILE on "
            f"the command line, an installed package's entry point in the group {ENTRY_POINT_GROUP!r}, or "
            "`import` its module in Python.",
        )
    return _REGISTRY[name]


def summary(name: str) -> str:
    """First line of the strategy's docstring."""
    return (inspect.getdoc(strategy_class(name)) or "").splitlines()[0]


def hyperparameters(name: str) -> dict[str, Any]:
    """The keyword-only hyperparameters and their defaults."""
    params = inspect.signature(strategy_class(name).__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def build(
    name: str, problem: SearchProblem, rng: np.random.Generator, hparams: Mapping[str, Any] | None = None
) -> BaseStrategy:
    """Construct strategy `name`; unknown hyperparameter names fail with the valid ones listed."""
    cls = strategy_class(name)
    hparams = dict(hparams or {})
    valid = hyperparameters(name)
    extra = sorted(set(hparams) - set(valid))
    if extra:
        raise ConfigError(
            f"strategy {name!r} has no hyperparameter {', '.join(extra)}; valid: {', '.join(valid) or 'none'}"
        )
    return cls(problem, rng, **hparams)


def check_hyperparameters(
    name: str, problem: SearchProblem, hparams: Mapping[str, Any] | None = None
) -> None:
    """Fail before any run starts: build the strategy once with a throwaway generator."""
    build(name, problem, np.random.default_rng(0), hparams)
