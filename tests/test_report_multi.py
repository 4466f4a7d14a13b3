"""`nasbench-suite report DIR1 DIR2 ...`: a table comparison and a one-shot directory reported together.

On the tiny synthetic store (every value a formula of the arch index): a real `compare` directory and a
one-shot-style directory written with the results module's writer, with wall seconds, table-equivalent
seconds and found cells chosen here, so every number the report shows is known. On the real store: a
small real `compare` and a tiny real `oneshot` search, reported as text, table, significance and HTML
(rendered by headless Chromium, as tests/test_html_report.py does)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.stats as sps

from nasbench_suite import run_files
from nasbench_suite.analysis import combined, plots
from nasbench_suite.analysis.html_combined import time_axis_of
from nasbench_suite.analysis.significance import significance
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.cli import main
from nasbench_suite.lookup import Noise
from nasbench_suite.results import load_rows, load_runs, run_file, write_config, write_run
from nasbench_suite.run_files import ResultsWarning
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store
from tests.conftest import build_tiny_store

DATASET = "cifar100"  # the tiny store's cifar100: valid_acc@200 per seed, test_acc@200 = 60 + index
SEED = 3
RUNS = 4
# method -> per run: (found cell's index after each search epoch, wall seconds of each epoch, scale)
SEARCHES: dict[str, list[tuple[tuple[int, ...], tuple[float, ...], float]]] = {
    "rsps": [
        ((3, 5, 9), (10.0, 10.0, 10.0), 0.25),
        ((4, 4, 8), (12.0, 12.0, 12.0), 0.25),
        ((1, 2, 6), (8.0, 8.0, 8.0), 0.5),
        ((0, 7, 7), (10.0, 20.0, 30.0), 0.5),
    ],
    "darts_v1": [
        ((2, 2, 2), (40.0, 40.0, 40.0), 0.1),
        ((5, 6, 10), (40.0, 40.0, 40.0), 0.1),
        ((7, 8, 11), (30.0, 30.0, 30.0), 0.2),
        ((1, 1, 3), (50.0, 50.0, 50.0), 0.2),
    ],
}


# ============================================================================================== helpers
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one command; what fixtures printed before is dropped."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _compare(store: Path, out: Path, strategies: str, *, seed: int = SEED, runs: int = RUNS) -> Path:
    argv = [
        "compare",
        "--strategies",
        strategies,
        "--dataset",
        DATASET,
        "--eval-budget",
        "12",
        "--epochs",
        "200",
    ]
    argv += ["--runs", str(runs), "--seed", str(seed), "--jobs", "1", "--quiet", "--out", str(out), "--store", str(store)]  # fmt: skip
    assert main(argv) == 0
    return out


def _write_searches(
    out: Path, store: Store, searches: dict[str, list[Any]], *, live: dict[str, Any] | None = None
) -> Path:
    """A directory of `oneshot`'s schema (or, with `live`, of `compare --live`'s), stamped like theirs:
    one row per search epoch with its wall seconds and, for one-shot, table-equivalent seconds."""
    spec = ComparisonSpec(
        strategies=tuple(searches),
        datasets=(DATASET,),
        runs=len(next(iter(searches.values()))),
        budget=Budget(BudgetKind.EPOCHS, 3.0) if live is None else Budget(BudgetKind.SECONDS, 1000.0),
        schedule=3,
        noise=Noise.MEAN,
        seed=SEED,
        live=live,
    ).to_json()
    if live is None:
        spec |= {
            "oneshot": {
                "epochs": dict.fromkeys(searches, 3),
                "ops": list(store.space.ops),
                "nodes": store.space.n_nodes,
                "channels": 4,
                "cells_per_stage": 1,
                "train_subset": 64,
            }
        }
    write_config(
        out,
        {"spec": spec, "data_checksum": store.checksum, "store": str(store.path), "suite_version": "test"},
    )
    valid = np.asarray(store.table(DATASET, "valid_acc", 200).column("mean"))
    test = np.asarray(store.table(DATASET, "test_acc", 200).column("mean"))
    for method, runs in searches.items():
        for run, (cells, wall, scale) in enumerate(runs):
            n, time_s = len(cells), np.cumsum(wall)
            index = list(cells)
            columns = {
                "run": [run] * n, "strategy": [method] * n, "dataset": [DATASET] * n, "step": list(range(n)),
                "arch_index": index, "epoch": list(range(1, n + 1)), "schedule": [3] * n, "cost_s": list(wall),
                "time_s": time_s, "valid_seen": [50.0] * n, "incumbent_index": index,
                "incumbent_valid_seen": [50.0] * n, "incumbent_valid": valid[index],
                "incumbent_test": test[index], "overhead_s": [0.0] * n, "measure": [""] * n,
                "measured_value": [float("nan")] * n, "table_equiv_s": time_s * scale,
            }  # fmt: skip
            meta = {
                "run": run, "strategy": method, "dataset": DATASET, "seed": SEED, "spawn_key": [run],
                "evaluations": n, "measurements": 0, "workers": 1, "sequential_fallback": False,
                "spent_seconds": float(time_s[-1]), "spent_epochs": n, "overhead_s": 0.0,
                "final_test": float(test[index[-1]]), "final_valid": float(valid[index[-1]]),
                "test_at_budget": float("nan"), "noise_fallbacks": [],
            }  # fmt: skip
            if live is None:
                meta |= {
                    "oneshot": True,
                    "search_wall_s": float(time_s[-1]),
                    "table_equiv_s": float(time_s[-1] * scale),
                    "table_equiv_scale": scale,
                }
            meta |= run_files.stamp(spec, store.checksum, method)
            write_run(run_file(out, method, DATASET, run), columns, meta, extra=("table_equiv_s",))
    return out


def _line(text: str, strategy: str) -> list[str]:
    (line,) = [ln for ln in text.splitlines() if ln.split(" ", 1)[0] == strategy]
    return line.split()


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(tiny store, a `compare` directory of random and REA, a one-shot directory of rsps and darts_v1)."""
    store = build_tiny_store(tmp_path / "tiny")
    table = _compare(store, tmp_path / "table", "random,rea")
    oneshot = _write_searches(tmp_path / "oneshot", Store(store), SEARCHES)
    return store, table, oneshot


# ================================================================================================ text
def test_the_merged_report_shows_each_strategy_with_its_single_directory_numbers(
    capsys: pytest.CaptureFixture[str], dirs: tuple[Path, Path, Path]
) -> None:
    store, table, oneshot = dirs
    code, merged, err = _cli(capsys, "report", str(table), str(oneshot), "--store", str(store))
    assert code == 0 and err == ""
    singles = {d: _cli(capsys, "report", str(d), "--store", str(store))[1] for d in (table, oneshot)}
    for directory, names in ((table, ("random", "rea")), (oneshot, ("rsps", "darts_v1"))):
        for name in names:
            mine = _line(merged, name)
            # strategy, dataset, test on, runs, test mean ± std, valid mean ± std, evals, overhead
            assert mine[:12] == _line(singles[directory], name)[:12]
    # the one-shot numbers are the ones written: cifar100 test = 60 + index of the last cell
    rsps = _line(merged, "rsps")
    finals = np.array([9, 8, 6, 7]) + 60.0
    assert rsps[4:7] == [f"{finals.mean():.2f}", "±", f"{finals.std(ddof=1):.2f}"]
    # cost per run: wall seconds, then table-equivalent seconds (sum of wall x the run's scale)
    wall = np.array([30.0, 36.0, 24.0, 60.0])
    equiv = wall * np.array([0.25, 0.25, 0.5, 0.5])
    assert " ".join(rsps[-8:]) == f"[2] {wall.mean():.0f} wall s = {equiv.mean():.0f} table-equiv. s"
    spent = load_runs(table).query("strategy == 'rea'")["spent_seconds"].mean()
    assert " ".join(_line(merged, "rea")[-4:]) == f"[1] {spent:.0f} simulated s"
    # each directory's budget and cost unit next to its strategies
    assert f"[1] {table}: table searches, 12 evaluations per run" in merged
    assert "    costs in simulated seconds (the table's recorded training times)" in merged
    assert "    strategies: random, rea" in merged
    assert f"[2] {oneshot}: one-shot searches, 3 search epochs per run" in merged
    assert (
        "costs in measured wall seconds on the machine that ran it; table-equivalent s = wall s x 0.1-0.5"
        in merged
    )
    assert "    strategies: darts_v1, rsps" in merged
    # caveats of one directory are labelled with it
    assert "note: [2] one-shot (weight-sharing) searches on a supernet of C=4" in merged


def test_json_lists_each_directory_and_every_strategy(
    capsys: pytest.CaptureFixture[str], dirs: tuple[Path, Path, Path]
) -> None:
    store, table, oneshot = dirs
    code, text, _ = _cli(capsys, "report", str(table), str(oneshot), "--json", "--store", str(store))
    report = json.loads(text)
    assert code == 0
    assert [(d["label"], d["family"], d["cost_unit"]) for d in report["directories"]] == [
        ("[1]", "table", "simulated s"),
        ("[2]", "oneshot", "wall s"),
    ]
    assert report["directories"][1]["budget"] == "3 search epochs per run"
    by_name = {r["strategy"]: r for r in report["summary"]}
    assert list(by_name) == ["random", "rea", "darts_v1", "rsps"]
    darts = by_name["darts_v1"]
    assert darts["runs"] == 4 and darts["directory"] == str(oneshot)
    assert darts["cost_s"] == pytest.approx(np.mean([120.0, 120.0, 90.0, 150.0]))
    assert darts["table_equiv_s"] == pytest.approx(np.mean([12.0, 12.0, 18.0, 30.0]))
    assert by_name["rea"]["table_equiv_s"] is None


# ========================================================================================= time axis
def test_the_anytime_axis_of_a_one_shot_method_is_its_table_equivalent_seconds(
    dirs: tuple[Path, Path, Path],
) -> None:
    _, table, oneshot = dirs
    sources = combined.load_sources([table, oneshot])
    rows = load_rows(oneshot)
    timed = combined.anytime_rows(sources[1], rows)
    rsps0 = timed.query("strategy == 'rsps' and run == 0").sort_values("step")
    assert rsps0["time_s"].tolist() == [2.5, 5.0, 7.5]  # 10 s of wall time per epoch x 0.25
    table_rows = load_rows(table)
    assert combined.anytime_rows(sources[0], table_rows) is table_rows  # simulated seconds, as recorded
    # on a shared grid the one-shot curve steps at its table-equivalent times, not at its wall times
    grid = np.array([3.0, 6.0, 8.0, 1000.0])
    curves = plots.anytime_curves(timed, axis="time", grid=grid)
    cifar100_test = 60.0 + np.array([3, 5, 9])  # run 0's cells after epochs 1, 2, 3
    np.testing.assert_array_equal(curves.values[("rsps", DATASET)][0], [*cifar100_test, cifar100_test[-1]])
    # wall seconds would have put all three epochs before 1000 s and none before 8 s
    walled = plots.anytime_curves(rows, axis="time", grid=grid)
    assert np.isnan(walled.values[("rsps", DATASET)][0][:3]).all()
    axis = time_axis_of(sources)
    assert axis.label == "simulated (table) or table-equivalent (one-shot) time (s, log)"
    assert "table strategies ([1]) at their simulated seconds" in axis.explained
    assert "one-shot methods ([2]) at their table-equivalent seconds" in axis.explained


# ================================================================================= bad input, checks
def test_a_strategy_in_two_directories_is_one_line_exit_2_and_nothing_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = build_tiny_store(tmp_path / "tiny")
    first = _compare(store, tmp_path / "first", "random,rea")
    second = _compare(store, tmp_path / "second", "rea", seed=4)
    page = tmp_path / "page" / "report.html"
    for flags in ([], ["--json"], ["--significance"], ["--table", "md"], ["--html", "--html-out", str(page)]):
        code, out, err = _cli(capsys, "report", str(first), str(second), *flags, "--store", str(store))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (flags, err)
        assert f"strategy 'rea' is in both {str(first)!r} and {str(second)!r}" in err
    code, _, err = _cli(capsys, "report", str(first), f"{first}/", "--store", str(store))
    assert code == 2 and "is given twice" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "report", str(first), str(tmp_path / "second"), "--html")
    assert code == 2 and "--html with several directories needs --html-out" in err
    assert not page.parent.exists() and not (first / "report.html").exists()


def test_each_run_file_is_checked_against_its_own_directory(
    capsys: pytest.CaptureFixture[str], dirs: tuple[Path, Path, Path]
) -> None:
    """A one-shot run file copied into the table directory, under a name of its grid: that directory's
    config set it aside (another comparison's stamp), the other directory's does not."""
    store, table, oneshot = dirs
    foreign = run_file(table, "rea", DATASET, RUNS - 1)
    foreign.unlink()
    shutil.copy(run_file(oneshot, "rsps", DATASET, 0), foreign)
    code, text, err = _cli(capsys, "report", str(table), str(oneshot), "--json", "--store", str(store))
    assert code == 0
    assert f"rea__{DATASET}__{RUNS - 1:04d}.parquet (another comparison: spec hash" in err
    runs = {r["strategy"]: r["runs"] for r in json.loads(text)["summary"]}
    assert runs == {"random": RUNS, "rea": RUNS - 1, "darts_v1": RUNS, "rsps": RUNS}
    with pytest.warns(ResultsWarning):
        assert len(combined.merged_runs(combined.load_sources([table, oneshot])).attrs["set_aside"]) == 1


def test_live_runs_with_table_runs_are_refused_for_html_table_and_significance(
    capsys: pytest.CaptureFixture[str], dirs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    store, table, _ = dirs
    live = _write_searches(
        tmp_path / "live", Store(store), {"live_rea": SEARCHES["rsps"]}, live={"scale_text": "C=4, 1 cell"}
    )
    page = tmp_path / "page.html"
    for flags in (["--table", "md"], ["--html", "--html-out", str(page)], ["--significance"]):
        code, out, err = _cli(capsys, "report", str(table), str(live), *flags, "--store", str(store))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, flags
        assert f"{live} holds live runs" in err
    assert not page.exists()
    code, text, _ = _cli(capsys, "report", str(table), str(live), "--store", str(store))
    assert code == 0 and "live_rea" in text and f"[2] {live}: live-trained searches" in text
    assert "a live directory's accuracies are its own measured ones" in text


# ========================================================================================= significance
def test_runs_pair_by_seed_only_within_one_seed_scheme(dirs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Same root seed and run count everywhere: two table directories pair their runs (Wilcoxon); a
    table and a one-shot directory do not (Mann-Whitney), and the statement says why."""
    store, table, oneshot = dirs
    other = _compare(store, tmp_path / "other", "local_search")
    sources = combined.load_sources([table, other, oneshot])
    report = significance(combined.merged_runs(sources), n_resamples=200)
    (ds,) = report.datasets
    pairs = {frozenset((s.comparison.a, s.comparison.b)): s for s in ds.statements}
    runs = combined.merged_runs(sources)

    def final(name: str) -> np.ndarray:
        return runs.query("strategy == @name").sort_values("run")["final_test"].to_numpy()

    paired = pairs[frozenset(("rea", "local_search"))]
    assert paired.comparison.paired and paired.comparison.test == "Wilcoxon signed-rank"
    assert np.any(final("rea") != final("local_search"))
    want = sps.wilcoxon(final("rea"), final("local_search"), zero_method="wilcox").pvalue
    assert paired.comparison.p_value == pytest.approx(want)
    unpaired = pairs[frozenset(("rea", "rsps"))]
    assert not unpaired.comparison.paired and unpaired.comparison.test == "Mann-Whitney U"
    want = sps.mannwhitneyu(final("rea"), final("rsps"), alternative="two-sided").pvalue
    assert unpaired.comparison.p_value == pytest.approx(want)
    assert (
        f"Mann-Whitney U, 4 vs 4 unpaired runs: different seed schemes (table search with root seed {SEED} in "
        in unpaired.text
    )
    assert f"one-shot search with root seed {SEED} in {oneshot}" in unpaired.text
    assert "paired by seed (Wilcoxon) only when both have the same seed scheme" in report.notes[-1]


# ========================================================================================= real data
@pytest.fixture(scope="module")
def real_dirs(real_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small real `compare` (random, REA) and a tiny real `oneshot` search (RSPS, 1 epoch)."""
    root = tmp_path_factory.mktemp("multi")
    table, oneshot = root / "table", root / "oneshot"
    store = ["--store", str(real_store_path)]
    argv = ["compare", "--strategies", "random,rea", "--dataset", "cifar10-valid", "--time-budget", "3000"]
    assert main([*argv, "--runs", "3", "--jobs", "1", "--quiet", "--out", str(table), *store]) == 0
    tiny = [
        "--epochs",
        "1",
        "--runs",
        "2",
        "--channels",
        "4",
        "--cells",
        "1",
        "--subset",
        "64",
        "--eval-subset",
        "32",
    ]
    assert main(["oneshot", "rsps", *tiny, "--threads", "1", "--quiet", "--out", str(oneshot), *store]) == 0
    return table, oneshot


@pytest.mark.realdata
def test_real_table_and_significance_of_both_families(
    capsys: pytest.CaptureFixture[str], real_dirs: tuple[Path, Path], real_store_path: Path
) -> None:
    table, oneshot = real_dirs
    capsys.readouterr()
    store = ["--store", str(real_store_path)]
    code, merged, _ = _cli(capsys, "report", str(table), str(oneshot), "--table", "md", *store)
    assert code == 0
    for directory, name in ((table, "rea"), (table, "random"), (oneshot, "rsps")):
        single = _cli(capsys, "report", str(directory), "--table", "md", *store)[1]
        (row,) = [ln for ln in single.splitlines() if ln.startswith(f"| {name} |")]
        assert row in merged.splitlines()
    assert [ln.split(" | ")[0] for ln in merged.splitlines()[2:5]] == ["| random", "| rea", "| rsps"]
    code, text, _ = _cli(capsys, "report", str(table), str(oneshot), "--significance", *store)
    assert code == 0 and "Mann-Whitney U, 3 vs 2 unpaired runs: different seed schemes" in text
    assert "REA" in text and "rsps" in text


@pytest.mark.realdata
def test_real_html_has_both_families_on_one_time_axis_and_renders(
    capsys: pytest.CaptureFixture[str], real_dirs: tuple[Path, Path], real_store_path: Path, tmp_path: Path
) -> None:
    from tests.test_html_report import Page, chromium

    table, oneshot = real_dirs
    page_path = tmp_path / "combined" / "report.html"
    code, _, err = _cli(
        capsys, "report", str(table), str(oneshot), "--html", "--html-out", str(page_path),
        "--store", str(real_store_path),
    )  # fmt: skip
    assert code == 0 and f"wrote {page_path}" in err
    page = Page(page_path.read_text(encoding="utf-8"))
    assert list(page.sections) == [
        "setup", "caveats", "summary", "final", "anytime", "regret", "cd", "paper", "significance",
    ]  # fmt: skip
    summary = page.tables["summary"][0]
    assert [r[0] for r in summary[1:]] == ["random", "rea", "rsps"]
    assert summary[1][1] == f"[1] {table}" and summary[3][1] == f"[2] {oneshot}"
    assert summary[1][-1].endswith(" simulated s")
    assert re.fullmatch(r"\d+ wall s = \d+ table-equiv\. s", summary[3][-1])
    anytime = " ".join(page.sections["anytime"].split())
    assert "against simulated or table-equivalent time on a log axis" in anytime
    assert (
        "table strategies ([1]) at their simulated seconds, one-shot methods ([2]) at their table-equivalent"
        in anytime
    )
    assert "different seed schemes" in page.sections["cd"]
    setup = " ".join(page.sections["setup"].split())
    assert "costs in simulated seconds" in setup and "costs in measured wall seconds" in setup
    figures = sorted(p.name for p in (page_path.parent / "figures").glob("*.png"))
    assert "anytime-test-accuracy-against-simulated-or-table-equivalent-time.png" in figures
    done = chromium("--virtual-time-budget=5000", "--dump-dom", page_path.resolve().as_uri(), tmp=tmp_path)
    (body,) = [a for t, a in Page(done.stdout).tags if t == "body"]
    total = len(page.attrs("img"))
    assert total >= 6 and body.get("data-images-loaded") == str(total) == body.get("data-images-total")


def test_the_hypervolume_column_of_a_constrained_directory_is_its_single_directory_one(
    capsys: pytest.CaptureFixture[str], dirs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    store, _, oneshot = dirs
    constrained = tmp_path / "constrained"
    argv = ["compare", "--strategies", "random,rea", "--dataset", "cifar10-valid", "--eval-budget", "8"]
    argv += ["--epochs", "200", "--runs", "3", "--seed", "1", "--constraint", "params_mb<=1.5", "--jobs", "1"]
    assert main([*argv, "--quiet", "--out", str(constrained), "--store", str(store)]) == 0
    code, single, _ = _cli(capsys, "report", str(constrained), "--store", str(store))
    assert code == 0 and "HV params_mb" in single.splitlines()[2]
    code, merged, _ = _cli(capsys, "report", str(constrained), str(oneshot), "--store", str(store))
    assert code == 0 and "HV params_mb" in merged
    for name in ("random", "rea"):
        hv = _line(single, name)[12:15]  # mean ± std after the overhead column
        assert re.fullmatch(r"0\.\d{3}|1\.000", hv[0]) and _line(merged, name)[12:15] == hv
    assert _line(merged, "rsps")[12] == "n/a"  # the one-shot directory has no constraint
    assert "note: HV: hypervolume of each run's front" in merged
