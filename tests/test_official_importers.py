"""Importers of the official files: the NATS-Bench topology archive (checked against the real sample
records and the wide table), the NAS-Bench-201 .pth file (a small file built with the official classes),
and the restricted unpickler both rely on."""

from __future__ import annotations

import bz2
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.errors import StoreError, UnknownNameError
from nasbench_suite.space import CellSpace
from nasbench_suite.store import Store, import_source
from nasbench_suite.store.nats_archive import META_FILE, read_meta_archs, seed_mean
from nasbench_suite.store.safe_pickle import load_pickle, load_pickle_bz2

SHARED = Path(__file__).resolve().parents[2] / "shared" / "nasbench201"  # ../shared beside the project
SAMPLE = SHARED / "nats_tss_sample"
SAMPLE_INDEXES = (0, 11, 284)
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


# Where the wide table's value is not the official record's, and why. key -> (slots, rel. tolerance).
WIDE_TABLE_DIFFERENCES = {
    # README: per-seed x-test is derived as 2*valtest - valid ("exact" only to ~1e-7)
    ("cifar100", "test_acc", 200): ((777, 888, 999), 1e-8),
    ("ImageNet16-120", "test_acc", 200): ((777, 888, 999), 1e-8),
    # the wide table's per-seed source rounded these 1-2 ulp differently from the records
    ("ImageNet16-120", "valtest_acc", 200): ((777, 888, 999), 1e-15),
    # the wide importer derives the 12-epoch time as (200-epoch time) * 12 / 200
    **{
        (ds, "train_time_s", 12): (("mean",), 1e-14) for ds in ("cifar10-valid", "cifar100", "ImageNet16-120")
    },
    # README: FLOPs are derived from conv counts
    **{(ds, "flops_m", None): (("mean",), 1e-14) for ds in DATASETS},
}


def _write_pbz2(path: Path, obj: object) -> None:
    path.write_bytes(bz2.compress(pickle.dumps(obj, protocol=4)))


class RunsCommand:
    """A pickle payload that runs a shell command when unpickled by an unrestricted unpickler."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


# ---------------------------------------------------------------- NATS-Bench archive (real sample)
@pytest.fixture(scope="module")
def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sample records with the real meta cut to the first 285 archs (indices unchanged): a full
    15625-arch store of per-epoch curves is 2.3 GB of NaN around 3 records, too slow for a unit test.
    `test_real_meta_is_the_wide_table_arch_order` covers the full meta file."""
    root = tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-simple"
    root.mkdir()
    archs = read_meta_archs(SAMPLE / META_FILE)
    _write_pbz2(root / META_FILE, {"meta_archs": archs[: max(SAMPLE_INDEXES) + 1]})
    for index in SAMPLE_INDEXES:
        name = f"{index:06d}.pickle.pbz2"
        (root / name).symlink_to(SAMPLE / name)
    return root


@pytest.fixture(scope="module")
def nats_store(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(import_source(sample_archive, tmp_path_factory.mktemp("nats-store") / "store"))


@pytest.fixture(scope="module")
def records() -> dict[int, dict]:
    return {i: load_pickle_bz2(SAMPLE / f"{i:06d}.pickle.pbz2") for i in SAMPLE_INDEXES}


@pytest.mark.realdata
def test_real_meta_is_the_wide_table_arch_order(real_store: Store) -> None:
    archs = read_meta_archs(SAMPLE / META_FILE)
    space = CellSpace.nb201()
    ops = np.array([space.parse(a).ops for a in archs], dtype=np.int8)
    assert len(archs) == 15625
    assert np.array_equal(ops, real_store.arch_ops)


@pytest.mark.realdata
def test_nats_sample_equals_wide_table_at_the_final_epoch(nats_store: Store, real_store: Store) -> None:
    idx = np.array(SAMPLE_INDEXES)
    compared, lacking = 0, []
    for spec in real_store.specs():
        if not nats_store.has(*spec.key):
            lacking.append(spec.key)
            continue
        nats, wide = nats_store.table(*spec.key), real_store.table(*spec.key)
        allowed, rel = WIDE_TABLE_DIFFERENCES.get(spec.key, ((), 0.0))
        for seed in ("mean", *spec.seeds):
            got, want = nats.column(seed)[idx], wide.column(seed)[idx]
            assert not np.isnan(got).any(), (spec.key, seed)
            if seed in allowed:
                np.testing.assert_allclose(got, want, rtol=rel, atol=0, err_msg=str((spec.key, seed)))
            else:
                assert got.tolist() == want.tolist(), (spec.key, seed)
            compared += 1
    assert compared >= 45
    # what the records cannot have: hardware latencies, zero-cost scores and arch-level flags
    assert all(d is None or m.startswith(("hw_latency_ms/", "zc_")) for d, m, _ in lacking), lacking


@pytest.mark.realdata
def test_nats_sample_has_per_epoch_curves_and_per_seed_12_epoch_values(nats_store: Store) -> None:
    valid = nats_store.table("cifar10-valid", "valid_acc", 200)
    assert valid.spec.points == tuple(range(1, 201)) and valid.spec.seeds == (777, 888, 999)
    # arch 11, seed 999, eval_acc1es["x-valid@0"]: the value after epoch 1
    assert nats_store.query(11, "cifar10-valid", "valid_acc", seed=999, epoch=1) == 26.875999997558594
    # the records evaluate cifar10-valid's test set only after the last epoch
    assert nats_store.table("cifar10-valid", "test_acc", 200).spec.points == (200,)
    with pytest.raises(UnknownNameError, match="epoch"):
        nats_store.query(11, "cifar10-valid", "test_acc", epoch=100)
    twelve = nats_store.table("cifar10-valid", "valid_acc", 12)
    assert twelve.spec.seeds == (111, 777) and twelve.spec.points == tuple(range(1, 13))
    assert nats_store.table("cifar100", "valid_acc", 12).spec.seeds == (111,)


@pytest.mark.realdata
def test_nats_sample_values_are_read_straight_from_the_records(nats_store: Store, records: dict) -> None:
    trial = records[284]["200"]["all_results"][("cifar100", 888)]
    per_epoch = trial["train_times"][0]
    for epoch in (1, 57, 200):
        got = nats_store.query(284, "cifar100", "train_time_s", seed=888, epoch=epoch)
        assert got == sum(trial["train_times"][e] for e in range(epoch))
        assert got == pytest.approx(per_epoch * epoch, rel=1e-12)
    assert nats_store.query(284, "cifar100", "valid_time_s", seed=888) == trial["eval_times"]["x-valid@199"]
    assert (
        nats_store.query(284, "cifar100", "valtest_loss", seed=888, epoch=3)
        == trial["eval_losses"]["ori-test@2"]
    )
    assert nats_store.query(284, "cifar100", "train_acc", seed=888, epoch=5) == trial["train_acc1es"][4]
    assert nats_store.query(284, "cifar100", "test_acc", seed=888) == trial["eval_acc1es"]["x-test@199"]
    c10 = records[0]["12"]["all_results"][("cifar10", 111)]
    assert (
        nats_store.query(0, "cifar10", "test_acc", epochs=12, seed=111, epoch=7)
        == c10["eval_acc1es"]["ori-test@6"]
    )
    assert nats_store.query(0, "cifar10", "latency_s") == c10["latency"][0]


@pytest.mark.realdata
def test_nats_sample_means_are_the_official_api_means(nats_store: Store, records: dict) -> None:
    from nats_bench.api_topology import NATStopology

    archs = read_meta_archs(SAMPLE / META_FILE)
    api = NATStopology(
        {"meta_archs": archs, "arch2infos": records, "evaluated_indexes": set(records)}, False, False
    )
    checked = 0
    for index in SAMPLE_INDEXES:
        for hp in ("12", "200"):
            for dataset in DATASETS:
                info = api.get_more_info(index, dataset, hp=hp, is_random=False)
                for key in ("valid", "test", "valtest"):
                    if f"{key}-accuracy" in info:
                        got = nats_store.query(index, dataset, f"{key}_acc", epochs=int(hp))
                        assert got == info[f"{key}-accuracy"], (index, hp, dataset, key)
                        checked += 1
                assert nats_store.query(index, dataset, "train_loss", epochs=int(hp)) == info["train-loss"]
                # a time is the same in every trial; np.mean of equal floats may be off by an ulp
                got = nats_store.query(index, dataset, "train_time_s", epochs=int(hp))
                assert got == pytest.approx(info["train-all-time"], rel=1e-15)
    assert checked == 3 * 2 * 9  # valid + test on cifar10-valid, test on cifar10, all three on the others


@pytest.mark.realdata
def test_archs_without_a_record_are_missing_not_imputed(nats_store: Store) -> None:
    assert np.isnan(nats_store.table("cifar10-valid", "valid_acc", 200).values[1]).all()
    with pytest.raises(
        StoreError, match=r"no value of cifar10-valid/valid_acc@200 .*for arch 1; seeds it has there: none"
    ):
        nats_store.query(1, "cifar10-valid", "valid_acc")
    assert nats_store.manifest["provenance"]["records"] == 3


def test_seed_mean_sums_in_slot_order_and_keeps_shared_values() -> None:
    x = 26.875999997558594
    per_seed = np.array([[[x, 1.0], [x, np.nan], [x, 2.0]], [[np.nan] * 2] * 3])
    measured = seed_mean(per_seed, constant=False)
    assert measured[0].tolist() == [np.mean([x, x, x]), 1.5]
    assert np.isnan(measured[1]).all()
    assert seed_mean(per_seed, constant=True)[0].tolist() == [x, 1.5]


# ---------------------------------------------------------------- restricted unpickler
def test_safe_unpickler_refuses_a_payload_that_runs_a_command(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"meta_archs": [RunsCommand(f"touch {marker}")]})
    with pytest.raises(StoreError, match=r"refusing to load posix\.system from <stream>"):
        load_pickle(io.BytesIO(payload))
    path = tmp_path / "evil.pickle"
    path.write_bytes(payload)
    with pytest.raises(StoreError, match=f"refusing to load posix.system from {path}"):
        load_pickle(path)
    bz2_path = tmp_path / "000000.pickle.pbz2"
    bz2_path.write_bytes(bz2.compress(payload))
    with pytest.raises(StoreError, match="official benchmark files contain only"):
        load_pickle_bz2(bz2_path)
    assert not marker.exists()


def test_nats_import_refuses_an_archive_with_a_malicious_record(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    archive = tmp_path / "archive"
    archive.mkdir()
    space = CellSpace.nb201()
    _write_pbz2(archive / META_FILE, {"meta_archs": [space.format(space.from_code(c)) for c in range(3)]})
    (archive / "000001.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(RunsCommand(f"touch {marker}"))))
    with pytest.raises(StoreError, match=r"refusing to load posix\.system from .*000001\.pickle\.pbz2"):
        import_source(archive, tmp_path / "store")
    assert not marker.exists() and not (tmp_path / "store").exists()


def test_safe_unpickler_reports_corrupt_files(tmp_path: Path) -> None:
    path = tmp_path / "meta.pickle.pbz2"
    path.write_bytes(b"not bz2 at all")
    with pytest.raises(StoreError, match="cannot read"):
        load_pickle_bz2(path)
    with pytest.raises(StoreError, match="no such file"):
        load_pickle_bz2(tmp_path / "absent.pickle.pbz2")


# ---------------------------------------------------------------- NAS-Bench-201 .pth
SPLITS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
PTH_ARCHS = 6
PTH_EVALUATED = (1, 4)


def _trial(dataset: str, seed: int, epochs: int, arch_costs: dict, rng: np.random.Generator) -> object:
    """One official ResultsCount with random curves in the official layout; like the benchmark's, its
    costs (params, FLOPs, latency, per-epoch time) are the arch's, shared by all seeds."""
    from nas_201_api.api_utils import ResultsCount

    def per_epoch(low: float, high: float) -> dict[int, float]:
        return {e: float(v) for e, v in enumerate(rng.uniform(low, high, epochs))}

    params, flop, latency, epoch_time = (arch_costs[k] for k in ("params", "flop", "latency", "epoch_time"))
    config = {"channel": 16, "num_cells": 5, "arch_str": "x", "class_num": 10}
    trial = ResultsCount(
        dataset,
        None,
        per_epoch(10, 99),
        per_epoch(0.1, 2),
        params,
        flop,
        config,
        seed,
        epochs,
        [np.float64(latency)],
    )
    trial.update_train_info(
        per_epoch(10, 99), None, per_epoch(0.1, 2), {e: epoch_time for e in range(epochs)}
    )
    accs, losses, times = {}, {}, {}
    for split in SPLITS[dataset]:
        accs |= {f"{split}@{e}": v for e, v in per_epoch(10, 99).items()}
        losses |= {f"{split}@{e}": v for e, v in per_epoch(0.1, 2).items()}
        times |= {f"{split}@{e}": 1.25 for e in range(epochs)}
    trial.update_eval(accs, losses, times)
    return trial


def _arch_results(index: int, arch: str, epochs: int, rng: np.random.Generator) -> dict:
    from nas_201_api.api_utils import ArchResults

    results = ArchResults(index, arch)
    for dataset in DATASETS:
        # arch 4 has only one 200-epoch seed on cifar100: the mean is over the seeds present
        seeds = (777,) if (index, dataset, epochs) == (4, "cifar100", 200) else (777, 888)
        arch_costs = {
            "params": np.float64(rng.uniform(0.1, 1.5)),
            "flop": float(rng.uniform(5, 200)),
            "latency": rng.uniform(0.01, 0.03),
            "epoch_time": float(rng.uniform(3, 40)),
        }
        for seed in seeds:
            results.update(dataset, seed, _trial(dataset, seed, epochs, arch_costs, rng))
    return results.state_dict()


@pytest.fixture
def pth_data() -> dict:
    space = CellSpace.nb201()
    archs = [space.format(space.from_code(code)) for code in range(PTH_ARCHS)]
    rng = np.random.default_rng(0)
    infos = {
        i: {"less": _arch_results(i, archs[i], 12, rng), "full": _arch_results(i, archs[i], 200, rng)}
        for i in PTH_EVALUATED
    }
    return {"meta_archs": archs, "arch2infos": infos, "evaluated_indexes": set(PTH_EVALUATED)}


# NAS-Bench-201's split rule, restated from its README: which evaluation set each metric reads.
EXPECTED_SPLITS = {
    "cifar10-valid": {"valid_acc": "x-valid", "test_acc": "ori-test"},
    "cifar10": {"test_acc": "ori-test"},
    "cifar100": {"valid_acc": "x-valid", "test_acc": "x-test", "valtest_acc": "ori-test"},
    "ImageNet16-120": {"valid_acc": "x-valid", "test_acc": "x-test", "valtest_acc": "ori-test"},
}


def test_nb201_pth_import_gives_the_values_put_in(pth_data: dict, tmp_path: Path) -> None:
    import torch
    from nas_201_api import NASBench201API

    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(pth_data, path)
    store = Store(import_source(path, tmp_path / "store"))
    api = NASBench201API(pth_data, verbose=False)
    for index in PTH_EVALUATED:
        for hp, key in (("12", "less"), ("200", "full")):
            epochs, last = int(hp), f"{int(hp) - 1}"
            trials = pth_data["arch2infos"][index][key]["all_results"]
            for dataset, splits in EXPECTED_SPLITS.items():
                seeds = [s for d, s in trials if d == dataset]
                official = api.get_more_info(index, dataset, hp=hp, is_random=False)
                for metric, split in splits.items():
                    want = [trials[(dataset, s)]["eval_acc1es"][f"{split}@{last}"] for s in seeds]
                    got = [store.query(index, dataset, metric, epochs=epochs, seed=s) for s in seeds]
                    assert got == want, (index, hp, dataset, metric)
                    mean = store.query(index, dataset, metric, epochs=epochs)
                    assert mean == np.mean(want) == official[metric.replace("_acc", "-accuracy")]
                first = trials[(dataset, seeds[0])]
                total = sum(first["train_times"][e] for e in range(epochs))
                assert store.query(index, dataset, "train_time_s", epochs=epochs, seed=seeds[0]) == total
                assert store.query(index, dataset, "train_time_s", epochs=epochs) == total
                if "valid_acc" in splits:  # every synthetic x-valid pass takes 1.25 s
                    assert store.query(index, dataset, "valid_time_s", epochs=epochs) == 1.25
                train_loss = store.query(index, dataset, "train_loss", epochs=epochs, seed=seeds[0])
                assert train_loss == first["train_losses"][int(last)]
                if hp == "200":
                    assert store.query(index, dataset, "params_mb") == first["params"]
                    assert store.query(index, dataset, "flops_m") == first["flop"]
                    assert store.query(index, dataset, "latency_s") == first["latency"][0]
    assert not store.has("cifar10", "valid_acc", 200) and not store.has("cifar10-valid", "valtest_acc", 200)
    table = store.table("cifar10-valid", "valid_acc", 200)
    assert table.spec.seeds == (777, 888) and table.spec.points == (200,)
    with pytest.raises(StoreError, match=r"no value .* for arch 0; seeds it has there: none"):
        store.query(0, "cifar10-valid", "valid_acc")
    with pytest.raises(StoreError, match=r"seeds it has there: mean, 777$"):
        store.query(4, "cifar100", "valid_acc", seed=888)


def test_nb201_pth_loader_refuses_a_malicious_global(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "pwned"
    path = tmp_path / "NAS-Bench-201-v1_0-e61699.pth"
    torch.save({"meta_archs": [], "arch2infos": {0: RunsCommand(f"touch {marker}")}}, path)
    with pytest.raises(StoreError, match=r"refusing to load posix\.system from .*e61699\.pth"):
        import_source(path, tmp_path / "store")
    assert not marker.exists() and not (tmp_path / "store").exists()


def test_importer_modules_do_not_import_torch() -> None:
    code = (
        "import sys, nasbench_suite.store.nb201_pth, nasbench_suite.store.nats_archive; "
        "sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
