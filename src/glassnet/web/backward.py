"""The backward pass of one drawing, and one gradient step on it: the page's "learn this".

Given a drawing and the label it should be, :func:`backward_view` runs :meth:`Network.trace` on the
28x28 image the network reads (a batch of one) and answers with what the page draws:

* ``deltas``: ``δ⁽ˡ⁾`` for every layer, one number per unit (the last layer's is ``ŷ − y``);
* ``gradient_norms``: ``‖∇Θ⁽ˡ⁾C‖`` per layer, whose fall from the last layer to the first is the
  vanishing gradient of a deep sigmoid network, visible on one drawing;
* ``units``: the first layer's weight gradient ``∇Θ⁽¹⁾C`` for the units it changes most, each row
  a 28x28 image. For a batch of one it is ``δ⁽¹⁾ⱼ xᵀ``: the input itself, scaled by the unit's
  delta, which is why every image shows the digit, brighter or darker.

:func:`learn_step` takes one step of gradient descent, ``Θ ← Θ − α ∇Θ C`` and ``b ← b − α ∇b C``, on
the network it is given (a page's own copy, see :mod:`glassnet.web.sessions`), and answers with the
probabilities before and after.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.errors import InputError
from glassnet.images import mnist_pixels
from glassnet.web.prediction import FIELD_SIZE, drawing_image

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from glassnet.network import Network
    from glassnet.trace import Trace

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "MAX_LEARNING_RATE",
    "TOP_UNITS",
    "backward_view",
    "check_label",
    "check_learning_rate",
    "learn_step",
]

#: The step "learn this" takes unless the page says otherwise; small enough that one step moves
#: the probabilities without throwing the rest of what the network knows away.
DEFAULT_LEARNING_RATE = 0.003
#: The largest step a page may ask for.
MAX_LEARNING_RATE = 10.0
#: How many of the first layer's units the weight-gradient images show.
TOP_UNITS = 6


def check_label(value: Any, n_classes: int) -> int:
    """The class a drawing should be: a whole number in ``0 .. n_classes − 1``, else ``ValueError``."""
    if type(value) is not int or not 0 <= value < n_classes:
        raise InputError(f'"label" must be a whole number from 0 to {n_classes - 1}')
    return value


def check_learning_rate(value: Any) -> float:
    """A step size ``α``: a number with ``0 < α ≤`` :data:`MAX_LEARNING_RATE`, else ``ValueError``."""
    if type(value) not in (int, float) or not math.isfinite(value):
        raise InputError('"learning_rate" must be a number')
    if not 0 < value <= MAX_LEARNING_RATE:
        raise InputError(f'"learning_rate" must be above 0 and at most {MAX_LEARNING_RATE:g}')
    return float(value)


def backward_view(
    network: Network, canvas: NDArray[np.floating], label: int | None, *, top: int = TOP_UNITS
) -> dict[str, Any]:
    """The backward pass for one drawing, as the page shows it.

    Parameters
    ----------
    network : Network
        A network taking 784 inputs.
    canvas : (height, width) array
        Values in ``0..255``, ink bright on black.
    label : int or None
        The class the drawing should be; ``None`` for the network's own prediction.
    top : int
        How many first-layer units to show the weight gradient of.

    Returns
    -------
    dict
        ``empty``; and for a drawing with ink: ``label``, ``probabilities`` (``n_classes``),
        ``loss``, ``deltas`` (a list per layer, one number per unit), ``gradient_norms`` and
        ``bias_gradient_norms`` (one per layer), ``units`` (``[{"unit", "norm", "image"}]``, the
        image 28 rows of 28 numbers in ``[-1, 1]``) and ``image_scale`` (the largest
        ``|∇Θ⁽¹⁾C|`` shown, which 1 stands for).
    """
    image = drawing_image(canvas)
    if image is None:
        return {"empty": True}
    x = network.prepare(mnist_pixels(image))
    if label is None:
        label = int(np.argmax(network.forward(x)[0]))
    trace = network.trace(x, np.array([label]))
    return {
        "empty": False,
        "label": label,
        "probabilities": _numbers(trace.Y_hat[:, 0]),
        "loss": trace.loss,
        "deltas": [_numbers(layer.delta[:, 0]) for layer in trace.layers],
        "gradient_norms": trace.gradient_norms(),
        "bias_gradient_norms": [float(np.linalg.norm(layer.nabla_b)) for layer in trace.layers],
        **_unit_images(trace, top),
    }


def _unit_images(trace: Trace, top: int) -> dict[str, Any]:
    """The first layer's weight-gradient rows with the largest norms, as 28x28 images."""
    gradient = trace.layers[0].nabla_theta.astype(np.float64)  # (units, 784)
    norms = np.linalg.norm(gradient, axis=1)
    order = np.argsort(-norms, kind="stable")[:top]
    scale = float(np.max(np.abs(gradient[order]))) if len(order) else 0.0
    shown = gradient[order] / scale if scale > 0 else gradient[order] * 0.0
    return {
        "units": [
            {
                "unit": int(j),
                "norm": float(norms[j]),
                "image": np.round(row.reshape(FIELD_SIZE, FIELD_SIZE), 3).tolist(),
            }
            for j, row in zip(order, shown, strict=True)
        ],
        "image_scale": scale,
    }


def learn_step(
    network: Network, canvas: NDArray[np.floating], label: int, learning_rate: float
) -> dict[str, Any]:
    """One step of gradient descent on one drawing, in place on ``network``.

    Returns
    -------
    dict
        ``empty``; and for a drawing with ink: ``label``, ``learning_rate``, ``before`` and
        ``after`` (the probabilities), ``loss_before`` and ``loss_after``.
    """
    image = drawing_image(canvas)
    if image is None:
        return {"empty": True}
    x = network.prepare(mnist_pixels(image))
    y = np.array([label])
    trace = network.trace(x, y)
    for W, b, dW, db in zip(
        network.weights, network.biases, trace.weight_gradients, trace.bias_gradients, strict=True
    ):
        W -= learning_rate * dW  # Θ ← Θ − α ∇Θ C, in the network's layout W = Θᵀ
        b -= learning_rate * db  # b ← b − α ∇b C
    after = network.trace(x, y)
    return {
        "empty": False,
        "label": label,
        "learning_rate": learning_rate,
        "before": _numbers(trace.Y_hat[:, 0]),
        "after": _numbers(after.Y_hat[:, 0]),
        "loss_before": trace.loss,
        "loss_after": after.loss,
    }


def _numbers(values: NDArray[np.floating]) -> list[float]:
    """Floats for JSON, to six significant digits (what a page can show, at a third the size)."""
    return [float(f"{v:.6g}") for v in values.astype(np.float64)]
