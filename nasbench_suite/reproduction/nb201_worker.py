"""NAS-Bench-201's BOHB worker (`exps/algos/BOHB.py`, MyWorker.compute), as an oracle for reproduction.

The official worker ignores the budget hpbandster passes: every call looks up the arch's 12-epoch
result (one random trial) and charges its 12-epoch training time plus a validation pass, so a config
promoted to 66.7 or 200 is trained again at the same price and shows the same kind of result. The
script then reports `Result.get_incumbent_id()`, which considers only runs at the max budget.

`Nb201Worker` wraps the suite's `TabularOracle` (which prices, draws, charges and records every
evaluation as the 12-epoch one it is) and offers the strategy the budgets as fidelities; only requests
at the top budget may become the incumbent.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nasbench_suite.budget import Spent
from nasbench_suite.errors import ConfigError
from nasbench_suite.oracle import Pending, TabularOracle
from nasbench_suite.protocol import Fidelity, Observation, Proposal, Request, Result, SearchProblem
from nasbench_suite.trajectory import Trajectory


class Nb201Worker:
    """A `SteppedOracle` whose fidelities are labels: each is answered by `trained` (default: the full
    schedule of the wrapped oracle), and only `fidelities[-1]` may become the incumbent."""

    def __init__(self, inner: TabularOracle, fidelities: tuple[Fidelity, ...]) -> None:
        self._inner = inner
        self.trained = inner.problem.default_fidelity
        self.top = fidelities[-1]
        self.problem = SearchProblem(inner.problem.space, tuple(fidelities), self.top)
        self.spent: Spent = inner.spent
        self.trajectory: Trajectory = inner.trajectory
        self.noise_fallbacks: set[Fidelity] = inner.noise_fallbacks
        self.charged_at: list[Fidelity] = []  # the budget of every started evaluation, in order

    def start(self, request: Request, at_s: float) -> Pending:
        if not isinstance(request, Proposal) or request.fidelity not in self.problem.fidelities:
            raise ConfigError(
                f"NAS-Bench-201's BOHB worker answers trainings at {', '.join(map(str, self.problem.fidelities))} "
                f"only, got {request!r}"
            )
        pending = self._inner.start(Proposal(request.arch, self.trained), at_s)
        self.charged_at.append(request.fidelity)
        return dataclasses.replace(pending, request=request)

    def finish(self, pending: Pending) -> Result:
        request = pending.request
        assert isinstance(request, Proposal)
        inner = dataclasses.replace(pending, request=Proposal(request.arch, self.trained))
        seen = self._inner.finish(inner, incumbent_candidate=request.fidelity == self.top)
        assert isinstance(seen, Observation)
        return Observation(request.arch, request.fidelity, seen.valid_acc, seen.cost_s, seen.time_s)

    def run_metadata(self) -> dict[str, Any]:
        return {"worker": "nb201-bohb", "budgets": [str(f) for f in self.problem.fidelities]}
