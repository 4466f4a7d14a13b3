"""Shared fixtures: the real NAS-Bench-201 store (imported once per session from ../shared) and a tiny
synthetic store whose every value is known."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasbench_suite.store import Store, import_source
from nasbench_suite.testing.synthetic import KNOWN_SPACE, build_known_store

# ../shared beside the project root; searched upwards so a copy of the tests one level deeper (mutmut's
# mutants/ directory) finds it too
SHARED = next(
    (
        p / "shared" / "nasbench201"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "nasbench201").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "nasbench201",
)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "nb201_tabular.parquet").is_file():
        raise RuntimeError(f"the NAS-Bench-201 data is expected at {SHARED} (../shared beside the project)")
    return SHARED


@pytest.fixture(scope="session")
def real_store_path(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_source(shared_dir, tmp_path_factory.mktemp("store") / "nb201")


@pytest.fixture(scope="session")
def real_store(real_store_path: Path) -> Store:
    return Store(real_store_path)


TINY_SPACE = KNOWN_SPACE
build_tiny_store = build_known_store


@pytest.fixture
def tiny_store(tmp_path: Path) -> Store:
    return Store(build_tiny_store(tmp_path / "tiny"))
