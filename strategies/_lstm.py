"""The LSTM controller that samples a cell edge by edge (Zoph & Le 2017; ENAS; NAS-Bench-201), in numpy
with hand-written backpropagation through time.

The network is NAS-Bench-201's `Controller` (AutoDL-Projects `lib/models/cell_searchs/
search_model_enas_utils.py`): a learned input vector feeds a `layers`-layer LSTM (torch.nn.LSTM's
equations and gate order i, f, g, o; zero initial state); at each edge the top hidden state goes through
a linear layer to one logit per op, squashed as `tanh_constant * tanh(logit / temperature)`; the op is
sampled from the softmax and its embedding is the next step's input. The parameters live in one flat
float64 vector so that optimizer steps, gradient clipping and snapshots are vector operations.

The update rules (`controller_reinforce`, `controller_ppo`) only ever need the gradient of a loss that
is a function of each step's logits: `backward` takes dL/dlogits and returns dL/dtheta.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

GATES = 4  # torch.nn.LSTM's gate order: input, forget, cell, output


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True)
class Rollout:
    """A pass of the controller over a batch of cells: the ops, each step's squashed logits and
    probabilities, and what backpropagation needs: the parameters it ran with and, per step and layer,
    the input, the previous h and c, the gates and the new c. Arrays lead with the batch axis."""

    theta: np.ndarray  # the parameters of this pass (a reference, never written to)
    actions: np.ndarray  # (batch, n_edges) op indices
    logits: np.ndarray  # (batch, n_edges, n_ops), after tanh squashing
    probs: np.ndarray  # (batch, n_edges, n_ops)
    raw: np.ndarray  # (batch, n_edges, n_ops), the linear layer's output before squashing
    tops: np.ndarray  # (batch, n_edges, hidden), the top layer's hidden state
    cache: tuple[tuple[tuple[np.ndarray, ...], ...], ...]  # [step][layer] = (x, h0, c0, i, f, g, o, c)

    def cell(self, k: int = 0) -> tuple[int, ...]:
        return tuple(int(a) for a in self.actions[k])

    @property
    def log_prob(self) -> np.ndarray:
        """log pi(cell) per batch member, summed over the edges."""
        picked = np.take_along_axis(self.probs, self.actions[..., None], axis=2)[..., 0]
        return np.log(picked).sum(axis=1)

    @property
    def entropy(self) -> np.ndarray:
        """Per batch member, the sum over the edges of each step's entropy (conditioned on the ops)."""
        return -(self.probs * np.log(self.probs)).sum(axis=(1, 2))


@dataclass(frozen=True)
class LSTMController:
    """Shapes and squashing of the controller; `init` makes a parameter vector, `sample`/`replay` run it."""

    n_edges: int
    n_ops: int
    hidden: int = 32
    layers: int = 2
    tanh_constant: float = 2.5
    temperature: float = 5.0

    @cached_property
    def _slices(self) -> dict[str, tuple[slice, tuple[int, ...]]]:
        h, k = self.hidden, self.n_ops
        shapes: dict[str, tuple[int, ...]] = {"input": (h,)}
        for layer in range(self.layers):
            shapes |= {f"w_ih{layer}": (GATES * h, h), f"w_hh{layer}": (GATES * h, h)}
            shapes |= {f"b_ih{layer}": (GATES * h,), f"b_hh{layer}": (GATES * h,)}
        shapes |= {"embed": (k, h), "w_pred": (k, h), "b_pred": (k,)}
        out, start = {}, 0
        for name, shape in shapes.items():
            size = math.prod(shape)
            out[name] = (slice(start, start + size), shape)
            start += size
        return out

    @property
    def size(self) -> int:
        return max(s.stop for s, _ in self._slices.values())

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Named views into a flat parameter (or gradient) vector."""
        return {name: theta[s].reshape(shape) for name, (s, shape) in self._slices.items()}

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """NAS-Bench-201's initialization: the input vector, the first LSTM layer's weights, the embedding
        and the prediction weights U(-0.1, 0.1); everything else torch's default U(-1/sqrt(hidden), ...)."""
        theta = np.empty(self.size)
        bound = 1.0 / math.sqrt(self.hidden)
        explicit = {"input", "w_ih0", "w_hh0", "embed", "w_pred"}
        for name, view in self.unpack(theta).items():  # dict order: a fixed order of draws
            view[...] = rng.uniform(*((-0.1, 0.1) if name in explicit else (-bound, bound)), view.shape)
        return theta

    def sample(self, theta: np.ndarray, rng: np.random.Generator, batch: int = 1) -> Rollout:
        """Sample one op per edge for each of `batch` cells (one uniform draw per edge, inverse CDF)."""
        draws = rng.random((batch, self.n_edges))

        def choose(t: int, probs: np.ndarray) -> np.ndarray:
            below = (np.cumsum(probs, axis=1) < draws[:, t : t + 1]).sum(axis=1)
            return np.minimum(below, self.n_ops - 1)

        return self._forward(theta, batch, choose)

    def replay(self, theta: np.ndarray, actions: np.ndarray | tuple[int, ...]) -> Rollout:
        """Run the controller on given cells (teacher forcing): a (batch, n_edges) array, or one cell."""
        actions = np.atleast_2d(np.asarray(actions, dtype=np.int64))
        if actions.shape[1] != self.n_edges:
            raise ValueError(f"expected {self.n_edges} ops per cell, got {actions.shape[1]}")
        return self._forward(theta, len(actions), lambda t, probs: actions[:, t])

    def _forward(
        self, theta: np.ndarray, batch: int, choose: Callable[[int, np.ndarray], np.ndarray]
    ) -> Rollout:
        p = self.unpack(theta)
        h = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        c = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        x = np.broadcast_to(p["input"], (batch, self.hidden))
        actions, logits, probs, raws, tops, cache = [], [], [], [], [], []
        for t in range(self.n_edges):
            step = []
            for layer in range(self.layers):
                gates = x @ p[f"w_ih{layer}"].T + h[layer] @ p[f"w_hh{layer}"].T
                gates += p[f"b_ih{layer}"] + p[f"b_hh{layer}"]
                n = self.hidden
                i, f, o = _sigmoid(gates[:, :n]), _sigmoid(gates[:, n : 2 * n]), _sigmoid(gates[:, 3 * n :])
                g = np.tanh(gates[:, 2 * n : 3 * n])
                c_new = f * c[layer] + i * g
                step.append((x, h[layer], c[layer], i, f, g, o, c_new))
                h[layer], c[layer] = o * np.tanh(c_new), c_new
                x = h[layer]
            raw = x @ p["w_pred"].T + p["b_pred"]
            z = self.tanh_constant * np.tanh(raw / self.temperature)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            pr = e / e.sum(axis=1, keepdims=True)
            a = np.asarray(choose(t, pr), dtype=np.int64)
            actions.append(a)
            logits.append(z)
            probs.append(pr)
            raws.append(raw)
            tops.append(x)
            cache.append(tuple(step))
            x = p["embed"][a]
        return Rollout(
            theta,
            np.stack(actions, axis=1),
            np.stack(logits, axis=1),
            np.stack(probs, axis=1),
            np.stack(raws, axis=1),
            np.stack(tops, axis=1),
            tuple(cache),
        )

    def backward(self, rollout: Rollout, dlogits: np.ndarray) -> np.ndarray:
        """dL/dtheta at the rollout's parameters, for a loss whose gradient with respect to the squashed
        logits is `dlogits` (batch, n_edges, n_ops), summed over the batch, by backpropagation through
        time."""
        p = self.unpack(rollout.theta)
        grad = np.zeros(self.size)
        d = self.unpack(grad)
        squash = np.tanh(rollout.raw / self.temperature)
        draw = dlogits * (self.tanh_constant / self.temperature) * (1.0 - squash**2)  # (B, E, K)
        d["w_pred"] += np.einsum("bek,beh->kh", draw, rollout.tops)
        d["b_pred"] += draw.sum(axis=(0, 1))
        batch = len(rollout.actions)
        dh_next = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        dc_next = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        seen: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(self.layers)]  # (dgates, x, h0)
        for t in reversed(range(self.n_edges)):
            dx = draw[:, t] @ p["w_pred"]  # into the top layer's h_t
            for layer in reversed(range(self.layers)):
                x, h0, c0, i, f, g, o, c = rollout.cache[t][layer]
                dh = dx + dh_next[layer]
                tc = np.tanh(c)
                dc = dc_next[layer] + dh * o * (1.0 - tc**2)
                dgates = np.concatenate(
                    [dc * g * i * (1 - i), dc * c0 * f * (1 - f), dc * i * (1 - g**2), dh * tc * o * (1 - o)],
                    axis=1,
                )
                seen[layer].append((dgates, x, h0))
                dh_next[layer] = dgates @ p[f"w_hh{layer}"]
                dc_next[layer] = dc * f
                dx = dgates @ p[f"w_ih{layer}"]  # into the layer below's h_t, or the input
            if t == 0:
                d["input"] += dx.sum(axis=0)
            else:
                np.add.at(d["embed"], rollout.actions[:, t - 1], dx)
        for layer, steps in enumerate(seen):  # the weight gradients of all steps in one product each
            dgates, x, h0 = (np.concatenate(parts) for parts in zip(*steps, strict=True))
            d[f"w_ih{layer}"] += dgates.T @ x
            d[f"w_hh{layer}"] += dgates.T @ h0
            d[f"b_ih{layer}"] += dgates.sum(axis=0)
            d[f"b_hh{layer}"] += dgates.sum(axis=0)
        return grad


def log_prob_gradient(rollout: Rollout) -> np.ndarray:
    """d log pi(cell) / d logits, per batch member and step: onehot(a_t) - p_t."""
    g = -rollout.probs.copy()
    batch, edges = rollout.actions.shape
    g[np.arange(batch)[:, None], np.arange(edges)[None, :], rollout.actions] += 1.0
    return g


def entropy_gradient(rollout: Rollout) -> np.ndarray:
    """d (sum_t H_t) / d logits: -p * (log p + H_t) per batch member and step."""
    logp = np.log(rollout.probs)
    h = -(rollout.probs * logp).sum(axis=2, keepdims=True)
    return -rollout.probs * (logp + h)
