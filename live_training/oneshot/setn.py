"""SETN: Dong and Yang, "One-Shot Neural Architecture Search via Self-Evaluated Template Network",
ICCV 2019.

Per iteration the shared weights take a step through one uniformly drawn cell on the train batch
(mode 'urs'), then the evaluator's architecture parameters alpha take an Adam step on the valid batch
through the softmax(alpha)-weighted supernet (mode 'joint'), as NAS-Bench-201's `SETN.py` does. After
an epoch the template generator proposes `select_num` = 100 candidate cells, each scored with the
shared weights on one validation batch; the best is the derived cell.

Hyperparameters: NAS-Bench-201's `SETN.config` (250 epochs, batch 64, lr 0.025 -> 0.001), Adam 3e-4 /
1e-3 on alpha, select_num 100.
Deviation: the candidates are sampled from softmax(alpha) (each edge independently, as the paper's
template generator samples), as the issue asks; NAS-Bench-201's `return_topK` instead takes the 100
cells of highest log-probability.
"""

from __future__ import annotations

import torch

from nasbench_suite.live_training.oneshot.base import (
    AlphaMethod,
    Batch,
    ValidBatches,
    WeightSchedule,
    best_on_validation,
    uniform_arch,
)
from nasbench_suite.live_training.oneshot.rsps import SELECT_NUM
from nasbench_suite.live_training.oneshot.supernet import Path
from nasbench_suite.space import Arch


def sample_archs(probs: torch.Tensor, n: int, generator: torch.Generator) -> list[Arch]:
    """`n` cells drawn from the per-edge categorical distributions `probs` (n_edges, n_ops)."""
    draws = torch.multinomial(probs.detach().cpu(), n, replacement=True, generator=generator)  # (edges, n)
    return [Arch(tuple(int(o) for o in draws[:, k].tolist())) for k in range(n)]


class Setn(AlphaMethod):
    name = "setn"
    citation = (
        "Dong and Yang, One-Shot Neural Architecture Search via Self-Evaluated Template Network, ICCV 2019"
    )
    schedule = WeightSchedule(epochs=250)
    select_num = SELECT_NUM
    tunable = ("select_num",)

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        result = self.weight_step(Path(uniform_arch(self.space, self.generator)), train)
        self.weighted_arch_step(valid)
        return result

    def derive(self, valid: ValidBatches) -> Arch:
        candidates = sample_archs(self.probabilities(), self.select_num, self.generator)
        return best_on_validation(self.supernet, candidates, valid)[0]
