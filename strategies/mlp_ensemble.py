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
        self._buffers: dict[int, list[np.ndarray]] = {}  # per batch size: each layer's input, 1-column last

    def _inputs(self, batch: int) -> list[np.ndarray]:
        """Reused (members, batch, fan_in + 1) arrays whose last column is 1."""
        if batch not in self._buffers:
            buffers = [
                np.empty((self.members, batch, layer.shape[1]), dtype=self.dtype) for layer in self._layers
            ]
            for b in buffers:
                b[..., -1] = 1.0
            self._buffers[batch] = buffers
        return self._buffers[batch]

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Outputs (members, batch) for inputs x (members, batch, n_in); every layer's input is kept."""
        inputs = self._inputs(x.shape[1])
        inputs[0][..., :-1] = x
        last = len(self._layers) - 1
        for i, layer in enumerate(self._layers[:-1]):
            np.maximum(inputs[i] @ layer, 0.0, out=inputs[i + 1][..., :-1])
        return (inputs[last] @ self._layers[last])[..., 0], inputs

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(members, n) predictions for x of shape (n, n_in)."""
        x = np.asarray(x, dtype=self.dtype)
        return self._forward(np.broadcast_to(x, (self.members, *x.shape)))[0].astype(np.float64)

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
        """Minimize the (weighted) mean absolute error; returns the mean training loss of every epoch."""
        x, y = np.asarray(x, dtype=self.dtype), np.asarray(y, dtype=self.dtype)
        w = None if weights is None else np.asarray(weights, dtype=self.dtype)
        m, v, buf = np.zeros_like(self.theta), np.zeros_like(self.theta), np.empty_like(self.theta)
        beta1, beta2, eps = 0.9, 0.99, 1e-7
        n, step, history = len(y), 0, []
        for _ in range(epochs):
            order = np.argsort(self._rng.random((self.members, n)), axis=1)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[:, start : start + batch_size]
                out, inputs = self._forward(x[idx])
                residual = out - y[idx]
                slope = np.sign(residual)  # d|r|/dr, times the sample's weight
                if w is not None:
                    slope *= w[idx]
                total += float(np.vdot(slope, residual)) / self.members  # sum of (weighted) |r|
                slope *= 1.0 / idx.shape[1]
                self._backward(inputs, slope[..., None])
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

    def _backward(self, inputs: list[np.ndarray], g: np.ndarray) -> None:
        """Gradients of every layer (bias row included) into the flat gradient buffer."""
        for i in range(len(self._layers) - 1, -1, -1):
            np.matmul(inputs[i].transpose(0, 2, 1), g, out=self._grads[i])
            if i:
                g = g @ self._layers[i][:, :-1, :].transpose(0, 2, 1)
                g *= inputs[i][..., :-1] > 0  # ReLU: the layer's input is the previous layer's output
