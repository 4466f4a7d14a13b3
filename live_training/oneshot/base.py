"""What every one-shot method shares: the batches it is fed, the weight optimizer of NAS-Bench-201's
search configs, and the small interface the search driver calls.

Weights (AutoDL-Projects `configs/nas-benchmark/algos/{DARTS,GDAS,SETN,RANDOM}.config`): SGD, Nesterov
momentum 0.9, weight decay 5e-4, lr 0.025 cosine-annealed to 0.001 per iteration, batch 64, gradients
clipped to norm 5 (`ENAS.config`: lr 0.05 to 0.0005, weight decay 2.5e-4, batch 128).
Architecture parameters (`--arch_learning_rate 3e-4 --arch_weight_decay 1e-3` in
`scripts-search/NAS-Bench-201-algos/*.sh`): Adam with betas (0.5, 0.999), initialized 1e-3 * N(0, 1).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.oneshot.supernet import Path, Selection, Supernet, Weighted
from nasbench_suite.space import Arch, CellSpace


@dataclass(frozen=True, eq=False)
class Batch:
    """A normalized NCHW float batch and its int64 labels, on the supernet's device."""

    x: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True)
class WeightSchedule:
    """The supernet weights' optimizer and the paper-scale schedule of a method."""

    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 64
    grad_clip: float = 5.0
    epochs: int = 250


@dataclass(frozen=True)
class ArchOptimizer:
    """Adam on the architecture parameters (NAS-Bench-201's DARTS, GDAS, SETN)."""

    lr: float = 3e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-3
    init_std: float = 1e-3


# (softmax of the architecture parameters, shape (n_edges, n_ops)) -> an extra term of the arch loss
ArchPenalty = Callable[[torch.Tensor], torch.Tensor]
# draws the n-th validation batch of the current derivation (cycling through the valid half)
ValidBatches = Callable[[int], Batch]


def cosine_lr(progress: float, *, total: int, lr: float, lr_min: float) -> float:
    """lr_min + (lr - lr_min) (1 + cos(pi t / T)) / 2 at t = `progress` epochs of T = `total`."""
    return lr_min + (lr - lr_min) * (1.0 + math.cos(math.pi * progress / total)) / 2.0


def argmax_arch(weights: torch.Tensor) -> Arch:
    """The cell that takes the op of largest weight on every edge (the official `genotype()`)."""
    return Arch(tuple(int(i) for i in weights.argmax(dim=1).tolist()))


def uniform_arch(space: CellSpace, generator: torch.Generator) -> Arch:
    """Every edge's op drawn uniformly and independently (RSPS's and SETN's `random_genotype`)."""
    return Arch(tuple(int(i) for i in torch.randint(space.n_ops, (space.n_edges,), generator=generator)))


def best_on_validation(supernet: Supernet, candidates: list[Arch], valid: ValidBatches) -> tuple[Arch, float]:
    """The candidate with the highest shared-weight accuracy, each scored on its own validation batch
    (NAS-Bench-201's `search_find_best` / `get_best_arch`); ties go to the first."""
    was_training = supernet.training
    supernet.eval()
    best, best_acc = candidates[0], -1.0
    with torch.no_grad():
        for i, arch in enumerate(candidates):
            batch = valid(i)
            acc = 100.0 * (supernet(batch.x, Path(arch)).argmax(1) == batch.y).float().mean().item()
            if acc > best_acc:
                best, best_acc = arch, acc
    supernet.train(was_training)
    return best, best_acc


def check_hparams(cls: type[OneShotMethod], hparams: Mapping[str, Any] | None) -> None:
    """Raise ConfigError for a hyperparameter `cls` does not have or a value of the wrong type."""
    for key, value in (hparams or {}).items():
        if key not in cls.tunable:
            valid = ", ".join(cls.tunable) or "none"
            raise ConfigError(f"unknown hyperparameter {key!r} of {cls.name!r}; valid: {valid}")
        default = getattr(cls, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(default, int) and not isinstance(value, int))
            or value <= 0
        ):
            raise ConfigError(
                f"The {key!r} parameter of {cls.name!r} must be a positive {type(default).__name__}. Got {value!r} instead."
            )


class OneShotMethod(ABC):
    """One update rule over a `Supernet`: `begin_epoch`, `step` once per (train, valid) batch pair,
    `end_epoch`, `derive` the architecture after the epoch, and a `state_dict` the driver checkpoints.

    Subclasses set `name`, `citation`, `schedule` (the paper-scale hyperparameters), say whether they
    accept an architecture penalty (`penalized`) and which class attributes a user may override by
    keyword (`tunable`, e.g. `select_num`)."""

    name: ClassVar[str]
    citation: ClassVar[str]
    schedule: ClassVar[WeightSchedule] = WeightSchedule()
    penalized: ClassVar[bool] = False
    tunable: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        supernet: Supernet,
        *,
        epochs: int,
        steps_per_epoch: int,
        generator: torch.Generator,
        penalty: ArchPenalty | None = None,
        hparams: Mapping[str, Any] | None = None,
    ) -> None:
        check_hparams(type(self), hparams)
        for key, value in (hparams or {}).items():
            setattr(self, key, value)
        self.supernet = supernet
        self.space = supernet.space
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.generator = generator
        self.penalty = penalty
        self.device = next(supernet.parameters()).device
        s = self.schedule
        self.w_optimizer = torch.optim.SGD(
            supernet.parameters(),
            lr=s.lr,
            momentum=s.momentum,
            nesterov=s.nesterov,
            weight_decay=s.weight_decay,
        )
        self.epoch = 0

    # ---------------------------------------------------------------- driver interface
    def begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_lr(self, step: int) -> float:
        s = self.schedule
        lr = cosine_lr(self.epoch + step / self.steps_per_epoch, total=self.epochs, lr=s.lr, lr_min=s.lr_min)
        for group in self.w_optimizer.param_groups:
            group["lr"] = lr
        return lr

    @abstractmethod
    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        """One iteration; returns the weight step's (loss, accuracy in %) on `train`."""

    def end_epoch(self, valid: ValidBatches) -> None:
        """Work done once per epoch after the iterations (ENAS trains its controller here)."""
        return

    @abstractmethod
    def derive(self, valid: ValidBatches) -> Arch:
        """The architecture this method reports now."""

    def state_dict(self) -> dict[str, Any]:
        return {"supernet": self.supernet.state_dict(), "w_optimizer": self.w_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.supernet.load_state_dict(state["supernet"])
        self.w_optimizer.load_state_dict(state["w_optimizer"])

    # ---------------------------------------------------------------- pieces
    def weight_step(self, selection: Selection, batch: Batch) -> tuple[float, float]:
        """One SGD step of the supernet's weights on `batch` through `selection`."""
        self.w_optimizer.zero_grad(set_to_none=True)
        logits = self.supernet(batch.x, selection)
        loss = F.cross_entropy(logits, batch.y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.supernet.parameters(), self.schedule.grad_clip)
        self.w_optimizer.step()
        acc = 100.0 * (logits.detach().argmax(1) == batch.y).float().mean()
        return float(loss.detach()), float(acc)

    def arch_loss(self, logits: torch.Tensor, y: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """Cross-entropy plus the penalty on the softmax of the architecture parameters, if any."""
        loss = F.cross_entropy(logits, y)
        return loss if self.penalty is None else loss + self.penalty(probs)


class AlphaMethod(OneShotMethod):
    """A method with architecture parameters alpha (n_edges, n_ops) trained by Adam on validation data."""

    arch_optimizer: ClassVar[ArchOptimizer] = ArchOptimizer()

    def __init__(self, supernet: Supernet, **kwargs: Any) -> None:
        super().__init__(supernet, **kwargs)
        a = self.arch_optimizer
        init = torch.randn(self.space.n_edges, self.space.n_ops, generator=self.generator)
        self.alpha = torch.nn.Parameter((a.init_std * init).to(self.device))
        self.a_optimizer = torch.optim.Adam([self.alpha], lr=a.lr, betas=a.betas, weight_decay=a.weight_decay)

    def probabilities(self) -> torch.Tensor:
        return self.alpha.softmax(dim=1)

    def weighted_arch_step(self, valid: Batch) -> None:
        """One Adam step of alpha on `valid` through the softmax(alpha)-weighted supernet (first order)."""
        self.a_optimizer.zero_grad(set_to_none=True)
        probs = self.probabilities()
        self.arch_loss(self.supernet(valid.x, Weighted(probs)), valid.y, probs).backward()
        self.a_optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "alpha": self.alpha.detach().clone(),
            "a_optimizer": self.a_optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.alpha.copy_(state["alpha"])
        self.a_optimizer.load_state_dict(state["a_optimizer"])
