from __future__ import annotations

import math

import numpy as np

from nasbench_suite.protocol import Observation, Proposal, SearchProblem
from nasbench_suite.strategies._controller import ControllerSearch
from nasbench_suite.strategies._lstm import log_prob_gradient
from nasbench_suite.strategies.registry import register


@register("controller_reinforce")
class ControllerReinforce(ControllerSearch):
    """LSTM controller trained with REINFORCE (Zoph & Le, ICLR 2017), with NAS-Bench-201's ENAS settings.

    The controller (`strategies._lstm`) is NAS-Bench-201's: 2 LSTM layers of 32 units, logits
    squashed as 2.5 * tanh(logit / 5), one op per edge sampled in edge order. Each proposal is a sample;
    its reward is the validation accuracy as a fraction plus 1e-4 times the sample's entropy (summed over
    the edges, no gradient through it, as in ENAS); the baseline starts at the first accuracy and then
    moves as `b <- b - (1 - 0.99) * (b - reward)` *before* the advantage `reward - b` is taken (ENAS and
    NAS-Bench-201 `exps/algos/ENAS.py`); the loss `-log pi(cell) * advantage` is averaged over
    `batch_size` = 20 samples (NAS-Bench-201's `controller_num_aggregate`), its gradient clipped to norm
    5 and applied by Adam (lr 0.001, betas (0, 0.999), eps 1e-3: `configs/nas-benchmark/algos/ENAS.config`).

    Against Zoph & Le 2017 (as the paper states them): their controller had 2 layers of 35 units,
    weights U(-0.08, 0.08), Adam lr 0.0006, no tanh squashing or temperature, no entropy term, an
    exponential-moving-average baseline, gradients from m = 8 sampled networks per replica and 100
    replicas updating asynchronously, and, on CIFAR-10, the cube of the best validation accuracy of the
    last 5 epochs as reward. We use NAS-Bench-201's settings above instead, so that this strategy is the
    ENAS controller run through the table.
    Deviations: numpy with hand-written backpropagation instead of torch; the baseline is updated at
    every observation (NAS-Bench-201 carries it over only between epochs; ENAS updates it every step),
    and NAS-Bench-201's autograd also differentiates the entropy bonus inside the reward, ENAS does not
    (we follow ENAS); a sample's gradient is taken under the parameters it was sampled with (proposals
    may be outstanding, like asynchronous replicas); a non-finite accuracy is skipped. The incumbent is
    the best cell evaluated (the runner's rule), not the controller's most likely cell.
    """

    name = "controller_reinforce"

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        lstm_size: int = 32,
        lstm_layers: int = 2,
        tanh_constant: float = 2.5,
        temperature: float = 5.0,
        entropy_weight: float = 1e-4,
        baseline_decay: float = 0.99,
        learning_rate: float = 0.001,
        batch_size: int = 20,
        grad_clip: float = 5.0,
    ) -> None:
        owner = "controller_reinforce"
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
        self._grad = np.zeros(self.controller.size)
        self._aggregated = 0

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        rollout = self._rollout_of(proposal)
        if not math.isfinite(observation.valid_acc):
            return
        accuracy = observation.valid_acc / 100.0
        reward = accuracy + self.entropy_weight * float(rollout.entropy[0])
        advantage = self._advantage(accuracy, reward)  # NAS-Bench-201: the first baseline is the accuracy
        # differentiated under the parameters the sample was drawn with (the rollout's)
        dlogits = -advantage * log_prob_gradient(rollout) / self.batch_size
        self._grad += self.controller.backward(rollout, dlogits)
        self._aggregated += 1
        if self._aggregated == self.batch_size:
            self._step(self._grad)
            self._grad = np.zeros(self.controller.size)
            self._aggregated = 0
