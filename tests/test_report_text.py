"""The report's text without pandas (`analysis.summary.metas_text`, what `compare` prints after every
comparison and `report DIR` prints for a directory without hypervolumes) is pandas' text (`summarize`,
`caveats`, `format_text` over `load_runs`' frame) character for character."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nasbench_suite import strategies
from nasbench_suite.analysis.summary import (
    caveats,
    format_text,
    metas_caveats,
    metas_text,
    summarize,
    summary_rows,
)
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.results import load_run_metas, load_runs, runs_frame
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store

NAN = float("nan")


def _pandas_text(runs: pd.DataFrame) -> str:
    config = runs.attrs["config"]
    return format_text(summarize(runs), caveats(runs, config), config)


@pytest.fixture
def comparison(tiny_store: Store, tmp_path: Path) -> Path:
    # two workers: random proposes asynchronously, local search falls back to one evaluation at a time (a note)
    spec = ComparisonSpec(
        ("local_search", "random"),
        ("cifar100", "cifar10-valid"),
        3,
        Budget(BudgetKind.SECONDS, 3000),
        workers=2,
    )
    run_comparison(tiny_store, spec, tmp_path, strategies.build, jobs=1, progress=False)
    return tmp_path


def test_the_text_without_pandas_is_pandas_text(comparison: Path) -> None:
    found = load_run_metas(comparison)
    runs = load_runs(comparison)
    text = metas_text(found.metas, found.set_aside, found.config)
    assert text == _pandas_text(runs)
    assert "local_search cannot propose while results are pending" in text  # the notes have the runs' facts
    assert "searches on cifar10-valid report" in text


def test_missing_values_single_runs_and_left_out_files_read_alike(comparison: Path) -> None:
    """NaN accuracies are skipped in means and deviations as pandas skips them; one value has no
    deviation (n/a); all NaN is n/a; files left out are named first."""
    found = load_run_metas(comparison)
    metas = [dict(m) for m in found.metas]
    ls_runs = [m for m in metas if m["strategy"] == "local_search" and m["dataset"] == "cifar100"]
    ls_runs[0]["final_test"] = NAN  # two values left
    for m in ls_runs[1:]:
        m["final_valid"] = NAN  # one value left: no deviation
    for m in metas:
        if m["strategy"] == "random" and m["dataset"] == "cifar100":
            m["final_test"] = m["final_valid"] = NAN  # none left
    metas[0]["overhead_s"] = 1e-9 * (1 + 2**-40)  # values whose sum rounds: both sides agree
    set_aside = ["runs/x__cifar100__0007.parquet (unreadable: garbage)"]
    edited = runs_frame(type(found)(metas, found.config, set_aside))
    text = metas_text(metas, set_aside, found.config)
    assert text == _pandas_text(edited)
    assert text.splitlines()[-5].startswith("note: 1 run file in the directory left out")
    row = {(r.strategy, r.dataset): r for r in summary_rows(metas)}
    tests = [m["final_test"] for m in ls_runs[1:]]
    assert row["local_search", "cifar100"].test_mean == pytest.approx(sum(tests) / 2, abs=1e-12)
    assert math.isnan(row["local_search", "cifar100"].valid_std) and math.isnan(
        row["random", "cifar100"].test_mean
    )
    assert "n/a" in text


def test_a_one_shot_directory_needs_the_frame() -> None:
    with pytest.raises(ValueError, match="one-shot"):
        metas_caveats([], [], {"spec": {"oneshot": {"channels": 8}}})


def test_report_prints_the_text_without_importing_pandas(comparison: Path) -> None:
    code = (
        "import sys\n"
        "from nasbench_suite.cli import main\n"
        f"assert main(['report', {str(comparison)!r}]) == 0\n"
        "print('pandas' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "False"
    assert done.stdout.strip() == _pandas_text(load_runs(comparison))
