"""Measuring a classifier: accuracy, the confusion matrix and per-class figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of predictions equal to the labels."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else float("nan")


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray[np.int64]:
    """``C[i, j]`` counts samples of true class ``i`` predicted as class ``j``; shape ``(k, k)``."""
    t, p = _pair(y_true, y_pred)
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ValueError(f"labels and predictions must lie in [0, {n_classes - 1}]")
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
        raise ValueError(f"labels {t.shape} and predictions {p.shape} must be equal 1-D shapes")
    return t.astype(np.int64), p.astype(np.int64)
