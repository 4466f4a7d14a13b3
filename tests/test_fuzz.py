"""Property-based fuzzing (hypothesis) of what a user can type or call: the arch parser, the store's
query API and the command line's argument sets. Every input either works or ends in a `SuiteError` (the
API) / exit status 2 with one error line and nothing written (the CLI); never another exception, never a
hang (`HANG_S` per input).

The default profile keeps the suite fast (a few seconds); `make fuzz` runs the long one
(`NASBENCH_SUITE_FUZZ=long`: 2500 CLI argument sets, 4000+ API calls) and writes the counts to
`$NASBENCH_SUITE_FUZZ_REPORT` (JSON) when set.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_suite.cli import main
from nasbench_suite.errors import InvalidArchError, SuiteError
from nasbench_suite.results_lock import LOCK
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store
from tests.conftest import build_tiny_store

LONG = os.environ.get("NASBENCH_SUITE_FUZZ") == "long"
CLI_EXAMPLES = 2500 if LONG else 40
API_EXAMPLES = 1500 if LONG else 60  # per API test; the query test makes several calls per example
HANG_S = 30
FUZZ = settings(
    max_examples=CLI_EXAMPLES,
    deadline=None,
    derandomize=not LONG,  # the fast profile is the same inputs every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
COUNTS: Counter[str] = Counter()


class Hang(Exception):
    """An input that ran longer than HANG_S."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def fire(*_: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    target = os.environ.get("NASBENCH_SUITE_FUZZ_REPORT")
    if target:
        zero = ("cli_tracebacks", "cli_hangs", "cli_files_written_on_error", "api_tracebacks", "api_hangs")
        counts = dict.fromkeys(zero, 0) | dict(COUNTS)
        Path(target).write_text(json.dumps(counts, indent=1, sort_keys=True))


# ================================================================== a sandbox with every kind of target
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("fuzz")
    store = build_tiny_store(root / "tiny")
    (root / "a_file").write_text("x")
    (root / "broken_store").mkdir()
    (root / "broken_store" / "manifest.json").write_text("[]")
    good = root / "good"
    argv = [
        "compare",
        "--strategies",
        "random,rea",
        "--dataset",
        "cifar100",
        "--eval-budget",
        "3",
        "--runs",
        "2",
    ]
    assert main([*argv, "--jobs", "1", "--quiet", "--out", str(good), "--store", str(store)]) == 0
    for name, text in (("list_config", "[]"), ("no_spec", "{}"), ("bad_json", "{")):
        (root / name).mkdir()
        (root / name / "config.json").write_text(text)
    # relative --out paths the fuzzer draws land in the sandbox, never in the working tree
    previous = os.getcwd()
    os.chdir(root)
    yield {
        "root": str(root),
        "store": str(store),
        "good": str(good),
        "file": str(root / "a_file"),
        "broken_store": str(root / "broken_store"),
        "long": str(root / ("d" * 300)),
        "proc": "/proc/nasbench-suite-fuzz",
        "through_file": str(root / "a_file" / "sub"),
        "missing": str(root / "missing"),
        "list_config": str(root / "list_config"),
        "no_spec": str(root / "no_spec"),
        "bad_json": str(root / "bad_json"),
    }
    os.chdir(previous)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` with its size and mtime; a lock file only by its presence (any command
    that takes the lock rewrites its holder line)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            out[str(path)] = (0, 0) if name == LOCK else (stat.st_size, stat.st_mtime_ns)
    return out


# ================================================================== the CLI's argument sets
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
INTS = st.sampled_from(["0", "1", "2", "-1", "٣", "²", "1.5", "1e3", "", " 1", "x", "18446744073709551616"])
SMALL = st.sampled_from(["1", "2", "3", "0", "-1", "٣", "1.5", "", "x"])
OUTS = ["FRESH", "FRESH", "FRESH", "good", "missing"]
STORES = ["store"] * 3 + ["missing", "file", "broken_store", "long"]
ARCHS = (
    st.sampled_from(
        [
            "|conv~0|+|none~0|skip_connect~1|",
            "|conv~0|+|none~0|skip_connect~²|",
            "|conv~٠|+|none~0|skip_connect~1|",
            "|conv~0|+|none~0|",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "",
            "x\nnasbench-suite: forged",
        ]
    )
    | TEXT
)


def pool(*names: str) -> st.SearchStrategy[str]:
    return st.sampled_from([f"\x00{n}" for n in names])  # a placeholder no generated text can be


def command(
    name: list[str], valid: dict[str, st.SearchStrategy[str | None]], bad: dict[str, st.SearchStrategy[str]]
) -> st.SearchStrategy[list[str]]:
    """A valid argument set of `name` (None: the option left out), then up to two mutations: an option
    given a bad value, dropped, or given without its value."""
    flags = sorted(set(valid) | set(bad))
    mutation = st.tuples(
        st.sampled_from(flags), st.one_of(*[bad.get(f, TEXT) for f in flags]) | st.sampled_from([None, ""])
    )

    def build(base: dict[str, str | None], mutations: list[tuple[str, str | None]]) -> list[str]:
        chosen = dict(base)
        for flag, value in mutations:
            chosen[flag] = "\x00DROP" if value is None else value
        words = list(name)
        for flag, value in chosen.items():
            if value == "\x00DROP" or value is None:
                continue
            if flag.startswith("\x00"):  # one of a group: the value is `--flag=value` (or a stray word)
                if not value.startswith("\x00"):
                    words.append(value)
            else:
                words += [flag] if value == "\x00BARE" else [flag, value]
        return words

    return st.builds(build, st.fixed_dictionaries(valid), st.lists(mutation, max_size=2))


BUDGETS = ["--eval-budget", "--time-budget", "--epoch-budget"]
COMPARE = command(
    ["compare"],
    {
        "--strategies": st.sampled_from(["random", "rea", "random,rea", "rea,random", "local_search"]),
        "--dataset": st.sampled_from(
            ["cifar100", "ImageNet16-120", "cifar100,ImageNet16-120", "cifar10-valid"]
        ),
        "\x00budget": st.sampled_from(
            [
                *(
                    "--eval-budget=1",
                    "--eval-budget=3",
                    "--eval-budget=5",
                    "--time-budget=30",
                    "--time-budget=500",
                ),
                *("--time-budget=100", "--epoch-budget=24", "--epoch-budget=100", "--epoch-budget=400"),
            ]
        ),
        "--runs": st.sampled_from(["1", "2", "3"]),
        "--epochs": st.sampled_from(["12", "200"]),
        "--noise": st.sampled_from(["random", "mean"]),
        "--seed": st.sampled_from(["0", "1", "7"]),
        "--hparams": st.sampled_from([None, "{}", '{"rea": {"population_size": 3}}']),
        "--workers": st.sampled_from(["1", "2"]),
        "--jobs": st.sampled_from(["1", "1", "1", "2"]),
        "--out": pool(*OUTS),
        "--quiet": st.just("\x00BARE"),
        "--store": pool("store"),
    },
    {
        "--strategies": st.sampled_from(["randon", "", ",", "x\ny", "a" * 300]),
        "--dataset": st.sampled_from(["cifar10", "", "cifar100,cifar100", "x\n"]),
        "--eval-budget": SMALL,
        "--time-budget": st.sampled_from(["12", "0", "-5", "nan", "inf", "1e400", "x", "٣"]),
        "--epoch-budget": st.sampled_from(["11", "0", "-1", "1.5"]),
        "--runs": SMALL,
        "--epochs": st.sampled_from(["90", "-1", "٣", "x"]),
        "--noise": st.sampled_from(["loud", ""]),
        "--seed": INTS,
        "--hparams": st.sampled_from(
            [
                "{",
                "[]",
                "null",
                '"s"',
                '{"rea": {"population_size": -1}}',
                '{"random": 1}',
                '{"x": {}}',
                '{"rea": {"population_size": 1.5}}',
                '{"rea": {"sample_size": true}}',
            ]
        ),
        "--workers": SMALL,
        "--jobs": st.sampled_from(["0", "-1", "x", "1.0"]),
        "--constraint": st.sampled_from(["params_mb<=1.5", "params_mb<=", "<=3", "x", "params_mb<=nan"]),
        "--objective": st.sampled_from(["params_mb", "x", ""]),
        "--out": pool("file", "proc", "long", "through_file"),
        "--store": pool("missing", "file", "broken_store", "long"),
        "--bogus": st.sampled_from(["1", "\x00BARE"]),
    },
)
QUERY = command(
    ["query"],
    {
        "\x00which": st.sampled_from(
            [
                *("--arch=|conv~0|+|none~0|skip_connect~1|", "--arch=|none~0|+|conv~0|conv~1|", "--index=0"),
                *("--index=5", "--index=26"),
            ]
        ),
        "--dataset": st.sampled_from(["cifar100", "ImageNet16-120"]),
        "--metric": st.sampled_from(["valid_acc", "train_time_s"]),
        "--epochs": st.just("200"),
        "--seed": st.sampled_from([None, "mean", "random", "7"]),
        "--rng-seed": st.sampled_from([None, "0", "3"]),
        "--store": pool("store"),
    },
    {
        "--arch": ARCHS,
        "--index": INTS,
        "--dataset": st.sampled_from(["x", "", "cifar10", "cifar10-valid"]) | TEXT,
        "--metric": st.sampled_from(["params_mb", "test_acc", "x", ""]),
        "--epochs": st.sampled_from(["12", "1", "-1", "x"]),
        "--at-epoch": st.sampled_from(["12", "200", "1", "0", "x"]),
        "--seed": st.sampled_from(["8", "9", "-1", "٧", "7.0", ""]) | TEXT,
        "--rng-seed": INTS,
        "--store": pool("missing", "file", "broken_store", "long"),
    },
)
STORE_OPTION = st.sampled_from([[], ["--store"]]) | pool(*STORES).map(lambda p: ["--store", p])
REPORT = st.tuples(
    st.just(["report"]),
    pool("good", "good", "missing", "file", "list_config", "no_spec", "bad_json", "long", "root").map(
        lambda d: [d]
    ),
    st.sampled_from([[], ["--json"], ["--significance"], ["--table", "md"], ["--table", "x"]]),
    STORE_OPTION,
)
OTHER = st.tuples(
    st.sampled_from(
        [
            ["data", "info"],
            ["strategies"],
            ["data"],
            [],
            ["bogus"],
            ["--version"],
            ["data", "import", "\x00missing"],
        ]
    ),
    STORE_OPTION,
)


def _flat(parts: tuple[list[str], ...]) -> list[str]:
    return [word for part in parts for word in part]


ARGV = st.one_of(COMPARE, COMPARE, QUERY, REPORT.map(_flat), OTHER.map(_flat))
EXTRA = st.lists(st.sampled_from(["--bogus", "--json", "-", "--", "\n"]) | TEXT, max_size=2)


def _concrete(argv: list[str], sandbox: dict[str, str]) -> list[str]:
    out = []
    for word in argv:
        if word == "\x00FRESH":
            COUNTS["fresh_out"] += 1
            word = str(Path(sandbox["root"]) / "fresh" / f"out{COUNTS['fresh_out']}")
        elif word.startswith("\x00"):
            word = sandbox[word[1:]]
        out.append(word)
    return out


@FUZZ
@given(argv=ARGV, extra=EXTRA)
def test_every_argument_set_works_or_is_one_line_and_writes_nothing(
    sandbox: dict[str, str], argv: list[str], extra: list[str]
) -> None:
    argv = _concrete(argv, sandbox) + extra
    before = snapshot(Path(sandbox["root"]))
    stdout, stderr = io.StringIO(), io.StringIO()
    COUNTS["cli_argument_sets"] += 1
    try:
        with time_limit(HANG_S), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's errors, --version
                code = exc.code if isinstance(exc.code, int) else 2
    except Hang:
        if "nasbench-suite: large grid:" in stderr.getvalue():  # announced, then running as asked
            COUNTS["cli_worked_large_grid"] += 1
            return
        COUNTS["cli_hangs"] += 1
        raise
    except Exception:
        COUNTS["cli_tracebacks"] += 1
        raise AssertionError(f"{argv!r} raised:\n{traceback.format_exc()}") from None
    err = stderr.getvalue()
    assert "Traceback" not in err, (argv, err)
    if code == 0:
        COUNTS["cli_worked"] += 1
        return
    COUNTS["cli_refused"] += 1
    errors = [
        line
        for line in err.splitlines()
        if line and not line.startswith(("warning:", "nasbench-suite: warning:"))
    ]
    assert code == 2 and len(errors) == 1 and "error:" in errors[0], (argv, code, err)
    assert stdout.getvalue() == "", (argv, stdout.getvalue())
    after = snapshot(Path(sandbox["root"]))
    if after != before:
        COUNTS["cli_files_written_on_error"] += 1
        raise AssertionError(
            f"{argv!r} failed and changed {sorted(set(after.items()) ^ set(before.items()))[:4]}"
        )


# ================================================================== the arch parser
SPACE = CellSpace.nb201()
VALID = st.tuples(*[st.integers(0, SPACE.n_ops - 1)] * SPACE.n_edges).map(Arch)


def _mutated(text: str, data: st.DataObject) -> str:
    k = data.draw(st.integers(0, len(text)))
    return text[:k] + data.draw(TEXT | st.sampled_from(["٣", "²", "~", "|", "+", "", "0"])) + text[k + 1 :]


@settings(FUZZ, max_examples=API_EXAMPLES)
@given(arch=VALID, data=st.data())
def test_the_arch_parser_round_trips_or_refuses(arch: Arch, data: st.DataObject) -> None:
    text = SPACE.format(arch)
    assert SPACE.parse(text) == arch
    for candidate in (_mutated(text, data), data.draw(TEXT)):
        COUNTS["api_calls"] += 1
        try:
            parsed = SPACE.parse(candidate)
        except InvalidArchError:
            continue
        SPACE.validate(parsed)
        assert SPACE.format(parsed) == candidate.strip()  # what parses is exactly a canonical string


# ================================================================== the store's query API
SCALARS = st.sampled_from([None, True, False, 0, 1, 7, 8, 26, 27, -1, 7.0, 1.5, np.int64(3), np.float64(2), "7", "x", "", "mean", "random"])  # fmt: skip
ARCH_REFS = st.one_of(
    SCALARS,
    st.tuples(*[st.integers(-1, 3)] * 3).map(Arch),
    st.lists(st.sampled_from([0, 1, 2, 1.0, True, np.int64(1), 5]), max_size=4).map(
        lambda ops: Arch(tuple(ops))
    ),
    ARCHS,
)
DATASETS = st.sampled_from(["cifar100", "cifar10", "cifar10-valid", "ImageNet16-120", "x", None, 3])
METRICS = st.sampled_from(["valid_acc", "test_acc", "train_time_s", "params_mb", "x"])
EPOCHS = st.sampled_from([None, 12, 200, 1, -1, True, 12.5, np.int64(200)])
SEEDS = st.sampled_from(["mean", "random", 7, 8, 9, -1, 7.0, True, "7", None, np.int64(8), np.float32(7)])
INDICES = st.one_of(
    st.lists(st.integers(-2, 30), max_size=5).map(np.array),
    st.lists(st.floats(-2, 30), max_size=3).map(np.array),
    st.lists(st.booleans(), min_size=1, max_size=3).map(np.array),
    st.lists(st.integers(0, 26), max_size=3),
)


@pytest.fixture(scope="module")
def tiny(sandbox: dict[str, str]) -> Store:
    return Store(sandbox["store"])


def _api(call, *args, **kwargs) -> None:
    COUNTS["api_calls"] += 1
    try:
        with time_limit(HANG_S):
            call(*args, **kwargs)
    except SuiteError:
        COUNTS["api_refused"] += 1
    except Hang:
        COUNTS["api_hangs"] += 1
        raise
    except Exception:
        COUNTS["api_tracebacks"] += 1
        raise


@settings(FUZZ, max_examples=API_EXAMPLES)
@given(
    arch=ARCH_REFS, dataset=DATASETS, metric=METRICS, epochs=EPOCHS, seed=SEEDS, epoch=EPOCHS, indices=INDICES
)
def test_the_query_api_answers_or_raises_a_suite_error(
    tiny: Store,
    sandbox: dict[str, str],
    arch,
    dataset,
    metric,
    epochs,
    seed,
    epoch,
    indices,
) -> None:
    before = snapshot(Path(sandbox["store"]))
    rng = np.random.default_rng(0)
    _api(tiny.index, arch)
    _api(tiny.query, arch, dataset, metric, epochs=epochs, seed=seed, epoch=epoch, rng=rng)
    _api(tiny.query_many, indices, dataset, metric, epochs=epochs, seed=seed, epoch=epoch, rng=rng)
    _api(tiny.table, dataset, metric, epochs)
    _api(lambda: tiny.table(dataset, metric, epochs).slot(seed))
    _api(tiny.arch_str, arch)
    assert snapshot(Path(sandbox["store"])) == before
