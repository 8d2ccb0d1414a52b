"""Which classes does the network confuse with which? (``confusion.png``)"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import InputError
from glassnet.plots.canvas import _figure, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def confusion_figure(confusion: ArrayLike, class_names: Sequence[str]) -> Figure:
    """An annotated confusion matrix: true classes down, predicted classes across.

    Correct predictions (the diagonal) are shaded green, mistakes red, each on its own scale, so
    the most common confusions stand out against a diagonal a hundred times larger.

    Parameters
    ----------
    confusion : (k, k) array of int
        ``confusion[i, j]`` counts samples of class ``i`` predicted as ``j``
        (:func:`glassnet.metrics.confusion_matrix`).
    class_names : sequence of k str
    """
    C = np.asarray(confusion)
    k = len(class_names)
    if C.shape != (k, k):
        raise InputError(f"confusion matrix of shape {C.shape} for {k} class names")
    side = max(6.0, 0.62 * k + 2.5)
    figure = _figure(side + 1.0, side)
    axes = figure.subplots()
    worst = _shade(axes, C)
    _write_counts(axes, C, worst)
    _label_classes(axes, C, class_names)
    total, correct = int(C.sum()), int(np.trace(C))
    accuracy = correct / total if total else math.nan
    axes.set_title(
        f"confusion matrix: {correct:,} of {total:,} right ({accuracy:.2%})\n"
        f"green: correct; red: mistakes (darkest: {worst})"
    )
    return figure


def _shade(axes: Axes, C: NDArray[Any]) -> int:
    """Shade the diagonal green and the mistakes red; return the count shaded darkest red.

    Each colour has its own scale, from 0 to the largest count it shades (at least 1).
    """
    diagonal = np.eye(len(C), dtype=bool)
    worst = max(int(C[~diagonal].max(initial=0)), 1)
    best = max(int(C[diagonal].max(initial=0)), 1)
    axes.imshow(np.ma.masked_array(C, mask=diagonal), cmap="Reds", vmin=0, vmax=worst)
    axes.imshow(np.ma.masked_array(C, mask=~diagonal), cmap="Greens", vmin=0, vmax=best * 1.6)
    return worst


def _write_counts(axes: Axes, C: NDArray[Any], worst: int) -> None:
    """Write each count in its cell, but not the zeros off the diagonal, nor past 30 classes.

    A count is white where its red is darker than 0.6 of ``worst`` (the darkest red's count).
    """
    k = len(C)
    for i, j in np.ndindex(k, k) if k <= 30 else ():
        if C[i, j] or i == j:
            white = i != j and C[i, j] > 0.6 * worst
            axes.text(
                j,
                i,
                str(int(C[i, j])),
                ha="center",
                va="center",
                fontsize=9 if k <= 12 else 7,
                color="white" if white else "black",
            )


def _label_classes(axes: Axes, C: NDArray[Any], class_names: Sequence[str]) -> None:
    """Name the predicted classes across and the true classes down, each with its recall."""
    k = len(class_names)
    recall = np.diag(C) / np.maximum(C.sum(axis=1), 1)
    long_names = max((len(n) for n in class_names), default=0) > 3
    axes.set_xticks(
        range(k),
        class_names,
        rotation=40 if long_names else 0,
        ha="right" if long_names else "center",
    )
    axes.set_yticks(range(k), [f"{n}  {r:.1%}" for n, r in zip(class_names, recall, strict=True)])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class, and the percentage of it classified correctly")


def plot_confusion(confusion: ArrayLike, class_names: Sequence[str], path: str | Path) -> Path:
    """Write :func:`confusion_figure` to the PNG ``path`` and return the path."""
    return save_figure(confusion_figure(confusion, class_names), path)
