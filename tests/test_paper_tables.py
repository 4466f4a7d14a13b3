"""The other paper tables: their published values (typed again here, independently of the JSON), the
protocol that runs a row at its own published search time, and the zero-cost comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from nasbench_suite.analysis.reproduce import NOT_AVAILABLE, load_published
from nasbench_suite.analysis.zero_cost_report import compare, format_markdown
from nasbench_suite.reproduction.protocols import WHITE2021
from nasbench_suite.reproduction.run import plan

# SamsungLabs/zero-cost-nas notebooks/nasbench201_correlations.ipynb, "Table 1" output
ZERO_COST = {
    "grad_norm": (0.594, 0.637, 0.578),
    "snip": (0.596, 0.637, 0.578),
    "grasp": (0.514, 0.547, 0.549),
    "fisher": (0.36, 0.385, 0.327),
    "synflow": (0.737, 0.763, 0.751),
    "jacob_cov": (0.731, 0.704, 0.701),
}


def test_the_zero_cost_table_has_the_authors_values_and_nothing_invented() -> None:
    table = load_published("zero_cost_nb201")
    assert table.columns == ("CIFAR-10", "CIFAR-100", "ImageNet16-120")
    for name, values in ZERO_COST.items():
        cells = [table.row(name).cell(c) for c in table.columns]
        assert tuple(c.mean for c in cells) == values
        assert all(c.status == "verified-primary" and c.sources == ("zero-cost-nas-notebook",) for c in cells)
    for name in ("naswot", "zen"):
        assert all(table.row(name).cell(c).mean is None for c in table.columns)


def test_the_white_table_has_only_the_two_values_found() -> None:
    table = load_published("white2021_nb201")
    found = {
        (r.name, c): r.cell(c).mean for r in table.rows for c in table.columns if r.cell(c).mean is not None
    }
    assert found == {("Local search", "ImageNet16-120 test"): 46.38, ("BANANAS", "ImageNet16-120 test"): 46.3}
    assert table.row("Local search").cell("ImageNet16-120 test").sources == ("pwc-local-search",)


def test_a_row_with_its_own_search_time_gets_its_own_comparison() -> None:
    specs = plan(WHITE2021, runs=3, seed=0)
    assert [(name, s.strategies, s.budget.limit) for name, s, _ in specs] == [
        ("white2021-ImageNet16-120", ("local_search", "rea", "random"), 151_200.0),
        ("white2021-ImageNet16-120-100800s", ("bananas",), 100_800.0),
    ]
    assert {s.seed for _, s, _ in specs} == {0} and all(
        s.datasets == ("ImageNet16-120",) for _, s, _ in specs
    )


def test_the_zero_cost_comparison_computes_spearman_and_prints_what_is_missing() -> None:
    rng = np.random.default_rng(0)
    accuracy = rng.normal(80, 5, 40)
    synflow = accuracy + rng.normal(0, 3, 40)
    naswot = accuracy + rng.normal(0, 10, 40)
    naswot_json: list[float | None] = [float(v) for v in naswot]
    naswot_json[0] = None  # -inf in the JSON: ranks lowest
    validation = {
        "indices": list(range(40)),
        "proxies": ["synflow", "naswot"],
        "batch": 64,
        "seed": 0,
        "accuracy": [float(a) for a in accuracy],
        "scores": {"synflow": [float(v) for v in synflow], "naswot": naswot_json},
        "seconds": {"synflow": [0.5] * 40, "naswot": [1.0] * 40},
        "build_seconds": [0.25] * 40,
    }
    published = load_published("zero_cost_nb201")
    rows = compare(validation, published, rng=np.random.default_rng(1), n_resamples=300)
    syn, nas = rows
    assert syn.spearman == pytest.approx(sps.spearmanr(synflow, accuracy).statistic)
    lowest = naswot.copy()
    lowest[0] = naswot.min() - 1
    assert nas.spearman == pytest.approx(sps.spearmanr(lowest, accuracy).statistic) and nas.n_archs == 40
    assert syn.low < syn.spearman < syn.high and syn.published is not None and syn.published.mean == 0.737
    text = format_markdown(rows, validation, published, wall_s=100.0)
    assert (
        f"| naswot | {nas.spearman:.3f}" in text
        and NOT_AVAILABLE in text.split("| naswot |")[1].splitlines()[0]
    )
    assert "| 0.737 | verified-primary (zero-cost-nas-notebook) |" in text
    assert f"Runtime: {0.5 * 40 + 1.0 * 40 + 0.25 * 40:,.0f} s" in text and "100 s wall" in text
    assert not math.isnan(syn.seconds_per_arch)
