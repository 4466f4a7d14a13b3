"""Tables and plots of a small real comparison (random, REA, local search x cifar10-valid, cifar100 x 10
runs x 20 evaluations), checked against direct store lookups, the run metadata, scipy and textbook
numbers (Demsar 2006; hand-computed Pareto fronts and hypervolumes)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from nasbench_suite import strategies
from nasbench_suite.analysis import plots, tables
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ConfigError
from nasbench_suite.results import load_rows, load_runs
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store
from nasbench_suite.trajectory import step_at

pytestmark = pytest.mark.realdata

SPEC = ComparisonSpec(
    ("random", "rea", "local_search"),
    ("cifar10-valid", "cifar100"),
    10,
    Budget(BudgetKind.EVALUATIONS, 20),
    seed=3,
)


@pytest.fixture(scope="module")
def comparison(real_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("comparison")
    run_comparison(real_store, SPEC, out, strategies.build, jobs=1, progress=False)
    return out


@pytest.fixture(scope="module")
def rows(comparison: Path) -> pd.DataFrame:
    return load_rows(comparison)


@pytest.fixture(scope="module")
def runs(comparison: Path) -> pd.DataFrame:
    return load_runs(comparison)


def with_measurements(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows plus a cheap measurement (epoch 0, NaN valid_seen, a `measure` name and an incumbent that
    no training row has) after every training row, as the lead's hardware-aware runs will write."""
    fake = rows.copy()
    fake["epoch"], fake["valid_seen"], fake["measure"] = 0, np.nan, "hw_latency_ms/1080ti_1"
    fake["incumbent_index"], fake["incumbent_test"] = 0, 10.0
    fake["time_s"] = fake["time_s"] + 1e-3
    out = pd.concat([rows.assign(measure=""), fake], ignore_index=True)
    return out.sort_values(["strategy", "dataset", "run", "time_s"], kind="stable").assign(
        step=lambda f: f.groupby(["strategy", "dataset", "run"]).cumcount()
    )


# ================================================================================================ tables
def test_final_incumbents_are_the_last_training_rows_and_ignore_measurements(
    rows: pd.DataFrame, runs: pd.DataFrame
) -> None:
    inc = tables.final_incumbents(rows)
    assert len(inc) == len(runs) == 3 * 2 * 10
    for r in inc.sample(8, random_state=0).itertuples():
        own = rows[(rows.strategy == r.strategy) & (rows.dataset == r.dataset) & (rows.run == r.run)]
        assert r.arch_index == own.sort_values("step")["incumbent_index"].iloc[-1]
    pd.testing.assert_frame_equal(tables.final_incumbents(with_measurements(rows)), inc)


def test_nb201_table_equals_direct_store_lookups_of_the_final_incumbents(
    rows: pd.DataFrame, real_store: Store
) -> None:
    inc = tables.final_incumbents(rows)
    table = tables.nb201_table(inc, real_store)
    assert [c.label for c in table.columns] == [
        f"{d} {s}" for d in ("cifar10", "cifar100", "ImageNet16-120") for s in ("valid", "test")
    ]
    sources = [
        ("cifar10-valid", "valid_acc"),
        ("cifar10", "test_acc"),
        ("cifar100", "valid_acc"),
        ("cifar100", "test_acc"),
        ("ImageNet16-120", "valid_acc"),
        ("ImageNet16-120", "test_acc"),
    ]
    assert list(zip(table.strategies, table.searched_on, strict=True)) == [
        (s, d) for s in ("local_search", "random", "rea") for d in ("cifar10-valid", "cifar100")
    ]
    mean, std = table.mean(), table.std()
    for i, (strategy, searched) in enumerate(zip(table.strategies, table.searched_on, strict=True)):
        archs = inc[(inc.strategy == strategy) & (inc.dataset == searched)].sort_values("run")["arch_index"]
        for j, (dataset, metric) in enumerate(sources):
            direct = [real_store.query(int(a), dataset, metric, epochs=200, seed="mean") for a in archs]
            np.testing.assert_array_equal(table.cells[i][j], direct)
            assert mean[i, j] == pytest.approx(np.mean(direct))
            assert std[i, j] == pytest.approx(np.std(direct, ddof=1))
    assert (table.counts() == 10).all()
    with pytest.raises(ValueError, match="read-only"):
        table.cells[0][0][0] = 1.0


def test_per_search_dataset_table_equals_the_run_metadata(
    rows: pd.DataFrame, runs: pd.DataFrame, real_store: Store
) -> None:
    table = tables.per_search_dataset_table(tables.final_incumbents(rows), real_store)
    assert [(c.label, c.dataset, c.search) for c in table.columns] == [
        ("cifar10 valid", "cifar10-valid", "cifar10-valid"),
        ("cifar10 test", "cifar10", "cifar10-valid"),
        ("cifar100 valid", "cifar100", "cifar100"),
        ("cifar100 test", "cifar100", "cifar100"),
    ]
    for i, strategy in enumerate(table.strategies):
        for j, col in enumerate(table.columns):
            meta = runs[(runs.strategy == strategy) & (runs.dataset == col.search)].sort_values("run")
            expected = meta["final_valid" if col.split == "valid" else "final_test"].to_numpy()
            np.testing.assert_allclose(table.cells[i][j], expected, rtol=0, atol=1e-12)


def test_markdown_latex_and_csv_parse_and_hold_the_numbers(rows: pd.DataFrame, real_store: Store) -> None:
    table = tables.nb201_table(
        tables.final_incumbents(rows), real_store, strategies=["rea", "local_search", "random"]
    )
    mean, std = table.mean(), table.std()

    md = tables.to_markdown(table, bold_best=True, notes=True)
    lines = [line for line in md.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 6 and all(line.count("|") == 9 for line in lines)
    body = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [r[0] for r in body] == ["rea", "rea", "local_search", "local_search", "random", "random"]
    for i, r in enumerate(body):
        for j, cell in enumerate(r[2:]):
            assert cell.strip("*") == f"{mean[i, j]:.2f}±{std[i, j]:.2f}"
    for j in range(6):  # the bold cell of each column has the best mean
        bold = [i for i, r in enumerate(body) if r[2 + j].startswith("**")]
        assert bold and np.round(mean[bold[0], j], 2) == np.round(mean[:, j], 2).max()
    assert "- cifar10 valid is cifar10-valid's validation split" in md

    tex = tables.to_latex(table, caption="Search on 20 evaluations", label="tab:nb201")
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{llcccccc}", r"\end{table}"):
        assert tex.count(token) == 1
    assert r"\multicolumn{2}{c}{ImageNet16-120}" in tex and r"\cmidrule(lr){7-8}" in tex
    body_rows = tex.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert len(body_rows) == 6 and all(r.count("&") == 7 and r.endswith(r"\\") for r in body_rows)
    assert body_rows[2].startswith(r"local\_search & cifar10-valid & ")
    assert f"{mean[0, 1]:.2f}$\\pm${std[0, 1]:.2f}" in body_rows[0]

    csv = pd.read_csv(io.StringIO(tables.to_csv(table)))
    assert list(csv["strategy"]) == list(table.strategies)
    np.testing.assert_array_equal(csv["cifar10_test_mean"], mean[:, 1])
    np.testing.assert_array_equal(csv["ImageNet16-120_valid_std"], std[:, 4])
    assert (csv["cifar100_test_n"] == 10).all()
    pretty = pd.read_csv(io.StringIO(tables.to_csv(table, formatted=True)))
    assert pretty.loc[3, "cifar100 test"] == f"{mean[3, 3]:.2f}±{std[3, 3]:.2f}"


def test_cells_of_one_run_and_of_none() -> None:
    assert tables.format_cell(93.7412, 0.3367, 500) == "93.74±0.34"
    assert tables.format_cell(93.7412, float("nan"), 1) == "93.74"
    assert tables.format_cell(float("nan"), float("nan"), 0) == "–"
    assert tables.latex_escape("local_search & 50%") == r"local\_search \& 50\%"


def test_table_rejects_unknown_strategies_and_missing_columns(rows: pd.DataFrame, real_store: Store) -> None:
    with pytest.raises(ConfigError, match=r"strategies must be among those in the results.*got bohb"):
        tables.nb201_table(tables.final_incumbents(rows), real_store, strategies=["bohb"])
    with pytest.raises(ConfigError, match="none named incumbent_index"):
        tables.final_incumbents(rows.drop(columns="incumbent_index"))


# ================================================================================================= curves
def test_anytime_curves_are_step_at_on_the_grid_and_ignore_measurements(rows: pd.DataFrame) -> None:
    for axis in ("time", "evaluations"):
        curves = plots.anytime_curves(rows, axis=axis)
        assert set(curves.values) == {(s, d) for s in SPEC.strategies for d in SPEC.datasets}
        for (s, d), values in curves.values.items():
            assert values.shape == (10, curves.grid.size)
            for k, run in enumerate(curves.runs[(s, d)]):
                own = rows[(rows.strategy == s) & (rows.dataset == d) & (rows.run == run)].sort_values("step")
                x = own["time_s"].to_numpy() if axis == "time" else np.arange(1, len(own) + 1)
                expected = [step_at(x, own["incumbent_test"].to_numpy(), t) for t in curves.grid]
                np.testing.assert_array_equal(values[k], expected)
        again = plots.anytime_curves(with_measurements(rows), axis=axis, grid=curves.grid)
        for key, values in curves.values.items():
            np.testing.assert_array_equal(again.values[key], values)
    evals = plots.anytime_curves(rows, axis="evaluations")
    np.testing.assert_array_equal(evals.grid, np.arange(1, 21))


def test_regret_uses_the_best_test_accuracy_of_the_report_dataset(
    rows: pd.DataFrame, real_store: Store
) -> None:
    optima = plots.optima(real_store, ["cifar10-valid", "cifar100", "ImageNet16-120"])
    assert optima == pytest.approx(
        {"cifar10-valid": 94.37, "cifar100": 73.51, "ImageNet16-120": 47.31}, abs=0.005
    )
    curves = plots.anytime_curves(rows, axis="evaluations")
    regret = plots.regret_curves(curves, optima)
    key = ("rea", "cifar10-valid")
    np.testing.assert_array_equal(regret.values[key], optima["cifar10-valid"] - curves.values[key])
    assert (regret.values[key] >= 0).all()
    with pytest.raises(ConfigError, match="none for cifar100"):
        plots.regret_curves(curves, {"cifar10-valid": 94.37})


def test_bootstrap_band_contains_the_mean_and_narrows_with_more_runs() -> None:
    gen = np.random.default_rng(1)
    widths = {}
    for n in (25, 400):
        values = gen.normal(90.0, 1.0, size=(n, 30))
        band = plots.bootstrap_band(values, rng=np.random.default_rng(2), n_boot=2000)
        np.testing.assert_allclose(band.center, values.mean(axis=0))
        assert (band.low <= band.center).all() and (band.center <= band.high).all()
        widths[n] = np.mean(band.high - band.low)
        # the normal-theory interval: 2 x 1.96 s / sqrt(n)
        se = values.std(axis=0, ddof=1) / np.sqrt(n)
        assert widths[n] == pytest.approx(np.mean(2 * 1.96 * se), rel=0.12)
    assert widths[400] < widths[25] / 3  # about sqrt(16) = 4 times narrower
    median = plots.bootstrap_band(values, rng=3, statistic="median", n_boot=300)
    np.testing.assert_allclose(median.center, np.median(values, axis=0))
    assert (median.low <= median.center).all() and (median.center <= median.high).all()
    # same generator seed, same band; before a run's first evaluation there is no band
    values[0, :3] = np.nan
    a = plots.bootstrap_band(values, rng=7, n_boot=50)
    b = plots.bootstrap_band(values, rng=np.random.default_rng(7), n_boot=50)
    np.testing.assert_array_equal(a.high, b.high)
    assert np.isnan(a.center[:3]).all() and np.isfinite(a.center[3:]).all()


def test_average_ranks_over_tasks_with_ties() -> None:
    grid = np.array([1.0, 2.0, 3.0])
    ones = np.ones((4, 3))
    values = {
        ("a", "t1"): ones * [1, 3, 3],
        ("b", "t1"): ones * [2, 2, 1],
        ("c", "t1"): ones * [np.nan, 1, 2],  # c has not evaluated anything at the first point of t1
        ("a", "t2"): ones * [1, 1, 1],
        ("b", "t2"): ones * [1, 2, 3],
        ("c", "t2"): ones * [0, 0, 0],
    }
    curves = plots.Curves("evaluations", grid, values, {k: np.arange(4) for k in values})
    ranks = plots.average_ranks(curves)
    assert ranks.strategies == ("a", "b", "c")
    np.testing.assert_array_equal(ranks.n_tasks, [1, 2, 2])
    np.testing.assert_allclose(ranks.ranks[:, 0], rankdata(-np.array([1, 1, 0])))  # only t2 counts here
    np.testing.assert_allclose(ranks.ranks[:, 1], [(1 + 2) / 2, (2 + 1) / 2, (3 + 3) / 2])
    np.testing.assert_allclose(ranks.ranks[:, 2], [(1 + 2) / 2, (3 + 1) / 2, (2 + 3) / 2])


# ===================================================================================== critical difference
def test_critical_difference_ranks_and_groups() -> None:
    gen = np.random.default_rng(0)
    base = gen.normal(size=(40, 2))
    scores = {"good": base + 3.0, "close": base + 2.9 + gen.normal(0, 0.5, (40, 2)), "bad": base - 3.0}
    result = plots.critical_difference(scores)
    blocks = np.stack([s.ravel() for s in scores.values()], axis=1)
    mean_rank = rankdata(-blocks, axis=1).mean(axis=0)
    assert result.n_blocks == 80
    assert result.strategies[-1] == "bad" and result.average_ranks[-1] == pytest.approx(3.0)
    assert dict(zip(result.strategies, result.average_ranks, strict=True)) == pytest.approx(
        dict(zip(scores, mean_rank, strict=True))
    )
    assert result.cd == pytest.approx(2.343 * np.sqrt(3 * 4 / (6 * 80)))
    assert [set(c) for c in result.cliques] == [{"good", "close"}]
    scores["bad"] = scores["bad"][:30]
    with pytest.raises(ConfigError, match="one shape"):
        plots.critical_difference(scores)


def test_final_scores_pair_runs_by_number(runs: pd.DataFrame) -> None:
    scores = plots.final_scores(runs)
    assert set(scores) == set(SPEC.strategies) and scores["rea"].shape == (10, 2)
    meta = runs[(runs.strategy == "rea") & (runs.dataset == "cifar100")].sort_values("run")
    np.testing.assert_array_equal(scores["rea"][:, 1], meta["final_test"])


# ================================================================================================ pareto
def test_pareto_front_on_hand_computed_examples() -> None:
    points = np.array(
        [
            [1.0, 3.0],  # 0 front
            [2.0, 5.0],  # 1 front
            [3.0, 4.0],  # 2 dominated by 1
            [2.0, 4.0],  # 3 same latency as 1, less accurate
            [0.5, 1.0],  # 4 front (fastest)
            [4.0, 5.0],  # 5 dominated by 1 (slower, equally accurate)
            [2.0, 5.0],  # 6 identical to 1: neither dominates the other
            [5.0, 6.0],  # 7 front (most accurate)
        ]
    )
    np.testing.assert_array_equal(plots.pareto_front(points), [4, 0, 1, 6, 7])
    assert plots.pareto_front(np.zeros((0, 2))).size == 0
    with pytest.raises(ConfigError, match=r"\(n, 2\)"):
        plots.pareto_front(np.zeros((3, 3)))


def test_hypervolume_on_hand_computed_examples() -> None:
    # union of [1,4]x[0,3] and [2,4]x[0,5]: 9 + 10 - 6 = 13; the dominated (3, 4) adds nothing
    assert plots.hypervolume_2d(np.array([[1, 3], [2, 5], [3, 4]]), (4, 0)) == pytest.approx(13.0)
    assert plots.hypervolume_2d(np.array([[2, 5]]), (4, 1)) == pytest.approx(8.0)
    # a point outside the reference box counts for nothing, and so does an empty front
    assert plots.hypervolume_2d(np.array([[1, 3], [5, 9]]), (4, 0)) == pytest.approx(9.0)
    assert plots.hypervolume_2d(np.zeros((0, 2)), (4, 0)) == 0.0
    # Monte Carlo cross-check on random points
    gen = np.random.default_rng(0)
    pts = gen.uniform(0, 1, size=(30, 2))
    probe = gen.uniform(0, 1, size=(200_000, 2))
    covered = ((pts[None, :, 0] <= probe[:, None, 0]) & (pts[None, :, 1] >= probe[:, None, 1])).any(axis=1)
    assert plots.hypervolume_2d(pts, (1, 0)) == pytest.approx(covered.mean(), abs=0.005)


def test_the_reference_point_is_the_fronts_nadir_pushed_out_by_a_tenth_of_its_range() -> None:
    # front (1, 3), (2, 5); (3, 4) and (5, 0) are dominated and do not move the reference
    pts = np.array([[1.0, 3.0], [2.0, 5.0], [3.0, 4.0], [5.0, 0.0]])
    assert plots.reference_point(pts) == pytest.approx((2.0 + 0.1 * 1.0, 3.0 - 0.1 * 2.0))
    # a single-point front: its range is 0, so the reference is the point and its hypervolume is 0
    assert plots.reference_point(np.array([[1.0, 3.0]])) == (1.0, 3.0)
    with pytest.raises(ConfigError, match="at least one point"):
        plots.reference_point(np.zeros((0, 2)))


# ================================================================================================= files
def assert_saved(fig, base: Path) -> None:
    import matplotlib.image

    png, svg = plots.save(fig, base)
    assert (png, svg) == (base.with_name(base.name + ".png"), base.with_name(base.name + ".svg"))
    assert png.stat().st_size > 1000 and svg.stat().st_size > 1000
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0  # not blank
    assert ET.parse(svg).getroot().tag.endswith("svg")


def _anytime(rows, runs, store, axis, statistic="mean"):
    return plots.plot_anytime(
        plots.anytime_curves(rows, axis=axis, n_points=60), rng=0, n_boot=200, statistic=statistic
    )


def _regret(rows, runs, store, axis):
    curves = plots.anytime_curves(rows, axis=axis, n_points=60)
    return plots.plot_regret(
        curves, plots.optima(store, curves.datasets), rng=np.random.default_rng(0), n_boot=200
    )


def _pareto(rows, runs, store):
    points = plots.arch_points(store, "cifar10-valid", "hw_latency_ms/1080ti_1")
    assert points.shape == (15625, 2) and points[:, 1].max() == pytest.approx(94.37, abs=0.005)
    gen = np.random.default_rng(0)
    found = {s: [points[gen.choice(len(points), 20)] for _ in range(4)] for s in ("random", "rea")}
    return plots.plot_pareto_fronts(points, found, latency_label="1080ti latency (ms)")


FIGURES = {
    "anytime_time": lambda *a: _anytime(*a, "time"),
    "anytime_evaluations_median": lambda *a: _anytime(*a, "evaluations", "median"),
    "regret_time": lambda *a: _regret(*a, "time"),
    "regret_evaluations": lambda *a: _regret(*a, "evaluations"),
    "average_rank": lambda rows, runs, store: plots.plot_average_rank(
        plots.average_ranks(plots.anytime_curves(rows, n_points=60))
    ),
    "critical_difference": lambda rows, runs, store: plots.plot_critical_difference(
        plots.critical_difference(plots.final_scores(runs))
    ),
    "pareto": _pareto,
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_plot_saves_png_and_svg(
    name: str, rows: pd.DataFrame, runs: pd.DataFrame, real_store: Store, tmp_path: Path
) -> None:
    import matplotlib

    backend = matplotlib.get_backend()
    assert_saved(FIGURES[name](rows, runs, real_store), tmp_path / "nested" / name)
    assert matplotlib.get_backend() == backend  # figures come from their own Agg canvas, no global switch


def test_save_wants_a_path_without_suffix(tmp_path: Path) -> None:
    ranks = plots.RankCurves("evaluations", np.arange(1.0, 4.0), ("a",), np.ones((1, 3)), np.ones(3, int))
    with pytest.raises(ConfigError, match=r"must not end in \.png or \.svg"):
        plots.save(plots.plot_average_rank(ranks), tmp_path / "x.png")


def test_runs_without_a_feasible_incumbent_are_left_out_and_counted() -> None:
    rows = pd.DataFrame(
        {
            "strategy": ["a", "a", "a", "a"],
            "dataset": ["cifar100"] * 4,
            "run": [0, 0, 1, 1],
            "step": [0, 1, 0, 1],
            "epoch": [12, 12, 12, 12],
            "incumbent_index": [-1, 7, -1, -1],  # run 1 never met the constraint
        }
    )
    found = tables.final_incumbents(rows)
    assert found["run"].tolist() == [0] and found["arch_index"].tolist() == [7]
    assert found.attrs["without_incumbent"] == 1
