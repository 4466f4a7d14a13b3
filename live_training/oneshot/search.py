"""The search driver: trains a supernet with one method for some epochs, records the derived cell after
every epoch with the measured wall seconds, checkpoints, and resumes after a crash.

Data: the train half of the dataset's official split feeds the weight steps, the valid half the
architecture steps (both augmented: crop + flip, as NAS-Bench-201's `SearchDataset`); every iteration
pairs one train batch with one valid batch, an epoch is one pass over the train half. Candidates are
scored and the derived cell is evaluated on unaugmented valid images (NAS-Bench-201's `valid_loader`).

Randomness: one `torch.Generator` seeded from `seed` draws the supernet's init, the data order,
augmentation and every sample of the method; its state is in the checkpoint, so on a CPU a resumed
search repeats the uninterrupted one exactly (with the same thread count).

Cost: `seconds` of an epoch covers its iterations, the method's end-of-epoch work and the derivation
(what a search pays), not the reporting evaluation of the derived cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from nasbench_suite.errors import ConfigError, SuiteError
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.oneshot.base import ArchPenalty, Batch, OneShotMethod, check_hparams
from nasbench_suite.live_training.oneshot.methods import method_class
from nasbench_suite.live_training.oneshot.supernet import Path as CellPath
from nasbench_suite.live_training.oneshot.supernet import SearchCell, build_supernet
from nasbench_suite.live_training.recipe import (
    augment,
    default_threads,
    input_transform,
    resolve_device,
    save_atomic,
    torch_threads,
)
from nasbench_suite.space import Arch, CellSpace

CHECKPOINT_FORMAT = 1
EVAL_BATCH = 512


@dataclass(frozen=True)
class EpochRecord:
    """After search epoch `epoch` (1-based): the derived cell, the epoch's wall seconds, the weight
    steps' mean loss and accuracy, and the derived cell's shared-weight accuracy on the valid images."""

    epoch: int
    arch: str
    ops: tuple[int, ...]
    seconds: float
    train_loss: float
    train_acc: float
    valid_acc: float


@dataclass(frozen=True)
class SearchSettings:
    """method, search epochs, supernet width/depth, batch size (None: the method's), seed, device."""

    method: str
    epochs: int
    channels: int = 16
    cells_per_stage: int = 5
    batch_size: int | None = None
    seed: int = 0
    device: str = "cpu"
    compile_model: bool = False
    threads: int | None = None  # CPU threads (None: default_threads()); results depend on it
    hparams: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_hparams(method_class(self.method), self.hparams)
        for name in ("epochs", "channels", "cells_per_stage", "batch_size", "threads"):
            value = getattr(self, name)
            if value is None and name in ("batch_size", "threads"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")

    @property
    def batch(self) -> int:
        return self.batch_size or method_class(self.method).schedule.batch_size


def run_search(
    space: CellSpace,
    data: LiveDataset,
    settings: SearchSettings,
    *,
    checkpoint: Path | str | None = None,
    penalty: ArchPenalty | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> tuple[EpochRecord, ...]:
    """Search `settings.epochs` epochs (resuming from `checkpoint` when it exists); one record per epoch.
    On a CPU, torch runs `settings.threads` threads for the duration (an oversubscribed machine runs
    one thread per process many times faster than two that spin-wait on each other)."""
    if data.valid_x is None or data.valid_y is None or not len(data.valid_x):
        raise ConfigError(
            f"one-shot search needs a validation split; {data.name} has none (use cifar10-valid)"
        )
    dev = resolve_device(settings.device)
    cls = method_class(settings.method)
    if penalty is not None and not cls.penalized:
        raise ConfigError(f"{settings.method!r} takes no architecture penalty")
    with torch_threads(None if dev.type == "cuda" else (settings.threads or default_threads())):
        generator = torch.Generator().manual_seed(settings.seed)
        supernet = build_supernet(
            space,
            num_classes=data.num_classes,
            channels=settings.channels,
            cells_per_stage=settings.cells_per_stage,
            generator=generator,
        ).to(dev, memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs lack Module.to's memory_format keyword
        if settings.compile_model:
            for module in supernet.modules():
                if isinstance(module, SearchCell):
                    for edge in module.edges:
                        for op in cast(nn.ModuleList, edge):
                            op.compile()
        batch = settings.batch
        train_x, train_y = torch.from_numpy(data.train_x).to(dev), torch.from_numpy(data.train_y).to(dev)
        valid_x, valid_y = torch.from_numpy(data.valid_x).to(dev), torch.from_numpy(data.valid_y).to(dev)
        n_train, n_valid = len(train_x), len(valid_x)
        steps = -(-n_train // batch)
        to_input = input_transform(data, dev)
        method: OneShotMethod = cls(
            supernet,
            epochs=settings.epochs,
            steps_per_epoch=steps,
            generator=generator,
            penalty=penalty,
            hparams=settings.hparams,
        )
        config = asdict(settings) | {
            "hparams": dict(settings.hparams),
            "space": [list(space.ops), space.n_nodes],
            "n_train": n_train,
            "n_valid": n_valid,
        }
        for key in ("device", "compile_model", "threads"):
            config.pop(key)

        history: list[EpochRecord] = []
        ckpt = None if checkpoint is None else Path(checkpoint)
        if ckpt is not None and ckpt.is_file():
            state = torch.load(ckpt, map_location=dev, weights_only=True)
            if state.get("format") != CHECKPOINT_FORMAT or state.get("config") != config:
                raise ConfigError(f"checkpoint {ckpt} belongs to another search; use a fresh checkpoint path")
            method.load_state_dict(state["method"])
            generator.set_state(state["generator"])
            history = [EpochRecord(**{**h, "ops": tuple(h["ops"])}) for h in state["history"]]

        def valid_batches(order: torch.Tensor, augmented: bool) -> Callable[[int], Batch]:
            def nth(i: int) -> Batch:
                start = (i * batch) % n_valid
                idx = order[start : start + batch]
                images = valid_x[idx]
                if augmented:
                    images = augment(images, data.crop_padding, generator)
                return Batch(to_input(images), valid_y[idx])

            return nth

        try:
            for epoch in range(len(history), settings.epochs):
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                t0 = time.perf_counter()
                method.begin_epoch(epoch)
                supernet.train()
                order = torch.randperm(n_train, generator=generator).to(dev)
                arch_data = valid_batches(
                    torch.randperm(n_valid, generator=generator).to(dev), augmented=True
                )
                loss_sum = acc_sum = 0.0
                for i in range(steps):
                    idx = order[i * batch : (i + 1) * batch]
                    train = Batch(to_input(augment(train_x[idx], data.crop_padding, generator)), train_y[idx])
                    method.set_lr(i)
                    loss, acc = method.step(train, arch_data(i))
                    loss_sum, acc_sum = loss_sum + loss * len(idx), acc_sum + acc * len(idx)
                    if on_step is not None:
                        on_step()
                clean = valid_batches(torch.randperm(n_valid, generator=generator).to(dev), augmented=False)
                method.end_epoch(arch_data)
                arch = method.derive(clean)
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                seconds = time.perf_counter() - t0
                record = EpochRecord(
                    epoch=epoch + 1,
                    arch=space.format(arch),
                    ops=arch.ops,
                    seconds=seconds,
                    train_loss=loss_sum / n_train,
                    train_acc=acc_sum / n_train,
                    valid_acc=shared_accuracy(supernet, arch, valid_x, valid_y, to_input),
                )
                history.append(record)
                if ckpt is not None:
                    save_atomic(
                        {
                            "format": CHECKPOINT_FORMAT,
                            "config": config,
                            "method": method.state_dict(),
                            "generator": generator.get_state(),
                            "history": [asdict(h) for h in history],
                        },
                        ckpt,
                    )
                if on_epoch is not None:
                    on_epoch(record)
        except torch.cuda.OutOfMemoryError as exc:
            raise SuiteError(
                f"CUDA out of memory on {dev} with batch size {batch}: lower --batch-size or --channels "
                f"({str(exc).splitlines()[0]})"
            ) from None
        return tuple(history)


def shared_accuracy(
    supernet: nn.Module,
    arch: Arch,
    x: torch.Tensor,
    y: torch.Tensor,
    to_input: Callable[[torch.Tensor], torch.Tensor],
) -> float:
    """Top-1 accuracy in percent of `arch` with the supernet's shared weights on uint8 images `x`."""
    was_training = supernet.training
    supernet.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), EVAL_BATCH):
            logits = supernet(to_input(x[i : i + EVAL_BATCH]), CellPath(arch))
            correct += int((logits.argmax(1) == y[i : i + EVAL_BATCH]).sum())
    supernet.train(was_training)
    return 100.0 * correct / len(x)
