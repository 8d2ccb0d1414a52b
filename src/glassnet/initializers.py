"""How a network's first weights are drawn.

The scale of the starting weights decides whether a signal survives a deep network. The post draws
every weight from a standard normal distribution; with 784 inputs that makes the first layer's
pre-activations about 28 times larger than one input, so its sigmoids start saturated and its gradient
starts tiny. Glorot (for sigmoid and tanh) and He (for ReLU) scale the draw by the layer's fan-in and
fan-out so that the variance of activations and gradients stays about the same from layer to layer.

Every initializer takes an explicit ``numpy.random.Generator``; nothing here touches NumPy's global seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError

Initializer = Callable[
    [int, int, np.random.Generator], tuple[NDArray[np.float64], NDArray[np.float64]]
]


def standard_normal(
    fan_in: int, fan_out: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The post's initialization: weights and biases all drawn from N(0, 1).

    Returns
    -------
    W : (fan_in, fan_out) array
    b : (fan_out,) array
    """
    return rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out)


def glorot(
    fan_in: int, fan_out: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Glorot/Xavier uniform: ``W ~ U(-r, r)`` with ``r = sqrt(6 / (fan_in + fan_out))``, zero biases."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)


def he(
    fan_in: int, fan_out: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """He normal: ``W ~ N(0, 2 / fan_in)``, zero biases; keeps ReLU activations from shrinking."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)


#: Name -> function; used by the command line and recorded in model files.
INITIALIZERS: dict[str, Initializer] = {"normal": standard_normal, "glorot": glorot, "he": he}

#: The initializer each activation gets unless another is asked for.
DEFAULT_INITIALIZER: dict[str, str] = {
    "sigmoid": "glorot",
    "tanh": "glorot",
    "relu": "he",
    "leaky_relu": "he",
}


def get_initializer(name: str) -> Initializer:
    """Return the initializer called ``name``; a ``ValueError`` names the choices otherwise."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        choices = ", ".join(INITIALIZERS)
        raise InputError(f"unknown initializer {name!r}; choose one of {choices}") from None
