"""Every quantity of the post's equations for one batch, layer by layer, as arrays you can look at.

:meth:`glassnet.Network.backprop` returns only the gradients; a :class:`Trace` keeps everything on
the way to them, in the post's notation: samples as columns and layers counted from 1. The numbers
come from the reference network, :meth:`glassnet.reference.ReferenceNetwork.trace`, whose docstring
has the equations; :meth:`glassnet.Network.trace` runs it on a network's numbers (``Θ⁽ˡ⁾ = W⁽ˡ⁾ᵀ``).

For the post's example, 784-3-10 and ``m = 75``: ``Z⁽¹⁾`` and ``A⁽²⁾`` are 3×75, ``Z⁽²⁾`` and ``Ŷ``
10×75, ``∇Θ⁽²⁾C`` 10×3, ``∇Θ⁽¹⁾C`` 3×784 and ``∇b⁽¹⁾C`` 3×1. :attr:`Trace.weight_gradients` and
:attr:`Trace.bias_gradients` give the gradients back in the network's layout, equal to what
:meth:`~glassnet.Network.backprop` returns (the tests hold them to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

__all__ = ["LayerTrace", "Trace"]


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
        ``b⁽ˡ⁾``, a view of the network's ``biases[l - 1]`` as a column.
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
