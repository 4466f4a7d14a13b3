"""GDAS: Dong and Yang, "Searching for A Robust Neural Architecture in Four GPU Hours", CVPR 2019.

Each edge samples one op per forward by Gumbel-softmax: probs = softmax((log_softmax(alpha) + g) / tau)
with g ~ Gumbel(0, 1); the forward runs only the argmax op, scaled by the straight-through weight
hardwise = one_hot + (probs - probs.detach()) (value exactly one-hot, gradient of the soft probabilities),
and adds the other ops' hardwise entries (value 0) so every logit gets a gradient (NAS-Bench-201's
`TinyNetworkGDAS.forward` and `SearchCell.forward_gdas`). Per iteration a weight step on the train
batch, then an alpha step (Adam) on the valid batch, each with its own sample. tau falls linearly from
10 to 0.1 over the epochs (`tau_max - (tau_max - tau_min) * epoch / (epochs - 1)`). The derived cell is
the argmax of alpha.

Hyperparameters: NAS-Bench-201's `GDAS.config` (250 epochs, batch 64, lr 0.025 -> 0.001), tau 10 ->
0.1, Adam 3e-4 / 1e-3 on alpha. Deviations: none.
"""

from __future__ import annotations

import torch

from nasbench_suite.live_training.oneshot.base import (
    AlphaMethod,
    Batch,
    ValidBatches,
    WeightSchedule,
    argmax_arch,
)
from nasbench_suite.live_training.oneshot.supernet import Hard
from nasbench_suite.space import Arch

TAU_MAX, TAU_MIN = 10.0, 0.1


def gumbel_hard(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> Hard:
    """One Gumbel-softmax draw per edge as a straight-through `Hard` selection (redrawn while the
    Gumbel noise or the probabilities are not finite, as the official loop does)."""
    while True:
        noise = torch.empty(alpha.shape, dtype=alpha.dtype).exponential_(generator=generator)
        gumbels = (-noise.log()).to(alpha.device)
        probs = ((alpha.log_softmax(dim=1) + gumbels) / tau).softmax(dim=1)
        if torch.isfinite(gumbels).all() and torch.isfinite(probs).all():
            break
    index = probs.argmax(dim=1)
    one_hot = torch.zeros_like(probs).scatter_(1, index[:, None], 1.0)
    # one_hot + (probs - probs.detach()): the value is exactly one-hot (the official one_h - probs.detach() +
    # probs rounds to 1 - ulp at times), the gradient that of probs
    return Hard(one_hot + (probs - probs.detach()), tuple(int(i) for i in index.tolist()))


def tau_at(epoch: int, epochs: int, tau_max: float = TAU_MAX, tau_min: float = TAU_MIN) -> float:
    """The temperature of `epoch` (0-based): linear from tau_max at the first epoch to tau_min at the last."""
    return tau_max - (tau_max - tau_min) * epoch / max(epochs - 1, 1)


class Gdas(AlphaMethod):
    name = "gdas"
    citation = "Dong and Yang, Searching for A Robust Neural Architecture in Four GPU Hours, CVPR 2019"
    schedule = WeightSchedule(epochs=250)
    penalized = True
    tau_max, tau_min = TAU_MAX, TAU_MIN
    tunable = ("tau_max", "tau_min")

    @property
    def tau(self) -> float:
        return tau_at(self.epoch, self.epochs, self.tau_max, self.tau_min)

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        result = self.weight_step(gumbel_hard(self.alpha.detach(), self.tau, self.generator), train)
        self.a_optimizer.zero_grad(set_to_none=True)
        selection = gumbel_hard(self.alpha, self.tau, self.generator)
        self.arch_loss(self.supernet(valid.x, selection), valid.y, self.probabilities()).backward()
        self.a_optimizer.step()
        return result

    def derive(self, valid: ValidBatches) -> Arch:
        return argmax_arch(self.alpha.detach())
