"""A paper table's reproduction as one self-contained HTML page (`reproduce` writes OUT/<paper>.html beside
OUT/<paper>.md).

The page opens with a figure of our mean beside the published mean for every method and column, each with
its 95% interval of the mean (1.96 standard errors from that side's std and run count; a published value
without a spread or run count is drawn without one), and then the reproduction's Markdown, section by
section (protocol, the table with each cell's z, the sweeps, the notes on where the numbers differ), as
HTML. The figure is also saved as PNG and SVG when a figures folder is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from nasbench_suite import __version__
from nasbench_suite.analysis.colors import strategy_color
from nasbench_suite.analysis.html_report import (
    _exporter,
    _figure,
    _page,
    _Section,
    _stamp,
    _write_page,
    markdown_to_html,
)
from nasbench_suite.analysis.reproduce import CellComparison, ReproductionReport

Z95 = 1.96
OFFSET = 0.14  # ours above, published below each method's row


def interval(std: float | None, runs: int | None) -> float | None:
    """Half-width of the 95% interval of a mean of `runs` runs with standard deviation `std`; None when
    either is unknown or there is a single run."""
    if std is None or runs is None or runs < 2 or std != std:
        return None
    return Z95 * std / math.sqrt(runs)


def plot_beside_published(report: ReproductionReport) -> Figure | None:
    """One panel per column with a published or measured cell; per method, our mean (filled circle, in
    the strategy's colour) above the published mean (open diamond), each with its 95% interval."""
    cells = {(c.method, c.column): c for c in report.cells}
    columns = [col for col in report.columns if any(key[1] == col for key in cells)]
    methods = list(dict.fromkeys(c.method for c in report.cells))
    if not columns:
        return None
    fig, axes = plt.subplots(
        1,
        len(columns),
        figsize=(2.3 * len(columns) + 1.4, 0.42 * len(methods) + 1.7),
        sharey=True,
        constrained_layout=True,
        squeeze=False,
    )
    for ax, column in zip(axes[0], columns, strict=True):
        for row, method in enumerate(methods):
            cell = cells.get((method, column))
            if cell is not None:
                _draw_cell(ax, len(methods) - 1 - row, cell)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=7.5)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.25)
    axes[0][0].set_yticks(range(len(methods)), methods[::-1], fontsize=8)
    axes[0][0].set_ylim(-0.6, len(methods) - 0.4)
    handles = [
        Line2D([], [], marker="o", ls="", color="0.3", label="ours: mean, 95% interval"),
        Line2D([], [], marker="D", ls="", mfc="white", mec="black", color="black", label="published"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def _draw_cell(ax: plt.Axes, y: float, cell: CellComparison) -> None:
    ours = interval(cell.ours_std, cell.ours_n)
    ax.errorbar(
        cell.ours_mean, y + OFFSET, xerr=ours, fmt="o", ms=5, color=strategy_color(cell.strategy), capsize=2
    )
    published = cell.published
    if published.mean is not None:
        xerr = interval(published.std, published.runs)
        ax.errorbar(
            published.mean,
            y - OFFSET,
            xerr=xerr,
            fmt="D",
            ms=4.5,
            mfc="white",
            mec="black",
            ecolor="black",
            capsize=2,
        )


def sections_of(markdown: str) -> list[tuple[str, str]]:
    """(title, body) of every `## ` section of the reproduction's Markdown (the `# ` title line and the
    text before the first section are the page's header)."""
    parts = re.split(r"^## +(.+)$", markdown, flags=re.MULTILINE)
    return [(parts[k].strip(), parts[k + 1]) for k in range(1, len(parts) - 1, 2)]


def build_reproduction_html(
    report: ReproductionReport,
    markdown: str,
    *,
    figures_dir: Path | str | None = None,
    generated_at: str | None = None,
) -> str:
    """The page: the figure, then each section of `markdown` (what `analysis.reproduce.format_markdown`
    wrote for `report`)."""
    export = _exporter(figures_dir)
    sections: list[_Section] = []
    fig = plot_beside_published(report)
    if fig is not None:
        caption = (
            "Per method and column: our mean over runs (filled circle, the strategy's colour) and the "
            "published mean (open diamond), each with the 95% interval of the mean (1.96 standard "
            "errors from its std and run count). A published value without a spread or run count has no "
            "interval; the published cells' sources and statuses are in the table below."
        )
        body = _figure(fig, f"{report.key} ours beside the published values", caption, export=export)
        plt.close(fig)
        sections.append(_Section("beside", "Ours beside the published values", body))
    for k, (title, text) in enumerate(sections_of(markdown)):
        sections.append(_Section(f"section-{k}", title, markdown_to_html(text, heading_offset=1)))
    subtitle = f"{report.citation}; {report.reference}"
    footer = f"generated {_stamp(generated_at)} by nasbench-suite {__version__} from {', '.join(report.results_dirs)}"
    return _page(report.title, subtitle, sections, footer)


def write_reproduction_html(
    report: ReproductionReport,
    markdown: str,
    path: Path | str,
    *,
    figures_dir: Path | str | None = None,
    generated_at: str | None = None,
) -> Path:
    """`build_reproduction_html` written to `path` atomically; returns `path`."""
    page = build_reproduction_html(report, markdown, figures_dir=figures_dir, generated_at=generated_at)
    return _write_page(Path(path), page)


__all__: Sequence[str] = (
    "build_reproduction_html",
    "interval",
    "plot_beside_published",
    "sections_of",
    "write_reproduction_html",
)
