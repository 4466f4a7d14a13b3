"""The shared half of the ConfigSpace-based adapters (SMAC3, DEHB, Nevergrad): proposals from an
external ask/tell optimizer, deterministic per run and picklable by replay.

An adapter subclass stores its hyperparameters, then calls this constructor, which draws `self.seed`
(one draw from the run's generator) and calls `_start()`: it builds `self._optimizer`. The subclass implements `_ask() -> (handle, arch, fidelity)` and
`_tell(handle, loss, cost_s)`. The optimizer minimizes `loss = 100 - validation accuracy` (HPOBench's
NAS-Bench-201 objective); an evaluation without a finite accuracy is told as the worst loss, 100.

External optimizers hold loggers, generators and thread pools that do not pickle, so an adapter pickles
as its constructor arguments plus the log of what it was asked and told, and unpickling rebuilds the
optimizer from the same seed and replays that log: the copy is in the state the original is in (the
contract's picklability check verifies that both continue alike).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import BaseStrategy, Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies.hyperband import ladder_between

WORST_LOSS = 100.0  # 100 - 0 % accuracy
_LIVE = ("_pending", "_log", "_optimizer")  # rebuilt by `_reset` and the replay, never pickled


class ConfigSpaceAdapter(BaseStrategy):
    """Base of the adapters: pending proposals matched to the optimizer's handles, pickling by replay."""

    def __init__(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        self.problem = problem
        self.seed = int(rng.integers(2**31 - 1))
        self._reset()

    def _reset(self) -> None:
        self._pending: dict[Proposal, deque[Any]] = {}
        self._log: list[tuple[Proposal, Observation] | None] = []  # None: an ask
        self._start()

    # ---------------------------------------------------------------- what a subclass implements
    def _start(self) -> None:
        raise NotImplementedError

    def _ask(self) -> tuple[Any, Arch, Fidelity]:
        raise NotImplementedError

    def _tell(self, handle: Any, loss: float, cost_s: float) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- the strategy interface
    def ask(self) -> Proposal:
        handle, arch, fidelity = self._ask()
        proposal = Proposal(arch, fidelity)
        self._pending.setdefault(proposal, deque()).append(handle)
        self._log.append(None)
        return proposal

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        handles = self._pending.get(proposal)
        if not handles:  # never asked (or told twice): the optimizer has no trial to attach it to
            return
        handle = handles.popleft()
        if not handles:
            del self._pending[proposal]
        acc = float(observation.valid_acc)
        self._tell(handle, 100.0 - acc if math.isfinite(acc) else WORST_LOSS, float(observation.cost_s))
        self._log.append((proposal, observation))

    # ---------------------------------------------------------------- pickling by replay
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k not in _LIVE}
        state["_log"] = list(self._log)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        log = state.pop("_log")
        vars(self).update(state)
        self._reset()
        for entry in log:
            if entry is None:
                self.ask()
            else:
                self.tell(*entry)


def multi_fidelity_ladder(
    problem: SearchProblem, min_fidelity: str | None, max_fidelity: str | None, who: str
) -> list[Fidelity]:
    """The fidelities a multi-fidelity optimizer may use (Hyperband's ladder); at least two of them."""
    levels = ladder_between(problem, min_fidelity or None, max_fidelity or None, who)
    if len(levels) < 2:
        raise ConfigError(
            f"{who} needs at least two fidelities between min_fidelity and max_fidelity, got {levels[0]} only"
        )
    return levels
