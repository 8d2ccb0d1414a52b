"""The post's network in plain NumPy, written the post's way: the yardstick for the benchmarks.

Samples are columns. A batch ``X`` is ``(n_features, m)``, layer ``l`` holds ``Θ_l`` of shape
``(fan_out, fan_in)`` and a bias column ``b_l`` of shape ``(fan_out, 1)``, and::

    z_l = Θ_l a_{l-1} + b_l        a_0 = x
    a_l = σ(z_l)                   hidden layers (sigmoid, or ReLU for the wide benchmark)
    ŷ   = softmax(z_L)             the output layer

    δ_L     = ŷ − y                                 (softmax with categorical cross-entropy)
    ∇Θ_l C  = (1/m) δ_l a_{l-1}ᵀ
    ∇b_l C  = (1/m) Σ δ_l over the batch columns
    δ_{l-1} = Θ_lᵀ δ_l ⊙ σ'(z_{l-1})               σ' = a (1 − a) for the sigmoid
    Θ_l ← Θ_l − η ∇Θ_l C,   b_l ← b_l − η ∇b_l C

Each formula is one NumPy expression, as the post writes it: every step allocates its results
afresh, nothing is fused, and NumPy's BLAS runs with its default number of threads. There is no
buffer reuse, no flat parameter array and no thread tuning; that is the point of a reference.
Only the sigmoid is written the overflow-free way (``exp(-logaddexp(0, -z))``), so that long
float32 runs do not fill the output with overflow warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


def sigmoid(z: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_prime_from_output(a: Array) -> Array:
    return a * (1.0 - a)


def relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def relu_prime_from_output(a: Array) -> Array:
    return (a > 0.0).astype(a.dtype)


def softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


class ReferenceNetwork:
    """A fully connected network with a softmax output, samples as columns.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[784, 50, 50, 50, 50, 50, 50, 10]`` for the post.
    activation : {"sigmoid", "relu"}
        Hidden-layer activation.
    seed : int
        Seed of the ``numpy.random.Generator`` that draws the initial weights.
    dtype : {"float32", "float64"}
        Precision of the parameters and of the computation.
    init : {"normal", "he"}
        ``"normal"`` is the post's standard normal; ``"he"`` scales it by ``sqrt(2 / fan_in)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        *,
        seed: int = 0,
        dtype: str = "float64",
        init: str = "normal",
    ) -> None:
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.sizes = list(sizes)
        self.thetas: list[Array] = []
        self.biases: list[Array] = []
        for fan_in, fan_out in pairwise(self.sizes):
            scale = np.sqrt(2.0 / fan_in) if init == "he" else 1.0
            self.thetas.append((rng.standard_normal((fan_out, fan_in)) * scale).astype(self.dtype))
            self.biases.append(np.zeros((fan_out, 1), self.dtype))
        if activation == "sigmoid":
            self.f, self.f_prime = sigmoid, sigmoid_prime_from_output
        elif activation == "relu":
            self.f, self.f_prime = relu, relu_prime_from_output
        else:
            raise ValueError(f"unknown activation {activation!r}; choose sigmoid or relu")

    def feedforward(self, x: Array) -> list[Array]:
        """Every layer's output ``[a_0 = x, a_1, ..., ŷ]`` for inputs ``x`` ``(n_in, m)``."""
        activations = [x]
        a = x
        last = len(self.thetas) - 1
        for l, (theta, b) in enumerate(zip(self.thetas, self.biases, strict=True)):
            z = theta @ a + b
            a = softmax(z) if l == last else self.f(z)
            activations.append(a)
        return activations

    def backprop(self, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
        """Gradients ``(∇Θ, ∇b)`` of the mean loss over the batch (columns of ``x``, ``y``)."""
        m = x.shape[1]
        activations = self.feedforward(x)
        nabla_theta: list[Array] = [np.empty(0)] * len(self.thetas)
        nabla_b: list[Array] = [np.empty(0)] * len(self.thetas)
        delta = activations[-1] - y
        for l in range(len(self.thetas) - 1, -1, -1):
            nabla_theta[l] = (delta @ activations[l].T) / m
            nabla_b[l] = delta.sum(axis=1, keepdims=True) / m
            if l > 0:
                delta = (self.thetas[l].T @ delta) * self.f_prime(activations[l])
        return nabla_theta, nabla_b

    def update_mini_batch(self, x: Array, y: Array, eta: float) -> None:
        """One step of gradient descent on the batch ``x`` ``(n_in, m)``, ``y`` ``(classes, m)``."""
        nabla_theta, nabla_b = self.backprop(x, y)
        for l in range(len(self.thetas)):
            self.thetas[l] = self.thetas[l] - eta * nabla_theta[l]
            self.biases[l] = self.biases[l] - eta * nabla_b[l]

    def sgd_epoch(
        self,
        x: Array,
        y: Array,
        batch_size: int,
        eta: float,
        rng: np.random.Generator,
        max_batches: int | None = None,
    ) -> None:
        """Shuffle the columns and take one step per mini-batch (at most ``max_batches`` steps)."""
        order = rng.permutation(x.shape[1])
        x, y = x[:, order], y[:, order]
        n_batches = -(-x.shape[1] // batch_size)
        if max_batches is not None:
            n_batches = min(n_batches, max_batches)
        for k in range(n_batches):
            lo = k * batch_size
            self.update_mini_batch(x[:, lo : lo + batch_size], y[:, lo : lo + batch_size], eta)

    def predict(self, x: Array) -> NDArray[np.intp]:
        """The most probable class of each column of ``x``."""
        return np.argmax(self.feedforward(x)[-1], axis=0)


def one_hot_columns(labels: NDArray[np.integer], n_classes: int, dtype: str) -> Array:
    """Labels ``(n,)`` to one-hot columns ``(n_classes, n)``."""
    y = np.zeros((n_classes, labels.shape[0]), dtype)
    y[labels, np.arange(labels.shape[0])] = 1.0
    return y
