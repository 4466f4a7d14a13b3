"""Shared fixtures: the real NAS-Bench-201 store (imported once per session from ../shared) and a tiny
synthetic store whose every value is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.space import CellSpace
from nasbench_suite.store import Store, StoreBuilder, TableSpec, import_source

SHARED = Path(__file__).resolve().parents[2] / "shared" / "nasbench201"


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


TINY_SPACE = CellSpace(("none", "skip_connect", "conv"), 3)  # 3 edges, 27 cells


def build_tiny_store(path: Path) -> Path:
    """27 archs in reversed code order (so index != code). valid_acc@200 per seed (7, 8; seed 8 missing
    for odd indices), valid_acc@12 mean only, test_acc@200 mean, per-epoch time = 1 + index / 10 s."""
    space = TINY_SPACE
    archs = list(space.enumerate())[::-1]
    ops = np.array([a.ops for a in archs], dtype=np.int8)
    n = len(archs)
    idx = np.arange(n, dtype=np.float64)
    builder = StoreBuilder(space, ops, provenance={"importer": "test"})
    for ds in ("cifar10-valid", "cifar100", "ImageNet16-120"):
        v200 = np.full((n, 3, 1), np.nan)
        v200[:, 1, 0] = 50 + idx  # seed 7
        v200[::2, 2, 0] = 52 + idx[::2]  # seed 8, even indices only
        v200[:, 0, 0] = np.nanmean(v200[:, 1:, 0], axis=1)
        builder.add(TableSpec(ds, "valid_acc", 200, (7, 8), (200,)), v200)
        builder.add(TableSpec(ds, "valid_acc", 12, (), (12,)), (30 + idx).reshape(n, 1, 1))
        for s in (12, 200):
            builder.add(TableSpec(ds, "train_time_s", s, (), (s,)), ((1 + idx / 10) * s).reshape(n, 1, 1))
        if ds != "cifar10-valid":
            builder.add(TableSpec(ds, "test_acc", 200, (), (200,)), (60 + idx).reshape(n, 1, 1))
    builder.add(TableSpec("cifar10", "test_acc", 200, (), (200,)), (70 + idx).reshape(n, 1, 1))
    builder.add(TableSpec("cifar10-valid", "params_mb"), 0.1 * idx)
    return builder.write(path)


@pytest.fixture
def tiny_store(tmp_path: Path) -> Store:
    return Store(build_tiny_store(tmp_path / "tiny"))
