"""What the two controller strategies share: the controller's hyperparameters and validation, Adam and
gradient clipping as torch does them, and proposing by sampling with each outstanding proposal's rollout
kept, so that its gradient is taken under the parameters it was sampled with (an update makes a new
parameter vector, so a kept reference is that policy)."""

from __future__ import annotations

import math

import numpy as np

from nasbench_suite.protocol import BaseStrategy, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int, require_real
from nasbench_suite.strategies._lstm import LSTMController, Rollout

# NAS-Bench-201's controller optimizer (configs/nas-benchmark/algos/ENAS.config): Adam betas (0, 0.999),
# eps 1e-3.
ADAM_BETAS = (0.0, 0.999)
ADAM_EPS = 1e-3


def clip_global_norm(grad: np.ndarray, max_norm: float) -> np.ndarray:
    """torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when the norm exceeds max_norm."""
    norm = math.sqrt(float(np.square(grad).sum()))  # not BLAS's threaded dot: slow on a loaded machine
    return grad * (max_norm / (norm + 1e-6)) if norm > max_norm else grad


class Adam:
    """torch.optim.Adam's update (no weight decay, no amsgrad) on a flat vector; `step` returns a new
    vector and never writes into the old one."""

    def __init__(self, size: int, *, lr: float, betas: tuple[float, float], eps: float) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m, self.v, self.steps = np.zeros(size), np.zeros(size), 0

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        b1, b2 = self.betas
        self.steps += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad * grad
        step_size = self.lr / (1 - b1**self.steps)
        denom = np.sqrt(self.v) / math.sqrt(1 - b2**self.steps) + self.eps
        return theta - step_size * self.m / denom


def build_controller(
    owner: str,
    n_edges: int,
    n_ops: int,
    *,
    hidden: object,
    layers: object,
    tanh_constant: object,
    temperature: object,
) -> LSTMController:
    """Validate the network's hyperparameters (one-line errors naming `owner`) and build it."""
    return LSTMController(
        n_edges,
        n_ops,
        require_int(owner, "lstm_size", hidden, 1),
        require_int(owner, "lstm_layers", layers, 1),
        require_real(owner, "tanh_constant", tanh_constant, 0, math.inf, open_low=True, open_high=True),
        require_real(owner, "temperature", temperature, 0, math.inf, open_low=True, open_high=True),
    )


class ControllerSearch(BaseStrategy):
    """What both update rules share: the controller, its parameters and Adam, proposing by sampling,
    and the rollout each outstanding proposal was sampled with (`asynchronous`: asks may overlap)."""

    asynchronous = True

    def __init__(
        self,
        owner: str,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        lstm_size: object,
        lstm_layers: object,
        tanh_constant: object,
        temperature: object,
        entropy_weight: object,
        baseline_decay: object,
        learning_rate: object,
        batch_size: object,
        grad_clip: object,
    ) -> None:
        space = problem.space
        self.controller = build_controller(
            owner,
            space.n_edges,
            space.n_ops,
            hidden=lstm_size,
            layers=lstm_layers,
            tanh_constant=tanh_constant,
            temperature=temperature,
        )
        lr = require_real(owner, "learning_rate", learning_rate, 0, math.inf, open_low=True, open_high=True)
        self.batch_size = require_int(owner, "batch_size", batch_size, 1)
        self.grad_clip = require_real(
            owner, "grad_clip", grad_clip, 0, math.inf, open_low=True, open_high=False
        )
        self.entropy_weight = require_real(
            owner, "entropy_weight", entropy_weight, 0, math.inf, open_low=False, open_high=True
        )
        self.baseline_decay = require_real(
            owner, "baseline_decay", baseline_decay, 0, 1, open_low=False, open_high=True
        )
        self.baseline = math.nan  # nan until the first reward
        self._problem = problem
        self._rng = rng
        self.theta = self.controller.init(rng)
        self.optimizer = Adam(self.controller.size, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS)
        self._sampled: dict[Arch, list[Rollout]] = {}  # outstanding proposals -> their rollouts

    def ask(self) -> Proposal:
        rollout = self.controller.sample(self.theta, self._rng)
        arch = Arch(rollout.cell())
        self._sampled.setdefault(arch, []).append(rollout)
        return Proposal(arch, self._problem.default_fidelity)

    def _rollout_of(self, proposal: Proposal) -> Rollout:
        """The rollout the proposal was sampled with (first in, first out), or, for a proposal this
        strategy never made, the current policy's probabilities of its ops."""
        pending = self._sampled.get(proposal.arch)
        if not pending:
            return self.controller.replay(self.theta, proposal.arch.ops)
        rollout = pending.pop(0)
        if not pending:
            del self._sampled[proposal.arch]
        return rollout

    def _advantage(self, first: float, reward: float) -> float:
        """`reward - baseline`, the baseline (an exponential moving average) updated first: set to `first`
        at the first reward, then `b <- b - (1 - decay) (b - reward)`."""
        if math.isnan(self.baseline):
            self.baseline = first
        else:
            self.baseline -= (1.0 - self.baseline_decay) * (self.baseline - reward)
        return reward - self.baseline

    def _step(self, grad: np.ndarray) -> None:
        self.theta = self.optimizer.step(self.theta, clip_global_norm(grad, self.grad_clip))
