"""DARTS: Liu, Simonyan and Yang, "DARTS: Differentiable Architecture Search", ICLR 2019.

Every edge outputs the softmax(alpha)-weighted sum of its ops; weights descend on the train half,
alpha (Adam) on the valid half of the official cifar10-valid split. The derived cell takes the argmax of
alpha on every edge, `none` included (NAS-Bench-201's `genotype()`).

- DARTS-V1 (first order): per iteration one weight step on the train batch, then one alpha step on
  the valid batch with the gradient of L_val(w, alpha) (NAS-Bench-201's `DARTS-V1.py`).
- DARTS-V2 (second order): the alpha step first, with the gradient of L_val(w', alpha) at the unrolled
  weights w' = w - lr (momentum * buffer + grad_w L_train(w, alpha) + wd * w), minus
  lr * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps), where
  w+- = w +- eps v, v = grad_w' L_val(w', alpha), eps = 0.01 / ||v|| (`hessian_vector_product`); then
  the weight step (NAS-Bench-201's `DARTS-V2.py`, DARTS's `architect.py`).

Hyperparameters: NAS-Bench-201's `DARTS.config` (50 epochs, batch 64, lr 0.025 -> 0.001) and Adam
3e-4 / 1e-3 on alpha (see `base`). Deviations: none in the update rule; the unrolled forward uses
`torch.func.functional_call` instead of a deep copy of the network (same values).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call

from nasbench_suite.live_training.oneshot.base import (
    AlphaMethod,
    Batch,
    ValidBatches,
    WeightSchedule,
    argmax_arch,
)
from nasbench_suite.live_training.oneshot.supernet import Supernet, Weighted
from nasbench_suite.space import Arch

DARTS_SCHEDULE = WeightSchedule(epochs=50)


class DartsV1(AlphaMethod):
    name = "darts_v1"
    citation = "Liu, Simonyan and Yang, DARTS: Differentiable Architecture Search, ICLR 2019 (first order)"
    schedule = DARTS_SCHEDULE
    penalized = True

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        result = self.weight_step(Weighted(self.probabilities().detach()), train)
        self.weighted_arch_step(valid)
        return result

    def derive(self, valid: ValidBatches) -> Arch:
        return argmax_arch(self.alpha.detach())


class DartsV2(DartsV1):
    name = "darts_v2"
    citation = "Liu, Simonyan and Yang, DARTS: Differentiable Architecture Search, ICLR 2019 (second order)"

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        self.a_optimizer.zero_grad(set_to_none=True)
        self.alpha.grad = self.unrolled_alpha_grad(train, valid)
        self.a_optimizer.step()
        return self.weight_step(Weighted(self.probabilities().detach()), train)

    def unrolled_alpha_grad(self, train: Batch, valid: Batch) -> torch.Tensor:
        """d/d alpha of L_val(w'(alpha), alpha), with the Hessian term by finite differences."""
        net, names = self.supernet, [n for n, _ in self.supernet.named_parameters()]
        weights = [p for _, p in net.named_parameters()]
        group = self.w_optimizer.param_groups[0]
        lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
        loss = F.cross_entropy(net(train.x, Weighted(self.probabilities().detach())), train.y)
        grads = torch.autograd.grad(loss, weights)
        with torch.no_grad():
            unrolled = {}
            for name, w, g in zip(names, weights, grads, strict=True):
                buf = self.w_optimizer.state.get(w, {}).get("momentum_buffer")
                moment = torch.zeros_like(w) if buf is None else momentum * buf
                unrolled[name] = (w - lr * (moment + g + wd * w)).requires_grad_(True)
        probs = self.probabilities()
        buffers = dict(net.named_buffers())
        logits = functional_call(net, {**unrolled, **buffers}, (valid.x, Weighted(probs)))
        val_loss = self.arch_loss(logits, valid.y, probs)
        grads_val = torch.autograd.grad(val_loss, [self.alpha, *unrolled.values()], allow_unused=True)
        d_alpha = grads_val[0]
        vector = [
            torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads_val[1:], strict=True)
        ]
        hvp = hessian_vector_product(net, self.alpha, vector, train)
        return (d_alpha - lr * hvp).detach()


def hessian_vector_product(
    supernet: Supernet,
    alpha: torch.nn.Parameter,
    vector: Sequence[torch.Tensor],
    batch: Batch,
    r: float = 1e-2,
) -> torch.Tensor:
    """(grad_alpha L(w + eps v) - grad_alpha L(w - eps v)) / (2 eps) with eps = r / ||v||: the product of
    d^2 L / (d alpha d w) with v, where L is the cross-entropy of `batch` through softmax(alpha). The
    weights are moved in place and put back (DARTS's `_hessian_vector_product`)."""
    weights = list(supernet.parameters())
    eps = r / torch.cat([v.reshape(-1) for v in vector]).norm()

    def grad_alpha() -> torch.Tensor:
        loss = F.cross_entropy(supernet(batch.x, Weighted(alpha.softmax(dim=1))), batch.y)
        return torch.autograd.grad(loss, alpha)[0]

    with torch.no_grad():
        for w, v in zip(weights, vector, strict=True):
            w.add_(v, alpha=float(eps))
    grad_plus = grad_alpha()
    with torch.no_grad():
        for w, v in zip(weights, vector, strict=True):
            w.sub_(v, alpha=2 * float(eps))
    grad_minus = grad_alpha()
    with torch.no_grad():
        for w, v in zip(weights, vector, strict=True):
            w.add_(v, alpha=float(eps))
    return (grad_plus - grad_minus) / (2 * eps)
