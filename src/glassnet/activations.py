"""Activation functions, each with the derivative backprop needs.

A hidden layer computes ``A = f(Z)`` with ``Z = A_prev @ W + b``. Backpropagation needs ``f'(Z)``, and for
every activation here that derivative can be written through the *output* ``A`` the forward pass already
cached, so the pre-activations ``Z`` never have to be kept:

=============  =============================  ==============================
name           f(z)                           f'(z) through a = f(z)
=============  =============================  ==============================
sigmoid        1 / (1 + e^-z)                 a (1 - a)
tanh           tanh z                         1 - a^2
relu           max(z, 0)                      1 where a > 0, else 0
leaky_relu     z if z > 0 else alpha z        1 where a > 0, else alpha
=============  =============================  ==============================

Each class works in place on arrays the network allocated once (``out=``), because at small batch sizes
the time of a training step goes to NumPy calls and allocations rather than arithmetic.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError

Array = NDArray[np.floating]

#: The slope of the leaky ReLU below zero, for every engine, the reference and exports.
LEAKY_SLOPE = 0.01


class Activation:
    """Base class: an elementwise function and its derivative expressed through its output."""

    name: ClassVar[str]
    #: Units whose outputs sit this close to a flat part of the curve count as saturated.
    saturation_threshold: ClassVar[float] = 0.0

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        """Return ``f(Z)``; ``out`` may be ``Z`` itself. Shapes ``(n, units)``."""
        raise NotImplementedError

    def backward(self, A: Array, delta: Array, scratch: Array) -> Array:
        """Multiply ``delta`` in place by ``f'(Z)``, computed from the cached output ``A``.

        Parameters
        ----------
        A : (n, units) array
            The layer's output from the forward pass.
        delta : (n, units) array
            ``dC/dA`` on entry, ``dC/dZ`` on return.
        scratch : (n, units) array
            Workspace of the same shape; its contents are overwritten.
        """
        raise NotImplementedError

    def saturated(self, A: Array) -> NDArray[np.bool_]:
        """Boolean mask of units in a flat region (where the gradient nearly vanishes)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """The logistic function ``1 / (1 + e^-z)``, the post's activation.

    Computed as written, in four NumPy calls, with full relative precision in both tails down to
    the smallest normal float (about 1e-38 in float32). Below that the result is subnormal, and far
    out (``z`` under about -88.7 in float32, -709 in float64) ``e^-z`` overflows to infinity and the
    result is exactly 0. NumPy reports that overflow as a warning, so glassnet runs its forward
    passes with overflow warnings off (``np.errstate(over="ignore")``); a caller of this class can
    do the same. No bound on the exponent is applied first: a fifth call on every step.
    """

    name = "sigmoid"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        out = np.negative(Z, out=out)
        np.exp(out, out=out)  # e^-z; infinity far below zero, which gives exactly 0 below
        np.add(out, _one(out.dtype), out=out)
        return np.reciprocal(out, out=out)

    def backward(self, A: Array, delta: Array, scratch: Array) -> Array:
        np.square(A, out=scratch)
        np.subtract(A, scratch, out=scratch)  # a - a^2 = a (1 - a)
        return np.multiply(delta, scratch, out=delta)

    def saturated(self, A: Array) -> NDArray[np.bool_]:
        return (A < 0.01) | (A > 0.99)


@functools.cache
def _one(dtype: np.dtype) -> NDArray[np.floating]:
    """1 as a 0-d array of ``dtype``: NumPy applies such a constant faster than a Python float."""
    return np.array(1.0, dtype)


class Tanh(Activation):
    """The hyperbolic tangent: a sigmoid rescaled to (-1, 1), centred on zero."""

    name = "tanh"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        return np.tanh(Z, out=out)

    def backward(self, A: Array, delta: Array, scratch: Array) -> Array:
        np.multiply(A, A, out=scratch)
        np.subtract(1.0, scratch, out=scratch)  # 1 - a^2
        return np.multiply(delta, scratch, out=delta)

    def saturated(self, A: Array) -> NDArray[np.bool_]:
        return np.abs(A) > 0.98


class ReLU(Activation):
    """The rectified linear unit: passes positive inputs, zeroes the rest; its gradient never shrinks."""

    name = "relu"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        return np.maximum(Z, 0.0, out=out)

    def backward(self, A: Array, delta: Array, scratch: Array) -> Array:
        np.greater(A, 0.0, out=scratch)  # 1.0 where the unit was active
        return np.multiply(delta, scratch, out=delta)

    def saturated(self, A: Array) -> NDArray[np.bool_]:
        # A ReLU unit is "dead" for these samples when it outputs zero for every one of them.
        return np.broadcast_to(np.all(A <= 0.0, axis=0), A.shape)


class LeakyReLU(Activation):
    """ReLU with a small slope ``alpha`` for negative inputs, so no unit can die completely."""

    name = "leaky_relu"
    alpha: ClassVar[float] = LEAKY_SLOPE

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        # For 0 < alpha < 1, max(z, alpha z) is z for z > 0 and alpha z otherwise.
        return np.maximum(Z, self.alpha * Z, out=out)

    def backward(self, A: Array, delta: Array, scratch: Array) -> Array:
        np.greater(A, 0.0, out=scratch)
        scratch *= 1.0 - self.alpha
        scratch += self.alpha  # 1 where a > 0, alpha elsewhere
        return np.multiply(delta, scratch, out=delta)

    def saturated(self, A: Array) -> NDArray[np.bool_]:
        return np.broadcast_to(np.all(A <= 0.0, axis=0), A.shape)


#: Name -> class, the one place the command line and model files turn a name into an activation.
ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU)
}


def get_activation(name: str) -> Activation:
    """Return a new activation for ``name``; a ``ValueError`` names the choices otherwise."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        choices = ", ".join(ACTIVATIONS)
        raise InputError(f"unknown activation {name!r}; choose one of {choices}") from None
