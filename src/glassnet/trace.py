"""Every quantity of the post's equations for one batch, layer by layer, as arrays you can look at.

:meth:`glassnet.Network.backprop` returns only the gradients; :func:`trace_batch` (what
:meth:`glassnet.Network.trace` calls) keeps everything on the way to them, written the post's way:
samples as columns and layers counted from 1. For a network with ``L`` weight layers and a batch of
``m`` samples, layer ``l = 1 .. L`` computes::

    A⁽¹⁾ = X                                  the inputs, (n_inputs, m)
    Z⁽ˡ⁾ = Θ⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾                      (fan_out, m)
    A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)                            hidden layers: sigmoid, tanh, relu, leaky relu
    Ŷ = softmax(Z⁽ᴸ⁾)                          (n_classes, m)
    C = −(1/m) Σ Y ⊙ log Ŷ                     categorical cross-entropy, a number

and backwards, with ``δ⁽ˡ⁾ = m ∂C/∂Z⁽ˡ⁾`` (the post leaves the ``1/m`` to the gradients)::

    δ⁽ᴸ⁾ = Ŷ − Y                               softmax and cross-entropy multiplied out
    δ⁽ˡ⁾ = Θ⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾ ⊙ f'(Z⁽ˡ⁾)              one layer back
    ∇Θ⁽ˡ⁾C = (1/m) δ⁽ˡ⁾ A⁽ˡ⁾ᵀ                     (fan_out, fan_in), the shape of Θ⁽ˡ⁾
    ∇b⁽ˡ⁾C = (1/m) Σ_columns δ⁽ˡ⁾               (fan_out, 1), the shape of b⁽ˡ⁾

For the post's example, 784-3-10 and ``m = 75``: ``Z⁽¹⁾`` and ``A⁽²⁾`` are 3×75, ``Z⁽²⁾`` and ``Ŷ``
10×75, ``∇Θ⁽²⁾C`` 10×3, ``∇Θ⁽¹⁾C`` 3×784 and ``∇b⁽¹⁾C`` 3×1.

Each formula is one NumPy expression, with the activations and softmax of
:mod:`glassnet.reference` (the oracle), so a trace is the reference's arithmetic on the network's
numbers. ``Θ⁽ˡ⁾`` is the network's ``weights[l - 1]`` transposed: :attr:`Trace.weight_gradients` and
:attr:`Trace.bias_gradients` give the gradients back in the network's layout, equal to what
:meth:`~glassnet.Network.backprop` returns (the tests hold them to it).

This module takes arrays, not a network, so it needs nothing of :mod:`glassnet.network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet import reference

Array = NDArray[np.floating[Any]]

__all__ = ["LayerTrace", "Trace", "trace_batch"]


@dataclass(frozen=True)
class LayerTrace:
    """One weight layer ``l`` of the post's equations, samples as columns.

    Attributes
    ----------
    index : int
        ``l``, counted from 1 as the post counts.
    theta : (fan_out, fan_in) array
        ``Θ⁽ˡ⁾``, a view of the network's ``weights[l - 1]`` transposed.
    b : (fan_out, 1) array
        ``b⁽ˡ⁾``, a view of the network's ``biases[l - 1]``.
    A : (fan_in, m) array
        ``A⁽ˡ⁾``, what the layer reads; ``A⁽¹⁾ = X``.
    Z : (fan_out, m) array
        ``Z⁽ˡ⁾ = Θ⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾``.
    output : (fan_out, m) array
        ``A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)`` for a hidden layer, ``Ŷ = softmax(Z⁽ᴸ⁾)`` for the last.
    delta : (fan_out, m) array
        ``δ⁽ˡ⁾ = m ∂C/∂Z⁽ˡ⁾``.
    nabla_theta : (fan_out, fan_in) array
        ``∇Θ⁽ˡ⁾C = (1/m) δ⁽ˡ⁾ A⁽ˡ⁾ᵀ``.
    nabla_b : (fan_out, 1) array
        ``∇b⁽ˡ⁾C = (1/m) Σ δ⁽ˡ⁾``, summed over the columns.
    """

    index: int
    theta: Array
    b: Array
    A: Array
    Z: Array
    output: Array
    delta: Array
    nabla_theta: Array
    nabla_b: Array


@dataclass(frozen=True)
class Trace:
    """A batch through the network and back: every layer's quantities, the output and the loss.

    Attributes
    ----------
    layers : list of LayerTrace
        ``layers[l - 1]`` is the post's layer ``l``.
    Y : (n_classes, m) array
        The one-hot targets, as columns.
    Y_hat : (n_classes, m) array
        ``Ŷ``, the class probabilities (the last layer's ``output``).
    loss : float
        ``C``, the mean categorical cross-entropy over the batch (probabilities clipped at the
        dtype's machine epsilon, as everywhere in glassnet).
    activation : str
        The hidden layers' activation.
    """

    layers: list[LayerTrace]
    Y: Array
    Y_hat: Array
    loss: float
    activation: str

    @property
    def m(self) -> int:
        """The number of samples in the batch."""
        return int(self.Y.shape[1])

    @property
    def weight_gradients(self) -> list[Array]:
        """``dC/dW_l = (∇Θ⁽ˡ⁾C)ᵀ`` per layer, ``(fan_in, fan_out)``: :meth:`Network.backprop`'s."""
        return [layer.nabla_theta.T for layer in self.layers]

    @property
    def bias_gradients(self) -> list[Array]:
        """``dC/db_l`` per layer, ``(fan_out,)``, as :meth:`Network.backprop` returns them."""
        return [layer.nabla_b[:, 0] for layer in self.layers]

    def gradient_norms(self) -> list[float]:
        """``‖∇Θ⁽ˡ⁾C‖``, the Frobenius norm of each layer's weight gradient: how fast it learns."""
        return [float(np.linalg.norm(layer.nabla_theta)) for layer in self.layers]


def trace_batch(
    weights: Sequence[Array],
    biases: Sequence[Array],
    activation: str,
    X: Array,
    Y: Array,
) -> Trace:
    """Run a batch forward and backward the post's way, keeping every quantity.

    Parameters
    ----------
    weights : sequence of (fan_in, fan_out) arrays
        The network's weights, rows as samples (``Θ⁽ˡ⁾ = weights[l - 1]ᵀ``).
    biases : sequence of (fan_out,) arrays
    activation : {"sigmoid", "tanh", "relu", "leaky_relu"}
        The hidden layers' activation.
    X : (m, n_inputs) array
        Standardized inputs, one sample per row, as :meth:`Network.backprop` takes them.
    Y : (m, n_classes) array
        One-hot targets.

    Returns
    -------
    Trace
        Samples as columns; the arrays are new, apart from ``theta`` and ``b`` (views).
    """
    if activation not in reference.ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}")
    f, f_prime = reference.ACTIVATIONS[activation]
    thetas = [W.T for W in weights]
    bs = [b.reshape(-1, 1) for b in biases]
    A, Z, outputs = _forward(thetas, bs, f, X.T)
    targets = np.ascontiguousarray(Y.T)
    Y_hat = outputs[-1]
    m = X.shape[0]
    deltas, nabla_theta, nabla_b = _backward(thetas, A, targets, Y_hat, f_prime, m)
    layers = [
        LayerTrace(
            index=l + 1,
            theta=thetas[l],
            b=bs[l],
            A=A[l],
            Z=Z[l],
            output=outputs[l],
            delta=deltas[l],
            nabla_theta=nabla_theta[l],
            nabla_b=nabla_b[l],
        )
        for l in range(len(thetas))
    ]
    return Trace(layers, targets, Y_hat, _cross_entropy(Y_hat, targets), activation)


def _forward(
    thetas: list[Array], bs: list[Array], f: Any, X: Array
) -> tuple[list[Array], list[Array], list[Array]]:
    """``A⁽ˡ⁾``, ``Z⁽ˡ⁾`` and each layer's output, ``l = 1 .. L``; ``X`` is ``(n_inputs, m)``."""
    A: list[Array] = [X]  # A⁽¹⁾ = X
    Z: list[Array] = []
    outputs: list[Array] = []
    last = len(thetas) - 1
    for l, (theta, b) in enumerate(zip(thetas, bs, strict=True)):
        Z.append(theta @ A[l] + b)  # Z⁽ˡ⁾ = Θ⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾
        if l == last:
            outputs.append(reference.softmax(Z[l]))  # Ŷ = softmax(Z⁽ᴸ⁾)
        else:
            outputs.append(f(Z[l]))  # A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)
            A.append(outputs[l])
    return A, Z, outputs


def _backward(
    thetas: list[Array], A: list[Array], Y: Array, Y_hat: Array, f_prime: Any, m: int
) -> tuple[list[Array], list[Array], list[Array]]:
    """``δ⁽ˡ⁾``, ``∇Θ⁽ˡ⁾C`` and ``∇b⁽ˡ⁾C`` for ``l = 1 .. L``, computed from the last layer back."""
    n = len(thetas)
    deltas: list[Array] = [np.empty(0)] * n
    nabla_theta: list[Array] = [np.empty(0)] * n
    nabla_b: list[Array] = [np.empty(0)] * n
    delta = Y_hat - Y  # δ⁽ᴸ⁾ = Ŷ − Y
    # Python counts from 0: here l is the post's layer l + 1, so thetas[l] is Θ⁽ˡ⁺¹⁾ and A[l] is
    # A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾), the output of the layer below.
    for l in range(n - 1, -1, -1):
        deltas[l] = delta
        nabla_theta[l] = delta @ A[l].T / m  # ∇Θ C = (1/m) δ Aᵀ
        nabla_b[l] = delta.sum(axis=1, keepdims=True) / m  # ∇b C = (1/m) Σ δ
        if l > 0:
            # δ⁽ˡ⁾ = Θ⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾ ⊙ f'(Z⁽ˡ⁾), with f' written through A⁽ˡ⁺¹⁾ = f(Z⁽ˡ⁾)
            delta = (thetas[l].T @ delta) * f_prime(A[l])
    return deltas, nabla_theta, nabla_b


def _cross_entropy(Y_hat: Array, Y: Array) -> float:
    """``−(1/m) Σ Y ⊙ log Ŷ``, ``Ŷ`` clipped at the dtype's machine epsilon."""
    eps = np.finfo(Y_hat.dtype).eps
    return float(-np.sum(Y * np.log(np.clip(Y_hat, eps, 1.0))) / Y.shape[1])
