"""The post's network, written the post's way: the code to read, and the oracle every engine must equal.

Samples are columns and layers count from 1, as in the post. A mini-batch ``X`` is ``(n_inputs, m)``
and its one-hot labels ``Y`` are ``(n_classes, m)``. A network of ``L`` weight layers holds, for
``l = 1 .. L``, a weight matrix ``Θ⁽ˡ⁾`` of shape ``(fan_out, fan_in)`` and a bias column ``b⁽ˡ⁾`` of
shape ``(fan_out, 1)``. The forward pass::

    A⁽¹⁾ = X                                    the inputs are the first layer's activations
    Z⁽ˡ⁾ = Θ⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾                        (fan_out, m)
    A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)                              hidden layers: sigmoid, tanh, relu or leaky relu
    Ŷ = softmax(Z⁽ᴸ⁾)                            the output layer: class probabilities

the cost, categorical cross-entropy averaged over the batch's ``m`` columns::

    C = −(1/m) Σ Y ⊙ log Ŷ                       or, with a weight wᵢ per sample, (1/m) Σᵢ wᵢ cᵢ

and backpropagation, the chain rule in matrix form, with ``δ⁽ˡ⁾ = m ∂C/∂Z⁽ˡ⁾`` (the post leaves the
``1/m`` to the gradients)::

    δ⁽ᴸ⁾ = Ŷ − Y                                 softmax and cross-entropy, multiplied out
                                                 (each column times its wᵢ, with weights)
    δ⁽ˡ⁾ = Θ⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾ ⊙ f'(Z⁽ˡ⁾)                one layer back; f' written through A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)
    ∇Θ⁽ˡ⁾C = (1/m) δ⁽ˡ⁾ A⁽ˡ⁾ᵀ                       (fan_out, fan_in), like Θ⁽ˡ⁾
    ∇b⁽ˡ⁾C = (1/m) Σ δ⁽ˡ⁾                          summed over the columns: (fan_out, 1), like b⁽ˡ⁾

and gradient descent, ``Θ⁽ˡ⁾ ← Θ⁽ˡ⁾ − η ∇Θ⁽ˡ⁾C`` and ``b⁽ˡ⁾ ← b⁽ˡ⁾ − η ∇b⁽ˡ⁾C``, or the update rule of
another optimizer (see :class:`Optimizer`).

Each formula is one NumPy expression with the equation above it. Nothing is fused, nothing is
reused, every result is a fresh array: this module is never tuned for speed. It is the definition.
The engines that train (:mod:`glassnet.engine`) lay the same numbers out differently, rows as samples
and weights and biases in one block (``W⁽ˡ⁾ = Θ⁽ˡ⁾ᵀ``), and tests prove, activation by activation and
optimizer by optimizer, that a few steps of every engine give the parameters these formulas give.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from glassnet.activations import LEAKY_SLOPE
from glassnet.errors import InputError
from glassnet.initializers import DEFAULT_INITIALIZER, get_initializer
from glassnet.trace import LayerTrace, Trace

Array = NDArray[np.floating[Any]]


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

    ``η`` is given to every step, so a schedule can change it; the rest is fixed here. The optimizer
    counts its own steps (``t``, which Adam's bias corrections use).
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
            raise InputError(f"unknown optimizer {name!r}; choose one of {', '.join(self.NAMES)}")
        self.name, self.momentum, self.rho = name, momentum, rho
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay
        self.t = 0  # steps taken
        self.state: dict[tuple[str, int], dict[str, Array]] = {}

    def step(
        self,
        thetas: list[Array],
        biases: list[Array],
        nabla_theta: list[Array],
        nabla_b: list[Array],
        eta: float,
    ) -> tuple[list[Array], list[Array]]:
        """One step for every layer: the new ``Θ⁽ˡ⁾`` and ``b⁽ˡ⁾``, from their gradients."""
        self.t += 1
        L = len(thetas)
        new_thetas = [self.update(("theta", l), thetas[l], nabla_theta[l], eta) for l in range(L)]
        new_biases = [self.update(("b", l), biases[l], nabla_b[l], eta) for l in range(L)]
        return new_thetas, new_biases

    def update(self, key: tuple[str, int], theta: Array, g: Array, eta: float) -> Array:
        """The new value of one parameter array ``theta`` (``key``: ``("theta", l)`` or ``("b", l)``)
        at step ``t``; :meth:`step` counts the steps."""
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
        :class:`glassnet.Network` starts from the same numbers, with ``W⁽ˡ⁾ = Θ⁽ˡ⁾ᵀ``.
    seed : int or numpy.random.Generator
    dtype : {"float32", "float64"}

    Attributes
    ----------
    thetas : list of (fan_out, fan_in) arrays
        ``thetas[l]`` is the post's ``Θ⁽ˡ⁺¹⁾``: Python counts from 0 (see :meth:`backprop`).
    biases : list of (fan_out, 1) arrays
        ``biases[l]`` is ``b⁽ˡ⁺¹⁾``.
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
        self._set_up(sizes, activation, dtype)
        init = get_initializer(initializer or DEFAULT_INITIALIZER[activation])
        rng = np.random.default_rng(seed)
        self.thetas: list[Array] = []
        self.biases: list[Array] = []
        for fan_in, fan_out in pairwise(self.sizes):
            W, b = init(fan_in, fan_out, rng)  # drawn rows-as-samples, as every glassnet network
            self.thetas.append(W.T.astype(self.dtype))
            self.biases.append(b.reshape(fan_out, 1).astype(self.dtype))

    def _set_up(self, sizes: Sequence[int], activation: str, dtype: DTypeLike) -> None:
        if activation not in ACTIVATIONS:
            raise InputError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        self.sizes = [int(n) for n in sizes]
        self.activation = activation
        self.dtype: np.dtype[Any] = np.dtype(dtype)
        self.f, self.f_prime = ACTIVATIONS[activation]

    @classmethod
    def from_arrays(
        cls, weights: Sequence[Array], biases: Sequence[Array], activation: str
    ) -> ReferenceNetwork:
        """The reference with a :class:`glassnet.Network`'s numbers: ``Θ⁽ˡ⁾ = W⁽ˡ⁾ᵀ``.

        Parameters
        ----------
        weights : sequence of (fan_in, fan_out) arrays
            A network's ``weights``, rows as samples. The reference holds views of them: it never
            writes into an array (every step makes new ones), so the network stays as it is.
        biases : sequence of (fan_out,) arrays
        activation : str
        """
        ref = cls.__new__(cls)
        ref._set_up(
            [weights[0].shape[0], *(W.shape[1] for W in weights)], activation, weights[0].dtype
        )
        ref.thetas = [W.T for W in weights]  # views: the reference never writes into an array
        ref.biases = [b.reshape(-1, 1) for b in biases]
        return ref

    @classmethod
    def from_network(cls, network: Any) -> ReferenceNetwork:
        """The reference with the numbers of a :class:`glassnet.Network` (see :meth:`from_arrays`)."""
        return cls.from_arrays(network.weights, network.biases, network.activation)

    def feedforward(self, x: Array) -> list[Array]:
        """Every layer's activations ``[A⁽¹⁾ = X, A⁽²⁾, ..., Ŷ]`` for inputs ``x`` ``(n_inputs, m)``."""
        return self._feedforward(x)[0]

    def _feedforward(
        self, x: Array, dropout: float = 0.0, rng: np.random.Generator | None = None
    ) -> tuple[list[Array], list[Array], list[Array | None]]:
        """The activations ``A`` (the last is ``Ŷ``), the ``Z`` of every layer, and with ``dropout``
        each hidden layer's mask (else ``None``; see :meth:`_mask`).

        Python counts from 0, the post from 1: ``A[l]``, ``Z[l]``, ``thetas[l]`` and ``biases[l]`` are
        the post's ``A⁽ˡ⁺¹⁾``, ``Z⁽ˡ⁺¹⁾``, ``Θ⁽ˡ⁺¹⁾`` and ``b⁽ˡ⁺¹⁾``. Every list is shifted alike, so
        each line reads as its formula.
        """
        A: list[Array] = [x]  # A⁽¹⁾ = X
        Z: list[Array] = []
        masks: list[Array | None] = [None]  # the inputs are never dropped
        L = len(self.thetas)
        for l in range(L):
            # Z⁽ˡ⁾ = Θ⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾
            Z.append(self.thetas[l] @ _kept(A[l], masks[l]) + self.biases[l])
            if l < L - 1:
                # A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)
                A.append(self.f(Z[l]))
                masks.append(self._mask(Z[l].shape, dropout, rng) if dropout > 0.0 else None)
            else:
                # Ŷ = softmax(Z⁽ᴸ⁾)
                A.append(softmax(Z[l]))
        return A, Z, masks

    def backprop(
        self,
        x: Array,
        y: Array,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: Array | None = None,
    ) -> tuple[list[Array], list[Array]]:
        """The gradients ``(∇Θ C, ∇b C)`` of the batch's mean cost, layer by layer, like ``thetas``
        and ``biases``; with ``weights`` ``(m,)``, of the weighted cost ``(1/m) Σᵢ wᵢ cᵢ``."""
        A, _, masks = self._feedforward(x, dropout, rng)
        _, nabla_theta, nabla_b = self._backward(A, masks, y, weights)
        return nabla_theta, nabla_b

    def _backward(
        self, A: list[Array], masks: list[Array | None], y: Array, weights: Array | None = None
    ) -> tuple[list[Array], list[Array], list[Array]]:
        """``δ``, ``∇Θ C`` and ``∇b C`` of every layer, from the last back to the first.

        As in the forward pass, list index ``l`` holds the post's layer ``l + 1``.
        """
        L, m = len(self.thetas), y.shape[1]
        delta: list[Array] = [np.empty(0)] * L
        nabla_theta: list[Array] = [np.empty(0)] * L
        nabla_b: list[Array] = [np.empty(0)] * L
        # δ⁽ᴸ⁾ = Ŷ − Y: softmax and cross-entropy multiplied out (glassnet.losses says why)
        delta[L - 1] = A[L] - y
        if weights is not None:
            # a cost (1/m) Σᵢ wᵢ cᵢ: sample i's every derivative is wᵢ times its own
            delta[L - 1] = delta[L - 1] * weights
        for l in reversed(range(L)):
            # ∇Θ⁽ˡ⁾C = (1/m) δ⁽ˡ⁾ A⁽ˡ⁾ᵀ, with A⁽ˡ⁾ as dropout passed it on
            nabla_theta[l] = delta[l] @ _kept(A[l], masks[l]).T / m
            # ∇b⁽ˡ⁾C = (1/m) Σ δ⁽ˡ⁾, summed over the columns
            nabla_b[l] = delta[l].sum(axis=1, keepdims=True) / m
            if l > 0:
                # δ⁽ˡ⁻¹⁾ = Θ⁽ˡ⁾ᵀ δ⁽ˡ⁾ ⊙ f'(Z⁽ˡ⁻¹⁾), f' written through A⁽ˡ⁾ = f(Z⁽ˡ⁻¹⁾)
                delta[l - 1] = _kept(self.thetas[l].T @ delta[l], masks[l]) * self.f_prime(A[l])
        return delta, nabla_theta, nabla_b

    def trace(self, x: Array, y: Array) -> Trace:
        """Every quantity of the equations above for one batch, layer by layer (no dropout).

        Parameters
        ----------
        x : (n_inputs, m) array
        y : (n_classes, m) array
            One-hot labels.

        Returns
        -------
        glassnet.trace.Trace
            ``trace.layers[l - 1]`` is the post's layer ``l``.
        """
        A, Z, masks = self._feedforward(x)
        delta, nabla_theta, nabla_b = self._backward(A, masks, y)
        layers = [
            LayerTrace(l + 1, self.thetas[l], self.biases[l], A[l], Z[l], A[l + 1], delta[l],
                       nabla_theta[l], nabla_b[l])
            for l in range(len(self.thetas))
        ]  # fmt: skip
        return Trace(layers, y, A[-1], _cross_entropy(A[-1], y), self.activation)

    def _mask(self, shape: tuple[int, ...], p: float, rng: np.random.Generator | None) -> Array:
        """Inverted dropout: ``1/(1 − p)`` with probability ``1 − p``, else 0, for every unit of
        every column; the next layer reads ``A ⊙ mask``.

        Drawn as a ``(m, units)`` block and transposed: every glassnet engine draws its masks with
        samples as rows, so one generator gives the engines and this reference the same masks.
        """
        if rng is None:
            raise InputError("dropout needs a random generator")
        draw = rng.random(shape[::-1], dtype=self.dtype).T
        return (draw >= p).astype(self.dtype) / (1.0 - p)

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
        weights: Array | None = None,
        max_norm: float = 0.0,
    ) -> None:
        """One step of gradient descent on the batch: ``Θ ← Θ − η ∇Θ C`` (the post's), or
        ``optimizer``'s rule.

        With ``clip_norm > 0`` the gradients are first scaled down, all together, so that their
        global norm ``√(Σ‖∇Θ⁽ˡ⁾C‖² + Σ‖∇b⁽ˡ⁾C‖²)`` is at most ``clip_norm``. With ``max_norm > 0``
        (max-norm, Srivastava et al. 2014) each row of every ``Θ⁽ˡ⁾`` after the step, the incoming
        weights ``θⱼ`` of one unit, is scaled down to norm ``c = max_norm`` where longer:
        ``θⱼ ← θⱼ · c / max(‖θⱼ‖, c)``. The biases are left alone.
        """
        nabla_theta, nabla_b = self.backprop(x, y, dropout, rng, weights)
        if clip_norm > 0.0:
            norm = np.sqrt(sum(np.sum(g**2) for g in nabla_theta + nabla_b))
            if norm > clip_norm:
                nabla_theta = [g * (clip_norm / norm) for g in nabla_theta]
                nabla_b = [g * (clip_norm / norm) for g in nabla_b]
        if optimizer is not None:
            self.thetas, self.biases = optimizer.step(
                self.thetas, self.biases, nabla_theta, nabla_b, eta
            )
        else:
            for l in range(len(self.thetas)):
                # Θ⁽ˡ⁾ ← Θ⁽ˡ⁾ − η ∇Θ⁽ˡ⁾C, the post's gradient descent
                self.thetas[l] = self.thetas[l] - eta * nabla_theta[l]
                # b⁽ˡ⁾ ← b⁽ˡ⁾ − η ∇b⁽ˡ⁾C
                self.biases[l] = self.biases[l] - eta * nabla_b[l]
        if max_norm > 0.0:
            # θⱼ ← θⱼ · c / max(‖θⱼ‖, c): every row of Θ⁽ˡ⁾ (one unit's incoming weights) at most c
            self.thetas = [
                theta
                * (max_norm / np.maximum(np.linalg.norm(theta, axis=1, keepdims=True), max_norm))
                for theta in self.thetas
            ]

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
        weights: Array | None = None,
        max_norm: float = 0.0,
    ) -> None:
        """Shuffle the columns with ``rng``, then one :meth:`update_mini_batch` per mini-batch.

        ``rng`` shuffles first and then draws the dropout masks, step by step, as glassnet's
        training loop does, so one seed gives both the same epoch. ``max_batches`` stops early;
        ``weights`` ``(n,)`` are the samples' weights, shuffled with them.
        """
        order = rng.permutation(x.shape[1])
        x, y = x[:, order], y[:, order]
        w = None if weights is None else weights[order]
        n_batches = -(-x.shape[1] // batch_size)
        for k in range(n_batches if max_batches is None else min(n_batches, max_batches)):
            batch = slice(k * batch_size, (k + 1) * batch_size)
            self.update_mini_batch(
                x[:, batch], y[:, batch], eta, optimizer, dropout=dropout, clip_norm=clip_norm,
                rng=rng, weights=None if w is None else w[batch], max_norm=max_norm,
            )  # fmt: skip

    def cost(self, x: Array, y: Array, weights: Array | None = None) -> float:
        """The mean categorical cross-entropy ``C = −(1/m) Σ Y ⊙ log Ŷ`` (each column's term times
        its weight, with ``weights``)."""
        y_hat = self.feedforward(x)[-1]
        return _cross_entropy(y_hat, y if weights is None else y * weights)

    def predict(self, x: Array) -> NDArray[np.intp]:
        """The most probable class of each column of ``x``."""
        return np.argmax(self.feedforward(x)[-1], axis=0)


def _cross_entropy(y_hat: Array, y: Array) -> float:
    """``−(1/m) Σ Y ⊙ log Ŷ``, ``Ŷ`` clipped at its dtype's machine epsilon so it stays finite."""
    eps = np.finfo(y_hat.dtype).eps
    return float(-np.sum(y * np.log(np.clip(y_hat, eps, 1.0))) / y.shape[1])


def _kept(a: Array, mask: Array | None) -> Array:
    """What passes on through dropout: ``a ⊙ mask``, or ``a`` itself without a mask."""
    return a if mask is None else a * mask


def one_hot_columns(labels: NDArray[np.integer[Any]], n_classes: int, dtype: DTypeLike) -> Array:
    """Labels ``(m,)`` to one-hot columns ``(n_classes, m)``."""
    y = np.zeros((n_classes, labels.shape[0]), dtype)
    y[labels, np.arange(labels.shape[0])] = 1.0
    return y


__all__ = ["ACTIVATIONS", "Optimizer", "ReferenceNetwork", "one_hot_columns", "softmax"]
