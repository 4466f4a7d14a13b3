"""Benchmark: supernet training throughput of each one-shot method, beside the live trainer's single-arch
throughput at the same scale.

What is measured: train images per second of one search iteration of each method (`OneShotMethod.step`
on a (train, valid) pair of batches: DARTS-V1 / GDAS / SETN a weight step and an arch step, DARTS-V2 the
unrolled second-order arch step and a weight step, RSPS / ENAS one weight step through a sampled path;
ENAS's controller training and the end-of-epoch derivations are not in it) and, beside it, of one SGD step
of the live trainer's network of a single cell (the all-nor_conv_3x3 cell, the costliest one, and the
ResNet-like cell), on synthetic 32x32 images from a seeded Generator, so no dataset is needed. Two warm-up
steps, then steps are timed (CUDA synchronized) until TIMED_S seconds or MAX_STEPS steps. On this CPU
(threads = default_threads()) and on CUDA when `torch.cuda.is_available()`.

Scale: --channels/--cells/--batch (default C=8, 1 cell per stage, batch 64: the CPU reproduction's scale;
NAS-Bench-201's search scale is C=16, 5 cells, batch 64, ENAS 128).

Run: python benchmarks/bench_oneshot.py [--out bench-results] [--channels 16 --cells 5] [--threads N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from nasbench_suite.live_training.model import build_network
from nasbench_suite.live_training.oneshot.base import Batch
from nasbench_suite.live_training.oneshot.methods import METHODS
from nasbench_suite.live_training.oneshot.supernet import build_supernet
from nasbench_suite.live_training.recipe import default_threads
from nasbench_suite.space import CellSpace

SPACE = CellSpace.nb201()
TIMED_S = 10.0
MAX_STEPS = 20
SINGLE = {
    "all nor_conv_3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "ResNet-like": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
}


def _batch(n: int, device: torch.device, g: torch.Generator) -> Batch:
    x = torch.randn(n, 3, 32, 32, generator=g).to(device).contiguous(memory_format=torch.channels_last)
    return Batch(x, torch.randint(0, 10, (n,), generator=g).to(device))


def _timed(step, device: torch.device, images: int, max_steps: int) -> float:
    for _ in range(2):
        step()
    steps, t0 = 0, time.perf_counter()
    while steps < max_steps and (steps == 0 or time.perf_counter() - t0 < TIMED_S):
        step()
        steps += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * images / (time.perf_counter() - t0)


def bench(device: torch.device, channels: int, cells: int, batch: int, max_steps: int) -> list[dict]:
    rows = []
    g = torch.Generator().manual_seed(0)
    for name, cls in METHODS.items():
        n = batch if name != "enas" else 2 * batch  # ENAS's batch is 128 where the others' is 64
        net = build_supernet(SPACE, num_classes=10, channels=channels, cells_per_stage=cells, generator=g)
        net = net.to(device, memory_format=torch.channels_last)
        method = cls(net, epochs=10, steps_per_epoch=10, generator=g)
        train, valid = _batch(n, device, g), _batch(n, device, g)
        method.set_lr(0)
        rate = _timed(lambda m=method, t=train, v=valid: m.step(t, v), device, n, max_steps)
        rows.append({"what": name, "kind": "supernet", "batch": n, "images_per_s": rate})
    for label, cell in SINGLE.items():
        net = build_network(
            SPACE, SPACE.parse(cell), num_classes=10, channels=channels, cells_per_stage=cells
        )
        net = net.to(device, memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        data = _batch(batch, device, g)

        def step(net=net, opt=opt, data=data) -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(data.x), data.y).backward()
            opt.step()

        rows.append(
            {
                "what": label,
                "kind": "single arch (live trainer's network)",
                "batch": batch,
                "images_per_s": _timed(step, device, batch, max_steps),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="3 timed steps per row")
    parser.add_argument("--threads", type=int, help="CPU threads (default: default_threads())")
    args = parser.parse_args()
    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    max_steps = 3 if args.quick else MAX_STEPS
    result = {
        "scale": {"channels": args.channels, "cells_per_stage": args.cells, "batch": args.batch},
        "machine": {"platform": platform.platform(), "threads": threads},
        "devices": {},
    }
    lines = [
        f"# one-shot supernet training throughput (C={args.channels}, {args.cells} cell(s)/stage, batch "
        f"{args.batch}; ENAS 2x; {threads} CPU thread(s))",
        "",
        "| device | what | kind | train images/s |",
        "|---|---|---|---|",
    ]
    for device in devices:
        name = "cpu" if device.type == "cpu" else torch.cuda.get_device_name(device)
        rows = bench(device, args.channels, args.cells, args.batch, max_steps)
        result["devices"][name] = rows
        lines += [f"| {name} | {r['what']} | {r['kind']} | {r['images_per_s']:.1f} |" for r in rows]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_oneshot.json").write_text(json.dumps(result, indent=1))
    (out / "bench_oneshot.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
