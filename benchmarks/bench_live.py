"""Benchmark: training throughput of the live NAS-Bench-201 recipe, beside the table's recorded throughput.

What is measured: images per second of `live_training.recipe.train` (forward + backward + SGD step with the
batched on-device crop/flip, batch 256, 32x32 images, 10 classes, the full-size network C=16 with 5 cells
per stage) for a few representative archs, on this CPU (threads = `default_threads()` and 1) and on CUDA
when `torch.cuda.is_available()` (bf16 autocast and channels_last, as the recipe does; `--compile` adds a
`torch.compile`d CUDA row per arch). The data are synthetic uint8 images from a seeded numpy Generator, so
no dataset is needed. Each run is one `train` call: the first epoch is a warm-up (allocations, oneDNN /
cuDNN algorithm choice, compilation) and is not counted; the following epochs are timed by the recipe itself
(training steps only, CUDA synchronized at epoch boundaries) until 2 of them took ENOUGH_S, or 1 took CAP_S,
or the setting's maximum (CPU 6, CUDA 10; 1 with --quick). On CPU an epoch is one batch (each timed step is
its own sample); on CUDA an epoch is 8 batches (2048 images). Archs run one after the other, each in every
setting, so that the settings of one arch see like load.

Beside it: the table's throughput for the same arch, 25000 / (train_time_s@200 / 200) images/s (cifar10-valid
trains on 25000 images; the table's per-epoch time is constant), measured on the benchmark authors' GPU,
and the ratio live/table. From the live rate: the estimated wall time of one 12-epoch and one 200-epoch
NB201 training on cifar10-valid (training steps only; evaluation and data loading excluded).

Why: a live oracle charges real time; this shows what one evaluation costs on this machine compared with
the simulated time that the tabular oracle charges.

Run: python benchmarks/bench_live.py [--store data/store] [--out bench-results] [--quick] [--compile]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasbench_suite.live_training.data import NORMALIZATION, LiveDataset
from nasbench_suite.live_training.model import build_network, flops_m, params_mb
from nasbench_suite.live_training.recipe import EpochStats, default_threads, train
from nasbench_suite.space import CellSpace
from nasbench_suite.store import Store

DATASET = "cifar10-valid"
TRAIN_IMAGES = 25_000  # cifar10-valid's training split
BATCH = 256
IMAGE = 32
CLASSES = 10
SYNTHETIC_IMAGES = 2048
SEED = 0
# timed epochs per run (after the warm-up): stop once there are 2 and they took ENOUGH_S together, or
# after 1 that took CAP_S (a loaded CPU), or at the setting's max_timed
ENOUGH_S = 5.0
CAP_S = 15.0
# (label, arch): the ResNet-like cell, the best cifar10 arch, the most expensive cell, a conv-free cell
ARCHS: tuple[tuple[str, str | int], ...] = (
    ("ResNet-like", "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"),
    ("best cifar10", 6111),
    (
        "all nor_conv_3x3",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ),
    (
        "skip/pool only",
        "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|skip_connect~2|",
    ),
)


# ---------------------------------------------------------------- what is run


@dataclass(frozen=True)
class Setting:
    """Where one arch is trained: device, CPU threads (None on CUDA), compiled or not, batches per epoch,
    at most `max_timed` timed epochs after one warm-up epoch."""

    device: str
    threads: int | None
    compile_model: bool
    steps_per_epoch: int
    max_timed: int

    @property
    def name(self) -> str:
        if self.device == "cpu":
            return f"cpu, {self.threads} thread{'s' if self.threads != 1 else ''}"
        return "cuda bf16" + (" + compile" if self.compile_model else "")


def settings(*, quick: bool, compile_model: bool) -> list[Setting]:
    """CPU with the default thread count and with 1 thread (just the default when --quick or when the
    default is 1); CUDA eager, and compiled too with --compile, when a GPU is present."""
    threads = [default_threads()] if quick else sorted({default_threads(), 1}, reverse=True)
    out = [Setting("cpu", t, False, 1, 1 if quick else 6) for t in threads]
    if torch.cuda.is_available():
        per_epoch = SYNTHETIC_IMAGES // BATCH
        out.append(Setting("cuda", None, False, per_epoch, 1 if quick else 10))
        if compile_model:
            out.append(Setting("cuda", None, True, per_epoch, 1 if quick else 10))
    return out


class _Enough(Exception):
    """Raised from `train`'s on_epoch hook to end a run once enough epochs are timed."""


def enough(timed: list[float], max_timed: int) -> bool:
    total = sum(timed)
    return len(timed) >= max_timed or (len(timed) >= 2 and total >= ENOUGH_S) or total >= CAP_S


def synthetic_pool(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SYNTHETIC_IMAGES random uint8 NHWC images and int64 labels from one seeded Generator."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(SYNTHETIC_IMAGES, IMAGE, IMAGE, 3), dtype=np.uint8)
    y = rng.integers(0, CLASSES, size=SYNTHETIC_IMAGES).astype(np.int64)
    return x, y


def epoch_data(x: np.ndarray, y: np.ndarray, n: int) -> LiveDataset:
    """The first `n` images as a training set with CIFAR-10's constants and no valid/test images (so
    the recipe evaluates nothing)."""
    mean, std = NORMALIZATION["cifar10"]
    return LiveDataset(
        name="synthetic-cifar10",
        train_x=x[:n],
        train_y=y[:n],
        valid_x=None,
        valid_y=None,
        test_x=x[:0],
        test_y=y[:0],
        mean=mean,
        std=std,
        num_classes=CLASSES,
        crop_padding=4,
    )


@dataclass(frozen=True)
class Measured:
    label: str
    index: int
    arch: str
    setting: str
    device: str
    threads: int | None
    compiled: bool
    images_per_epoch: int
    warmup_s: float
    epoch_s: tuple[float, ...]
    live_ips: float  # timed images / timed seconds
    live_ips_min: float
    live_ips_max: float
    table_ips: float
    ratio: float  # live / table
    est_12_s: float
    est_200_s: float
    table_200_s: float
    params_mb: float
    flops_m: float
    load_1min: float  # 1-minute load average right after the run


def measure_one(
    space: CellSpace,
    store: Store,
    label: str,
    index: int,
    setting: Setting,
    pool: tuple[np.ndarray, np.ndarray],
) -> Measured:
    arch = store.arch(index)
    model = build_network(space, arch, num_classes=CLASSES, generator=torch.Generator().manual_seed(SEED))
    size, macs = params_mb(model), flops_m(model, image_size=IMAGE)
    n = setting.steps_per_epoch * BATCH
    seen: list[EpochStats] = []

    def on_epoch(stats: EpochStats) -> None:
        seen.append(stats)
        if enough([e.seconds for e in seen[1:]], setting.max_timed):
            raise _Enough

    with contextlib.suppress(_Enough):
        train(
            model,
            epoch_data(*pool, n),
            epochs=1 + setting.max_timed,
            schedule_epochs=200,
            batch_size=BATCH,
            device=setting.device,
            seed=SEED,
            eval_every=10_000,
            compile_model=setting.compile_model,
            threads=setting.threads,
            on_epoch=on_epoch,
        )
    timed = tuple(e.seconds for e in seen[1:])
    rates = [n / s for s in timed]
    live = n * len(timed) / sum(timed)
    table_200 = float(store.table(DATASET, "train_time_s", 200).column("mean")[index])
    table = TRAIN_IMAGES / (table_200 / 200)
    return Measured(
        label=label,
        index=index,
        arch=store.arch_str(index),
        setting=setting.name,
        device=setting.device,
        threads=setting.threads,
        compiled=setting.compile_model,
        images_per_epoch=n,
        warmup_s=seen[0].seconds,
        epoch_s=timed,
        live_ips=live,
        live_ips_min=min(rates),
        live_ips_max=max(rates),
        table_ips=table,
        ratio=live / table,
        est_12_s=12 * TRAIN_IMAGES / live,
        est_200_s=200 * TRAIN_IMAGES / live,
        table_200_s=table_200,
        params_mb=size,
        flops_m=macs,
        load_1min=os.getloadavg()[0],
    )


# ---------------------------------------------------------------- report


def fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def fmt_ratio(x: float) -> str:
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}"


def markdown(rows: list[Measured], info: dict[str, Any]) -> str:
    lines = [
        "| arch | setting | live img/s (per-epoch range) | table img/s | live/table | 12 epochs | 200 epochs | table 200 epochs | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        spread = (
            f"{fmt_rate(r.live_ips_min)}–{fmt_rate(r.live_ips_max)}" if len(r.epoch_s) > 1 else "1 sample"
        )
        lines.append(
            f"| {r.label} ({r.index}) | {r.setting} | {fmt_rate(r.live_ips)} ({spread}) | {fmt_rate(r.table_ips)} "
            f"| {fmt_ratio(r.ratio)} | {fmt_duration(r.est_12_s)} | {fmt_duration(r.est_200_s)} "
            f"| {fmt_duration(r.table_200_s)} | {r.load_1min:.1f} |"
        )
    seen: dict[int, Measured] = {r.index: r for r in rows}
    lines += ["", "archs:"]
    lines += [
        f"- {r.index} ({r.label}): `{r.arch}`, {r.params_mb:.2f} M params, {r.flops_m:.1f} MFLOPs"
        for r in seen.values()
    ]
    gpu = f", GPU {info['gpu']} (CUDA {info['cuda']})" if info["gpu"] else ", no CUDA device"
    lines += [
        "",
        f"Batch {BATCH}, {IMAGE}x{IMAGE} images, {CLASSES} classes, C=16, 5 cells per stage, synthetic uint8 data; "
        "one warm-up epoch per run, then timed epochs (CPU: 1 batch per epoch; CUDA: "
        f"{SYNTHETIC_IMAGES // BATCH} batches) until 2 took {ENOUGH_S:.0f} s or 1 took {CAP_S:.0f} s or the maximum. 12/200 epochs: {TRAIN_IMAGES} images per epoch "
        "(cifar10-valid) at the live rate, training steps only. Table: "
        f"{TRAIN_IMAGES} / (train_time_s@200 / 200) on {DATASET}, the benchmark authors' GPU. "
        f"load: the 1-minute load average right after the run ({info['cpus_usable']} usable CPUs); other "
        "processes slow the CPU rows, the multi-threaded ones most.",
        "",
        f"machine: {info['cpus_usable']} usable CPUs ({info['cpu_model']}), torch {info['torch']} "
        f"(default threads {info['default_threads']}){gpu}, python {info['python']}; load average "
        f"{info['load_before']} before, {info['load_after']} after; total {info['total_s']:.0f} s",
    ]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    cuda = torch.cuda.is_available()
    return {
        "cpu_model": model or platform.processor(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": default_threads(),
        "default_threads": default_threads(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "cuda": torch.version.cuda if cuda else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def chosen_archs(text: str | None, store: Store) -> list[tuple[str, int]]:
    """`--archs` (comma-separated indices or official strings) or the default four, as (label, index)."""
    if text is None:
        return [(label, store.index(arch)) for label, arch in ARCHS]
    picked = []
    for item in (t.strip() for t in text.split(",")):
        index = store.index(int(item) if item.isdigit() else item)
        picked.append((f"arch {index}", index))
    return picked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("data/store"), help="an imported store")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="where bench_live.md/.json go"
    )
    parser.add_argument(
        "--quick", action="store_true", help="default CPU threads only, one timed epoch per run"
    )
    parser.add_argument(
        "--compile", action="store_true", help="also time a torch.compile'd model on CUDA (compiles per arch)"
    )
    parser.add_argument("--archs", help="comma-separated arch indices or official strings (default: four)")
    args = parser.parse_args(argv)

    if args.compile and not torch.cuda.is_available():
        print("--compile: no CUDA device here, so there is nothing to compile (CPU rows run eager)")
    started = time.perf_counter()
    load_before = load_average()
    store = Store(args.store)
    space = CellSpace.nb201()
    archs = chosen_archs(args.archs, store)
    pool = synthetic_pool(SEED)
    rows: list[Measured] = []
    for label, index in archs:  # arch-major: the settings of one arch run close in time, under like load
        for setting in settings(quick=args.quick, compile_model=args.compile):
            row = measure_one(space, store, label, index, setting, pool)
            print(
                f"{setting.name:>16} | {label:<16} {fmt_rate(row.live_ips):>7} img/s "
                f"(warm-up {row.warmup_s:.1f} s)",
                flush=True,
            )
            rows.append(row)
    info = {**machine(), "load_before": load_before, "load_after": load_average()}
    info["total_s"] = time.perf_counter() - started
    report = markdown(rows, info)
    print()
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_live.md").write_text(report + "\n")
    summary = {
        "median_ratio_by_setting": {
            s: statistics.median(r.ratio for r in rows if r.setting == s)
            for s in dict.fromkeys(r.setting for r in rows)
        }
    }
    data = {
        "machine": info,
        "config": {
            "dataset": DATASET,
            "train_images": TRAIN_IMAGES,
            "batch_size": BATCH,
            "image_size": IMAGE,
            "num_classes": CLASSES,
            "channels": 16,
            "cells_per_stage": 5,
            "synthetic_images": SYNTHETIC_IMAGES,
            "seed": SEED,
            "quick": args.quick,
            "compile": args.compile,
        },
        **summary,
        "rows": [asdict(r) for r in rows],
    }
    (args.out / "bench_live.json").write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out / 'bench_live.md'} and {args.out / 'bench_live.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
