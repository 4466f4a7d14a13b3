"""Strategies from outside the suite: modules named on the command line (`--strategy-module`) and the
entry points of installed packages (group `nasbench_suite.strategies`).

A module registers its strategies when it is imported (`@register("name")`); this module imports them and
says, for the strategies of a comparison, which modules every process has to import again (recorded in
the comparison's config.json as `strategy_modules`, so a resume, a report and a spawned worker need no
command-line flag). A package declares its entry point in its pyproject.toml:

    [project.entry-points."nasbench_suite.strategies"]
    hillclimb = "my_package.hillclimb"        # a module (or "module:object"); importing it registers
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points

from nasbench_suite.errors import ConfigError
from nasbench_suite.imports import load_all, normalize, source_of
from nasbench_suite.strategies.registry import ENTRY_POINT_GROUP, strategy_class

BUILTIN_PREFIX = "nasbench_suite.strategies."


def load_entry_points() -> tuple[str, ...]:
    """Import every installed entry point of the group; returns their modules. A broken one fails in one
    line that names its package."""
    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except ConfigError:
            raise
        except Exception as exc:
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "an unknown package"
            raise ConfigError(
                f"the strategy entry point {ep.name!r} = {ep.value!r} of {dist} failed to load: "
                f"{type(exc).__name__}: {exc}; fix or uninstall that package"
            ) from exc
        loaded.append(ep.module)
    return tuple(loaded)


def load(modules: Iterable[str] = ()) -> None:
    """Import `modules` (dotted names or .py files) and every installed entry point, so that their
    strategies are registered.

    >>> load(["my_strategies.py"])            # doctest: +SKIP
    """
    load_all(modules)
    load_entry_points()


def check_registers(modules: Iterable[str]) -> None:
    """ConfigError naming the first of `modules` (as given: a dotted name or a .py file, imported
    already) that registered no strategy: a module named on the command line that defines none is a
    mistake (a typo in the file, a class without `@register`), not something to pass over silently."""
    from nasbench_suite.imports import load
    from nasbench_suite.strategies.registry import names

    defined = {strategy_class(name).__module__ for name in names()}
    for text in modules:
        module = load(text).__name__
        if not any(m == module or m.startswith(f"{module}.") for m in defined):
            raise ConfigError(
                f"strategy module {text!r} registered no strategy: decorate a BaseStrategy subclass in it "
                "with @register (from nasbench_suite.strategies.registry import register)"
            )


def is_builtin(name: str) -> bool:
    return strategy_class(name).__module__.startswith(BUILTIN_PREFIX)


def modules_of(names: Sequence[str]) -> tuple[str, ...]:
    """What another process must import to build strategies `names`: for each one from outside the suite
    its module's name, or its file for a module loaded from a file; in order, without repeats. A class
    defined in a script or notebook (`__main__`) is not importable elsewhere: it runs in this process or
    in forked workers only, and a resume must define it again."""
    found: dict[str, None] = {}
    for name in names:
        module = strategy_class(name).__module__
        if not is_builtin(name) and module != "__main__":
            found[normalize(source_of(module))] = None
    return tuple(found)
