"""Importer of the wide NAS-Bench-201 table (`nb201_tabular.parquet`, one row per arch, columns
`<dataset>/<metric>@<epochs>/<seed|mean>`; its README documents every column)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import StoreError
from nasbench_suite.space import CellSpace
from nasbench_suite.store.format import StoreBuilder, TableSpec, sha256_file

if TYPE_CHECKING:
    import pandas as pd

SCHEDULED = re.compile(r"^(?P<ds>[^/]+)/(?P<metric>[a-z_]+)@(?P<epochs>\d+)(?:/(?P<seed>mean|seed\d+))?$")
STATIC = re.compile(
    r"^(?P<ds>cifar10-valid|cifar10|cifar100|ImageNet16-120)/(?P<metric>latency_s|params_mb|flops_m)$"
)
HARDWARE = re.compile(r"^hw/(?P<device>[^/]+)/latency_ms$")
ZERO_COST = re.compile(r"^zc/(?P<proxy>[^/]+)/(?P<ds>[^/]+)$")
ARCH_FLAGS = {"n_seeds@200": "n_seeds_200", "params_counts_mismatch": "params_counts_mismatch"}

# Notes kept with each table in the manifest, from the table's README.
NOTES = {
    (
        "cifar10-valid",
        "test_acc",
        200,
    ): "NAS-Bench-201 v1.1 mean; for 2418 archs over fewer seeds than NATS-Bench",
    ("cifar100", "test_acc", 200): "per-seed derived as 2*valtest - valid; mean is the official API output",
    (
        "ImageNet16-120",
        "test_acc",
        200,
    ): "per-seed derived as 2*valtest - valid; mean is the official API output",
}
SEEDLESS_12 = "12-epoch results are seed means only (NAS-Bench-201 v1.1)"


def import_wide_table(source: Path, target: Path) -> Path:
    """Import the wide table at `source` into a store at `target`: read and check it, then add its
    per-schedule tables, its static per-arch tables and its arch flags, naming every column left out."""
    frame = _read_frame(source)
    space = CellSpace.nb201()
    ops = np.array([space.parse(s).ops for s in frame["arch"]], dtype=np.int8)
    builder = StoreBuilder(
        space,
        ops,
        provenance={
            "importer": "wide-table",
            "source": str(Path(source).resolve()),
            "source_sha256": sha256_file(Path(source)),
            "notes": [
                SEEDLESS_12,
                "train_time_s@12 = train_time_s@200 * 12 / 200 (per-epoch time is constant; exact on the "
                "official sample records)",
                "static metrics of cifar10 are those of cifar10-valid: the same network on the same images",
            ],
        },
    )
    used = {"index", "arch"}
    used |= _add_scheduled(builder, frame)
    used |= _add_static(builder, frame)
    for column, name in ARCH_FLAGS.items():
        if column in frame:
            builder.add(TableSpec(None, name, source=column), frame[column].to_numpy(dtype=np.float64))
            used.add(column)
    ignored = [c for c in frame.columns if c not in used]
    if ignored:
        builder.provenance["ignored_columns"] = ignored
    return builder.write(target)


def _read_frame(source: Path) -> pd.DataFrame:
    """The wide table sorted by benchmark index, checked to hold every index 0..n-1 once."""
    import pandas as pd  # the importer is the only part of the core that needs pandas

    try:
        frame = pd.read_parquet(source)
    except Exception as exc:
        raise StoreError(f"cannot read the wide table {source}: {exc}") from None
    if "arch" not in frame or "index" not in frame:
        raise StoreError(f"{source} is not the NAS-Bench-201 wide table (needs 'index' and 'arch' columns)")
    frame = frame.sort_values("index").reset_index(drop=True)
    if not np.array_equal(frame["index"].to_numpy(), np.arange(len(frame))):
        raise StoreError(f"{source}: the 'index' column must hold 0..n-1 once each")
    return frame


def _add_scheduled(builder: StoreBuilder, frame: pd.DataFrame) -> set[str]:
    """One table per (dataset, metric, schedule) with its seeds and mean (computed where the table lacks
    one, and said so); 12-epoch training times derived from the 200-epoch ones. Returns the columns used."""
    scheduled: dict[tuple[str, str, int], dict[str, str]] = defaultdict(dict)
    for column in frame.columns:
        if m := SCHEDULED.match(column):
            scheduled[(m["ds"], m["metric"], int(m["epochs"]))][m["seed"] or "mean"] = column
    n = len(frame)
    for (dataset, metric, epochs), columns in sorted(scheduled.items()):
        seeds = tuple(sorted(int(s.removeprefix("seed")) for s in columns if s != "mean"))
        values = np.full((n, 1 + len(seeds), 1), np.nan)
        for k, seed in enumerate(seeds, start=1):
            values[:, k, 0] = frame[columns[f"seed{seed}"]].to_numpy(dtype=np.float64)
        if "mean" in columns:
            values[:, 0, 0] = frame[columns["mean"]].to_numpy(dtype=np.float64)
            source = ", ".join(columns.values())
        else:
            with np.errstate(invalid="ignore"):
                values[:, 0, 0] = np.nanmean(values[:, 1:, 0], axis=1)
            source = ", ".join(columns.values()) + " (mean computed over the seeds present)"
        note = NOTES.get((dataset, metric, epochs)) or (SEEDLESS_12 if epochs == 12 else "")
        builder.add(
            TableSpec(dataset, metric, epochs, seeds, (epochs,), source + (f"; {note}" if note else "")),
            values,
        )
        if metric == "train_time_s" and epochs == 200:
            builder.add(
                TableSpec(dataset, metric, 12, (), (12,), f"{source} * 12 / 200"), values * (12 / 200)
            )
    return {column for columns in scheduled.values() for column in columns.values()}


def _add_static(builder: StoreBuilder, frame: pd.DataFrame) -> set[str]:
    """Per-arch metrics without a schedule (FLOPs, parameters, latencies, zero-cost scores); cifar10 and
    cifar10-valid share theirs. Returns the columns used."""
    statics: list[tuple[str, str, str]] = []  # (dataset, metric, column)
    for column in frame.columns:
        if m := STATIC.match(column):
            statics.append((m["ds"], m["metric"], column))
        elif m := HARDWARE.match(column):
            statics.append(("cifar10-valid", f"hw_latency_ms/{m['device']}", column))
        elif m := ZERO_COST.match(column):
            statics.append((m["ds"], f"zc_{m['proxy']}", column))
    have = {(d, m) for d, m, _ in statics}
    for dataset, metric, column in statics:
        values = frame[column].to_numpy(dtype=np.float64)
        builder.add(TableSpec(dataset, metric, source=column), values)
        # cifar10 and cifar10-valid train the same network on the same images: share their static metrics
        twin = {"cifar10-valid": "cifar10", "cifar10": "cifar10-valid"}.get(dataset)
        if twin and (twin, metric) not in have:
            builder.add(TableSpec(twin, metric, source=f"{column} (same network as {dataset})"), values)
    return {column for _, _, column in statics}
