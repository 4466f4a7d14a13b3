"""Help texts and what the CLI says about names and paths a user gets wrong: every option documented with
its default, examples at the top, a did-you-mean for near-miss names, and a default store that does not
depend on the working directory (or a message naming where it looked)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from nasbench_suite.cli import build_parser, main
from nasbench_suite.store import locate
from nasbench_suite.testing import TINY_SPACE, build_synthetic_store

INFO_ACTIONS = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield " ".join(path) or "(top level)", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


COMMANDS = dict(commands(build_parser()))


def has_default(action: argparse.Action) -> bool:
    default = action.default
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return False
    return default is not None and default is not False and default != [] and default is not argparse.SUPPRESS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_has_help_and_states_its_default(command: str) -> None:
    missing = []
    for action in COMMANDS[command]._actions:
        if isinstance(action, INFO_ACTIONS):
            continue
        name = "/".join(action.option_strings) or action.dest
        if not (action.help or "").strip():
            missing.append(f"{name}: no help")
        elif has_default(action) and "default" not in action.help:
            missing.append(f"{name}: help does not state the default {action.default!r}")
    assert not missing, f"nasbench-suite {command}: {'; '.join(missing)}"


def test_the_checks_above_cover_the_options_the_issue_names() -> None:
    def option(command: str, name: str) -> argparse.Action:
        return next(a for a in COMMANDS[command]._actions if name in a.option_strings or a.dest == name)

    for command, name, default in [
        ("compare", "--runs", "100"),
        ("compare", "--noise", "random"),
        ("reproduce", "--runs", "500"),
        ("reproduce", "--seed", "0"),
        ("validate live", "--seed", "0"),
        ("validate pipeline", "--jobs", "2"),
    ]:
        assert f"default {default}" in option(command, name).help, (command, name)
    for command, name in [("report", "dir"), ("data import", "source"), ("reproduce", "--jobs")]:
        assert option(command, name).help


def test_top_level_help_describes_and_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "Compare neural architecture search strategies on NAS-Bench-201" in out
    examples = out[out.index("examples:") :]
    for line in ("nasbench-suite compare --strategies random,rea", "report results/rs-vs-rea --significance",
                 "report results/rs-vs-rea --html", "--strategy-module my_strategies.py"):  # fmt: skip
        assert line in examples
    assert "$NASBENCH_SUITE_STORE" in out


def test_compare_help_says_exactly_one_budget(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "give exactly one of --time-budget, --eval-budget and --epoch-budget" in out
    assert "budget (exactly one):" in out


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return build_synthetic_store(tmp_path / "store", TINY_SPACE)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["compare", "--strategies", "raa", "--dataset", "cifar10-valid", "--eval-budget", "5"],
            "unknown strategy 'raa'; valid: ",
        ),
        (
            ["compare", "--strategies", "rea", "--dataset", "imagenet16-120", "--eval-budget", "5"],
            "unknown dataset 'imagenet16-120'; valid: cifar10-valid, cifar10, cifar100, ImageNet16-120; "
            "did you mean 'ImageNet16-120'?",
        ),
        (
            ["query", "--index", "3", "--dataset", "cifar10", "--metric", "test_acc@200"],
            "--metric takes the metric alone, got 'test_acc@200'; did you mean --metric test_acc --epochs 200?",
        ),
        (
            ["query", "--index", "3", "--dataset", "cifar10", "--metric", "tset_acc"],
            "unknown metric 'tset_acc' for cifar10; valid: test_acc; did you mean 'test_acc'?",
        ),
    ],
)
def test_near_misses_get_a_did_you_mean(
    argv: list[str], message: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    extra = ["--out", str(out_dir)] if argv[0] == "compare" else []
    assert main([*argv, *extra, "--store", str(tiny)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"nasbench-suite: error: {message}" in err
    if "raa" in argv:
        assert "; did you mean 'rea'? A strategy from outside the suite must be imported first" in err
    assert not out_dir.exists()


def test_the_default_store_does_not_depend_on_the_working_directory(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv(locate.STORE_ENV, raising=False)
    monkeypatch.setattr(locate, "source_tree_store", lambda: tiny)  # the checkout's data/store
    assert main(["data", "info"]) == 0
    assert capsys.readouterr().out.startswith(f"store      {tiny.resolve()}\n")

    missing = tmp_path / "checkout" / "data" / "store"
    monkeypatch.setattr(locate, "source_tree_store", lambda: missing)
    assert main(["data", "info"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"nasbench-suite: error: no benchmark store found: searched {str(elsewhere / 'data' / 'store')!r} and "
        f"{str(missing)!r}; import one with `nasbench-suite data import SOURCE --store DIR`, then pass --store "
        "DIR or set $NASBENCH_SUITE_STORE=DIR\n"
    )

    monkeypatch.setenv(locate.STORE_ENV, str(tiny))  # the environment's store, from anywhere
    assert main(["query", "--index", "0", "--dataset", "cifar10-valid", "--metric", "flops_m"]) == 0


@pytest.mark.realdata
def test_live_data_defaults_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: Path
) -> None:
    from nasbench_suite.cli.live import DEFAULT_SPLITS, beside_checkout

    monkeypatch.chdir(tmp_path)
    assert beside_checkout(DEFAULT_SPLITS) == str((shared_dir / "splits").resolve())
    assert beside_checkout("../nowhere/splits") == "../nowhere/splits"  # left for the loader to name
    args = build_parser().parse_args(["validate", "proxies"])
    assert Path(args.images).is_absolute() and Path(args.images).is_file()
    assert Path(args.splits) == (shared_dir / "splits").resolve()
