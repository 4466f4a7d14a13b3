from __future__ import annotations

import math

import numpy as np

from nasbench_suite.protocol import Observation, Proposal, SearchProblem
from nasbench_suite.strategies._candidates import require_int, require_real
from nasbench_suite.strategies._controller import ControllerSearch
from nasbench_suite.strategies._lstm import Rollout, entropy_gradient, log_prob_gradient
from nasbench_suite.strategies.registry import register


def ppo_logit_gradient(
    old_log_prob: np.ndarray, new: Rollout, advantage: np.ndarray, clip: float, entropy_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """dL/dlogits (batch, n_edges, n_ops) of the batch's summed PPO losses (Schulman et al. 2017)
    `L_i = -min(r_i A_i, clip(r_i, 1 - eps, 1 + eps) A_i) - entropy_weight * H_i`, r_i = pi_new(cell_i) /
    pi_old(cell_i) and H_i the new policy's entropy along cell i's ops; and which samples were clipped
    (their ratio term has no gradient)."""
    ratio = np.exp(new.log_prob - old_log_prob)
    clipped = ((advantage > 0) & (ratio > 1 + clip)) | ((advantage < 0) & (ratio < 1 - clip))
    weight = np.where(clipped, 0.0, advantage * ratio)[:, None, None]
    return -weight * log_prob_gradient(new) - entropy_weight * entropy_gradient(new), clipped


@register("controller_ppo")
class ControllerPPO(ControllerSearch):
    """LSTM controller trained with PPO's clipped objective (Zoph et al., CVPR 2018, NASNet).

    The controller is `controller_reinforce`'s (NAS-Bench-201's 2 x 32 LSTM, tanh constant 2.5,
    temperature 5). NASNet's stated settings (Appendix A): PPO with learning rate 0.00035, an entropy
    penalty of weight 1e-5, a baseline that is an exponential moving average of previous rewards with
    weight 0.95, and controller updates on minibatches of 20 architectures. So: each proposal is a sample
    and its reward the validation accuracy as a fraction; the baseline starts at the first reward and
    then moves as `b <- 0.95 b + 0.05 reward` before the advantage `reward - b` is taken; after every 20
    observations the batch's loss `mean(-min(r A, clip(r, 1 - 0.2, 1 + 0.2) A) - 1e-5 H)`
    (r = pi(cell) / pi_sampled(cell), H the sample's entropy under the current policy) takes
    `ppo_epochs` = 4 full-batch Adam steps.
    Guesses (NASNet does not state them): clip epsilon 0.2 and 4 epochs per batch (OpenAI Baselines
    ppo2's defaults; Schulman et al. 2017 used 0.2 and 3-15 epochs), one minibatch per epoch (the batch is
    only 20), and the optimizer of NAS-Bench-201's controller (Adam betas (0, 0.999), eps 1e-3, gradient
    norm clipped to 5), so that the two controller strategies differ only in the update rule and NASNet's
    numbers.
    Deviations: NASNet's controller was a 1-layer LSTM of 100 units whose weights start U(-0.1, 0.1)
    predicting a NASNet cell; here it is NAS-Bench-201's network and initialization predicting an edge
    list. Numpy with hand-written backpropagation instead of TensorFlow. Each sample keeps the
    probability it was sampled with, so proposals may be outstanding (NASNet's workqueue); a
    non-finite accuracy is skipped. The incumbent is the best cell evaluated (the runner's rule).
    """

    name = "controller_ppo"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        lstm_size: int = 32,
        lstm_layers: int = 2,
        tanh_constant: float = 2.5,
        temperature: float = 5.0,
        entropy_weight: float = 1e-5,
        baseline_decay: float = 0.95,
        learning_rate: float = 0.00035,
        batch_size: int = 20,
        clip_epsilon: float = 0.2,
        ppo_epochs: int = 4,
        grad_clip: float = 5.0,
    ) -> None:
        owner = "controller_ppo"
        super().__init__(
            owner,
            problem,
            rng,
            lstm_size=lstm_size,
            lstm_layers=lstm_layers,
            tanh_constant=tanh_constant,
            temperature=temperature,
            entropy_weight=entropy_weight,
            baseline_decay=baseline_decay,
            learning_rate=learning_rate,
            batch_size=batch_size,
            grad_clip=grad_clip,
        )
        self.clip_epsilon = require_real(
            owner, "clip_epsilon", clip_epsilon, 0, 1, open_low=True, open_high=True
        )
        self.ppo_epochs = require_int(owner, "ppo_epochs", ppo_epochs, 1)
        self._batch: list[tuple[Rollout, float]] = []  # (rollout as sampled, advantage)
        self.clipped_fraction: list[float] = []  # per update epoch: the share of clipped samples

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        rollout = self._rollout_of(proposal)
        if not math.isfinite(observation.valid_acc):
            return
        reward = observation.valid_acc / 100.0
        self._batch.append((rollout, self._advantage(reward, reward)))
        if len(self._batch) == self.batch_size:
            self._update()
            self._batch = []

    def _update(self) -> None:
        cells = np.concatenate([rollout.actions for rollout, _ in self._batch])
        old_log_prob = np.concatenate([rollout.log_prob for rollout, _ in self._batch])
        advantage = np.array([a for _, a in self._batch])
        for _ in range(self.ppo_epochs):
            new = self.controller.replay(self.theta, cells)
            dlogits, clipped = ppo_logit_gradient(
                old_log_prob, new, advantage, self.clip_epsilon, self.entropy_weight
            )
            self.clipped_fraction.append(float(clipped.mean()))
            self._step(self.controller.backward(new, dlogits / len(cells)))
