"""The post's network, written the post's way: the code to read, and the oracle every engine must equal.

Samples are columns. A mini-batch ``x`` is ``(n_inputs, m)`` and its one-hot labels ``y`` are
``(n_classes, m)``. Layer ``l`` holds a weight matrix ``Θ_l`` of shape ``(fan_out, fan_in)`` and a bias
column ``b_l`` of shape ``(fan_out, 1)``. The forward pass, for ``l = 1 .. L``::

    z_l = Θ_l a_{l-1} + b_l                      a_0 = x
    a_l = f(z_l)                                 hidden layers: sigmoid, tanh, relu or leaky relu
    ŷ   = softmax(z_L)                           the output layer: class probabilities

the cost, categorical cross-entropy averaged over the batch::

    C = -(1/m) Σ_columns Σ_k y_k log ŷ_k

and backpropagation, the chain rule in matrix form::

    δ_L     = ŷ − y                              softmax and cross-entropy, multiplied out
    ∇Θ_l C  = (1/m) δ_l a_{l-1}ᵀ                 (fan_out, fan_in), like Θ_l
    ∇b_l C  = (1/m) Σ_columns δ_l                (fan_out, 1), like b_l
    δ_{l-1} = (Θ_lᵀ δ_l) ⊙ f'(z_{l-1})           one layer back; f' is written through a = f(z)

and gradient descent, ``Θ_l ← Θ_l − η ∇Θ_l C``, ``b_l ← b_l − η ∇b_l C``, or the update rule of another
optimizer (see :class:`Optimizer`).

Each formula is one NumPy expression with the equation beside it. Nothing is fused, nothing is
reused, every result is a fresh array: this module is never tuned for speed. It is the definition.
The engines that train (:mod:`glassnet.engine`) lay the same numbers out differently, rows as samples
and weights and biases in one block, and tests prove, activation by activation and optimizer by
optimizer, that a few steps of every engine give the parameters these formulas give.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from glassnet.initializers import DEFAULT_INITIALIZER, get_initializer

Array = NDArray[np.floating[Any]]

#: The slope of the leaky ReLU below zero (the same as glassnet.activations.LeakyReLU.alpha).
LEAKY_SLOPE = 0.01


# -- activations: f(z), and f'(z) written through the output a = f(z), which the forward pass keeps
def sigmoid(z: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + e^-z), which never overflows this way


def sigmoid_prime(a: Array) -> Array:
    return a * (1.0 - a)  # σ'(z) = σ(z) (1 − σ(z))


def tanh(z: Array) -> Array:
    return np.tanh(z)


def tanh_prime(a: Array) -> Array:
    return 1.0 - a**2  # tanh'(z) = 1 − tanh²(z)


def relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def relu_prime(a: Array) -> Array:
    return (a > 0.0).astype(a.dtype)  # 1 where the unit is active, else 0


def leaky_relu(z: Array) -> Array:
    return np.where(z > 0.0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(a: Array) -> Array:
    return np.where(a > 0.0, 1.0, LEAKY_SLOPE).astype(a.dtype)


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
}


def softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=0, keepdims=True))  # the column maximum cancels; nothing overflows
    return e / e.sum(axis=0, keepdims=True)


class Optimizer:
    """How a gradient becomes a step, each rule as its textbook writes it.

    With learning rate ``η``, gradient ``g`` and weight decay ``λ`` (on weights only, never on biases;
    coupled into ``g`` as the gradient of ``(λ/2)‖Θ‖²``, except for AdamW)::

        sgd        Θ ← Θ − η g
        momentum   v ← μ v − η g;   Θ ← Θ + v
        nesterov   v ← μ v − η g;   Θ ← Θ + μ v − η g
        rmsprop    s ← ρ s + (1 − ρ) g²;   Θ ← Θ − η g / (√s + ε)
        adam       m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²;   t ← t + 1
                   Θ ← Θ − η m̂ / (√v̂ + ε),   m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)
        adamw      adam on g alone, and Θ ← Θ − η λ Θ beside it

    ``η`` is given to every step, so a schedule can change it; the rest is fixed here.
    """

    NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")

    def __init__(
        self,
        name: str = "sgd",
        *,
        momentum: float = 0.9,
        rho: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(self.NAMES)}")
        self.name, self.momentum, self.rho = name, momentum, rho
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay
        self.t = 0  # steps taken
        self.state: dict[tuple[str, int], dict[str, Array]] = {}

    def update(self, key: tuple[str, int], theta: Array, g: Array, eta: float) -> Array:
        """The new value of one parameter array ``theta`` (``key``: ``("theta", l)`` or ``("b", l)``)."""
        if key not in self.state:  # velocities and moments start at zero
            self.state[key] = {"v": np.zeros_like(theta), "m": np.zeros_like(theta)}
        s = self.state[key]
        mu, rho, b1, b2, eps, lam = (
            self.momentum,
            self.rho,
            self.beta1,
            self.beta2,
            self.eps,
            self.weight_decay,
        )
        decays = key[0] == "theta" and lam > 0.0
        if decays and self.name != "adamw":
            g = g + lam * theta  # L2 regularization: the gradient of C + (λ/2)‖Θ‖²
        if self.name == "sgd":
            return theta - eta * g
        if self.name == "momentum":
            s["v"] = mu * s["v"] - eta * g
            return theta + s["v"]
        if self.name == "nesterov":
            s["v"] = mu * s["v"] - eta * g
            return theta + mu * s["v"] - eta * g
        if self.name == "rmsprop":
            s["v"] = rho * s["v"] + (1.0 - rho) * g**2
            return theta - eta * g / (np.sqrt(s["v"]) + eps)
        s["m"] = b1 * s["m"] + (1.0 - b1) * g  # adam and adamw
        s["v"] = b2 * s["v"] + (1.0 - b2) * g**2
        m_hat = s["m"] / (1.0 - b1**self.t)
        v_hat = s["v"] / (1.0 - b2**self.t)
        step = eta * m_hat / (np.sqrt(v_hat) + eps)
        if decays and self.name == "adamw":  # decay decoupled from the adaptive step
            step = step + eta * lam * theta
        return theta - step


class ReferenceNetwork:
    """A fully connected network with a softmax output, samples as columns, as the post writes it.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[784, 50, 50, 50, 50, 50, 50, 10]`` for the post.
    activation : {"sigmoid", "tanh", "relu", "leaky_relu"}
        The hidden layers' activation.
    initializer : {"normal", "glorot", "he"}, optional
        How to draw the first weights (:mod:`glassnet.initializers`); by default Glorot for sigmoid and
        tanh, He for the ReLUs. ``"normal"`` is the post's standard normal. With the same ``seed`` a
        :class:`glassnet.Network` starts from the same numbers, with ``W_l = Θ_lᵀ``.
    seed : int or numpy.random.Generator
    dtype : {"float32", "float64"}

    Attributes
    ----------
    thetas : list of (fan_out, fan_in) arrays
    biases : list of (fan_out, 1) arrays
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        *,
        initializer: str | None = None,
        seed: int | np.random.Generator = 0,
        dtype: DTypeLike = "float64",
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        self.sizes = [int(n) for n in sizes]
        self.dtype: np.dtype[Any] = np.dtype(dtype)
        self.f, self.f_prime = ACTIVATIONS[activation]
        init = get_initializer(initializer or DEFAULT_INITIALIZER[activation])
        rng = np.random.default_rng(seed)
        self.thetas: list[Array] = []
        self.biases: list[Array] = []
        for fan_in, fan_out in pairwise(self.sizes):
            W, b = init(fan_in, fan_out, rng)  # drawn rows-as-samples, as every glassnet network
            self.thetas.append(W.T.astype(self.dtype))
            self.biases.append(b.reshape(fan_out, 1).astype(self.dtype))

    def feedforward(self, x: Array) -> list[Array]:
        """Every layer's output ``[a_0 = x, a_1, ..., a_L = ŷ]`` for inputs ``x`` ``(n_inputs, m)``."""
        return self._feedforward(x, 0.0, None)[0]

    def _feedforward(
        self, x: Array, dropout: float, rng: np.random.Generator | None
    ) -> tuple[list[Array], list[Array | None]]:
        """The outputs ``a_l``, and with ``dropout`` each hidden layer's mask (else ``None``).

        Inverted dropout keeps each hidden unit with probability ``1 − p`` and scales what it passes
        on by ``1 / (1 − p)``: the next layer multiplies ``a_l ⊙ mask_l``.
        """
        activations: list[Array] = [x]
        masks: list[Array | None] = [None]  # the inputs a_0 are never dropped
        last = len(self.thetas) - 1
        for l, (theta, b) in enumerate(zip(self.thetas, self.biases, strict=True)):
            z = theta @ _kept(activations[l], masks[l]) + b  # z_l = Θ_l a_{l-1} + b_l
            if l == last:
                activations.append(softmax(z))  # ŷ = softmax(z_L)
            else:
                activations.append(self.f(z))  # a_l = f(z_l)
                masks.append(self._mask(z.shape, dropout, rng) if dropout > 0.0 else None)
        return activations, masks

    def _mask(self, shape: tuple[int, ...], p: float, rng: np.random.Generator | None) -> Array:
        """``1/(1 − p)`` with probability ``1 − p``, else 0, for every unit of every column.

        Drawn as a ``(m, units)`` block and transposed: every glassnet engine draws its masks with
        samples as rows, so one generator gives the engines and this reference the same masks.
        """
        if rng is None:
            raise ValueError("dropout needs a random generator")
        draw = rng.random(shape[::-1], dtype=self.dtype).T
        return (draw >= p).astype(self.dtype) / (1.0 - p)

    def backprop(
        self,
        x: Array,
        y: Array,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> tuple[list[Array], list[Array]]:
        """The gradients ``(∇Θ C, ∇b C)`` of the mean cost over the batch's columns, layer by layer."""
        m = x.shape[1]
        activations, masks = self._feedforward(x, dropout, rng)
        weight_gradients: list[Array] = [np.empty(0)] * len(self.thetas)
        bias_gradients: list[Array] = [np.empty(0)] * len(self.thetas)
        delta = activations[-1] - y  # δ_L = ŷ − y
        for l in range(
            len(self.thetas) - 1, -1, -1
        ):  # the post's layer l + 1: Python counts from 0
            weight_gradients[l] = delta @ _kept(activations[l], masks[l]).T / m  # (1/m) δ aᵀ
            bias_gradients[l] = delta.sum(axis=1, keepdims=True) / m  # ∇b C = (1/m) Σ δ
            if l > 0:
                back = _kept(self.thetas[l].T @ delta, masks[l])  # Θᵀ δ (through the mask)
                delta = back * self.f_prime(activations[l])  # δ = (Θᵀ δ) ⊙ f'(z)
        return weight_gradients, bias_gradients

    def update_mini_batch(
        self,
        x: Array,
        y: Array,
        eta: float,
        optimizer: Optimizer | None = None,
        *,
        dropout: float = 0.0,
        clip_norm: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        """One step of gradient descent on the batch: ``Θ ← Θ − η ∇Θ C`` (the post's), or
        ``optimizer``'s rule.

        With ``clip_norm > 0`` the gradients are first scaled down, all together, so that their
        global norm ``√(Σ‖∇Θ_l C‖² + Σ‖∇b_l C‖²)`` is at most ``clip_norm``.
        """
        nabla_theta, nabla_b = self.backprop(x, y, dropout, rng)
        if clip_norm > 0.0:
            norm = np.sqrt(sum(np.sum(g**2) for g in nabla_theta + nabla_b))
            if norm > clip_norm:
                nabla_theta = [g * (clip_norm / norm) for g in nabla_theta]
                nabla_b = [g * (clip_norm / norm) for g in nabla_b]
        if optimizer is None:  # the post's gradient descent
            for l in range(len(self.thetas)):
                self.thetas[l] = self.thetas[l] - eta * nabla_theta[l]  # Θ ← Θ − η ∇Θ C
                self.biases[l] = self.biases[l] - eta * nabla_b[l]  # b ← b − η ∇b C
            return
        optimizer.t += 1
        for l in range(len(self.thetas)):
            self.thetas[l] = optimizer.update(("theta", l), self.thetas[l], nabla_theta[l], eta)
            self.biases[l] = optimizer.update(("b", l), self.biases[l], nabla_b[l], eta)

    def train_epoch(
        self,
        x: Array,
        y: Array,
        batch_size: int,
        eta: float,
        rng: np.random.Generator,
        optimizer: Optimizer | None = None,
        *,
        dropout: float = 0.0,
        clip_norm: float = 0.0,
        max_batches: int | None = None,
    ) -> None:
        """Shuffle the columns with ``rng``, then one :meth:`update_mini_batch` per mini-batch.

        ``rng`` shuffles first and then draws the dropout masks, step by step, as glassnet's
        training loop does, so one seed gives both the same epoch. ``max_batches`` stops early.
        """
        order = rng.permutation(x.shape[1])
        x, y = x[:, order], y[:, order]
        n_batches = -(-x.shape[1] // batch_size)
        for k in range(n_batches if max_batches is None else min(n_batches, max_batches)):
            batch = slice(k * batch_size, (k + 1) * batch_size)
            self.update_mini_batch(
                x[:, batch],
                y[:, batch],
                eta,
                optimizer,
                dropout=dropout,
                clip_norm=clip_norm,
                rng=rng,
            )

    def cost(self, x: Array, y: Array) -> float:
        """The mean categorical cross-entropy ``-(1/m) Σ y log ŷ`` (``ŷ`` clipped at the dtype's ε)."""
        y_hat = self.feedforward(x)[-1]
        eps = np.finfo(self.dtype).eps
        return float(-np.sum(y * np.log(np.clip(y_hat, eps, 1.0))) / x.shape[1])

    def predict(self, x: Array) -> NDArray[np.intp]:
        """The most probable class of each column of ``x``."""
        return np.argmax(self.feedforward(x)[-1], axis=0)


def _kept(a: Array, mask: Array | None) -> Array:
    """What passes on through dropout: ``a ⊙ mask``, or ``a`` itself without a mask."""
    return a if mask is None else a * mask


def one_hot_columns(labels: NDArray[np.integer[Any]], n_classes: int, dtype: DTypeLike) -> Array:
    """Labels ``(m,)`` to one-hot columns ``(n_classes, m)``."""
    y = np.zeros((n_classes, labels.shape[0]), dtype)
    y[labels, np.arange(labels.shape[0])] = 1.0
    return y


__all__ = ["ACTIVATIONS", "Optimizer", "ReferenceNetwork", "one_hot_columns", "softmax"]
