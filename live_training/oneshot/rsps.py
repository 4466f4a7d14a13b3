"""RSPS: Li and Talwalkar, "Random Search and Reproducibility for Neural Architecture Search", UAI 2019.

Random search with parameter sharing: every iteration trains the shared weights through one cell drawn
uniformly (each edge's op independently); the validation half is used only to pick the result: after an
epoch, `select_num` = 100 uniformly drawn cells are each scored with the shared weights on one
validation batch and the best is the derived cell (NAS-Bench-201's `RANDOM-NAS.py`,
`search_find_best`).

Hyperparameters: NAS-Bench-201's `RANDOM.config` (250 epochs, batch 64, lr 0.025 -> 0.001), select_num
100. Deviations: none.
"""

from __future__ import annotations

from nasbench_suite.live_training.oneshot.base import (
    Batch,
    OneShotMethod,
    ValidBatches,
    WeightSchedule,
    best_on_validation,
    uniform_arch,
)
from nasbench_suite.live_training.oneshot.supernet import Path
from nasbench_suite.space import Arch

SELECT_NUM = 100


class Rsps(OneShotMethod):
    name = "rsps"
    citation = "Li and Talwalkar, Random Search and Reproducibility for Neural Architecture Search, UAI 2019"
    schedule = WeightSchedule(epochs=250)
    select_num = SELECT_NUM
    tunable = ("select_num",)

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        return self.weight_step(Path(uniform_arch(self.space, self.generator)), train)

    def derive(self, valid: ValidBatches) -> Arch:
        candidates = [uniform_arch(self.space, self.generator) for _ in range(self.select_num)]
        return best_on_validation(self.supernet, candidates, valid)[0]
