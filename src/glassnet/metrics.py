"""Measuring a classifier: accuracy, the confusion matrix and per-class figures; and what the
training loop measures after each epoch, the loss and accuracy of held-out data and the per-layer
figures that make the vanishing gradient visible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import InputError
from glassnet.losses import cross_entropy

if TYPE_CHECKING:
    from glassnet.engine import Engine

Array = NDArray[np.floating[Any]]


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of predictions equal to the labels."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else float("nan")


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray[np.int64]:
    """``C[i, j]`` counts samples of true class ``i`` predicted as class ``j``; shape ``(k, k)``."""
    t, p = _pair(y_true, y_pred)
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise InputError(f"labels and predictions must lie in [0, {n_classes - 1}]")
    counts = np.bincount(t.astype(np.int64) * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def per_class_accuracy(confusion: NDArray[np.int64]) -> NDArray[np.float64]:
    """Recall of each class: the diagonal over the row sums (NaN for a class with no samples)."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def format_confusion(confusion: NDArray[np.int64], class_names: Sequence[str]) -> str:
    """The confusion matrix as an aligned text table, true classes down, predictions across."""
    names = [n[:9] for n in class_names]
    width = max(max(len(n) for n in names), len(str(int(confusion.max(initial=0)))), 4)
    header = " " * (width + 2) + " ".join(n.rjust(width) for n in names)
    rows = [
        names[i].rjust(width) + "  " + " ".join(str(v).rjust(width) for v in row)
        for i, row in enumerate(confusion)
    ]
    return "\n".join(["true \\ predicted", header, *rows])


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1:
        raise InputError(f"labels {t.shape} and predictions {p.shape} must be equal 1-D shapes")
    return t.astype(np.int64), p.astype(np.int64)


def evaluate(
    engine: Engine, X1: Array, labels: NDArray[np.int64], batch_size: int = 1024
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of prepared rows ``[X, 1]`` against integer ``labels``.

    Evaluation runs the engine's training forward pass on its reused buffers, with no checks or
    copies of data that was checked once already.
    """
    total_loss, correct = 0.0, 0
    for lo in range(0, len(X1), batch_size):
        with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; the result is exact
            P = engine.forward(X1[lo : lo + batch_size])
        rows = labels[lo : lo + batch_size]
        total_loss += cross_entropy(P, rows) * len(rows)
        correct += correct_count(P, rows)
    return total_loss / len(X1), correct / len(X1)


def correct_count(P: Array, labels: NDArray[np.int64]) -> int:
    """How many rows of probabilities ``P`` put the most on the row's label."""
    return int(np.count_nonzero(np.argmax(P, axis=1) == labels))


def layer_statistics(engine: Engine, X1: Array, Y: Array) -> dict[str, float]:
    """Per-layer figures on a fixed probe batch: gradient norm, weight norm, saturated fraction.

    A gradient that shrinks toward the input (``grad_rms_l``, per weight, falling as ``l`` falls) is
    the vanishing gradient; the saturated fraction says why (sigmoid units pinned near 0 or 1 pass
    back almost nothing). For ReLU layers the fraction counts dead units, which output zero for
    every probe sample.
    """
    with np.errstate(over="ignore"):
        outputs = engine.backprop(X1, Y)
    params = engine.params
    stats: dict[str, float] = {}
    for l, (g, W) in enumerate(zip(params.weight_grads, params.weights, strict=True), start=1):
        stats[f"grad_norm_{l}"] = float(np.linalg.norm(g))
        # ‖dC/db_l‖ = ‖delta_l summed over the batch‖: how fast layer l's units learn (Nielsen's
        # measure of the vanishing gradient; layers of equal width compare directly).
        stats[f"bias_grad_norm_{l}"] = float(np.linalg.norm(params.bias_grads[l - 1]))
        # The root mean square per weight compares layers of different sizes fairly: the norm of a
        # 784x50 gradient adds up 39,200 entries, that of a 50x10 one only 500.
        stats[f"grad_rms_{l}"] = stats[f"grad_norm_{l}"] / math.sqrt(g.size)
        stats[f"weight_norm_{l}"] = float(np.linalg.norm(W))
    for l, A in enumerate(outputs[:-1], start=1):
        stats[f"saturation_{l}"] = float(np.mean(engine.activation.saturated(A)))
    return stats
