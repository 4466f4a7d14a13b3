"""ENAS: Pham, Guan, Zoph, Le and Dean, "Efficient Neural Architecture Search via Parameter Sharing",
ICML 2018, in NAS-Bench-201's version (AutoDL-Projects `exps/NAS-Bench-201-algos/ENAS.py`,
`models/cell_searchs/search_model_enas_utils.py`).

An LSTM controller (2 layers of 32 units) emits one op per edge: logits = 2.5 * tanh(W h / 5)
(tanh constant 2.5, temperature 5), the next input is the chosen op's embedding. Every epoch:
1. the shared weights take one SGD step per train batch through a cell sampled from the controller;
2. the controller takes 50 Adam steps (lr 0.001, betas (0, 0.999), eps 0.001), each on the gradient
   of 20 aggregated samples of REINFORCE with reward = shared-weight accuracy (fraction) of the sampled
   cell on one validation batch + 1e-4 * entropy, baseline b <- b - (1 - 0.99) (b - reward) (the
   first accuracy starts it), controller gradients clipped to norm 5.
The derived cell is the controller's most likely cell (greedy decoding: the argmax op at every edge,
each fed back as the next input).

Hyperparameters: NAS-Bench-201's `ENAS.config` (250 epochs, batch 128, lr 0.05 -> 0.0005, weight
decay 2.5e-4) and the controller settings above. Deviation: NAS-Bench-201 reports the best of sampled
cells scored on validation batches; the issue asks for the most likely cell, which we report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench_suite.live_training.oneshot.base import Batch, OneShotMethod, ValidBatches, WeightSchedule
from nasbench_suite.live_training.oneshot.supernet import Path
from nasbench_suite.space import Arch


@dataclass(frozen=True)
class ControllerSettings:
    lstm_size: int = 32
    lstm_layers: int = 2
    tanh_constant: float = 2.5
    temperature: float = 5.0
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    lr: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.999)
    eps: float = 1e-3
    train_steps: int = 50
    aggregate: int = 20
    grad_clip: float = 5.0


class Controller(nn.Module):
    """The ENAS LSTM over the edges of a cell; `forward` samples, `greedy` decodes the most likely cell."""

    def __init__(
        self, n_edges: int, n_ops: int, settings: ControllerSettings, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.n_edges, self.settings = n_edges, settings
        size = settings.lstm_size
        self.input_vars = nn.Parameter(torch.empty(1, 1, size))
        self.w_lstm = nn.LSTM(input_size=size, hidden_size=size, num_layers=settings.lstm_layers)
        self.w_embd = nn.Embedding(n_ops, size)
        self.w_pred = nn.Linear(size, n_ops)
        # every parameter from `generator` (never the global RNG): the official five uniform(-0.1, 0.1), the
        # rest as PyTorch initializes them, uniform(-1/sqrt(size), 1/sqrt(size))
        official = {
            "input_vars",
            "w_lstm.weight_hh_l0",
            "w_lstm.weight_ih_l0",
            "w_embd.weight",
            "w_pred.weight",
        }
        with torch.no_grad():
            for name, p in self.named_parameters():
                bound = 0.1 if name in official else size**-0.5
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)

    def _logits(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        out, state = self.w_lstm(inputs, state)
        s = self.settings
        return s.tanh_constant * torch.tanh(self.w_pred(out) / s.temperature).reshape(-1), state

    def forward(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, Arch]:
        """(sum of log-probabilities, sum of entropies, the sampled cell)."""
        inputs, state = self.input_vars, None
        log_probs, entropies, ops = [], [], []
        for _ in range(self.n_edges):
            logits, state = self._logits(inputs, state)
            log_p = logits.log_softmax(0)
            op = int(torch.multinomial(log_p.detach().exp().cpu(), 1, generator=generator))
            ops.append(op)
            log_probs.append(log_p[op])
            entropies.append(-(log_p * log_p.exp()).sum())
            inputs = self.w_embd(torch.tensor([[op]], device=logits.device))
        return torch.stack(log_probs).sum(), torch.stack(entropies).sum(), Arch(tuple(ops))

    @torch.no_grad()
    def greedy(self) -> Arch:
        inputs, state, ops = self.input_vars, None, []
        for _ in range(self.n_edges):
            logits, state = self._logits(inputs, state)
            ops.append(int(logits.argmax()))
            inputs = self.w_embd(torch.tensor([[ops[-1]]], device=logits.device))
        return Arch(tuple(ops))


class Reinforce:
    """The controller's REINFORCE trainer with ENAS's moving-average baseline and aggregation."""

    def __init__(self, controller: Controller, generator: torch.Generator) -> None:
        s = controller.settings
        self.controller, self.generator = controller, generator
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=s.lr, betas=s.betas, eps=s.eps)
        self.baseline: float | None = None

    def train(self, reward_of: Callable[[Arch, int], float], steps: int) -> None:
        """`steps` controller steps; `reward_of(arch, sample_number)` is the accuracy as a fraction."""
        s = self.controller.settings
        self.controller.train()
        self.optimizer.zero_grad(set_to_none=True)
        for k in range(steps * s.aggregate):
            log_prob, entropy, arch = self.controller(self.generator)
            accuracy = reward_of(arch, k)
            reward = accuracy + s.entropy_weight * float(entropy.detach())
            baseline = (
                accuracy
                if self.baseline is None
                else self.baseline - (1 - s.baseline_decay) * (self.baseline - reward)
            )
            self.baseline = baseline
            (-log_prob * (reward - baseline)).backward()
            if (k + 1) % s.aggregate == 0:
                torch.nn.utils.clip_grad_norm_(self.controller.parameters(), s.grad_clip)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)

    def state_dict(self) -> dict[str, Any]:
        return {
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]


class Enas(OneShotMethod):
    name = "enas"
    citation = "Pham et al., Efficient Neural Architecture Search via Parameter Sharing, ICML 2018"
    schedule = WeightSchedule(lr=0.05, lr_min=0.0005, weight_decay=2.5e-4, batch_size=128, epochs=250)
    controller_settings = ControllerSettings()
    controller_steps = ControllerSettings.train_steps
    tunable = ("controller_steps",)

    def __init__(self, supernet: Any, **kwargs: Any) -> None:
        super().__init__(supernet, **kwargs)
        controller = Controller(
            self.space.n_edges, self.space.n_ops, self.controller_settings, self.generator
        )
        self.controller = controller.to(self.device)
        self.reinforce = Reinforce(self.controller, self.generator)

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        with torch.no_grad():
            arch = self.controller(self.generator)[2]
        return self.weight_step(Path(arch), train)

    def end_epoch(self, valid: ValidBatches) -> None:
        was_training = self.supernet.training
        self.supernet.eval()

        def reward_of(arch: Arch, k: int) -> float:
            batch = valid(k)
            with torch.no_grad():
                return float((self.supernet(batch.x, Path(arch)).argmax(1) == batch.y).float().mean())

        self.reinforce.train(reward_of, self.controller_steps)
        self.supernet.train(was_training)

    def derive(self, valid: ValidBatches) -> Arch:
        return self.controller.greedy()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"reinforce": self.reinforce.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.reinforce.load_state_dict(state["reinforce"])
