"""Starting, resuming and growing a comparison in a results directory (called with its lock held).

A directory's config.json holds the union of every grid run into it: a later command may add runs,
strategies or datasets (runs are paired by seed and stored one file each, so nothing already there
changes), and the order of strategies is ignored. A command that would change the runs already there
(budget, schedule, noise, seed, simulated workers, constraint, objective, live settings, the data, or
the hyperparameters of a strategy the directory already has) is refused with the differing fields:
`budget: 20 evaluations -> 100 evaluations`.

Existing run files are checked against the config (`run_files.check`); the ones that are unreadable
or belong elsewhere are moved to `set-aside/`, named in a warning, and their grid cells are redone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench_suite import run_files
from nasbench_suite.errors import ResultsError
from nasbench_suite.results import CONFIG, check_config, read_config, write_config

Cell = tuple[str, str, int]  # (strategy, dataset, run)


def _show(field: str, value: Any) -> str:
    if value is None:
        return "none"
    if field == "budget" and isinstance(value, Mapping):
        return f"{float(value.get('limit', float('nan'))):g} {value.get('kind')}"
    if field == "schedule":
        return f"{value} epochs"
    if field == "data_checksum":
        return str(value)[:12]
    return repr(value)


def spec_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two configs in a way that would change runs already in the directory,
    one `field: old -> new` per difference (hyperparameters only for strategies in both)."""
    old_settings = run_files.run_settings(old["spec"], old.get("data_checksum", ""))
    new_settings = run_files.run_settings(new["spec"], new.get("data_checksum", ""))
    changes = [
        f"{k.replace('_', ' ')}: {_show(k, old_settings.get(k))} -> {_show(k, new_settings.get(k))}"
        for k in sorted(set(old_settings) | set(new_settings))
        if old_settings.get(k) != new_settings.get(k)
    ]
    old_hp = run_files.normal(old["spec"].get("hparams", {}))
    new_hp = run_files.normal(new["spec"].get("hparams", {}))
    for name in old["spec"]["strategies"]:
        if name in new["spec"]["strategies"] and old_hp.get(name, {}) != new_hp.get(name, {}):
            changes.append(f"hyperparameters of {name}: {old_hp.get(name, {})!r} -> {new_hp.get(name, {})!r}")
    return changes


def merged(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The config of the grown comparison: the union of both grids, the old settings."""
    spec = dict(old["spec"])
    spec["strategies"] = [*old["spec"]["strategies"]] + [
        s for s in new["spec"]["strategies"] if s not in old["spec"]["strategies"]
    ]
    spec["datasets"] = [*old["spec"]["datasets"]] + [
        d for d in new["spec"]["datasets"] if d not in old["spec"]["datasets"]
    ]
    spec["runs"] = max(old["spec"]["runs"], new["spec"]["runs"])
    spec["hparams"] = dict(new["spec"].get("hparams", {})) | dict(old["spec"].get("hparams", {}))
    modules = [*old["spec"].get("strategy_modules", [])]
    modules += [m for m in new["spec"].get("strategy_modules", []) if m not in modules]
    if modules:
        spec["strategy_modules"] = modules
    return dict(old) | {"spec": spec}


@dataclass(frozen=True)
class Todo:
    """The grid cells of one command that have no good run file, in grid order, generated lazily (a
    grid of millions of runs costs no memory); `len` is their number."""

    strategies: tuple[str, ...]
    datasets: tuple[str, ...]
    runs: int
    done: frozenset[Cell]

    def _cells(self) -> Iterator[Cell]:
        return ((s, d, r) for s in self.strategies for d in self.datasets for r in range(self.runs))

    def __iter__(self) -> Iterator[Cell]:
        return (cell for cell in self._cells() if cell not in self.done)

    def __len__(self) -> int:
        grid = len(self.strategies) * len(self.datasets) * self.runs
        in_grid = sum(
            1 for s, d, r in self.done if s in self.strategies and d in self.datasets and r < self.runs
        )
        return grid - in_grid


def remove_leftover_temps(out: Path) -> list[Path]:
    """Remove the temporary files (`.NAME.XXXXXXXX.tmp`, `results.atomic_write_bytes`) that a writer
    killed mid-write left in `out` and `out/runs`, and return them: with the directory's lock held no
    writer owns them, and none was ever a finished file (the rename is what finishes one)."""
    found = [
        path
        for folder in (out, out / run_files.RUNS)
        if folder.is_dir()
        for path in folder.iterdir()
        if path.name.startswith(".") and path.name.endswith(".tmp") and path.is_file()
    ]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def prepare(out: Path, config: Mapping[str, Any]) -> Todo:
    """Write, check or grow `out/config.json` for `config` (the command's) and return the cells still
    to run, after removing what a writer killed mid-write left (`remove_leftover_temps`). Call with the
    directory's lock held."""
    out = Path(out)
    remove_leftover_temps(out)
    check_config(config, out / CONFIG)
    if (out / CONFIG).exists():
        old = read_config(out)
        changes = spec_changes(old, config)
        if changes:
            raise ResultsError(
                f"{str(out)!r} holds a different comparison; what would change the runs already there: "
                f"{'; '.join(changes)}. Resume it with the same settings or choose another --out"
            )
        grown = merged(old, config)
        if grown != old:
            write_config(out, grown)
    else:
        grown = dict(config)
        write_config(out, grown)
    found = run_files.scan(out, grown)
    run_files.warn_set_aside(out, found.set_aside, doing=f"moved to {run_files.SET_ASIDE}/ to be redone:")
    run_files.move_aside(out, found.set_aside)
    done = frozenset((m["strategy"], m["dataset"], m["run"]) for _, m in found.good)
    spec = config["spec"]
    return Todo(tuple(spec["strategies"]), tuple(spec["datasets"]), spec["runs"], done)
