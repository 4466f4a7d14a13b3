"""The Python API as documented: every ```python block of docs/api.md and of the README's Python API
section runs, in order, in one namespace, on the NAS-Bench-201 store (their asserts check known values)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nasbench_suite
from nasbench_suite import api

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path, section: str | None = None) -> list[str]:
    text = path.read_text()
    if section is not None:
        start = text.index(section)
        end = text.find("\n## ", start + len(section))
        text = text[start : end if end != -1 else None]
    return BLOCK.findall(text)


def run_blocks(blocks: list[str], where: str) -> dict:
    namespace: dict = {"__name__": "__main__"}
    for k, block in enumerate(blocks):
        exec(compile(block, f"{where} block {k + 1}", "exec"), namespace)
    return namespace


@pytest.fixture
def in_tmp_with_store(tmp_path: Path, real_store_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NASBENCH_SUITE_STORE", str(real_store_path))
    return tmp_path


@pytest.mark.realdata
def test_the_api_page_runs(in_tmp_with_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(ROOT / "docs" / "api.md")
    assert len(blocks) >= 5
    namespace = run_blocks(blocks, "docs/api.md")
    out = capsys.readouterr().out
    assert out.startswith("15625 ['ImageNet16-120', 'cifar10', 'cifar10-valid', 'cifar100']\n")
    assert "9930 94.36" in out
    assert (in_tmp_with_store / "results" / "api-example" / "config.json").is_file()
    assert all(v.passed for v in namespace["verdicts"]), [v for v in namespace["verdicts"] if not v.passed]


@pytest.mark.realdata
def test_the_readme_section_runs(in_tmp_with_store: Path) -> None:
    blocks = python_blocks(ROOT / "README.md", "## Python API")
    assert blocks
    run_blocks(blocks, "README.md")


def test_the_package_exports_the_api_lazily() -> None:
    assert nasbench_suite.__all__ == ["__version__", *api.__all__]
    for name in api.__all__:
        assert getattr(nasbench_suite, name) is getattr(api, name)
    functions = [
        f for f in map(api.__dict__.get, api.__all__) if getattr(f, "__module__", "") == api.__name__
    ]
    assert len(functions) == 13
    for f in functions:  # the facade's own functions: typed, and a docstring that shows a call
        signature = inspect.signature(f)
        assert signature.return_annotation is not inspect.Signature.empty, f.__name__
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), (
            f.__name__
        )
        assert f"{f.__name__}(" in (f.__doc__ or ""), f"{f.__name__}'s docstring shows no call"
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = nasbench_suite.nope
    fresh = subprocess.run(
        [sys.executable, "-c", "import sys, nasbench_suite; print('nasbench_suite.api' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert fresh.stdout == "False\n"  # importing the package does not import the API's dependencies


def test_search_refuses_what_is_not_a_strategy_and_a_spent_oracle(tmp_path: Path) -> None:
    import nasbench_suite as nbs
    from nasbench_suite.testing import TINY_SPACE, build_synthetic_store

    store = nbs.open_store(build_synthetic_store(tmp_path / "tiny", TINY_SPACE))
    oracle = nbs.make_oracle(store, "cifar10-valid", nbs.evaluations(5), noise="mean")
    with pytest.raises(
        nbs.SuiteError, match="a strategy needs ask\\(\\) and tell\\(request, result\\) methods; got a dict"
    ):
        nbs.search({}, oracle)
    trajectory = nbs.search(nbs.build_strategy("random", oracle.problem, seed=3), oracle)
    assert list(trajectory["step"]) == [0, 1, 2, 3, 4] and list(trajectory.columns[:2]) == [
        "step",
        "arch_index",
    ]
    assert trajectory["time_s"].iloc[-1] == pytest.approx(trajectory["cost_s"].sum())
    with pytest.raises(nbs.SuiteError, match="this oracle has run a search already"):
        nbs.search(nbs.build_strategy("random", oracle.problem, seed=3), oracle)
