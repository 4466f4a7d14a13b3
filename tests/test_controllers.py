"""The RL controllers on the table: the numpy LSTM controller against finite differences and torch,
REINFORCE's and PPO's updates (exact math, and the policy moving toward a planted reward), MetaQNN's
epsilon schedule, Q-learning and experience replay, and hyperparameter validation."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.errors import ConfigError
from nasbench_suite.protocol import Fidelity, Observation, Proposal, SearchProblem
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.strategies._controller import Adam, clip_global_norm
from nasbench_suite.strategies._lstm import LSTMController, entropy_gradient, log_prob_gradient
from nasbench_suite.strategies.controller_ppo import ControllerPPO, ppo_logit_gradient
from nasbench_suite.strategies.controller_reinforce import ControllerReinforce
from nasbench_suite.strategies.metaqnn import MAX_REDRAWS, PAPER_SCHEDULE, MetaQNN, scaled_schedule

ROOT = Path(__file__).resolve().parents[1]
FID = Fidelity.full(12)
NB201 = CellSpace.nb201()
SMALL = CellSpace(("a", "b", "c", "d"), 3)  # 3 edges, 4 ops


def problem(space: CellSpace) -> SearchProblem:
    return SearchProblem(space, (FID,), FID)


def observe(proposal: Proposal, accuracy: float, t: float = 1.0) -> Observation:
    return Observation(proposal.arch, proposal.fidelity, accuracy, 1.0, t)


# ------------------------------------------------------------------------------------ the numpy LSTM
def numeric_gradient(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(theta)
    for k in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        out[k] = (f(up) - f(down)) / (2 * h)
    return out


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_backward_matches_finite_differences(layers: int) -> None:
    """Every parameter (input, each layer's four blocks, embedding, prediction layer) of a small controller,
    scaled up so the gates saturate unevenly, for a batch of 3 cells and an arbitrary loss of the logits."""
    net = LSTMController(4, 3, hidden=5, layers=layers, tanh_constant=2.5, temperature=1.5)
    rng = np.random.default_rng(layers)
    theta = 4.0 * net.init(rng)
    cells = net.sample(theta, rng, batch=3).actions
    weights = rng.normal(size=(3, 4, 3))
    rollout = net.replay(theta, cells)
    analytic = net.backward(rollout, weights)
    numeric = numeric_gradient(lambda th: float((weights * net.replay(th, cells).logits).sum()), theta)
    assert analytic.shape == (net.size,) and np.count_nonzero(numeric) > 0.9 * net.size
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_log_prob_and_entropy_gradients_match_finite_differences() -> None:
    net = LSTMController(4, 4, hidden=5, layers=2)
    rng = np.random.default_rng(7)
    theta = 3.0 * net.init(rng)
    cells = net.sample(theta, rng, batch=2).actions
    rollout = net.replay(theta, cells)
    for loss, dlogits in [
        (lambda r: float(r.log_prob.sum()), log_prob_gradient(rollout)),
        (lambda r: float(r.entropy.sum()), entropy_gradient(rollout)),
    ]:
        numeric = numeric_gradient(lambda th, loss=loss: loss(net.replay(th, cells)), theta)
        np.testing.assert_allclose(net.backward(rollout, dlogits), numeric, rtol=1e-6, atol=1e-8)


def test_forward_and_gradient_equal_nas_bench_201s_torch_controller() -> None:
    """The same weights in torch.nn.LSTM / Linear / Embedding, run as NAS-Bench-201's `Controller.forward`
    (tanh squashing, Categorical, embedding of the sampled op as the next input): equal log-probability,
    entropy and gradient of `log_prob + 0.3 * entropy`."""
    import torch

    n_edges, n_ops, hidden, layers = 6, 5, 32, 2
    net = LSTMController(n_edges, n_ops, hidden, layers, 2.5, 5.0)
    rng = np.random.default_rng(0)
    theta = 3.0 * net.init(rng)
    cell = (3, 0, 4, 4, 1, 2)
    ours_named = net.unpack(theta)
    lstm = torch.nn.LSTM(hidden, hidden, num_layers=layers).double()
    with torch.no_grad():
        for layer in range(layers):
            for kind in ("ih", "hh"):
                getattr(lstm, f"weight_{kind}_l{layer}").copy_(torch.tensor(ours_named[f"w_{kind}{layer}"]))
                getattr(lstm, f"bias_{kind}_l{layer}").copy_(torch.tensor(ours_named[f"b_{kind}{layer}"]))
    leaf = {
        k: torch.tensor(ours_named[k], requires_grad=True) for k in ("input", "embed", "w_pred", "b_pred")
    }
    inputs, state, log_prob, entropy = leaf["input"].view(1, 1, hidden), None, 0.0, 0.0
    for t in range(n_edges):
        out, state = lstm(inputs, state)
        logits = 2.5 * torch.tanh((out.view(-1) @ leaf["w_pred"].T + leaf["b_pred"]) / 5.0)
        dist = torch.distributions.Categorical(logits=logits)
        log_prob = log_prob + dist.log_prob(torch.tensor(cell[t]))
        entropy = entropy + dist.entropy()
        inputs = leaf["embed"][cell[t]].view(1, 1, hidden)
    (log_prob + 0.3 * entropy).backward()
    grads = {k: v.grad for k, v in leaf.items()}
    for layer in range(layers):
        for kind in ("ih", "hh"):
            grads[f"w_{kind}{layer}"] = getattr(lstm, f"weight_{kind}_l{layer}").grad
            grads[f"b_{kind}{layer}"] = getattr(lstm, f"bias_{kind}_l{layer}").grad
    expected = np.concatenate([grads[k].numpy().ravel() for k in ours_named])

    rollout = net.replay(theta, cell)
    assert rollout.log_prob[0] == pytest.approx(log_prob.item(), abs=1e-12)
    assert rollout.entropy[0] == pytest.approx(entropy.item(), abs=1e-12)
    ours = net.backward(rollout, log_prob_gradient(rollout) + 0.3 * entropy_gradient(rollout))
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_initialization_follows_nas_bench_201() -> None:
    net = LSTMController(6, 5)
    parts = net.unpack(net.init(np.random.default_rng(0)))
    for name in ("input", "w_ih0", "w_hh0", "embed", "w_pred"):
        assert np.abs(parts[name]).max() <= 0.1 and np.abs(parts[name]).max() > 0.09
    for name in ("w_ih1", "w_hh1", "b_ih0", "b_hh1", "b_pred"):  # torch's default U(-1/sqrt(32), ...)
        assert 0.1 < np.abs(parts[name]).max() <= 1 / math.sqrt(32)
    assert net.size == 32 + 2 * (2 * 128 * 32 + 2 * 128) + 5 * 32 + 5 * 32 + 5


def test_sampling_follows_the_policy() -> None:
    """Per-edge op frequencies of 4000 samples match the policy's probabilities within 5 sd."""
    net = LSTMController(3, 4, hidden=8, layers=1, tanh_constant=2.5, temperature=1.0)
    rng = np.random.default_rng(3)
    theta = 3.0 * net.init(rng)
    first = net.replay(theta, (0, 0, 0)).probs[0, 0]  # the first step does not depend on earlier ops
    counts = np.bincount(net.sample(theta, rng, batch=4000).actions[:, 0], minlength=4)
    sd = np.sqrt(4000 * first * (1 - first))
    assert (np.abs(counts - 4000 * first) < 5 * sd).all(), (counts, 4000 * first)


def test_adam_equals_torch_with_nas_bench_201s_betas_and_eps() -> None:
    import torch
    from torch.optim.adam import adam

    rng = np.random.default_rng(0)
    theta = rng.normal(size=7)
    ours = Adam(7, lr=0.001, betas=(0.0, 0.999), eps=1e-3)
    t = torch.tensor(theta)
    m, v, step = torch.zeros(7, dtype=torch.float64), torch.zeros(7, dtype=torch.float64), torch.tensor(0.0)
    hyper = {"amsgrad": False, "beta1": 0.0, "beta2": 0.999, "lr": 0.001, "weight_decay": 0.0, "eps": 1e-3}
    for _ in range(20):
        grad = rng.normal(size=7) * 0.01
        new = ours.step(theta, grad)
        assert new is not theta
        theta = new
        adam([t], [torch.tensor(grad)], [m], [v], [], [step], foreach=False, maximize=False, **hyper)
        np.testing.assert_allclose(theta, t.numpy(), rtol=0, atol=1e-14)


def test_clip_global_norm() -> None:
    g = np.array([3.0, 4.0])
    np.testing.assert_array_equal(clip_global_norm(g, 5.0), g)
    np.testing.assert_allclose(clip_global_norm(g, 1.0), g / (5.0 + 1e-6))


# ------------------------------------------------------------------------------------ REINFORCE
def drive(strategy, reward, n: int) -> np.ndarray:
    out = []
    for t in range(n):
        p = strategy.ask()
        acc = reward(p.arch)
        strategy.tell(p, observe(p, acc, t + 1.0))
        out.append(p.arch.ops)
    return np.array(out)


def test_reinforce_update_is_the_official_loss() -> None:
    """Baseline: the first accuracy, then b - (1 - decay) (b - reward) before the advantage; the
    gradient of -log pi * advantage averaged over the batch, clipped, one Adam step per batch."""
    s = ControllerReinforce(problem(NB201), np.random.default_rng(0), batch_size=3)
    theta0 = s.theta
    grads = []
    baseline = math.nan
    for k, acc in enumerate([80.0, 90.0, 85.0]):
        p = s.ask()
        rollout = s._sampled[p.arch][0]
        reward = acc / 100 + 1e-4 * float(rollout.entropy[0])
        baseline = acc / 100 if k == 0 else baseline - 0.01 * (baseline - reward)
        grads.append(-(reward - baseline) * s.controller.backward(rollout, log_prob_gradient(rollout)) / 3)
        s.tell(p, observe(p, acc))
        assert s.baseline == pytest.approx(baseline, abs=1e-15)
        assert (s.theta is theta0) == (k < 2)  # one step after 3 observations
    expected = Adam(s.controller.size, lr=0.001, betas=(0.0, 0.999), eps=1e-3).step(
        theta0, clip_global_norm(sum(grads), 5.0)
    )
    np.testing.assert_allclose(s.theta, expected, rtol=0, atol=1e-15)
    assert s.optimizer.steps == 1


def test_reinforce_first_step_has_zero_advantage_without_the_entropy_bonus() -> None:
    """The first baseline is the first accuracy (NAS-Bench-201), so only the entropy bonus could move it."""
    s = ControllerReinforce(problem(NB201), np.random.default_rng(1), batch_size=1, entropy_weight=0.0)
    theta0 = s.theta
    p = s.ask()
    s.tell(p, observe(p, 91.0))
    np.testing.assert_array_equal(s.theta, theta0)  # advantage 0: Adam of a zero gradient does not move


TARGET = (3, 1, 2)


def planted(arch: Arch) -> float:
    return 40.0 + 20.0 * sum(a == b for a, b in zip(arch.ops, TARGET, strict=True))


def matches_late(name: str, reward, seeds: int = 3, n: int = 250, last: int = 100) -> int:
    """Edges on the planted op among the last `last` proposals of `seeds` runs of `n` observations.
    The update rule is what is tested: lr 0.05 and batches of 5 make it move within 250 observations (at
    the defaults the policy moves ~0.2% in a 100-evaluation search, as the README reports)."""
    total = 0
    for seed in range(seeds):
        s = strategies.build(
            name, problem(SMALL), np.random.default_rng(seed), {"learning_rate": 0.05, "batch_size": 5}
        )
        cells = drive(s, reward, n)[-last:]
        total += int((cells == np.array(TARGET)).sum())
    return total


@pytest.mark.parametrize("name", ["controller_reinforce", "controller_ppo"])
def test_the_policy_moves_toward_a_planted_reward(name: str) -> None:
    """Reward 40 + 20 per edge on the planted op: late proposals hit it far more often than the 1/4 of a
    uniform policy (+5 sd); under a constant reward they stay within 5 sd of 1/4."""
    draws = 3 * 100 * 3
    mean, sd = draws / 4, math.sqrt(draws * 0.25 * 0.75)
    assert matches_late(name, planted) > mean + 5 * sd
    assert abs(matches_late(name, lambda a: 85.0) - mean) < 5 * sd


def test_reinforce_skips_nan_and_handles_outstanding_asks() -> None:
    s = ControllerReinforce(problem(NB201), np.random.default_rng(0), batch_size=2)
    proposals = [s.ask() for _ in range(4)]
    for t, p in enumerate(reversed(proposals)):
        s.tell(p, observe(p, float("nan") if t == 0 else 80.0 + t))
    assert not s._sampled and s.optimizer.steps == 1 and np.isfinite(s.theta).all()
    other = Proposal(Arch((0, 1, 2, 3, 4, 0)), FID)  # never asked: scored under the current policy
    s.tell(other, observe(other, 70.0))
    assert s.optimizer.steps == 2 and np.isfinite(s.theta).all()


# ------------------------------------------------------------------------------------ PPO
def test_ppo_gradient_at_ratio_one_is_reinforces() -> None:
    net = LSTMController(6, 5)
    rng = np.random.default_rng(0)
    theta = net.init(rng)
    rollout = net.sample(theta, rng, batch=4)
    advantage = np.array([0.3, -0.2, 0.05, -0.01])
    dlogits, clipped = ppo_logit_gradient(rollout.log_prob, rollout, advantage, 0.2, 0.0)
    assert not clipped.any()
    np.testing.assert_allclose(dlogits, -advantage[:, None, None] * log_prob_gradient(rollout), atol=1e-15)


def test_ppo_surrogate_gradient_matches_finite_differences_and_clips() -> None:
    """Away from the old policy some ratios leave [0.8, 1.2]: those samples lose their ratio gradient, and
    the whole loss (clipped surrogate + entropy bonus) matches finite differences."""
    net = LSTMController(3, 4, hidden=6, layers=2)
    rng = np.random.default_rng(2)
    old_theta = 2.0 * net.init(rng)
    old = net.sample(old_theta, rng, batch=8)
    theta = old_theta + 2.0 * rng.normal(size=net.size)  # ratios 0.22 to 5.8, none near 0.8 or 1.2
    advantage = rng.normal(size=8)

    def loss(th: np.ndarray) -> float:
        new = net.replay(th, old.actions)
        r = np.exp(new.log_prob - old.log_prob)
        surrogate = np.minimum(r * advantage, np.clip(r, 0.8, 1.2) * advantage)
        return float((-surrogate - 0.01 * new.entropy).sum())

    new = net.replay(theta, old.actions)
    dlogits, clipped = ppo_logit_gradient(old.log_prob, new, advantage, 0.2, 0.01)
    assert clipped.sum() == 3
    np.testing.assert_allclose(
        net.backward(new, dlogits), numeric_gradient(loss, theta), rtol=1e-5, atol=1e-8
    )


def test_ppo_updates_once_per_batch_with_its_epochs() -> None:
    s = ControllerPPO(problem(NB201), np.random.default_rng(0), batch_size=4, ppo_epochs=3)
    thetas = []
    for k in range(8):
        p = s.ask()
        s.tell(p, observe(p, 80.0 + k))
        thetas.append(s.theta)
    assert s.optimizer.steps == 6 and len(s.clipped_fraction) == 6
    assert thetas[0] is thetas[2] and thetas[3] is not thetas[2] and thetas[4] is thetas[6]
    assert s.clipped_fraction[0] == 0.0  # the first epoch runs at the sampling policy: ratio 1
    assert s.baseline == pytest.approx(_ema([0.8 + k / 100 for k in range(8)], 0.95), abs=1e-15)


def _ema(rewards: list[float], decay: float) -> float:
    b = rewards[0]
    for r in rewards[1:]:
        b = decay * b + (1 - decay) * r
    return b


# ------------------------------------------------------------------------------------ MetaQNN
def test_the_paper_schedule_and_its_scaling() -> None:
    assert scaled_schedule(2700) == PAPER_SCHEDULE
    assert scaled_schedule(100) == (
        (1.0, 56),
        (0.9, 3),
        (0.8, 4),
        (0.7, 4),
        (0.6, 5),
        (0.5, 6),
        (0.4, 5),
        (0.3, 6),
        (0.2, 5),
        (0.1, 6),
    )
    for n in (1, 7, 50, 100, 333, 5400):
        schedule = scaled_schedule(n)
        assert sum(c for _, c in schedule) == n
        assert [e for e, _ in schedule] == [e for e, _ in PAPER_SCHEDULE]
    assert scaled_schedule(5400) == tuple((e, 2 * c) for e, c in PAPER_SCHEDULE)


def test_epsilon_follows_the_count_of_unique_trained_cells() -> None:
    s = MetaQNN(problem(NB201), np.random.default_rng(0), num_models=100)
    bounds = np.cumsum([c for _, c in s.schedule])
    expected = {0: 1.0, 55: 1.0, 56: 0.9, 58: 0.9, 59: 0.8, 67: 0.6, 94: 0.1, 99: 0.1, 100: 0.1, 130: 0.1}
    seen = 0
    rng = np.random.default_rng(1)
    while seen <= 130:
        if seen in expected:
            assert s.epsilon == expected[seen], seen
        arch = NB201.sample(rng)
        new = arch not in s._trained
        p = Proposal(arch, FID)
        s.tell(p, observe(p, 85.0))
        s.tell(p, observe(p, 85.0))  # a repeat does not count
        seen += new
    assert list(bounds) == [56, 59, 63, 67, 72, 78, 83, 89, 94, 100]


def test_epsilon_one_walks_uniformly() -> None:
    s = MetaQNN(problem(NB201), np.random.default_rng(0), num_models=10_000)
    s.q[0][NB201.n_ops][2] = 0.9  # a greedy walk would always start with op 2
    ops = np.array([s._walk().ops for _ in range(3000)])
    counts = np.stack([np.bincount(ops[:, e], minlength=5) for e in range(6)])
    sd = math.sqrt(3000 * 0.2 * 0.8)
    assert (np.abs(counts - 600) < 5 * sd).all(), counts


def test_greedy_walks_with_probability_epsilon_per_edge() -> None:
    """At epsilon 0.1 a walk equals the greedy cell with probability (0.9 + 0.1 / 5) ** 6."""
    s = MetaQNN(problem(NB201), np.random.default_rng(0), num_models=1)
    greedy = (1, 3, 0, 2, 4, 4)
    previous = NB201.n_ops
    for edge, op in enumerate(greedy):
        s.q[edge][previous][op] = 0.9
        previous = op
    s._trained[Arch((0,) * 6)] = 0.5  # one model trained: past the 1-model schedule, epsilon 0.1
    assert s.epsilon == 0.1
    hits = sum(s._walk().ops == greedy for _ in range(3000))
    p = 0.92**6
    assert abs(hits - 3000 * p) < 5 * math.sqrt(3000 * p * (1 - p))


def test_q_update_of_one_walk_is_backwards_with_discount_one() -> None:
    """From Q = 0.5 everywhere, reward 0.9: the last edge moves to 0.5 + 0.01 * 0.4, each earlier edge
    by 1% of the change of the next edge's max: Q_edge = 0.5 + 0.4 * 0.01 ** (6 - edge)."""
    s = MetaQNN(problem(NB201), np.random.default_rng(0))
    ops = (2, 0, 4, 1, 1, 3)
    s.update_sequence(ops, 0.9)
    previous = NB201.n_ops
    for edge, op in enumerate(ops):
        assert s.q[edge][previous][op] == pytest.approx(0.5 + 0.4 * 0.01 ** (6 - edge), rel=1e-12)
        others = [v for a, v in enumerate(s.q[edge][previous]) if a != op]
        assert others == [0.5] * 4
        previous = op
    assert sum(v != 0.5 for edge in s.q for row in edge for v in row) == 6


def test_each_result_replays_128_entries_with_replacement() -> None:
    s = MetaQNN(problem(NB201), np.random.default_rng(0))
    replayed: list[tuple[int, ...]] = []
    original = s.update_sequence
    s.update_sequence = lambda ops, r: (replayed.append(ops), original(ops, r))  # type: ignore[method-assign]
    tells = []
    for t in range(5):
        p = s.ask()
        s.tell(p, observe(p, 80.0 + t))
        tells.append(p.arch.ops)
        assert len(replayed) == 128 * (t + 1) and len(s.replay) == t + 1
    assert set(replayed[:128]) == {tells[0]}  # only one entry to draw from at first
    counts = np.array([replayed[128 * 4 :].count(o) for o in tells])  # 128 draws over 5 entries
    assert (np.abs(counts - 128 / 5) < 5 * math.sqrt(128 * 0.2 * 0.8)).all()


def test_an_already_trained_cell_is_replayed_not_retrained() -> None:
    """On a 27-cell space with every cell trained, each walk repeats a trained cell: it joins the replay
    memory with its stored accuracy (and a replay round) instead of being proposed, until MAX_REDRAWS
    repeats in one ask; then it is proposed again."""
    space = CellSpace(("none", "skip_connect", "conv"), 3)
    s = MetaQNN(problem(space), np.random.default_rng(0))
    for k, arch in enumerate(space.enumerate()):
        p = Proposal(arch, FID)
        s.tell(p, observe(p, 50.0 + k))
    assert len(s.replay) == 27
    p = s.ask()
    assert len(s.replay) == 27 + MAX_REDRAWS
    assert all(s._trained[Arch(ops)] == acc for ops, acc in s.replay[27:])  # their stored accuracies
    s.tell(p, observe(p, 99.0))  # a re-evaluation adds its new result, not to the stored accuracy
    assert s.replay[-1] == (p.arch.ops, 0.99) and s._trained[p.arch] != 0.99


def test_a_cell_sampled_while_being_evaluated_waits_for_its_result() -> None:
    s = MetaQNN(problem(NB201), np.random.default_rng(0))
    s.schedule = ((0.0, 10),)  # greedy: every walk is the same cell
    previous = NB201.n_ops
    for edge, op in enumerate((1, 1, 2, 3, 0, 4)):
        s.q[edge][previous][op] = 0.9
        previous = op
    first, second = s.ask(), s.ask()
    assert first == second and s._waiting[first.arch] == MAX_REDRAWS
    s.tell(first, observe(first, 90.0))
    assert len(s.replay) == 1 + MAX_REDRAWS and s._outstanding[first.arch] == 1
    s.tell(second, observe(second, 91.0))
    assert len(s.replay) == 2 + MAX_REDRAWS and not s._outstanding and not s._waiting


def test_nan_never_enters_the_replay_memory() -> None:
    s = MetaQNN(problem(NB201), np.random.default_rng(0))
    p = s.ask()
    s.tell(p, observe(p, float("nan")))
    assert s.replay == [] and p.arch in s._trained
    q = s.ask()
    s.tell(q, observe(q, 70.0))
    assert s.replay == [(q.arch.ops, 0.7)]
    assert all(math.isfinite(v) for edge in s.q for row in edge for v in row)


# ------------------------------------------------------------------------------------ hyperparameters
@pytest.mark.parametrize(
    ("name", "hparams", "message"),
    [
        (
            "controller_reinforce",
            {"lstm_size": 0},
            "controller_reinforce: lstm_size must be an integer >= 1, got 0",
        ),
        (
            "controller_reinforce",
            {"lstm_layers": 1.5},
            "controller_reinforce: lstm_layers must be an integer >= 1, got 1.5",
        ),
        (
            "controller_reinforce",
            {"temperature": 0},
            r"controller_reinforce: temperature must be a finite number in \(0, inf\), got 0",
        ),
        (
            "controller_reinforce",
            {"learning_rate": float("inf")},
            r"controller_reinforce: learning_rate must be a finite number in \(0, inf\), got inf",
        ),
        (
            "controller_reinforce",
            {"baseline_decay": 1.0},
            r"controller_reinforce: baseline_decay must be a finite number in \[0, 1\), got 1.0",
        ),
        (
            "controller_reinforce",
            {"entropy_weight": "1e-4"},
            r"controller_reinforce: entropy_weight must be a finite number in \[0, inf\), got '1e-4'",
        ),
        (
            "controller_reinforce",
            {"batch_size": True},
            "controller_reinforce: batch_size must be an integer >= 1, got True",
        ),
        (
            "controller_ppo",
            {"clip_epsilon": 1.0},
            r"controller_ppo: clip_epsilon must be a finite number in \(0, 1\), got 1.0",
        ),
        ("controller_ppo", {"ppo_epochs": 0}, "controller_ppo: ppo_epochs must be an integer >= 1, got 0"),
        (
            "controller_ppo",
            {"grad_clip": -1},
            r"controller_ppo: grad_clip must be a finite number in \(0, inf\], got -1",
        ),
        (
            "controller_ppo",
            {"tanh_constant": float("nan")},
            r"controller_ppo: tanh_constant must be a finite number in \(0, inf\), got nan",
        ),
        ("metaqnn", {"num_models": 0}, "metaqnn: num_models must be an integer >= 1, got 0"),
        ("metaqnn", {"replay_number": 12.0}, "metaqnn: replay_number must be an integer >= 1, got 12.0"),
        (
            "metaqnn",
            {"learning_rate": 0},
            r"metaqnn: learning_rate must be a finite number in \(0, 1\], got 0",
        ),
        ("metaqnn", {"discount": 1.5}, r"metaqnn: discount must be a finite number in \[0, 1\], got 1.5"),
        (
            "metaqnn",
            {"epsilon": 0.1},
            "strategy 'metaqnn' has no hyperparameter epsilon; valid: num_models, ",
        ),
    ],
)
def test_bad_hyperparameters_fail_in_one_line(name: str, hparams: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        strategies.check_hyperparameters(name, problem(NB201), hparams)
    assert "\n" not in str(info.value)


def test_defaults_and_summaries() -> None:
    assert strategies.hyperparameters("controller_reinforce") == {
        "lstm_size": 32,
        "lstm_layers": 2,
        "tanh_constant": 2.5,
        "temperature": 5.0,
        "entropy_weight": 1e-4,
        "baseline_decay": 0.99,
        "learning_rate": 0.001,
        "batch_size": 20,
        "grad_clip": 5.0,
    }
    ppo = strategies.hyperparameters("controller_ppo")
    assert (ppo["learning_rate"], ppo["entropy_weight"], ppo["baseline_decay"], ppo["batch_size"]) == (
        0.00035,
        1e-5,
        0.95,
        20,
    )
    assert strategies.hyperparameters("metaqnn") == {
        "num_models": 100,
        "replay_number": 128,
        "learning_rate": 0.01,
        "discount": 1.0,
        "initial_q": 0.5,
    }
    assert "Zoph & Le" in strategies.summary("controller_reinforce")
    assert "NASNet" in strategies.summary("controller_ppo")
    assert "Baker et al." in strategies.summary("metaqnn")


def test_importing_the_modules_imports_no_heavy_library() -> None:
    code = (
        "import sys, nasbench_suite.strategies.controller_reinforce, nasbench_suite.strategies.controller_ppo, "
        "nasbench_suite.strategies.metaqnn; "
        "print([m for m in ('torch', 'scipy', 'sklearn', 'optuna') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "updates"), [("controller_reinforce", 1), ("controller_ppo", 4)])
def test_at_the_defaults_the_policy_barely_moves_in_a_12000_s_search(
    real_store, name: str, updates: int
) -> None:
    """What the README reports: in a 12000 s cifar10-valid search (~105 evaluations) a batch of 20 gives
    5 updates (PPO: 5 batches x 4 epochs) of Adam with eps 1e-3 on gradients far below 1e-3, so no op
    probability of the first edge moves by more than 1 percentage point."""
    from nasbench_suite.budget import Budget, BudgetKind
    from nasbench_suite.oracle import BudgetExhausted, TabularOracle

    for seed in range(3):
        oracle = TabularOracle(
            real_store,
            "cifar10-valid",
            Budget(BudgetKind.SECONDS, 12000),
            rng=np.random.default_rng(seed),
            schedule=12,
        )
        s = strategies.build(name, oracle.problem, np.random.default_rng(seed))
        before = s.controller.replay(s.theta, (0,) * 6).probs[0, 0]
        told = 0
        while True:
            p = s.ask()
            try:
                observation = oracle.evaluate(p.arch, p.fidelity)
            except BudgetExhausted:
                break
            s.tell(p, observation)
            told += 1
        assert 90 <= told <= 130
        assert s.optimizer.steps == updates * (told // 20)
        assert np.abs(s.controller.replay(s.theta, (0,) * 6).probs[0, 0] - before).max() < 0.01
