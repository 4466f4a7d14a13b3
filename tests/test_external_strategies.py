"""Strategies from outside the project: a module or file named by --strategy-module, an installed package's
entry point, recorded in config.json so that a resume and a report need no flag, with worker processes
started by `spawn` (they must import the recorded modules themselves), and a user's own packages named
`strategies` and `analysis` first on the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from nasbench_suite import imports
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import START_METHOD_ENV, pool_context
from nasbench_suite.errors import ConfigError, UnknownNameError, unknown
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.strategies import registry
from nasbench_suite.testing import TINY_SPACE, build_synthetic_store

CLI = [str(Path(sys.executable).parent / "nasbench-suite")]  # the installed command, as a user runs it

# A user's strategy: hill climbing from a random cell. Importing the module appends a line to
# $HILL_IMPORT_LOG saying whether it was imported in a worker process (one started by multiprocessing).
STRATEGY = '''
import multiprocessing
import os

from nasbench_suite.protocol import BaseStrategy, Proposal
from nasbench_suite.space import Arch
from nasbench_suite.strategies.registry import register

with open(os.environ["HILL_IMPORT_LOG"], "a") as log:
    log.write(f"{__name__} {os.getpid()} worker={multiprocessing.parent_process() is not None}\\n")


@register
class HillClimb(BaseStrategy):
    """Hill climbing: change one edge of the best cell seen; a random cell first."""

    name = "{name}"

    def __init__(self, problem, rng):
        self._problem, self._rng, self._best = problem, rng, None

    def ask(self):
        space = self._problem.space
        if self._best is None:
            return Proposal(space.sample(self._rng), self._problem.default_fidelity)
        ops = list(self._best[1].ops)
        ops[int(self._rng.integers(space.n_edges))] = int(self._rng.integers(space.n_ops))
        return Proposal(Arch(tuple(ops)), self._problem.default_fidelity)

    def tell(self, proposal, observation):
        if self._best is None or observation.valid_acc > self._best[0]:
            self._best = (observation.valid_acc, proposal.arch)
'''


def strategy_source(name: str) -> str:
    return STRATEGY.replace("{name}", name)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside the project: a user project whose own packages are named `strategies` (holding
    the strategy `hillclimb`) and `analysis`, a loose file `hill_file.py` (strategy `hillfile`), and the
    synthetic store."""
    root = tmp_path_factory.mktemp("outside")
    assert not root.resolve().is_relative_to(Path(__file__).resolve().parents[1])
    project = root / "project"
    (project / "strategies").mkdir(parents=True)
    (project / "strategies" / "__init__.py").write_text(strategy_source("hillclimb"))
    (project / "analysis").mkdir()
    (project / "analysis" / "__init__.py").write_text("def summarize():\n    return 'the user analysis'\n")
    (root / "loose").mkdir()
    (root / "loose" / "hill_file.py").write_text(strategy_source("hillfile"))
    build_synthetic_store(root / "store", TINY_SPACE)
    return root


def run(
    outside: Path, *argv: str, pythonpath: tuple[Path, ...] = (), method: str = "spawn"
) -> tuple[int, str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (outside / "project", *pythonpath))
    env["NASBENCH_SUITE_STORE"] = str(outside / "store")
    env[START_METHOD_ENV] = method
    env["HILL_IMPORT_LOG"] = str(outside / "imports.log")
    done = subprocess.run(
        [*CLI, *argv], cwd=outside, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout, done.stderr


def searched(path: Path) -> pd.DataFrame:
    """A run file's columns but the real seconds spent in the strategy."""
    return pq.read_table(path).to_pandas().drop(columns="overhead_s")


def grid(out: str, strategies: str) -> tuple[str, ...]:
    return (
        "compare", "--strategies", strategies, "--dataset", "cifar10-valid", "--eval-budget", "12",
        "--runs", "3", "--noise", "mean", "--jobs", "2", "--out", out, "--quiet",
    )  # fmt: skip


def worker_imports(outside: Path) -> Counter[str]:
    """How often worker processes imported each module (by the name it was imported under) since the
    last call."""
    log = outside / "imports.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return Counter(line.split()[0] for line in lines if line.endswith("worker=True"))


def test_compare_resume_and_report_with_spawned_workers(outside: Path) -> None:
    loose = outside / "loose" / "hill_file.py"
    code, out, err = run(
        outside,
        *grid("results", "hillclimb,hillfile,random"),
        "--strategy-module", "strategies", "--strategy-module", "loose/hill_file.py",
    )  # fmt: skip
    assert code == 0, err
    assert "hillclimb" in out and "hillfile" in out
    config = json.loads((outside / "results" / "config.json").read_text())
    assert config["spec"]["strategy_modules"] == ["strategies", str(loose.resolve())]
    # the workers were spawned and imported both modules themselves (a forked worker inherits them)
    imported = worker_imports(outside)
    assert imported["strategies"] >= 1 and imported[imports.module_name(loose)] >= 1

    runs = outside / "results" / "runs"
    deleted = [
        runs / "hillclimb__cifar10-valid__0001.parquet",
        runs / "hillfile__cifar10-valid__0002.parquet",
    ]
    before = [searched(p) for p in deleted]
    for p in deleted:
        p.unlink()
    code, out, err = run(outside, *grid("results", "hillclimb,hillfile,random"))  # no --strategy-module
    assert code == 0, err
    assert "2 runs done now, 7 were already there" in err
    for p, old in zip(deleted, before, strict=True):  # the same runs again, seed for seed
        pd.testing.assert_frame_equal(searched(p), old)
    assert worker_imports(outside)["strategies"] >= 1

    code, out, err = run(outside, "report", "results")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("hill")}
    assert set(rows) == {"hillclimb", "hillfile"} and rows["hillclimb"][3] == "3"
    code, out, err = run(outside, "report", "results", "--significance")
    assert code == 0, err
    assert "hillclimb" in out and "hillfile" in out


def test_an_installed_entry_point_is_found_recorded_and_resumed(outside: Path) -> None:
    """A throwaway package declaring the entry point, installed with pip into a directory of its own (a
    real installation, found through its dist-info, that leaves the shared virtualenv untouched)."""
    package = outside / "hill-ep"
    (package / "nbs_hill_ep").mkdir(parents=True)
    (package / "nbs_hill_ep" / "__init__.py").write_text(strategy_source("hillclimb_ep"))
    (package / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "nbs-hill-ep"
            version = "0.1"

            [project.entry-points."nasbench_suite.strategies"]
            hillclimb_ep = "nbs_hill_ep"
            """
        )
    )
    site = outside / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(package)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    assert list(site.glob("nbs_hill_ep-0.1.dist-info/entry_points.txt"))

    code, out, err = run(outside, "strategies", pythonpath=(site,))  # found without any flag
    assert code == 0 and "  (from nbs_hill_ep)" in next(
        line for line in out.splitlines() if line.startswith("hillclimb_ep")
    )
    code, out, err = run(outside, *grid("ep", "hillclimb_ep,random"), pythonpath=(site,))
    assert code == 0, err
    assert json.loads((outside / "ep" / "config.json").read_text())["spec"]["strategy_modules"] == [
        "nbs_hill_ep"
    ]
    assert worker_imports(outside)["nbs_hill_ep"] >= 1
    (outside / "ep" / "runs" / "hillclimb_ep__cifar10-valid__0000.parquet").unlink()
    code, out, err = run(outside, *grid("ep", "hillclimb_ep,random"), pythonpath=(site,))
    assert code == 0, err
    assert "1 runs done now, 5 were already there" in err
    code, out, err = run(outside, "report", "ep", pythonpath=(site,))
    assert code == 0 and "hillclimb_ep" in out, err
    # the package uninstalled, the resume names the module it needs instead of failing in a worker
    code, out, err = run(outside, *grid("ep", "hillclimb_ep,random"))
    assert code == 2
    assert err.strip() == (
        "nasbench-suite: error: no module named 'nbs_hill_ep' on the Python path; give the path of a .py file "
        "instead, or add the folder that holds it to PYTHONPATH"
    )


def test_forked_workers_inherit_the_modules(outside: Path) -> None:
    """The control for the spawn test above: forked workers do not import the module again."""
    code, _, err = run(
        outside, *grid("forked", "hillclimb"), "--strategy-module", "strategies", method="fork"
    )
    assert code == 0, err
    assert worker_imports(outside)["strategies"] == 0


def test_the_suite_itself_ignores_the_users_strategies_and_analysis_packages(outside: Path) -> None:
    code, out, err = run(outside, "strategies")
    assert code == 0, err
    assert out.splitlines()[0].split()[0] == "bananas" and "hillclimb" not in out
    code, _, err = run(outside, "compare", "--strategies", "hillclimb", "--dataset", "cifar10-valid",
                       "--eval-budget", "5", "--out", "x")  # fmt: skip
    assert code == 2 and "--strategy-module MODULE_OR_FILE" in err and not (outside / "x").exists()


@pytest.mark.realdata
def test_check_strategy_prints_each_verdict(outside: Path, real_store_path: Path) -> None:
    code, out, err = run(
        outside,
        "check-strategy",
        "hillfile",
        "--strategy-module",
        "loose/hill_file.py",
        "--store",
        str(real_store_path),
    )
    assert code == 0, err
    assert out.count("PASS  ") == 12 and "FAIL" not in out
    assert "PASS  a 12000 s search on NAS-Bench-201" in out
    assert out.splitlines()[-1] == "12 of 12 checks passed"

    (outside / "loose" / "fixed_size.py").write_text(
        strategy_source("fixed_size").replace(
            "Proposal(space.sample(self._rng)",
            "Proposal(Arch(tuple(int(o) for o in self._rng.integers(3, size=6)))",
        )
    )
    code, out, err = run(outside, "check-strategy", "fixed_size", "--strategy-module", "loose/fixed_size.py")
    assert code == 1, err
    assert "FAIL  larger space: more nodes" in out and "proposed a cell outside the space" in out
    assert out.splitlines()[-1].endswith("checks passed") and not out.splitlines()[-1].startswith("11 of")


def test_check_strategy_without_a_store_found_runs_the_other_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --store, no $NASBENCH_SUITE_STORE, no data/store here or in the suite's tree: the NAS-Bench-201
    search is reported as not run and the other 11 checks run (the documented `when one is found`)."""
    from nasbench_suite.cli import main
    from nasbench_suite.store import locate

    monkeypatch.delenv(locate.STORE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(locate, "source_tree_store", lambda: tmp_path / "no-tree" / "data" / "store")
    assert main(["check-strategy", "random"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        "not run: a 12000 s search on NAS-Bench-201 (needs the NAS-Bench-201 store: no benchmark store found"
    )
    assert out.count("PASS  ") == 11 and out.splitlines()[-1] == "11 of 11 checks passed"


@pytest.mark.parametrize("given", ["flag", "environment"])
def test_check_strategy_refuses_a_store_given_that_is_not_one(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nasbench_suite.cli import main
    from nasbench_suite.store import locate

    argv = ["check-strategy", "random"]
    if given == "flag":
        argv += ["--store", str(tmp_path)]
    else:
        monkeypatch.setenv(locate.STORE_ENV, str(tmp_path))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"nasbench-suite: error: no benchmark store at {tmp_path}")


def test_a_strategy_module_that_registers_nothing_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nasbench_suite.cli import main

    empty = tmp_path / "no_strategies.py"
    empty.write_text("VALUE = 1\n")
    for argv in (["check-strategy", "random", "--store", str(tmp_path)], ["strategies"]):
        assert main([*argv, "--strategy-module", str(empty)]) == 2  # the module, before the store
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.splitlines()) == 1
        assert f"strategy module {str(empty)!r} registered no strategy" in captured.err
    from nasbench_suite.strategies import external

    with pytest.raises(ConfigError, match="'json' registered no strategy"):
        external.check_registers(["json"])
    external.check_registers([registry.strategy_class("rea").__module__])  # a module that registers one


# ---------------------------------------------------------------- the pieces
def test_a_file_is_imported_once_under_a_name_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "json.py"  # a stem that would shadow the standard library
    path.write_text("VALUE = 41 + 1\n")
    first = imports.load(str(path))
    assert first.VALUE == 42 and first.__name__ != "json" and first.__name__.startswith(imports.PREFIX)
    assert imports.load(str(tmp_path / "." / "json.py")) is first
    assert imports.source_of(first.__name__) == str(path.resolve())
    assert sys.modules["json"].__name__ == "json" and not hasattr(sys.modules["json"], "VALUE")


def test_bad_modules_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"strategy module file 'nope\.py' does not exist"):
        imports.load("nope.py")
    with pytest.raises(ConfigError, match=r"'my-module' is neither a \.py file nor a module name"):
        imports.load("my-module")
    with pytest.raises(ConfigError, match=r"no module named 'surely_not_installed_xyz' on the Python path"):
        imports.load("surely_not_installed_xyz")
    (tmp_path / "mine.py").write_text("")
    with monkeypatch.context() as m:
        m.chdir(tmp_path)
        with pytest.raises(ConfigError, match=r"PYTHONPATH \(there is 'mine\.py' here: pass that path\)$"):
            imports.load("mine")
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"RuntimeError: boom \(.*broken\.py, line 2\)"):
        imports.load(str(broken))
    assert imports.module_name(broken) not in sys.modules  # a failed import leaves nothing behind


def test_unknown_names_suggest_the_closest() -> None:
    assert str(unknown("strategy", "raa", ["random", "rea", "bohb"])).endswith("; did you mean 'rea'?")
    message = str(unknown("dataset", "imagenet16-120", ["cifar10-valid", "cifar100", "ImageNet16-120"]))
    assert message.endswith("did you mean 'ImageNet16-120'?")
    assert "did you mean" not in str(unknown("dataset", "mnist", ["cifar10-valid", "ImageNet16-120"]))
    with pytest.raises(UnknownNameError, match=r"did you mean 'rea'\? A strategy from outside the suite"):
        registry.strategy_class("raa")


def test_the_start_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(START_METHOD_ENV, raising=False)
    assert pool_context().get_start_method() == (
        "fork" if sys.platform == "linux" else pool_context().get_start_method()
    )
    monkeypatch.setenv(START_METHOD_ENV, "spawn")
    assert pool_context().get_start_method() == "spawn"
    assert pool_context("forkserver").get_start_method() == "forkserver"
    monkeypatch.setenv(START_METHOD_ENV, "thread")
    with pytest.raises(ConfigError, match=r"must be one of .*spawn.*, got 'thread'"):
        pool_context()


def test_the_spec_records_modules_only_when_there_are_some() -> None:
    spec = ComparisonSpec(("random",), ("cifar10-valid",), 2, Budget(BudgetKind.EVALUATIONS, 5))
    assert "strategy_modules" not in spec.to_json()  # configs written before the field still match
    with_modules = ComparisonSpec(
        ("hillclimb",),
        ("cifar10-valid",),
        2,
        Budget(BudgetKind.EVALUATIONS, 5),
        strategy_modules=("strategies",),
    )
    assert with_modules.to_json()["strategy_modules"] == ["strategies"]
    assert ComparisonSpec.from_json(with_modules.to_json()) == with_modules


def test_reproduce_also_runs_a_strategy_beside_the_protocol(
    outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reproduce nb201 --also NAME`: NAME under NAS-Bench-201's own search (12000 s on cifar10-valid,
    12-epoch schedule, the rows' seeds), its module recorded."""
    from nasbench_suite.reproduction.extra import also_plan, run_also
    from nasbench_suite.reproduction.protocols import NB201
    from nasbench_suite.reproduction.run import plan
    from nasbench_suite.store import Store
    from nasbench_suite.strategies import build

    loose = str((outside / "loose" / "hill_file.py").resolve())
    monkeypatch.setenv("HILL_IMPORT_LOG", os.devnull)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # registered for this test only
    monkeypatch.setitem(sys.modules, imports.module_name(loose), None)  # put back (absent) after the test
    del sys.modules[imports.module_name(loose)]
    imports.load(loose)
    ((name, spec),) = also_plan(NB201, ["hillfile"], runs=3, seed=7, strategy_modules=[loose])
    _, rows_spec, _ = plan(NB201, runs=3, seed=7)[0]
    assert name == "nb201-cifar10-valid-also"
    for field in ("datasets", "runs", "budget", "schedule", "noise", "seed"):
        assert getattr(spec, field) == getattr(rows_spec, field), field
    assert spec.strategies == ("hillfile",) and spec.strategy_modules == (loose,)

    dirs = run_also(
        NB201, Store(outside / "store"), tmp_path, ["hillfile"], build, runs=3, seed=7,
        strategy_modules=[loose], jobs=1, progress=False,
    )  # fmt: skip
    assert dirs == [tmp_path / name] and len(list((tmp_path / name / "runs").glob("*.parquet"))) == 3
    assert json.loads((tmp_path / name / "config.json").read_text())["spec"]["strategy_modules"] == [loose]


def test_reproduce_strategy_module_needs_also(outside: Path) -> None:
    code, _, err = run(outside, "reproduce", "nb201", "--strategy-module", "loose/hill_file.py", "--out", "r")
    assert code == 2 and "--strategy-module on reproduce needs --also NAME" in err
    assert not (outside / "r").exists()


def test_the_python_api_compares_a_file_strategy_on_spawned_workers(
    outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nasbench_suite as nbs

    loose = outside / "loose" / "hill_file.py"
    monkeypatch.setenv("HILL_IMPORT_LOG", str(tmp_path / "imports.log"))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # registered for this test only
    monkeypatch.setitem(sys.modules, imports.module_name(loose), None)
    del sys.modules[imports.module_name(loose)]
    done = nbs.compare(
        nbs.open_store(outside / "store"), tmp_path / "api", strategies=["hillfile"], budget=nbs.evaluations(8),
        runs=4, noise="mean", strategy_modules=[str(loose)], jobs=2, start_method="spawn",
    )  # fmt: skip
    assert len(done) == 4
    assert nbs.load_runs(tmp_path / "api").attrs["config"]["spec"]["strategy_modules"] == [
        str(loose.resolve())
    ]
    log = (tmp_path / "imports.log").read_text().splitlines()
    assert sum(line.endswith("worker=True") for line in log) >= 1  # the spawned workers imported the file
