"""Checking backpropagation against the definition of a derivative.

For every parameter ``θ`` the central difference

    (C(θ + h) − C(θ − h)) / 2h

approximates ``∂C/∂θ`` with an error of order ``h²``. If the analytic gradient from
:meth:`Network.backprop` agrees with it to about seven significant digits in float64, the chain rule
in the code is right. The comparison uses the relative error

    |g_analytic − g_numeric| / max(|g_analytic| + |g_numeric|, tiny)

per layer, taken as the norm of the difference over the norm of the sum, so that a layer whose
gradients are all tiny is still judged on its own scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from glassnet.network import Network
from glassnet.preprocess import one_hot


@dataclass(frozen=True)
class LayerCheck:
    """The comparison for one layer's weights or biases."""

    layer: int  # 1-based
    kind: str  # "weights" or "biases"
    relative_error: float
    max_abs_difference: float


def relative_error(analytic: NDArray[np.floating], numeric: NDArray[np.floating]) -> float:
    """``‖a − n‖ / (‖a‖ + ‖n‖)``, 0 when both are exactly zero."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / denominator)


def numerical_gradients(
    network: Network, X: NDArray[np.floating], Y: NDArray[np.floating], h: float = 1e-5
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Central-difference gradients of ``network.loss(X, Y)`` for every weight and bias.

    Each parameter is nudged in place and restored, so the network is unchanged afterwards.
    """

    def numeric(array: NDArray[np.floating]) -> NDArray[np.float64]:
        grad = np.zeros(array.shape, np.float64)
        flat, out = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + h
            plus = network.loss(X, Y)
            flat[i] = saved - h
            minus = network.loss(X, Y)
            flat[i] = saved
            out[i] = (plus - minus) / (2.0 * h)
        return grad

    return [numeric(W) for W in network.weights], [numeric(b) for b in network.biases]


def check_gradients(
    network: Network, X: NDArray[np.floating], Y: NDArray[np.floating], h: float = 1e-5
) -> list[LayerCheck]:
    """Compare :meth:`Network.backprop` with central differences, layer by layer.

    Parameters
    ----------
    network : Network
        Best in float64: float32 carries too few digits for central differences.
    X : (m, n_inputs) array
    Y : (m, n_classes) one-hot array
    """
    analytic_w, analytic_b = network.backprop(X, Y)
    numeric_w, numeric_b = numerical_gradients(network, X, Y, h)
    checks = []
    for l in range(len(network.weights)):
        for kind, a, n in (
            ("weights", analytic_w[l], numeric_w[l]),
            ("biases", analytic_b[l], numeric_b[l]),
        ):
            checks.append(
                LayerCheck(l + 1, kind, relative_error(a, n), float(np.max(np.abs(a - n))))
            )
    return checks


def evaluation_seconds(layer_sizes: Sequence[int], batch_size: int) -> float:
    """About how long one evaluation of the loss takes in float64: a fixed cost per call and per
    layer (NumPy's calls), the products (2 flops a parameter a sample, at ~2 GFLOP/s) and the
    activations (~120 ns a unit a sample). Measured on one core: within a factor of two for a
    4-layer network of 170 parameters, 1,000 layers of 5 units, and a 2,000-unit layer at batch
    500 (140 ms) or 64."""
    n = sum((a + 1) * b for a, b in pairwise(layer_sizes))
    units = sum(layer_sizes[1:])
    layers = len(layer_sizes) - 1
    return 50e-6 + 20e-6 * layers + 2 * batch_size * n / 2e9 + 120e-9 * batch_size * units


def check_seconds(layer_sizes: Sequence[int], batch_size: int, activations: int = 1) -> float:
    """About how long :func:`check_gradients` takes for ``activations`` networks of these sizes:
    two evaluations of the loss per parameter."""
    n = sum((a + 1) * b for a, b in pairwise(layer_sizes))
    return activations * 2 * n * evaluation_seconds(layer_sizes, batch_size)


def gradcheck_network(
    activation: str,
    hidden: Sequence[int] = (7, 6, 5),
    *,
    n_inputs: int = 8,
    n_classes: int = 4,
    batch_size: int = 5,
    seed: int = 0,
) -> list[LayerCheck]:
    """Build a small float64 network with random data and check its gradients.

    ReLU's kink at zero is where central differences can step across and disagree, which is why its
    tolerance is looser; random Gaussian inputs make landing within ``h`` of a kink improbable.
    """
    rng = np.random.default_rng(seed)
    network = Network([n_inputs, *hidden, n_classes], activation, seed=rng, dtype="float64")
    # Non-zero biases so the check also covers them (Glorot and He start biases at zero).
    for b in network.biases:
        b[...] = rng.normal(0.0, 0.5, b.shape)
    X = rng.normal(size=(batch_size, n_inputs))
    Y = one_hot(rng.integers(0, n_classes, batch_size), n_classes, np.float64)
    return check_gradients(network, X, Y)
