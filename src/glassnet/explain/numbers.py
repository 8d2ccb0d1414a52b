"""The arithmetic the walkthrough shows beside the post's equations, each piece checkable.

* :func:`check_gradient`: a gradient from :meth:`Network.trace` against central differences of the
  loss, entry by entry (all of them, or a seeded sample of a large array);
* :func:`softmax_identity`: for one sample, the full softmax Jacobian times ``∇ŶC``, for the
  categorical loss (where it is ``ŷ − y``) and for the post's sum of binary cross-entropies (where
  it is not), each confirmed by central differences in ``z``;
* :func:`descent_step`: one step ``Θ ← Θ − α ∇Θ C``, the loss before and after, and the change the
  gradient predicts to first order, ``−α ‖∇C‖²``;
* small helpers to write shapes, superscripts and blocks of numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.activations import get_activation
from glassnet.gradcheck import evaluation_seconds, relative_error
from glassnet.reference import softmax
from glassnet.trace import Trace

if TYPE_CHECKING:
    from glassnet.network import Network

Array = NDArray[np.floating[Any]]

__all__ = [
    "GradientCheck",
    "StepResult",
    "check_gradient",
    "descent_step",
    "exact_loss",
    "matrix_lines",
    "shape",
    "softmax_identity",
    "sup",
    "walkthrough_evaluations",
    "walkthrough_seconds",
]

#: Central differences step: the error of order h² and the rounding of order ε/h balance near here.
H = 1e-5
#: Largest number of entries of one array checked; a larger array is checked on a seeded sample.
MAX_CHECKED = 3000


def walkthrough_evaluations(layer_sizes: Sequence[int]) -> int:
    """How many times the walkthrough's gradient checks evaluate the loss: twice for each entry
    checked of every weight and bias array (all of a small array, :data:`MAX_CHECKED` of a large
    one), plus the descent step's two."""
    entries = 0
    for fan_in, fan_out in pairwise(layer_sizes):
        entries += min(fan_in * fan_out, MAX_CHECKED) + min(fan_out, MAX_CHECKED)
    return 2 * entries + 2


def walkthrough_seconds(layer_sizes: Sequence[int], batch_size: int) -> float:
    """About how long the walkthrough of a network of these sizes on a batch of ``batch_size``
    takes: its loss evaluations at :func:`glassnet.gradcheck.evaluation_seconds` each, which
    dominate the trace and the text."""
    return walkthrough_evaluations(layer_sizes) * evaluation_seconds(layer_sizes, batch_size)


def exact_loss(
    weights: Sequence[Array], biases: Sequence[Array], activation: str, X: Array, Y: Array
) -> float:
    """The mean categorical cross-entropy of the batch, from the output scores by log-softmax.

    Not :meth:`Network.loss`: that one clips probabilities at the machine epsilon, and where a
    sample's probability is clipped its slope is 0, which central differences would faithfully
    report against backprop's ``Ŷ − Y``. This one is never clipped, so its gradient is exactly
    what backprop computes. It is also written apart from :mod:`glassnet.trace` (rows as samples,
    the activations of :mod:`glassnet.activations`), so a check shares nothing with the gradient
    it checks but the parameters.
    """
    f = get_activation(activation)
    A = X
    last = len(weights) - 1
    for l, (W, b) in enumerate(zip(weights, biases, strict=True)):
        Z = A @ W + b
        if l < last:
            with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; the result is exact
                A = f.forward(Z)
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))  # log-softmax
    return float(-np.sum(Y * log_p) / X.shape[0])


def sup(l: int | str) -> str:
    """The post's layer superscript: ``sup(2) == "⁽²⁾"``."""
    digits = str.maketrans("0123456789lL", "⁰¹²³⁴⁵⁶⁷⁸⁹ˡᴸ")
    return f"⁽{str(l).translate(digits)}⁾"


def shape(a: NDArray[Any]) -> str:
    """``"10×75"`` for a 10 by 75 array."""
    return "×".join(str(n) for n in a.shape)


def matrix_lines(a: NDArray[Any], rows: int = 10, columns: int = 6, first: int = 0) -> list[str]:
    """Rows of a matrix (or a vector) from column ``first`` on, four significant digits, and ``…``
    where more rows or columns follow."""
    m = np.atleast_2d(a)
    shown = m[:rows, first : first + columns]
    cells = [[f"{v:.4g}" for v in row] for row in shown]
    width = max(len(c) for row in cells for c in row)
    before = "… " if first > 0 else ""
    after = " …" if m.shape[1] > first + columns else ""
    lines = [before + "  ".join(c.rjust(width) for c in row) + after for row in cells]
    if m.shape[0] > rows:
        lines.append("…")
    return lines


@dataclass(frozen=True)
class GradientCheck:
    """One gradient against central differences."""

    name: str  # "∇Θ⁽¹⁾C"
    shape: str  # "3×784"
    checked: int  # entries compared
    total: int  # entries in the array
    relative_error: float  # ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) over those entries
    max_abs_difference: float
    passed: bool


def check_gradient(
    network: Network,
    X: Array,
    Y: Array,
    target: Array,
    analytic: Array,
    name: str,
    shown_shape: str,
    tolerance: float,
    rng: np.random.Generator,
) -> GradientCheck:
    """Compare ``analytic``, the gradient of ``network.loss(X, Y)`` for the parameter array
    ``target`` (one of the network's ``weights`` or ``biases``, and in its layout), with central
    differences.

    Each entry checked is nudged by ``±h`` in place and restored, so the network is unchanged.
    The loss is :func:`exact_loss`. ``shown_shape`` is the shape the post gives the gradient
    (``Θ = Wᵀ``).
    """

    def loss() -> float:
        return exact_loss(network.weights, network.biases, network.activation, X, Y)

    total = target.size
    entries = np.arange(total) if total <= MAX_CHECKED else rng.choice(total, MAX_CHECKED, False)
    positions = np.unravel_index(entries, target.shape)
    numeric = np.empty(len(entries))
    for k in range(len(entries)):
        at = tuple(int(p[k]) for p in positions)
        saved = target[at]
        target[at] = saved + H
        plus = loss()
        target[at] = saved - H
        minus = loss()
        target[at] = saved
        numeric[k] = (plus - minus) / (2 * H)
    exact = np.asarray(analytic, np.float64)[positions]
    error = relative_error(exact, numeric)
    return GradientCheck(
        name=name,
        shape=shown_shape,
        checked=len(entries),
        total=total,
        relative_error=error,
        max_abs_difference=float(np.max(np.abs(exact - numeric))),
        passed=error < tolerance,
    )


def softmax_identity(z: Array, y: Array) -> dict[str, Array]:
    """For one sample's output scores ``z`` and one-hot ``y`` (both ``(k,)``): how ``∇ŶC`` becomes
    ``∂C/∂z`` through the softmax, for the categorical loss and for the post's binary sum.

    Returns
    -------
    dict
        ``y_hat``; ``jacobian`` ``J = ∂ŷ/∂z = diag(ŷ) − ŷŷᵀ`` ``(k, k)``; for ``"categorical"``
        (``C = −Σ y log ŷ``) and ``"binary"`` (``C = −Σ [y log ŷ + (1 − y) log(1 − ŷ)]``): the
        gradient ``grad_<loss>`` ``= ∇ŶC``, the product ``delta_<loss>`` ``= Jᵀ ∇ŶC`` and the
        central differences ``numeric_<loss>`` of that loss in ``z``.
    """
    y_hat = softmax(z[:, None])[:, 0]
    jacobian = np.diag(y_hat) - np.outer(y_hat, y_hat)  # ∂ŷ_i/∂z_j, symmetric
    losses = {
        "categorical": lambda p: -np.sum(y * np.log(p)),
        "binary": lambda p: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)),
    }
    grads = {
        "categorical": -y / y_hat,
        "binary": -y / y_hat + (1 - y) / (1 - y_hat),
    }
    out: dict[str, Array] = {"y_hat": y_hat, "jacobian": jacobian}
    for name, loss in losses.items():
        out[f"grad_{name}"] = grads[name]
        out[f"delta_{name}"] = jacobian.T @ grads[name]  # the chain rule, ∂C/∂z = Jᵀ ∇ŶC
        out[f"numeric_{name}"] = _numeric_in_z(loss, z)
    return out


def _numeric_in_z(loss: Any, z: Array) -> Array:
    """Central differences of ``loss(softmax(z))`` in each entry of ``z``."""
    numeric = np.empty_like(z)
    for i in range(len(z)):
        step = np.zeros_like(z)
        step[i] = H
        plus = loss(softmax((z + step)[:, None])[:, 0])
        minus = loss(softmax((z - step)[:, None])[:, 0])
        numeric[i] = (plus - minus) / (2 * H)
    return numeric


@dataclass(frozen=True)
class StepResult:
    """One step of gradient descent on the batch."""

    learning_rate: float
    loss_before: float
    loss_after: float
    predicted_change: float  # −α ‖∇C‖², the first-order change
    gradient_norm: float  # ‖∇C‖ over every weight and bias


def descent_step(
    network: Network, trace: Trace, X: Array, Y: Array, learning_rate: float
) -> StepResult:
    """The loss (:func:`exact_loss`) before and after ``Θ ← Θ − α ∇Θ C`` and ``b ← b − α ∇b C`` on
    the batch; ``network`` is left as it was (the step is taken on copies of its parameters)."""
    pairs = zip(
        network.weights, network.biases, trace.weight_gradients, trace.bias_gradients, strict=True
    )
    stepped = [(W - learning_rate * dW, b - learning_rate * db) for W, b, dW, db in pairs]
    before = exact_loss(network.weights, network.biases, network.activation, X, Y)
    after = exact_loss([W for W, _ in stepped], [b for _, b in stepped], network.activation, X, Y)
    squared = sum(float(np.sum(g**2)) for g in trace.weight_gradients + trace.bias_gradients)
    return StepResult(
        learning_rate=learning_rate,
        loss_before=before,
        loss_after=after,
        predicted_change=-learning_rate * squared,
        gradient_norm=float(np.sqrt(squared)),
    )
