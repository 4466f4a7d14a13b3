"""Paper figures: fixed colours per strategy, top-k hits counted by hand on the tiny store, and every
figure drawn without pyplot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench_suite.analysis import paper_figures, plots
from nasbench_suite.analysis.colors import FIXED, strategy_color, strategy_colors
from nasbench_suite.analysis.stats import pairwise_tests
from nasbench_suite.errors import ConfigError
from nasbench_suite.store import Store


def test_a_strategy_keeps_its_colour_whatever_else_is_plotted() -> None:
    few, many = strategy_colors(["rea", "random"]), strategy_colors([*sorted(FIXED), "my_own", "zzz"])
    assert few["random"] == many["random"] == "#4e79a7" and few["rea"] == many["rea"]
    assert len(set(FIXED.values())) == len(FIXED)  # the known strategies never share a colour
    assert strategy_color("my_own") == strategy_color("my_own")  # a stable hash, not Python's salted one
    assert plots._colors(["random", "tpe"]) == {"random": "#4e79a7", "tpe": "#edc948"}


def test_top_k_hits_counts_runs_whose_incumbent_is_among_the_k_best(tiny_store: Store) -> None:
    # the tiny store's cifar10 test accuracy is 70 + index: the best arch is index 26, the top 10 are 17..26
    incumbents = pd.DataFrame(
        {
            "strategy": ["a"] * 4 + ["b"] * 2,
            "dataset": ["cifar10-valid"] * 6,
            "run": [0, 1, 2, 3, 0, 1],
            "arch_index": [26, 17, 16, 0, 25, 26],
        }
    )
    hits = paper_figures.top_k_hits(incumbents, tiny_store, ks=(1, 10, 100))
    assert hits.shares[("a", "cifar10-valid")] == (0.25, 0.5, 1.0)  # 100 > 27 archs: every run is in
    assert hits.shares[("b", "cifar10-valid")] == (0.5, 1.0, 1.0)
    assert hits.runs == {("a", "cifar10-valid"): 4, ("b", "cifar10-valid"): 2}
    with pytest.raises(ConfigError, match="ks must be"):
        paper_figures.top_k_hits(incumbents, tiny_store, ks=(0,))
    fig = paper_figures.plot_top_k_hits(hits)
    bars = list(fig.axes[0].patches)
    heights = sorted(round(b.get_height(), 6) for b in bars)
    assert heights == sorted([25.0, 50.0, 50.0, 100.0, 100.0, 100.0])


def test_the_pairwise_matrix_shows_a12_and_holm_stars() -> None:
    rng = np.random.default_rng(0)
    scores = {"x": rng.normal(1.0, 1, 60), "y": rng.normal(0.0, 1, 60), "z": rng.normal(0.05, 1, 60)}
    comparisons = pairwise_tests(scores, rng=np.random.default_rng(1), n_resamples=200)
    fig = paper_figures.plot_pairwise_matrix(comparisons, list(scores))
    texts = {t.get_text() for t in fig.axes[0].texts}
    xy = next(c for c in comparisons if (c.a, c.b) == ("x", "y"))
    assert xy.p_holm < 0.05 and f"{xy.a12:.2f}*" in texts and f"{1 - xy.a12:.2f}*" in texts
    yz = next(c for c in comparisons if (c.a, c.b) == ("y", "z"))
    assert yz.p_holm > 0.05 and f"{yz.a12:.2f}" in texts


def test_distribution_and_valid_vs_test_draw_one_panel_per_dataset() -> None:
    runs = pd.DataFrame(
        {
            "strategy": ["a", "a", "b", "b", "a", "b"],
            "dataset": ["cifar10-valid"] * 4 + ["cifar100"] * 2,
            "final_test": [93.0, 94.0, 92.0, 92.0, 70.0, 71.0],  # b on cifar10-valid has no spread
            "final_valid": [90.0, 91.0, 89.0, 89.0, 69.0, 70.0],
        }
    )
    fig = paper_figures.plot_final_distribution(runs, {"cifar10-valid": 94.37, "cifar100": 73.51})
    assert [ax.get_title() for ax in fig.axes] == ["cifar10-valid (test on cifar10)", "cifar100"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]
    assert any(line.get_ydata()[0] == 94.37 for line in fig.axes[0].get_lines())
    fig = paper_figures.plot_valid_vs_test(runs)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "validation accuracy on cifar10-valid (%)"
