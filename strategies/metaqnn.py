from __future__ import annotations

import math

import numpy as np

from nasbench_suite.protocol import BaseStrategy, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch
from nasbench_suite.strategies._candidates import require_int, require_real
from nasbench_suite.strategies.registry import register

# Baker et al.'s CIFAR-10 schedule (paper Table 2; models/cifar10/state_space_parameters.py):
# (epsilon, number of unique models trained at it).
PAPER_SCHEDULE: tuple[tuple[float, int], ...] = (
    (1.0, 1500),
    (0.9, 100),
    (0.8, 100),
    (0.7, 100),
    (0.6, 150),
    (0.5, 150),
    (0.4, 150),
    (0.3, 150),
    (0.2, 150),
    (0.1, 150),
)
# Consecutive already-trained samples absorbed in one ask before one is proposed again anyway.
MAX_REDRAWS = 20


def scaled_schedule(num_models: int) -> tuple[tuple[float, int], ...]:
    """The paper's schedule shrunk (or stretched) to `num_models` unique models: phase k ends after
    round(num_models * (models up to phase k) / 2700) models, so the fractions are kept and the counts add
    up to `num_models` exactly (a phase may round to 0 models)."""
    total = sum(n for _, n in PAPER_SCHEDULE)
    ends = np.cumsum([n for _, n in PAPER_SCHEDULE]) * num_models / total
    bounds = [0, *(math.floor(e + 0.5) for e in ends)]
    return tuple((eps, bounds[k + 1] - bounds[k]) for k, (eps, _) in enumerate(PAPER_SCHEDULE))


@register("metaqnn")
class MetaQNN(BaseStrategy):
    """MetaQNN (Baker et al., ICLR 2017): epsilon-greedy Q-learning over edge-by-edge op choices.

    The agent walks the edges in order; its state is (edge, op chosen on the previous edge), the analogue
    of MetaQNN's state "current layer and depth", and its action the op of the edge. Settings of the
    paper and its code (bowenbaker/metaqnn, `libs/grammar/q_learner.py`, `q_server.py`,
    `models/cifar10/state_space_parameters.py`): Q-values start at 0.5, Q-learning rate 0.01, discount 1,
    reward the validation accuracy as a fraction at the last edge and 0 before; every action is random
    with probability epsilon and otherwise greedy (ties broken at random); a sampled cell that was
    trained before is not trained again: its stored accuracy joins the replay memory as a new entry and
    another cell is sampled; after each result (or such repeat) 128 entries of the replay memory are drawn
    with replacement and each updates its transitions from the last edge back to the first.
    Epsilon schedule: the paper's 1.0 for 1500 unique models then 0.9, 0.8, 0.7 for 100 each and 0.6 to
    0.1 for 150 each (2700 models), scaled to `num_models` unique models with the same fractions
    (default 100, about what 12000 simulated seconds buy on cifar10-valid: 56 models at 1.0, then
    3 or 4 at 0.9, 0.8, 0.7 and 5 or 6 at each of 0.6-0.1); after the schedule epsilon stays 0.1.
    Deviations: the strategy cannot see the budget, so `num_models` states the scale; a cell being
    evaluated that is sampled again waits for its result (q_server: its iterations are recorded and
    replayed when it finishes) instead of blocking; after 20 consecutive already-trained samples in one
    ask the last one is proposed and evaluated again (the official server resamples without bound,
    which never ends once a small space is exhausted); a non-finite accuracy never enters the replay
    memory. The incumbent is the best cell evaluated (the runner's rule).
    """

    name = "metaqnn"
    asynchronous = True  # results are incorporated in the order they arrive, as by q_server

    def __init__(
        self,
        problem: SearchProblem,
        rng: np.random.Generator,
        *,
        num_models: int = 100,
        replay_number: int = 128,
        learning_rate: float = 0.01,
        discount: float = 1.0,
        initial_q: float = 0.5,
    ) -> None:
        owner = "metaqnn"
        self.num_models = require_int(owner, "num_models", num_models, 1)
        self.replay_number = require_int(owner, "replay_number", replay_number, 1)
        self.learning_rate = require_real(
            owner, "learning_rate", learning_rate, 0, 1, open_low=True, open_high=False
        )
        self.discount = require_real(owner, "discount", discount, 0, 1, open_low=False, open_high=False)
        initial = require_real(
            owner, "initial_q", initial_q, -math.inf, math.inf, open_low=True, open_high=True
        )
        self._problem = problem
        self._rng = rng
        space = problem.space
        self._n_edges, self._n_ops = space.n_edges, space.n_ops
        # q[edge][previous op, or n_ops at the first edge][op]: plain lists, the replay loop is scalar
        self.q = [[[initial] * space.n_ops for _ in range(space.n_ops + 1)] for _ in range(space.n_edges)]
        self.schedule = scaled_schedule(self.num_models)
        self.replay: list[tuple[tuple[int, ...], float]] = []  # (ops, reward), repeats included
        self._trained: dict[Arch, float] = {}  # cell -> accuracy of its first evaluation
        self._outstanding: dict[Arch, int] = {}  # proposals not yet told
        self._waiting: dict[Arch, int] = {}  # repeats sampled while the cell was being evaluated

    @property
    def epsilon(self) -> float:
        """Epsilon of the phase the count of unique trained cells is in (the last one's after the end)."""
        done = len(self._trained)
        for eps, count in self.schedule:
            if done < count:
                return eps
            done -= count
        return self.schedule[-1][0]

    def ask(self) -> Proposal:
        for _ in range(MAX_REDRAWS):
            arch = self._walk()
            if arch in self._trained:  # q_server: add the stored result again, replay, sample again
                self._incorporate(arch.ops, self._trained[arch])
            elif self._outstanding.get(arch):
                self._waiting[arch] = self._waiting.get(arch, 0) + 1
            else:
                break
        self._outstanding[arch] = self._outstanding.get(arch, 0) + 1
        return Proposal(arch, self._problem.default_fidelity)

    def tell(self, proposal: Proposal, observation: Observation) -> None:
        arch = proposal.arch
        left = self._outstanding.get(arch, 0) - 1
        if left > 0:
            self._outstanding[arch] = left
        else:
            self._outstanding.pop(arch, None)
        accuracy = observation.valid_acc / 100.0
        self._trained.setdefault(arch, accuracy)
        for _ in range(1 + self._waiting.pop(arch, 0)):
            self._incorporate(arch.ops, accuracy)

    def _walk(self) -> Arch:
        """One epsilon-greedy walk over the edges."""
        eps, ops, previous = self.epsilon, [], self._n_ops
        for edge in range(self._n_edges):
            values = self.q[edge][previous]
            if self._rng.random() < eps:
                op = int(self._rng.integers(self._n_ops))
            else:
                best = max(values)
                ties = [a for a, v in enumerate(values) if v == best]
                op = ties[int(self._rng.integers(len(ties)))]
            ops.append(op)
            previous = op
        return Arch(tuple(ops))

    def _incorporate(self, ops: tuple[int, ...], accuracy: float) -> None:
        """Add a result to the replay memory (unless it is not a number), then replay."""
        if math.isfinite(accuracy):
            self.replay.append((ops, accuracy))
        if not self.replay:
            return
        for k in self._rng.integers(len(self.replay), size=self.replay_number):
            self.update_sequence(*self.replay[int(k)])

    def update_sequence(self, ops: tuple[int, ...], reward: float) -> None:
        """Q-learning updates of one walk, last transition first (`update_q_value_sequence`):
        Q(s, a) += lr * (r + discount * max_a' Q(s', a') - Q(s, a)), r and no successor at the end."""
        target = reward
        for edge in reversed(range(self._n_edges)):
            values = self.q[edge][ops[edge - 1] if edge else self._n_ops]
            values[ops[edge]] += self.learning_rate * (target - values[ops[edge]])
            target = self.discount * max(values)
