from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.errors import StoreError, UnknownNameError
from nasbench_suite.store import Store, import_source
from tests.conftest import TINY_SPACE, build_tiny_store

pytestmark = pytest.mark.realdata


# ------------------------------------------------------------------ the real table
@pytest.mark.parametrize(
    ("index", "dataset", "value"),
    [(6111, "cifar10", 94.37), (9930, "cifar100", 73.51), (857, "ImageNet16-120", 47.31)],
)
def test_best_archs_have_the_published_test_accuracy(
    real_store: Store, index: int, dataset: str, value: float
) -> None:
    column = real_store.table(dataset, "test_acc", 200).column("mean")
    assert int(np.nanargmax(column)) == index
    assert real_store.query(index, dataset, "test_acc") == pytest.approx(value, abs=0.005)


def test_best_cifar10_valid_validation_is_91_61(real_store: Store) -> None:
    assert real_store.table("cifar10-valid", "valid_acc", 200).column("mean").max() == pytest.approx(
        91.61, abs=0.005
    )


def test_queries_return_the_parquet_values_exactly(real_store: Store, shared_dir: Path) -> None:
    import pandas as pd

    frame = pd.read_parquet(shared_dir / "nb201_tabular.parquet").set_index("index")
    rng = np.random.default_rng(0)
    for index in rng.integers(0, 15625, size=20):
        row = frame.loc[int(index)]
        assert (
            real_store.query(int(index), "cifar10-valid", "valid_acc", seed=888)
            == row["cifar10-valid/valid_acc@200/seed888"]
        )
        assert (
            real_store.query(int(index), "cifar100", "test_acc", epochs=12)
            == row["cifar100/test_acc@12/mean"]
        )
        assert (
            real_store.query(int(index), "ImageNet16-120", "train_time_s", epochs=200)
            == row["ImageNet16-120/train_time_s@200"]
        )
        assert real_store.query(int(index), "cifar10", "hw_latency_ms/raspi4") == np.float64(
            np.float32(row["hw/raspi4/latency_ms"])
        )
        assert real_store.arch_str(int(index)) == row["arch"]


def test_arch_string_and_index_address_the_same_row(real_store: Store) -> None:
    text = real_store.arch_str(11)
    assert real_store.index(text) == 11
    assert real_store.query(text, "cifar100", "valid_acc") == real_store.query(11, "cifar100", "valid_acc")


def test_vectorized_equals_scalar(real_store: Store) -> None:
    indices = np.arange(0, 15625, 97)
    many = real_store.query_many(indices, "cifar100", "valid_acc", seed=777)
    assert np.array_equal(
        many, [real_store.query(int(i), "cifar100", "valid_acc", seed=777) for i in indices]
    )
    assert np.array_equal(real_store.indices([real_store.arch(int(i)) for i in indices]), indices)


def test_random_seed_draws_only_seeds_that_exist(real_store: Store) -> None:
    table = real_store.table("cifar10-valid", "valid_acc", 200)
    two_seeds = np.flatnonzero(np.isnan(table.seed_values()[:, 2]))[:200]
    rng = np.random.default_rng(0)
    drawn = real_store.query_many(
        np.repeat(two_seeds, 20), "cifar10-valid", "valid_acc", seed="random", rng=rng
    )
    allowed = table.seed_values()[np.repeat(two_seeds, 20), :2]
    assert ((drawn[:, None] == allowed).any(axis=1)).all()
    # each of the two seeds ~ half the time: 4000 draws, sd 32
    assert abs((drawn == allowed[:, 0]).sum() - 2000) < 5 * 32


def test_twelve_epoch_train_time_is_twelve_two_hundredths(real_store: Store) -> None:
    t200 = real_store.query(5, "cifar100", "train_time_s", epochs=200)
    assert real_store.query(5, "cifar100", "train_time_s", epochs=12) == pytest.approx(
        t200 * 12 / 200, rel=1e-15
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"dataset": "cifar11", "metric": "test_acc"},
            "unknown dataset 'cifar11'; valid: ImageNet16-120, cifar10",
        ),
        ({"dataset": "cifar10", "metric": "acc"}, "unknown metric 'acc' for cifar10; valid: flops_m"),
        (
            {"dataset": "cifar10", "metric": "test_acc", "epochs": 13},
            "unknown schedule (epochs) 13 for cifar10/test_acc; valid: 12, 200",
        ),
        (
            {"dataset": "cifar10", "metric": "test_acc", "seed": 777},
            "unknown seed 777 for cifar10/test_acc@200; valid: mean, random",
        ),
        ({"dataset": "cifar10", "metric": "test_acc", "seed": "x"}, "unknown seed 'x'"),
        ({"dataset": "cifar10", "metric": "params_mb", "epochs": 12}, "does not depend on the schedule"),
        (
            {"dataset": "cifar10", "metric": "test_acc", "epoch": 50},
            "unknown epoch 50 for cifar10/test_acc@200; valid: 200",
        ),
    ],
)
def test_asking_for_what_the_store_lacks_names_what_exists(
    real_store: Store, kwargs: dict, message: str
) -> None:
    with pytest.raises(UnknownNameError) as info:
        real_store.query(0, **kwargs)
    assert message in str(info.value)


def test_missing_values_are_errors_not_nans(real_store: Store) -> None:
    index = int(
        np.flatnonzero(np.isnan(real_store.table("cifar100", "valid_acc", 200).seed_values()[:, 2]))[0]
    )
    with pytest.raises(StoreError, match="seeds it has there: mean, 777, 888"):
        real_store.query(index, "cifar100", "valid_acc", seed=999)
    naswot_missing = int(np.flatnonzero(np.isnan(real_store.table("cifar10", "zc_naswot").values))[0])
    with pytest.raises(StoreError, match="no value of cifar10/zc_naswot"):
        real_store.query(naswot_missing, "cifar10", "zc_naswot")


# ------------------------------------------------------------------ format, integrity
def test_tiny_store_maps_index_to_arch_from_the_data_not_by_enumeration(tiny_store: Store) -> None:
    assert tiny_store.n_archs == 27
    last = list(TINY_SPACE.enumerate())[-1]
    assert tiny_store.index(last) == 0  # the fixture stores archs in reversed order
    assert tiny_store.query(last, "cifar10", "test_acc") == 70.0


def test_store_is_memory_mapped_float64(tiny_store: Store) -> None:
    table = tiny_store.table("cifar100", "valid_acc", 200)
    assert isinstance(table.values.base, np.memmap) and table.values.dtype == np.float64
    assert not table.values.flags.writeable


def test_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="nasbench-suite data import"):
        Store(tmp_path / "nowhere")


def test_edited_array_fails_its_checksum(tmp_path: Path) -> None:
    path = build_tiny_store(tmp_path / "s")
    manifest = json.loads((path / "manifest.json").read_text())
    entry = next(e for e in manifest["tables"] if e["metric"] == "valid_acc" and e["epochs"] == 200)
    array = np.load(path / entry["file"])
    array[3, 0, 0] += 1
    np.save(path / entry["file"], array)
    store = Store(path)
    with pytest.raises(StoreError, match="fails its checksum"):
        store.query(3, entry["dataset"], "valid_acc")
    assert Store(path, verify=False).query(3, entry["dataset"], "valid_acc") == array[3, 0, 0]


def test_corrupt_manifest_and_missing_file_are_store_errors(tmp_path: Path) -> None:
    path = build_tiny_store(tmp_path / "s")
    (path / "archs.npy").unlink()
    with pytest.raises(StoreError, match=r"missing archs\.npy"):
        Store(path)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="corrupt store manifest"):
        Store(path)


def test_failed_import_leaves_no_half_written_store(tmp_path: Path) -> None:
    bad = tmp_path / "nb201_tabular.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(StoreError, match="cannot read the wide table"):
        import_source(bad, tmp_path / "store")
    assert not (tmp_path / "store").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["nb201_tabular.parquet"]


def test_reimport_replaces_a_store_atomically(tmp_path: Path) -> None:
    path = build_tiny_store(tmp_path / "s")
    first = Store(path).checksum
    (path / "t000.npy").unlink()
    build_tiny_store(tmp_path / "s")
    assert (path / "t000.npy").is_file()
    assert Store(path).checksum == first  # same data, same fingerprint, whenever it was imported
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.lock", "s"]  # the import lock stays


def test_unknown_source_lists_what_can_be_imported(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="NATS-Bench topology archive"):
        import_source(tmp_path, tmp_path / "store")
