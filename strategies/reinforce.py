from __future__ import annotations

import math

import numpy as np

from nasbench_suite.protocol import BaseStrategy, Observation, Proposal, Request, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_real
from nasbench_suite.strategies.registry import register

# Adam's constants: torch.optim.Adam's defaults, which the official code uses.
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8
# The official policy starts at 1e-3 * N(0, 1) logits: uniform to within 0.1%.
_INIT_STD = 1e-3


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n_edges, n_ops) logits."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def policy_loss_gradient(probs: np.ndarray, actions: tuple[int, ...], advantage: float) -> np.ndarray:
    """Gradient w.r.t. the logits of the official loss `-(sum_e log p_e(a_e)) * advantage`.

    d log softmax(z)_a / dz = onehot(a) - softmax(z), one row per edge.
    """
    grad = probs.copy()
    grad[np.arange(len(actions)), actions] -= 1.0
    return advantage * grad


@register("reinforce")
class Reinforce(BaseStrategy):
    """REINFORCE: a per-edge categorical policy trained by policy gradient (Williams 1992; NAS-Bench-201).

    As in NAS-Bench-201 / NATS-Bench (Dong & Yang, ICLR 2020; Dong et al., TPAMI 2021; official code
    AutoDL-Projects `exps/NATS-algos/reinforce.py`): logits of shape (n_edges, n_ops) start at
    1e-3 * N(0, 1); every proposal samples one op per edge from their softmax; the reward is the
    validation accuracy (percent); the baseline is a bias-corrected exponential moving average updated
    with the reward *before* the advantage `reward - baseline` is taken (so the first step has advantage
    0); each observation takes one Adam step (betas 0.9/0.999, eps 1e-8) on `-sum(log p) * advantage`.

    Hyperparameters: learning_rate=0.01 (NATS-Bench's published commands; the NAS-Bench-201 docs ran
    0.5 and its grid tried 0.01-0.5), ema_momentum=0.9 (both papers' scripts).
    Deviations: numpy instead of torch; the gradient uses the probabilities the proposal was sampled
    from (as the official autograd graph does), so asks may be outstanding; a non-finite reward is
    skipped instead of poisoning the baseline. The incumbent is the best arch seen, as in the official
    NATS-Bench code (not the policy's argmax).
    """

    name = "reinforce"
    asynchronous = True  # each proposal keeps the policy it was sampled from

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        learning_rate: float = 0.01,
        ema_momentum: float = 0.9,
    ) -> None:
        require_real("reinforce", "learning_rate", learning_rate, 0, math.inf, open_low=True, open_high=True)
        require_real("reinforce", "ema_momentum", ema_momentum, 0, 1, open_low=False, open_high=True)
        self._problem = problem
        self._rng = rng
        self.learning_rate = float(learning_rate)
        self.ema_momentum = float(ema_momentum)
        space = problem.space
        self.logits = _INIT_STD * rng.standard_normal((space.n_edges, space.n_ops))
        self._m = np.zeros_like(self.logits)
        self._v = np.zeros_like(self.logits)
        self._steps = 0
        self._ema_num = 0.0
        self._ema_den = 0.0
        self._sampled_from: dict[Arch, list[np.ndarray]] = {}  # outstanding proposals -> their probs

    @property
    def probabilities(self) -> np.ndarray:
        return softmax(self.logits)

    @property
    def baseline(self) -> float:
        """The bias-corrected moving average of the rewards (nan before the first reward)."""
        return self._ema_num / self._ema_den if self._ema_den else float("nan")

    def ask(self) -> Request:  # a subclass may measure (mnas)
        probs = self.probabilities
        u = self._rng.random(len(probs))
        cdf = np.cumsum(probs, axis=1)
        ops = np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)
        arch = Arch(tuple(int(o) for o in ops))
        self._sampled_from.setdefault(arch, []).append(probs)
        return Proposal(arch, self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        pending = self._sampled_from.get(proposal.arch)
        probs = pending.pop(0) if pending else self.probabilities
        if pending == []:
            del self._sampled_from[proposal.arch]
        reward = observation.valid_acc
        if not math.isfinite(reward):
            return
        m = self.ema_momentum
        self._ema_num = m * self._ema_num + (1 - m) * reward
        self._ema_den = m * self._ema_den + (1 - m)
        grad = policy_loss_gradient(probs, proposal.arch.ops, reward - self.baseline)
        self._adam_step(grad)

    def _adam_step(self, grad: np.ndarray) -> None:
        """torch.optim.Adam's update (no weight decay, no amsgrad)."""
        self._steps += 1
        self._m = _BETA1 * self._m + (1 - _BETA1) * grad
        self._v = _BETA2 * self._v + (1 - _BETA2) * grad * grad
        step_size = self.learning_rate / (1 - _BETA1**self._steps)
        denom = np.sqrt(self._v) / math.sqrt(1 - _BETA2**self._steps) + _EPS
        self.logits = self.logits - step_size * self._m / denom
