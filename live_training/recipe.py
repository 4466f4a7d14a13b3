"""The NAS-Bench-201 training recipe as one readable function (airbench style).

Recipe (AutoDL-Projects `configs/nas-benchmark/hyper-opts/{12,200}E.config`): SGD, Nesterov momentum
0.9, weight decay 5e-4, batch 256, cross-entropy, lr 0.1 cosine-annealed towards 0 over the schedule,
random crop with zero padding (4 px; 2 px for 16x16 images) and horizontal flip, per-channel
normalization. NB201's scheduler is called every iteration, but with warmup 0 its cosine reads only the
epoch counter, so the lr is constant within an epoch: lr_e = 0.1 * (1 + cos(pi * e / T)) / 2 for
e = 0..T-1 (it reaches 0 at e = T, which is never trained). `nb201_lr` is that formula.

Speed: the whole dataset lives on the device as uint8 NHWC; shuffling, crops and flips are batched
tensor ops with per-sample offsets drawn from one explicit `torch.Generator`; the network runs
channels_last (on CUDA under bf16 autocast), optionally `torch.compile`d; on CPU the recipe sets the
number of threads for its duration (bit-exact resumption needs the same thread count). Timing covers the training steps only (no evaluation, no checkpointing).

Checkpoint/resume: after every epoch the model, optimizer, epoch, generator state and history are
saved atomically to `checkpoint`; a later call with the same path resumes from it. On CPU a resumed run
ends with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_suite.errors import ConfigError, SuiteError
from nasbench_suite.live_training.data import LiveDataset

CHECKPOINT_FORMAT = 1


# ============================================================================ results
@dataclass(frozen=True)
class EpochStats:
    """One epoch: lr used, mean train loss, train/valid/test accuracy in percent (None: not evaluated
    this epoch or no such split), seconds of training steps."""

    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    valid_acc: float | None
    test_acc: float | None
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    epochs: tuple[EpochStats, ...]
    train_seconds: float  # training steps only, summed over every epoch (resumed runs included)
    images_per_second: float

    @property
    def final(self) -> EpochStats:
        return self.epochs[-1]

    @property
    def train_loss(self) -> tuple[float, ...]:
        return tuple(e.train_loss for e in self.epochs)

    @property
    def train_acc(self) -> tuple[float, ...]:
        return tuple(e.train_acc for e in self.epochs)

    @property
    def valid_acc(self) -> tuple[float | None, ...]:
        return tuple(e.valid_acc for e in self.epochs)

    @property
    def test_acc(self) -> tuple[float | None, ...]:
        return tuple(e.test_acc for e in self.epochs)


# ============================================================================ pieces
def nb201_lr(epoch: int, *, base_lr: float, schedule_epochs: int) -> float:
    """NAS-Bench-201's learning rate during `epoch` (0-based) of a `schedule_epochs`-long cosine."""
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * epoch / schedule_epochs))


def crop_flip(
    images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor, padding: int
) -> torch.Tensor:
    """Crop every NHWC image of `images` at offset (dy, dx) of its zero-padded copy, then flip the
    ones where `flip` is True horizontally. Shapes are kept; offsets lie in 0..2*padding."""
    n, h, w, _ = images.shape
    padded = F.pad(images, (0, 0, padding, padding, padding, padding))  # zeros, as torchvision's RandomCrop
    rows = (dy[:, None] + torch.arange(h, device=images.device))[:, :, None]  # (n, h, 1)
    cols = (dx[:, None] + torch.arange(w, device=images.device))[:, None, :]  # (n, 1, w)
    out = padded[torch.arange(n, device=images.device)[:, None, None], rows, cols]  # (n, h, w, c)
    return torch.where(flip[:, None, None, None], out.flip(2), out)


def augment(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop with `padding` zero pixels and random horizontal flip of a batch of NHWC images;
    the per-sample randomness comes from `generator` (a CPU generator, so runs are reproducible)."""
    n = images.shape[0]
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    return crop_flip(images, dy, dx, flip, padding)


def resolve_device(device: str | torch.device) -> torch.device:
    """`device` as a torch.device, or a SuiteError that says which devices this machine has."""
    valid = ["cpu"]
    if torch.cuda.is_available():
        valid += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; valid: {', '.join(valid)}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SuiteError(
                f"cuda requested but torch.cuda.is_available() is False; valid: {', '.join(valid)}"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SuiteError(f"device {device!r} does not exist; valid: {', '.join(valid)}")
    elif dev.type != "cpu":
        raise ConfigError(f"unsupported device {device!r}; valid: {', '.join(valid)}")
    return dev


def device_kind(device: str) -> str:
    """The kind, cpu or cuda, of a device name, checked for its spelling only: work sent to an executor
    (Ray) trains on the workers' devices, which this machine may lack (`resolve_device` checks here)."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        kind = ""
    if kind not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; valid: cpu, cuda, cuda:N")
    return kind


def default_threads() -> int:
    """Cores this process may use (the CPUs in its affinity mask; physical cores where one thread per core)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for the duration of a run, then put it back."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def input_transform(data: LiveDataset, dev: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """uint8 NHWC batch -> normalized float NCHW view in channels_last memory (what the network eats)."""
    # (x / 255 - mean) / std, folded into one multiply-add per channel (NHWC: last dim)
    mean = torch.tensor(data.mean, device=dev)
    std = torch.tensor(data.std, device=dev)
    scale, shift = 1.0 / (255.0 * std), -mean / std

    def to_input(x_uint8: torch.Tensor) -> torch.Tensor:
        x = x_uint8.float().mul_(scale).add_(shift)
        # channels_last: the data already is NHWC (the permute copies nothing), cuDNN wants it for bf16,
        # and oneDNN on CPU measured 10-30% faster than NCHW on the NB201 network
        return x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    return to_input


def accuracy(
    model: nn.Module,
    data: LiveDataset,
    x: np.ndarray,
    y: np.ndarray,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 1024,
) -> float:
    """Top-1 accuracy in percent of `model` (eval mode) on uint8 NHWC images `x` normalized as `data`."""
    dev = resolve_device(device)
    to_input = input_transform(data, dev)
    model.to(dev, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]  # torch's stubs lack Module.to's memory_format keyword
    try:
        return _percent_correct(
            model, to_input, torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev), batch_size
        )
    except torch.cuda.OutOfMemoryError as exc:
        raise SuiteError(
            f"CUDA out of memory on {dev} evaluating with batch_size={batch_size}: lower it (e.g. "
            f"{max(1, batch_size // 2)}) or free the GPU: {str(exc).splitlines()[0]}"
        ) from None


def _percent_correct(
    model: Callable[..., Any],
    to_input: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
) -> float:
    """Top-1 accuracy in percent over uint8 NHWC `x` on the model's device (NaN for no images); counts
    on the device, so there is one synchronization, at the end."""
    if not len(x):
        return float("nan")
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with (
        torch.no_grad(),
        torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.device.type == "cuda"),
    ):
        for i in range(0, len(x), batch_size):
            logits = _logits(model(to_input(x[i : i + batch_size])))
            correct += (logits.argmax(1) == y[i : i + batch_size]).sum()
    return 100.0 * correct.item() / len(x)


def without_test(data: LiveDataset) -> LiveDataset:
    """`data` with an empty test split: `train` then evaluates only what a search may see."""
    return replace(data, test_x=data.test_x[:0], test_y=data.test_y[:0])


def _logits(out: Any) -> torch.Tensor:
    # NAS-Bench-201's TinyNetwork returns (features, logits)
    return out[-1] if isinstance(out, (tuple, list)) else out


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    """`torch.save` to a temporary file beside `path`, then renamed over it: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ============================================================================ the recipe
def train(
    model: nn.Module,
    data: LiveDataset,
    *,
    epochs: int,
    schedule_epochs: int | None = None,
    batch_size: int = 256,
    lr: float = 0.1,
    momentum: float = 0.9,
    nesterov: bool = True,
    weight_decay: float = 5e-4,
    device: str | torch.device = "cpu",
    seed: int = 0,
    eval_every: int = 1,
    eval_batch_size: int = 1024,
    compile_model: bool = False,
    threads: int | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    checkpoint: Path | str | None = None,
) -> TrainResult:
    """Train `model` (in place) on `data` with the NAS-Bench-201 recipe for `epochs` epochs of a
    `schedule_epochs`-long cosine schedule (default: `epochs`; 12 or 200 in the benchmark; a shorter
    `epochs` stops early on the longer schedule, as the benchmark's per-epoch curves do).

    Valid/test accuracies are measured every `eval_every` epochs and after the last one. `seed` drives
    the shuffling and augmentation (the model's initialization is the caller's). `on_epoch` sees each
    epoch's stats after its checkpoint is written. `threads` (CPU only) defaults to `default_threads()`."""
    schedule_epochs = epochs if schedule_epochs is None else schedule_epochs
    _check_request(
        epochs, schedule_epochs, batch_size, eval_every, eval_batch_size, lr, momentum, weight_decay
    )
    dev = resolve_device(device)
    config = {
        "schedule_epochs": schedule_epochs,
        "batch_size": batch_size,
        "lr": lr,
        "momentum": momentum,
        "nesterov": nesterov,
        "weight_decay": weight_decay,
        "seed": seed,
        "n_train": len(data.train_x),
        "dataset": data.name,
    }
    ckpt_path = None if checkpoint is None else Path(checkpoint)
    try:
        with torch_threads(None if dev.type == "cuda" else (threads or default_threads())):
            run = _Run.start(model, data, dev, config, compile_model)
            history, train_seconds, start_epoch = _resume(run, ckpt_path, epochs)
            for epoch in range(start_epoch, epochs):
                epoch_lr = nb201_lr(epoch, base_lr=lr, schedule_epochs=schedule_epochs)
                loss, correct, seconds = _train_epoch(run, epoch_lr, batch_size, data.crop_padding)
                train_seconds += seconds
                due = epoch == epochs - 1 or (epoch + 1) % eval_every == 0
                acc = run.evaluate(eval_batch_size) if due else {}
                n = len(run.train_x)
                stats = EpochStats(
                    epoch=epoch,
                    lr=epoch_lr,
                    train_loss=loss / n,
                    train_acc=100.0 * correct / n,
                    valid_acc=acc.get("valid"),
                    test_acc=acc.get("test"),
                    seconds=seconds,
                )
                history.append(stats)
                if ckpt_path is not None:
                    save_atomic(run.checkpoint(epoch + 1, history, train_seconds), ckpt_path)
                if on_epoch is not None:
                    on_epoch(stats)
    except torch.cuda.OutOfMemoryError as exc:
        raise SuiteError(
            f"CUDA out of memory on {dev} with batch_size={batch_size} (the dataset itself takes "
            f"{data.train_x.nbytes / 2**20:.0f} MiB as uint8): lower batch_size (e.g. {max(1, batch_size // 2)}) "
            f"or eval_batch_size (now {eval_batch_size}), or free the GPU: {str(exc).splitlines()[0]}"
        ) from None

    return TrainResult(
        epochs=tuple(history),
        train_seconds=train_seconds,
        images_per_second=len(history) * len(data.train_x) / train_seconds,
    )


def _check_request(
    epochs: int,
    schedule_epochs: int,
    batch_size: int,
    eval_every: int,
    eval_batch_size: int,
    lr: float,
    momentum: float,
    weight_decay: float,
) -> None:
    for name, value, low in (
        ("epochs", epochs, 1),
        ("batch_size", batch_size, 1),
        ("eval_every", eval_every, 1),
        ("eval_batch_size", eval_batch_size, 1),
    ):
        if value < low:
            raise ConfigError(f"{name} must be >= {low}, got {value}")
    if not epochs <= schedule_epochs:
        raise ConfigError(
            f"`epochs <= schedule_epochs` must hold, but got (epochs={epochs}, schedule_epochs={schedule_epochs})"
        )
    if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0:
        raise ConfigError(
            f"need lr > 0, 0 <= momentum < 1, weight_decay >= 0; got lr={lr}, momentum={momentum}, weight_decay={weight_decay}"
        )


@dataclass
class _Run:
    """Everything one training holds on the device: data, model, optimizer and the random stream."""

    model: nn.Module
    step_model: Callable[..., Any]
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    to_input: Callable[[torch.Tensor], torch.Tensor]
    train_x: torch.Tensor  # uint8 NHWC
    train_y: torch.Tensor
    eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]]
    dev: torch.device
    config: dict[str, Any]

    @classmethod
    def start(
        cls,
        model: nn.Module,
        data: LiveDataset,
        dev: torch.device,
        config: dict[str, Any],
        compile_model: bool,
    ) -> _Run:
        evals = {"valid": (data.valid_x, data.valid_y), "test": (data.test_x, data.test_y)}
        eval_sets = {
            k: (torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev))
            for k, (x, y) in evals.items()
            if x is not None and y is not None and len(x)
        }
        model.to(dev, memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs lack Module.to's memory_format keyword
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=config["lr"],
            momentum=config["momentum"],
            nesterov=config["nesterov"],
            weight_decay=config["weight_decay"],
        )
        return cls(
            model=model,
            step_model=torch.compile(model) if compile_model else model,
            optimizer=optimizer,
            generator=torch.Generator().manual_seed(config["seed"]),
            to_input=input_transform(data, dev),
            train_x=torch.from_numpy(data.train_x).to(dev),
            train_y=torch.from_numpy(data.train_y).to(dev),
            eval_sets=eval_sets,
            dev=dev,
            config=config,
        )

    def autocast(self) -> torch.autocast:  # bf16 on CUDA; a no-op on CPU
        return torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.dev.type == "cuda")

    def evaluate(self, batch_size: int) -> dict[str, float]:
        """Accuracy in percent on every evaluation split the data has."""
        self.model.eval()
        return {
            k: _percent_correct(self.step_model, self.to_input, x, y, batch_size)
            for k, (x, y) in self.eval_sets.items()
        }

    def checkpoint(self, epoch: int, history: list[EpochStats], train_seconds: float) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config,
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "history": [asdict(h) for h in history],
            "train_seconds": train_seconds,
        }


def _resume(run: _Run, ckpt_path: Path | None, epochs: int) -> tuple[list[EpochStats], float, int]:
    """Load the checkpoint at `ckpt_path` into `run` if there is one: (history, train seconds, next epoch)."""
    if ckpt_path is None or not ckpt_path.is_file():
        return [], 0.0, 0
    state = torch.load(ckpt_path, map_location=run.dev, weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT or state.get("config") != run.config:
        raise ConfigError(
            f"checkpoint {ckpt_path} belongs to another run (its config {state.get('config')} != "
            f"this run's {run.config}); use a fresh checkpoint path"
        )
    try:
        run.model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise ConfigError(f"checkpoint {ckpt_path} holds a different network: {exc}") from None
    run.optimizer.load_state_dict(state["optimizer"])
    run.generator.set_state(state["generator"].cpu())
    start_epoch = int(state["epoch"])
    if start_epoch > epochs:
        raise ConfigError(
            f"checkpoint {ckpt_path} is at epoch {start_epoch}, past the requested epochs={epochs}; "
            "ask for at least as many epochs or use a fresh checkpoint path"
        )
    return [EpochStats(**h) for h in state["history"]], float(state["train_seconds"]), start_epoch


def _train_epoch(run: _Run, epoch_lr: float, batch_size: int, crop_padding: int) -> tuple[float, int, float]:
    """One pass over the shuffled training set: (summed loss, correct predictions, seconds of steps)."""
    for group in run.optimizer.param_groups:
        group["lr"] = epoch_lr
    run.model.train()
    dev, n = run.dev, len(run.train_x)
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    order = torch.randperm(n, generator=run.generator).to(dev)
    for i in range(0, n, batch_size):  # the last batch may be smaller (NB201: drop_last=False)
        idx = order[i : i + batch_size]
        x = run.to_input(augment(run.train_x[idx], crop_padding, run.generator))
        y = run.train_y[idx]
        with run.autocast():
            logits = _logits(run.step_model(x))
            loss = F.cross_entropy(logits, y)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        loss_sum += loss.detach().float() * len(idx)
        correct += (logits.detach().argmax(1) == y).sum()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return loss_sum.item(), int(correct.item()), time.perf_counter() - t0
