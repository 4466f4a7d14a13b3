"""The neural predictor of BANANAS: an ensemble of small ReLU networks trained as one batched model."""

from __future__ import annotations

import itertools
import math

import numpy as np


class MLPEnsemble:
    """`members` independent ReLU networks (`n_layers` hidden layers of `width`, one linear output),
    trained as one model: every weight array carries a leading member axis, all of them live in one
    flat buffer (one vectorized Adam step updates every member), and each layer's bias is the last row
    of its weight matrix, fed by a constant-1 column kept at the end of the layer's input (one matrix
    product per layer and direction instead of a product plus a bias step). Keras defaults of the
    official code: Glorot-uniform weights, zero biases, Adam(beta1=0.9, beta2=0.99, eps=1e-7),
    minibatches reshuffled each epoch (independently per member), float32 arithmetic (Keras' default
    float type; on these tiny matrices float32 products are about twice as fast as float64)."""

    def __init__(
        self,
        *,
        n_in: int,
        members: int,
        n_layers: int,
        width: int,
        rng: np.random.Generator,
        dtype: type[np.floating] = np.float32,
    ) -> None:
        dims = [n_in] + [width] * n_layers + [1]
        shapes = [(members, a + 1, b) for a, b in itertools.pairwise(dims)]  # last input row: the bias
        sizes = [math.prod(s) for s in shapes]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.dtype = np.dtype(dtype)
        self.theta = np.zeros(int(offsets[-1]), dtype=self.dtype)
        self._grad = np.zeros_like(self.theta)
        self._layers = [
            self.theta[o : o + n].reshape(s) for o, n, s in zip(offsets, sizes, shapes, strict=False)
        ]
        self._grads = [
            self._grad[o : o + n].reshape(s) for o, n, s in zip(offsets, sizes, shapes, strict=False)
        ]
        for layer in self._layers:  # Glorot uniform, drawn layer by layer; biases start at 0
            fan_in, fan_out = layer.shape[1] - 1, layer.shape[2]
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            layer[:, :-1, :] = rng.uniform(-limit, limit, size=(members, fan_in, fan_out))
        self.members = members
        self._rng = rng
        self._hidden: dict[int, np.ndarray] = {}  # per batch size: every hidden layer's output, 1-column last

    def _outputs(self, batch: int) -> np.ndarray:
        """A reused (hidden layers, members, batch, width + 1) array whose last column is 1: layer i's
        output is the next layer's input, and one comparison gives every layer's ReLU mask."""
        if batch not in self._hidden:
            shape = (len(self._layers) - 1, self.members, batch, self._layers[0].shape[2] + 1)
            hidden = np.empty(shape, dtype=self.dtype)
            hidden[..., -1] = 1.0
            self._hidden[batch] = hidden
        return self._hidden[batch]

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs (members, batch) for inputs x (members, batch, n_in + 1) whose last column is 1;
        the hidden layers' outputs are kept for the backward pass."""
        hidden = self._outputs(x.shape[1])
        h = x
        for i, layer in enumerate(self._layers[:-1]):
            np.maximum(h @ layer, 0.0, out=hidden[i, ..., :-1])
            h = hidden[i]
        return (h @ self._layers[-1])[..., 0], hidden

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(members, n) predictions for x of shape (n, n_in)."""
        x = with_ones(np.asarray(x, dtype=self.dtype))
        return self._forward(np.broadcast_to(x, (self.members, *x.shape)).copy())[0].astype(np.float64)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        weights: np.ndarray | None = None,
    ) -> list[float]:
        """Minimize the (weighted) mean absolute error; returns the mean training loss of every epoch.
        Each epoch gathers its shuffled rows once (members, n, n_in + 1); a minibatch is a slice of it."""
        x, y = with_ones(np.asarray(x, dtype=self.dtype)), np.asarray(y, dtype=self.dtype)
        w = None if weights is None else np.asarray(weights, dtype=self.dtype)
        m, v, buf = np.zeros_like(self.theta), np.zeros_like(self.theta), np.empty_like(self.theta)
        beta1, beta2, eps = 0.9, 0.99, 1e-7
        n, step, history = len(y), 0, []
        for _ in range(epochs):
            order = np.argsort(self._rng.random((self.members, n)), axis=1)
            x_epoch, y_epoch = x[order], y[order]
            w_epoch = None if w is None else w[order]
            total = 0.0
            for start in range(0, n, batch_size):
                batch = slice(start, start + batch_size)
                x_batch = x_epoch[:, batch]
                out, hidden = self._forward(x_batch)
                residual = out - y_epoch[:, batch]
                slope = np.sign(residual)  # d|r|/dr, times the sample's weight
                if w_epoch is not None:
                    slope *= w_epoch[:, batch]
                total += float(np.vdot(slope, residual)) / self.members  # sum of (weighted) |r|
                slope *= 1.0 / x_batch.shape[1]
                self._backward(x_batch, hidden, slope[..., None])
                step += 1  # Adam, in place: temporaries of the whole parameter vector cost more than the math
                np.subtract(self._grad, m, out=buf)
                buf *= 1 - beta1
                m += buf  # m = beta1 m + (1 - beta1) g
                np.square(self._grad, out=buf)
                buf -= v
                buf *= 1 - beta2
                v += buf  # v = beta2 v + (1 - beta2) g^2
                np.sqrt(v, out=buf)
                buf += eps
                np.divide(m, buf, out=buf)
                buf *= learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
                self.theta -= buf
            history.append(total / n)
        return history

    def _backward(self, x: np.ndarray, hidden: np.ndarray, g: np.ndarray) -> None:
        """Gradients of every layer (bias row included) into the flat gradient buffer."""
        live = hidden[..., :-1] > 0  # every hidden layer's ReLU mask in one comparison
        for i in range(len(self._layers) - 1, -1, -1):
            layer_input = hidden[i - 1] if i else x
            np.matmul(layer_input.transpose(0, 2, 1), g, out=self._grads[i])
            if i:
                g = g @ self._layers[i][:, :-1, :].transpose(0, 2, 1)
                g *= live[i - 1]  # ReLU: the layer's input is the previous layer's output


def with_ones(x: np.ndarray) -> np.ndarray:
    """x (n, n_in) with a constant-1 column appended: the input of the first layer's bias row."""
    return np.concatenate([x, np.ones((len(x), 1), dtype=x.dtype)], axis=1)
