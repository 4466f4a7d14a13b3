"""The HTML report of a small real comparison (random, REA, local search x cifar10-valid, cifar100 x 8 runs x
15 evaluations, latency as a second objective): it parses, holds every section, shows the numbers of the
run metadata and of direct store lookups, has no external resource, every embedded PNG decodes, and
headless Chromium renders it with every image loaded. Chromium is required: install it with
`apt-get install -y chromium` (Debian); without it these tests fail, they are not skipped."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nasbench_suite import strategies
from nasbench_suite.analysis import html_report
from nasbench_suite.analysis.significance import significance, statements
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import ResultsError
from nasbench_suite.protocol import Constraint
from nasbench_suite.results import RUN_META_KEY, load_rows, load_runs
from nasbench_suite.runner import ComparisonSpec
from nasbench_suite.store import Store

pytestmark = pytest.mark.realdata

SPEC = ComparisonSpec(
    ("random", "rea", "local_search"),
    ("cifar10-valid", "cifar100"),
    8,
    Budget(BudgetKind.EVALUATIONS, 15),
    seed=5,
    objective="latency_s",
)
# one strategy on one dataset under a constraint: no rank plot, no CD diagram, a Pareto plot
SMALL = ComparisonSpec(
    ("random",),
    ("cifar100",),
    3,
    Budget(BudgetKind.EVALUATIONS, 10),
    seed=2,
    constraint=Constraint("params_mb", 0.5),
)
CHROMIUM = ("chromium", "/usr/bin/chromium")  # Debian's package (`apt-get install -y chromium`)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class Page(HTMLParser):
    """Every tag with its attributes, the text of each <section> (by id), and each table's cell texts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.sections: dict[str, str] = {}
        self.tables: dict[str, list[list[list[str]]]] = {}
        self._section: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self._section = a["id"]
            self.sections[self._section or ""] = ""
        elif tag == "table" and self._section:
            self.tables.setdefault(self._section, []).append([])
        elif tag == "tr" and self._section in self.tables:
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._section in self.tables:
            self.tables[self._section][-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._section is not None:
            self.sections[self._section] += data
        if self._cell is not None:
            self._cell.append(data)

    def attrs(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


# ============================================================================================== fixtures
@pytest.fixture(scope="module")
def comparison(real_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("comparison")
    run_comparison(real_store, SPEC, out, strategies.build, jobs=1, progress=False)
    return out


@pytest.fixture(scope="module")
def parts() -> list[tuple[str, int]]:
    """What `write_html` told its progress callback while the `report` fixture was built."""
    return []


@pytest.fixture(scope="module")
def report(
    comparison: Path,
    real_store: Store,
    tmp_path_factory: pytest.TempPathFactory,
    parts: list[tuple[str, int]],
) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    return html_report.write_html(
        comparison, real_store, path, progress=lambda part, total: parts.append((part, total))
    )


def test_the_report_tells_its_progress_part_by_part(report: Path, parts: list[tuple[str, int]]) -> None:
    # three strategies with an objective: tables, curves, the critical-difference diagram, the tests, the
    # paper figures, the Pareto fronts and the page, each once, every call with the same total
    assert [p for p, _ in parts] == [
        "tables", "anytime figures", "critical difference", "tests", "paper figures", "pareto fronts", "page",
    ]  # fmt: skip
    assert {t for _, t in parts} == {len(parts)}


@pytest.fixture(scope="module")
def page(report: Path) -> Page:
    return Page(report.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def small(real_store: Store, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("small")
    run_comparison(real_store, SMALL, out, strategies.build, jobs=1, progress=False)
    return out, html_report.build_html(out, real_store)


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium as a reader's browser would open the page (a file:// URL), nothing fetched."""
    exe = next(filter(None, (shutil.which(name) for name in CHROMIUM)), None)
    if exe is None:
        pytest.fail(
            "headless Chromium is needed to check that the HTML report renders, but no `chromium` is on PATH "
            "or at /usr/bin/chromium: install Debian's package with `apt-get install -y chromium`"
        )
    command = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"headless Chromium did not finish within 90 s: {' '.join(command)}")
    if done.returncode != 0:
        pytest.fail(
            f"headless Chromium failed (exit {done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}"
        )
    return done


# ================================================================================================ content
def test_the_page_parses_and_holds_every_section(page: Page, comparison: Path) -> None:
    assert list(page.sections) == [
        "setup",
        "caveats",
        "summary",
        "final",
        "anytime",
        "regret",
        "ranks",
        "cd",
        "paper",
        "pareto",
        "significance",
    ]
    assert [a["href"] for a in page.attrs("a")] == [f"#{s}" for s in page.sections]
    setup = dict(tuple(r) for r in page.tables["setup"][0])
    config = json.loads((comparison / "config.json").read_text())
    assert setup["data checksum"] == config["data_checksum"]
    assert setup["suite version"] == config["suite_version"]
    assert setup["budget"] == "15 evaluations per run"
    assert setup["search schedule"] == "12 epochs"
    assert (setup["noise"], setup["root seed"], setup["runs per strategy and dataset"]) == (
        "random",
        "5",
        "8",
    )
    assert (setup["simulated workers"], setup["constraint"]) == ("1", "none")
    assert setup["second objective (minimized)"] == "latency_s"
    assert setup["search datasets"] == "cifar10-valid (test on cifar10), cifar100"
    caveats = page.sections["caveats"]
    assert "searches on cifar10-valid report the found arch's test accuracy on cifar10" in caveats
    assert "fell back to the seed mean" in caveats  # the 12-epoch table holds seed means only


def test_the_summary_table_shows_the_run_metadata(page: Page, comparison: Path) -> None:
    runs = load_runs(comparison)
    header, *rows = page.tables["summary"][0]
    assert header[:5] == ["strategy", "searched on", "test on", "runs", "test acc (%)"]
    assert len(rows) == 3 * 2
    for strategy, dataset, test_on, n, test, valid, evals, _ in rows:
        own = runs[(runs.strategy == strategy) & (runs.dataset == dataset)]
        t, v = own["final_test"].to_numpy(), own["final_valid"].to_numpy()
        assert test_on == ("cifar10" if dataset == "cifar10-valid" else dataset)
        assert int(n) == len(own) == 8
        assert test == f"{t.mean():.2f} ± {np.std(t, ddof=1):.2f}"
        assert valid == f"{v.mean():.2f} ± {np.std(v, ddof=1):.2f}"
        assert float(evals) == own["evaluations"].mean() == 15


def test_the_final_performance_tables_equal_direct_store_lookups(
    page: Page, comparison: Path, real_store: Store
) -> None:
    rows = load_rows(comparison)
    last = rows[rows.epoch > 0].sort_values("step").groupby(["strategy", "dataset", "run"]).tail(1)

    def cell(strategy: str, search: str, dataset: str, metric: str) -> str:
        archs = last[(last.strategy == strategy) & (last.dataset == search)]["incumbent_index"].to_numpy()
        v = np.array([real_store.query(int(a), dataset, metric, epochs=200) for a in archs])
        return f"{v.mean():.2f}±{np.std(v, ddof=1):.2f}"

    nb201, per_dataset = page.tables["final"]
    assert nb201[0] == ["strategy", "searched on", "cifar10 valid", "cifar10 test", "cifar100 valid",
                        "cifar100 test", "ImageNet16-120 valid", "ImageNet16-120 test"]  # fmt: skip
    assert [r[:2] for r in nb201[1:]] == [[s, "cifar10-valid"] for s in sorted(SPEC.strategies)]
    for r in nb201[1:]:
        assert r[2] == cell(r[0], "cifar10-valid", "cifar10-valid", "valid_acc")
        assert r[3] == cell(r[0], "cifar10-valid", "cifar10", "test_acc")
        assert r[7] == cell(r[0], "cifar10-valid", "ImageNet16-120", "test_acc")
    assert per_dataset[0] == ["strategy", "cifar10 valid", "cifar10 test", "cifar100 valid", "cifar100 test"]
    for r in per_dataset[1:]:
        assert r[2] == cell(r[0], "cifar10-valid", "cifar10", "test_acc")
        assert r[4] == cell(r[0], "cifar100", "cifar100", "test_acc")


def test_the_significance_statements_and_pareto_hypervolumes_are_shown(
    page: Page, comparison: Path, real_store: Store
) -> None:
    text = " ".join(page.sections["significance"].split())
    said = statements(significance(load_runs(comparison), seed=0))
    assert len(said) == 2 * 3
    assert all(s in text for s in said)
    hv_tables = page.tables["pareto"]
    assert len(hv_tables) == 2  # one per dataset
    header, *rows = hv_tables[0]
    assert header == ["strategy", "runs", "HV / true HV", "min", "max"]
    assert [r[:2] for r in rows] == [[s, "8"] for s in sorted(SPEC.strategies)]
    # independently: the fraction of the true front's hypervolume, by brute force over a sorted sweep
    latency = np.asarray(real_store.table("cifar10-valid", "latency_s").column("mean"))
    accuracy = np.asarray(real_store.table("cifar10", "test_acc", 200).column("mean"))
    known = ~np.isnan(latency) & ~np.isnan(accuracy)
    order = np.argsort(latency[known], kind="stable")
    lat_sorted, acc_sorted = latency[known][order], accuracy[known][order]
    on_front = acc_sorted > np.r_[-np.inf, np.maximum.accumulate(acc_sorted)[:-1]]  # beats every faster arch
    front_lat, front_acc = lat_sorted[on_front], acc_sorted[on_front]
    # the nadir of the true front, pushed out by a tenth of its range (Ishibuchi et al. 2018)
    ref = (
        front_lat.max() + 0.1 * (front_lat.max() - front_lat.min()),
        front_acc.min() - 0.1 * (front_acc.max() - front_acc.min()),
    )

    def hv(idx: np.ndarray) -> float:
        idx = idx[known[idx]]
        order = np.argsort(latency[idx], kind="stable")
        x, y = latency[idx][order], accuracy[idx][order]
        x, y = x[x < ref[0]], y[x < ref[0]]
        best = np.maximum.accumulate(y)  # the best accuracy at or below each latency
        return float(np.sum(np.diff(np.r_[x, ref[0]]) * np.clip(best - ref[1], 0, None)))

    train = load_rows(comparison).query("epoch > 0 and dataset == 'cifar10-valid' and strategy == 'rea'")
    fractions = [
        hv(np.unique(g.arch_index.to_numpy())) / hv(np.arange(len(latency))) for _, g in train.groupby("run")
    ]
    (rea,) = [r for r in rows if r[0] == "rea"]
    assert rea[2] == f"{np.mean(fractions):.3f} ± {np.std(fractions, ddof=1):.3f}"


def test_nothing_external_and_every_embedded_png_decodes(report: Path, page: Page) -> None:
    from matplotlib.image import imread

    text = report.read_text(encoding="utf-8")
    assert not re.search(r"(https?:)?//[a-z]", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text))
    assert "url(" not in text and "@import" not in text
    assert not page.attrs("link") and all("src" not in a for a in page.attrs("script"))
    assert all(a.get("href", "#").startswith("#") for _, a in page.tags)
    sources = [a for _, a in page.tags if "src" in a]
    images = page.attrs("img")
    # anytime x2, regret, ranks x2, CD, then final distribution, pairwise x2, top-k hits, valid vs test, Pareto x2
    assert len(images) == len(sources) == 2 + 1 + 2 + 1 + 5 + 2
    prefix = "data:image/png;base64,"
    for a in images:
        assert a["src"] is not None and a["src"].startswith(prefix), a["src"][:40] if a["src"] else None
        assert a.get("alt")
        data = base64.b64decode(a["src"][len(prefix) :], validate=True)
        assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        pixels = imread(io.BytesIO(data), format="png")
        assert pixels.shape[:2] == (height, width) and width > 100 and height > 100
        assert pixels[..., :3].std() > 0.05  # a drawing, not a blank canvas


# ================================================================================== reading and writing
def test_load_results_reads_what_load_runs_and_load_rows_read(comparison: Path) -> None:
    config, runs, rows = html_report.load_results(comparison)
    assert config == json.loads((comparison / "config.json").read_text())
    pd.testing.assert_frame_equal(runs, load_runs(comparison))
    pd.testing.assert_frame_equal(rows, load_rows(comparison)[list(rows.columns)])


def test_measurement_rows_and_the_measure_column_change_nothing(
    small: tuple[Path, str], real_store: Store, tmp_path: Path
) -> None:
    """Some run files get a cheap measurement after every evaluation (epoch 0, NaN valid_seen, a `measure`
    name, an incumbent no training row has); the others lose the `measure` columns, as files written
    before they existed. The page is the same, byte for byte, but for the directory's name."""
    original, page = small
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    for k, f in enumerate(sorted((copy / "runs").glob("*.parquet"))):
        table = pq.read_table(f)
        meta = table.schema.metadata[RUN_META_KEY]
        frame = table.to_pandas()
        if k % 2:
            frame = frame.drop(columns=["measure", "measured_value"])
        else:
            fake = frame.assign(epoch=0, valid_seen=np.nan, measure="latency_s", measured_value=0.01,
                                incumbent_index=0, incumbent_test=10.0, arch_index=0)  # fmt: skip
            fake["time_s"] += 1e-3
            frame = pd.concat([frame, fake]).sort_values(["time_s"], kind="stable").reset_index(drop=True)
            frame["step"] = np.arange(len(frame))
        out = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(out.replace_schema_metadata({RUN_META_KEY: meta}), f)
    rows = load_rows(copy)
    assert (rows["epoch"] == 0).any() and "measure" in rows.columns
    again = html_report.build_html(copy, real_store)
    stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    again, page = stamp.sub("generated", again), stamp.sub("generated", page)
    assert again.replace(str(copy.resolve()), "DIR").replace(copy.name, "NAME") == page.replace(
        str(original.resolve()), "DIR"
    ).replace(original.name, "NAME")


def test_write_html_replaces_the_file_whole_or_not_at_all(
    comparison: Path, report: Path, tiny_store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    target.write_text("old")
    with pytest.raises(ResultsError, match="is not the data"):
        html_report.write_html(comparison, tiny_store, target)  # another store: refused, nothing written
    assert target.read_text() == "old" and sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    assert report.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]  # no temporary file left


def test_a_single_strategy_under_a_constraint_gets_no_rank_or_cd_plot(small: tuple[Path, str]) -> None:
    page = Page(small[1])
    assert list(page.sections) == ["setup", "caveats", "summary", "final", "anytime", "regret", "paper",
                                   "pareto", "significance"]  # fmt: skip
    setup = dict(tuple(r) for r in page.tables["setup"][0])
    assert setup["constraint"] == "params_mb ≤ 0.5"
    assert "constraint params_mb <= 0.5" in page.sections["caveats"]
    assert "only random ran there; nothing to compare" in " ".join(page.sections["significance"].split())
    assert len(page.attrs("img")) == 2 + 1 + 3 + 1  # no pairwise matrix with one strategy


def test_markdown_is_escaped_and_only_its_subset_is_interpreted() -> None:
    got = html_report.markdown_to_html(
        "### a <b> & c\n\nsome <script>x</script> text\nsecond line\n\n- one **two**\n- three\n\n"
        "| name | value |\n|---|---:|\n| <i>x</i> | **1.00** |\n"
    )
    assert got == (
        "<h3>a &lt;b&gt; &amp; c</h3>\n"
        "<p>some &lt;script&gt;x&lt;/script&gt; text second line</p>\n"
        "<ul><li>one <strong>two</strong></li><li>three</li></ul>\n"
        '<div class="scroll"><table><thead><tr><th>name</th><th class="num">value</th></tr></thead>'
        '<tbody><tr><td>&lt;i&gt;x&lt;/i&gt;</td><td class="num"><strong>1.00</strong></td></tr></tbody>'
        "</table></div>"
    )


# ================================================================================================ browser
def test_chromium_renders_the_page_with_every_image_loaded(report: Path, page: Page, tmp_path: Path) -> None:
    done = chromium("--virtual-time-budget=5000", "--dump-dom", report.resolve().as_uri(), tmp=tmp_path)
    (body,) = [a for t, a in Page(done.stdout).tags if t == "body"]
    total = len(page.attrs("img"))
    assert total > 0
    assert body.get("data-images-total") == str(total), body
    assert body.get("data-images-loaded") == str(total), body


def test_chromium_screenshot_is_a_page_not_a_blank(report: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    chromium("--window-size=1280,2400", f"--screenshot={shot}", report.resolve().as_uri(), tmp=tmp_path)
    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    rgb = pixels[..., :3]
    ink = (rgb < 0.9).any(axis=2)
    assert 0.01 < ink.mean() < 0.6  # text, tables and figures on a white page
    assert ink[:200].any() and ink[1200:].any()  # the title at the top, content further down
    rgb8 = (rgb.reshape(-1, 3) * 255).astype(np.uint32)
    colours = np.unique(rgb8[:, 0] << 16 | rgb8[:, 1] << 8 | rgb8[:, 2])
    assert colours.size > 50  # the figures' colours, not only black text on white


def test_the_paper_figures_captions_and_footer_say_what_a_reader_must_know(page: Page, report: Path) -> None:
    captions = " ".join(page.sections["anytime"].split())
    assert "simulated time on a log axis" in captions and "carried forward" in captions
    assert "both axes log scale" in " ".join(page.sections["regret"].split())
    paper = " ".join(page.sections["paper"].split())
    for needle in (
        "best arch in the benchmark (dashed)",
        "A12 of the row strategy",
        "Holm",
        "among its 10 / 100",
    ):
        assert needle in paper, needle
    alts = [a["alt"] for a in page.attrs("img")]
    assert "pairwise effect sizes on cifar10-valid" in alts and "pairwise effect sizes on cifar100" in alts
    footer = report.read_text(encoding="utf-8").split("<footer>")[1].split("</footer>")[0]
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC by nasbench-suite \S+", footer), footer


def test_the_text_report_has_the_hypervolume_column_of_the_html_tables(
    comparison: Path, page: Page, real_store: Store
) -> None:
    from nasbench_suite.analysis.hypervolume import hypervolume_table
    from nasbench_suite.analysis.summary import caveats, format_text, summarize

    runs, rows = load_runs(comparison), load_rows(comparison)
    config = json.loads((comparison / "config.json").read_text())
    hv = hypervolume_table(rows, config["spec"], real_store)
    assert len(hv) == 3 * 2 and set(hv["metric"]) == {"latency_s"} and (hv["runs"] == 8).all()
    text = format_text(summarize(runs), caveats(runs, config), config, hv)
    assert "HV latency_s" in text.splitlines()[2] and "hypervolume of each run's front" in text
    # the HTML's Pareto tables (one per dataset, in dataset order) show the same means
    html_tables = page.tables["pareto"]
    for table, dataset in zip(html_tables, ("cifar10-valid", "cifar100"), strict=True):
        for strategy, _runs, shown, *_ in table[1:]:
            cell = hv[(hv["strategy"] == strategy) & (hv["dataset"] == dataset)].iloc[0]
            assert shown.split(" ± ")[0] == f"{cell['hv_mean']:.3f}"
            line = next(x for x in text.splitlines() if x.startswith(f"{strategy:<12} {dataset:<15}"))
            assert line.rstrip().endswith(f"{cell['hv_mean']:.3f} ± {cell['hv_std']:.3f}")


def test_markdown_code_spans_become_code_and_stay_escaped() -> None:
    got = html_report.markdown_to_html("- results: `out/<dir>` and **`x`**\n")
    assert (
        got == "<ul><li>results: <code>out/&lt;dir&gt;</code> and <strong><code>x</code></strong></li></ul>"
    )
