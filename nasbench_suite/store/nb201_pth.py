"""Importer of the official NAS-Bench-201 files (`NAS-Bench-201-v1_0-e61699.pth`,
`NAS-Bench-201-v1_1-096897.pth`), read through the official `nas_201_api` classes.

A file is a torch-saved dict: `meta_archs` (arch strings in index order), `arch2infos`
(`{index: {"less": ArchResults state dict (12 epochs), "full": ... (200 epochs)}}`) and
`evaluated_indexes`. Values are the final-epoch numbers of `NASBench201API.get_more_info`, per seed, so
the split rule (valid / test / valtest per dataset) is the API's own. torch and nas_201_api are imported
only here, when a .pth file is imported.
"""

from __future__ import annotations

import pickle
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from nasbench_suite.errors import InvalidArchError, StoreError
from nasbench_suite.space import CellSpace
from nasbench_suite.store.format import StoreBuilder, sha256_file
from nasbench_suite.store.nats_archive import (
    EVAL_SPLITS,
    MEAN_NOTES,
    PROGRESS_MIN_ITEMS,
    TableSet,
    trial_latency,
)
from nasbench_suite.store.safe_pickle import ADMITTED, OFFICIAL_GLOBALS

# get_more_info key -> store metric. The API already applies the split rule: on cifar10-valid "test" is
# the CIFAR-10 test set, on cifar100 / ImageNet16-120 the x-test half, and "valtest" the whole test set.
INFO_METRICS = {
    "train-accuracy": "train_acc",
    "train-loss": "train_loss",
    "train-all-time": "train_time_s",
    "valid-accuracy": "valid_acc",
    "valid-loss": "valid_loss",
    "valid-per-time": "valid_time_s",
    "test-accuracy": "test_acc",
    "test-loss": "test_loss",
    "valtest-accuracy": "valtest_acc",
    "valtest-loss": "valtest_loss",
}
# NASBench201API deep-copies the dict it is given; building it per chunk of archs (and dropping each
# chunk from the loaded dict) keeps the 4.7 GB v1.1 file from being held twice.
CHUNK = 512
# how torch's restricted unpickler names what it refused: a global, or the type of an object to build
REFUSED = (re.compile(r"GLOBAL ([\w.]+)"), re.compile(r"got <class '([\w.]+)'>"))
# A pickled numpy dtype is rebuilt by numpy.dtype(...) and then has its state set, which torch allows
# only for allowlisted types: the dtype classes (numpy.dtypes.Float64DType, ...) of plain numbers.
NUMBER_DTYPES = [type(np.dtype(code)) for code in "?bhilqBHILQefd"]


def load_official_pth(path: Path) -> dict[str, Any]:
    """torch.load with weights_only=True, admitting only the globals official files contain (numpy
    scalars and dtypes; torch itself admits OrderedDict, set and the bytes codec)."""
    import torch

    allowed: list[Any] = [(obj, f"{module}.{name}") for (module, name), obj in OFFICIAL_GLOBALS.items()]
    allowed += NUMBER_DTYPES
    try:
        with torch.serialization.safe_globals(allowed):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise StoreError(f"no such file: {path}") from None
    except pickle.UnpicklingError as exc:  # torch's restricted unpickler refused a global or opcode
        raise StoreError(
            f"refusing to load {_refused(str(exc))} from {path}: official benchmark files contain only "
            f"{ADMITTED}"
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise StoreError(f"cannot read {path} as a torch file: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, Mapping) or not {"meta_archs", "arch2infos"} <= data.keys():
        raise StoreError(f"{path} is not a NAS-Bench-201 file: it needs 'meta_archs' and 'arch2infos'")
    return dict(data)


def _refused(message: str) -> str:
    for pattern in REFUSED:
        if m := pattern.search(message):
            return m[1]
    # otherwise keep torch's reason, the paragraph between its advice paragraphs
    paragraphs = [p.strip() for p in message.split("\n\n") if p.strip()]
    return paragraphs[1] if len(paragraphs) > 2 else message.strip()


def import_nb201_pth(source: Path, target: Path) -> Path:
    source = Path(source)
    data = load_official_pth(source)
    archs = list(data["meta_archs"])
    infos: dict[int, Any] = dict(data.pop("arch2infos"))
    space = CellSpace.nb201()
    try:
        ops = np.array([space.parse(a).ops for a in archs], dtype=np.int8).reshape(-1, space.n_edges)
    except InvalidArchError as exc:
        raise StoreError(f"{source}: {exc}") from None
    bad = [i for i in infos if not 0 <= i < len(archs)]
    if bad:
        raise StoreError(
            f"{source}: arch2infos has indices {bad[:5]} outside meta_archs (0..{len(archs) - 1})"
        )
    tables = TableSet(len(archs), f"NAS-Bench-201 {source.name}")
    failed: list[str] = []
    indexes = sorted(infos)
    bar = tqdm(
        total=len(indexes),
        desc="NAS-Bench-201 archs",
        unit="arch",
        file=sys.stderr,
        disable=len(indexes) < PROGRESS_MIN_ITEMS,
    )
    with bar:
        for start in range(0, len(indexes), CHUNK):
            chunk = indexes[start : start + CHUNK]
            api = _api(archs, {i: infos.pop(i) for i in chunk}, source)
            for index in chunk:
                failed += read_arch(api, index, tables)
                bar.update()
            del api
    provenance = {
        "importer": "nb201-pth",
        "source": str(source.resolve()),
        "source_sha256": sha256_file(source),
        "evaluated": len(indexes),
        "notes": [
            f"{len(indexes)} of {len(archs)} archs are evaluated; the others are NaN everywhere",
            "final-epoch values of NASBench201API.get_more_info(index, dataset, hp=..., is_random=seed); "
            "train_time_s is 'train-all-time', valid_time_s is 'valid-per-time' (one x-valid pass)",
            *MEAN_NOTES,
        ],
    }
    if failed:
        provenance["unreadable_trials"] = failed[:100]
        provenance["n_unreadable_trials"] = len(failed)
    builder = StoreBuilder(space, ops, provenance=provenance)
    tables.add_to(builder)
    return builder.write(target)


def _api(archs: list[str], infos: dict[int, Any], source: Path) -> Any:
    from nas_201_api import NASBench201API

    try:
        return NASBench201API(
            {"meta_archs": archs, "arch2infos": infos, "evaluated_indexes": list(infos)}, verbose=False
        )
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as exc:
        # the API checks its input with assert; an AssertionError here is a malformed file, not a bug
        raise StoreError(f"{source}: nas_201_api cannot read it ({type(exc).__name__}: {exc})") from None


def read_arch(api: Any, index: int, tables: TableSet) -> list[str]:
    """Fill `tables` with one arch's final-epoch values; returns the trials the API could not read."""
    failed = []
    costs: dict[str, tuple[int, Any]] = {}
    for hp, results in api.arch2infos_dict[index].items():
        epochs = int(hp)
        for dataset in results.get_dataset_names():
            if dataset not in EVAL_SPLITS:
                raise StoreError(
                    f"arch {index}: unknown dataset {dataset!r}; known: {', '.join(EVAL_SPLITS)}"
                )
            seeds = results.get_dataset_seeds(dataset)
            for seed in seeds:
                try:
                    info = api.get_more_info(index, dataset, iepoch=None, hp=hp, is_random=seed)
                except (KeyError, ValueError, AssertionError, TypeError) as exc:
                    failed.append(f"arch {index} {dataset} seed {seed} hp {hp}: {type(exc).__name__} {exc}")
                    continue
                for key, metric in INFO_METRICS.items():
                    if info.get(key) is not None:
                        table = tables.curve(dataset, metric, epochs, f"get_more_info()[{key!r}]", seeds)
                        table.put(index, int(seed), (epochs,), (info[key],))
            if dataset not in costs or costs[dataset][0] < epochs:
                costs[dataset] = (epochs, results)
    for dataset, (epochs, results) in costs.items():  # costs come from the longest schedule
        trials = list(results.query(dataset).values())  # {seed: ResultsCount}
        where = f"ResultsCount of {epochs}-epoch trials"
        tables.put_static(dataset, "params_mb", index, [t.params for t in trials], f"params of {where}")
        tables.put_static(dataset, "flops_m", index, [t.flop for t in trials], f"flop of {where}")
        latencies = [trial_latency(t.latency) for t in trials]
        tables.put_static(dataset, "latency_s", index, latencies, f"latency of {where}")
    return failed
