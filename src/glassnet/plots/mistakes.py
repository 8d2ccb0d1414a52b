"""The test images the network gets wrong with the most confidence. (``mistakes.png``)"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import InputError
from glassnet.plots.canvas import _figure, _no_data, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def worst_mistakes(labels: ArrayLike, probabilities: ArrayLike, n: int) -> NDArray[np.intp]:
    """Indices of the ``n`` misclassified samples predicted with the highest probability.

    Parameters
    ----------
    labels : (m,) array of int
    probabilities : (m, k) array
        Class probabilities, e.g. from :meth:`Network.predict_proba`.
    n : int

    Returns
    -------
    (min(n, number of mistakes),) array of int
        Most confident mistake first.
    """
    y, P = np.asarray(labels), np.asarray(probabilities)
    if P.ndim != 2 or y.shape != (P.shape[0],):
        raise InputError(f"labels of shape {y.shape} do not match probabilities of shape {P.shape}")
    predicted = np.argmax(P, axis=1)
    wrong = np.flatnonzero(predicted != y)
    return wrong[np.argsort(-P[wrong, predicted[wrong]], kind="stable")[: max(n, 0)]]


def _percent(p: float) -> str:
    """A probability as a percentage that tells 99.7% from 100%."""
    if p < 0.995:
        return f"{p:.0%}"
    return f"{p:.2%}" if p < 0.99995 else ">99.99%"


def mistakes_figure(
    images: ArrayLike,
    labels: ArrayLike,
    probabilities: ArrayLike,
    class_names: Sequence[str],
    n: int = 25,
    image_shape: tuple[int, int] | None = None,
) -> Figure:
    """The most confidently misclassified images, each with its true and predicted class.

    Parameters
    ----------
    images : (m, height, width) or (m, n_pixels) array
        Raw images, as a dataset holds them.
    labels : (m,) array of int
        True classes.
    probabilities : (m, k) array
        The network's class probabilities for ``images``.
    class_names : sequence of k str
    n : int
        How many mistakes to show.
    image_shape : (height, width), optional
        Needed when ``images`` are flat rows that are not square.
    """
    y, P = np.asarray(labels), np.asarray(probabilities)
    pictures = _as_images(images, len(y), image_shape)
    chosen = worst_mistakes(y, P, n)
    predicted = np.argmax(P, axis=1)
    if len(chosen) == 0:
        figure = _figure(5, 2.5)
        _no_data(figure.subplots(), f"no mistakes among {len(y):,} images")
        return figure
    columns = min(len(chosen), math.ceil(math.sqrt(n)))
    rows = math.ceil(len(chosen) / columns)
    figure = _figure(max(1.6 * columns + 0.4, 5.5), 1.85 * rows + 0.7)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes, index in zip(grid, chosen, strict=False):
        truth, guess = class_names[int(y[index])], class_names[int(predicted[index])]
        _draw_mistake(axes, pictures[index], truth, guess, float(P[index, predicted[index]]))
    for axes in grid:
        axes.set_axis_off()
    n_wrong = int(np.sum(predicted != y))
    figure.suptitle(
        f"the {len(chosen)} most confident of {n_wrong:,} mistakes on {len(y):,} "
        "images\n(percent: the probability given to the wrong class)"
    )
    return figure


def _as_images(
    images: ArrayLike, n_labels: int, image_shape: tuple[int, int] | None
) -> NDArray[Any]:
    """``images`` as ``(m, height, width)``: flat rows reshaped to ``image_shape``, else square."""
    pictures = np.asarray(images)
    if len(pictures) != n_labels:
        raise InputError(f"{len(pictures)} images but {n_labels} labels")
    if pictures.ndim == 2:
        side = math.isqrt(pictures.shape[1])
        if image_shape is None and side * side != pictures.shape[1]:
            raise InputError(f"images of {pictures.shape[1]} pixels need an image_shape")
        pictures = pictures.reshape(len(pictures), *(image_shape or (side, side)))
    return pictures


def _draw_mistake(
    axes: Axes, picture: NDArray[Any], truth: str, guess: str, confidence: float
) -> None:
    """One mistake: the image, its true class, and the class predicted with ``confidence``."""
    axes.imshow(picture, cmap="gray_r", interpolation="nearest")
    axes.set_title(
        f"true {truth}\npredicted {guess} {_percent(confidence)}", fontsize=8, color="firebrick"
    )


def plot_mistakes(
    images: ArrayLike,
    labels: ArrayLike,
    probabilities: ArrayLike,
    class_names: Sequence[str],
    path: str | Path,
    n: int = 25,
    image_shape: tuple[int, int] | None = None,
) -> Path:
    """Write :func:`mistakes_figure` to the PNG ``path`` and return the path."""
    figure = mistakes_figure(images, labels, probabilities, class_names, n, image_shape)
    return save_figure(figure, path)
