"""The output layer: softmax probabilities and the categorical cross-entropy loss, fused.

For one sample with output scores ``z`` (a row of ``Z``) and one-hot label ``y``::

    p_k = exp(z_k) / sum_j exp(z_j)             softmax
    C   = -sum_k y_k log p_k                    categorical cross-entropy
    dC/dz_k = p_k - y_k                         the two derivatives, multiplied out

That last line is why the post's output delta is simply ``Ŷ − Y``: the softmax Jacobian and the
``1/p`` of the logarithm cancel. The identity holds for exactly these pairs: softmax with *categorical*
cross-entropy (one label per sample), and a single sigmoid output with binary cross-entropy. The post
writes its loss as a sum of binary cross-entropies over the ten outputs; with a softmax output that sum
does not give ``Ŷ − Y``, so glassnet trains with the categorical form, which does.

Averaged over a mini-batch of ``m`` rows the gradient is ``(P − Y) / m``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.floating]


def softmax(Z: Array, out: Array | None = None, row: Array | None = None) -> Array:
    """Row-wise softmax, stable for any finite scores.

    Subtracting each row's maximum first leaves the result unchanged (the factor ``e^-max`` cancels)
    and keeps every exponent at or below zero, so nothing overflows.

    Parameters
    ----------
    Z : (n, classes) array
        Output scores.
    out : (n, classes) array, optional
        Where to write the result; may be ``Z`` itself.
    row : (n, 1) array, optional
        Scratch space for the row maxima and sums, so a training step allocates nothing.

    Returns
    -------
    P : (n, classes) array
        Each row non-negative and summing to one.
    """
    if row is None:
        row = np.empty((Z.shape[0], 1), Z.dtype)
    np.maximum.reduce(Z, axis=1, keepdims=True, out=row)
    out = np.subtract(Z, row, out=out)
    np.exp(out, out=out)
    np.add.reduce(out, axis=1, keepdims=True, out=row)
    out /= row
    return out


def cross_entropy(P: Array, Y: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Mean categorical cross-entropy ``-(1/m) sum_i sum_k Y_ik log P_ik``.

    Probabilities are clipped at the dtype's machine epsilon, so a confident wrong answer (``P = 0``)
    costs a large finite loss instead of infinity.

    Parameters
    ----------
    P : (m, classes) array
        Predicted probabilities.
    Y : (m, classes) array or (m,) array of int
        One-hot labels, or the class index of each row.
    weights : (m,) array, optional
        Each row's weight: the weighted mean ``Σ wᵢ cᵢ / Σ wᵢ``, on the scale of the plain mean.
    """
    targets = np.asarray(Y)
    # The probability each row gives its true class; one-hot rows pick it by a product.
    picked = (
        P[np.arange(len(targets)), targets] if targets.ndim == 1 else np.sum(P * targets, axis=1)
    )
    eps = np.finfo(P.dtype).eps
    losses = -np.log(np.clip(picked, eps, 1.0))
    return float(
        np.mean(losses) if weights is None else np.average(losses, weights=np.asarray(weights))
    )


def softmax_cross_entropy_delta(
    P: Array, Y: Array, out: Array | None = None, scale: float = 1.0
) -> Array:
    """The fused output delta ``dC/dZ = (P − Y) / m`` for a batch of ``m`` rows, times ``scale``.

    Parameters
    ----------
    P : (m, classes) array
        Softmax probabilities from the forward pass.
    Y : (m, classes) array
        One-hot labels.
    out : (m, classes) array, optional
        Where to write the result; may be ``P`` itself.
    scale : float
        A factor for every gradient downstream: backpropagation is linear in this delta, so a
        factor here (SGD's ``−η``) multiplies every weight gradient at no extra cost.
    """
    out = np.subtract(P, Y, out=out)
    out *= scale / P.shape[0]
    return out
