"""Training images beside what augmentation makes of them, epoch after epoch. (``augmented.png``)

Each row is one training image: the original on the left, then the variants training shows the
network in its first epochs, made by :class:`glassnet.augment.Augmentation` with the run's seed, as
a run makes them. A look at the grid says whether the settings keep every digit a digit: turned too
far a 6 becomes a 9, distorted too hard a 7 becomes a scribble.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from glassnet.augment import Augmentation
from glassnet.errors import InputError
from glassnet.plots.canvas import _figure, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def describe_augmentation(
    shift: int = 0,
    affine: Sequence[float] = (),
    elastic: Sequence[float] = (),
    flip: bool = False,
) -> str:
    """The changes in words: ``"shift ±2 px, turn ±15°, scale 1±0.15, shear ±15°, elastic α 34 σ 4"``."""
    parts = ["mirrored half the time"] if flip else []
    if shift:
        parts.append(f"shift ±{shift} px")
    if affine:
        degrees, scale, shear = affine
        parts += [f"turn ±{degrees:g}°", f"scale 1±{scale:g}", f"shear ±{shear:g}°"]
    if elastic:
        alpha, sigma = elastic
        parts.append(f"elastic α {alpha:g} σ {sigma:g}")
    return ", ".join(parts) or "no augmentation"


def augmented_figure(
    images: ArrayLike,
    *,
    shift: int = 0,
    affine: Sequence[float] = (),
    elastic: Sequence[float] = (),
    flip: bool = False,
    seed: int = 0,
    variants: int = 7,
    labels: Sequence[str] | None = None,
) -> Figure:
    """Each of ``images`` ``(rows, height, width)`` beside ``variants`` augmented versions of it.

    Variant ``e`` of row ``i`` is what :class:`~glassnet.augment.Augmentation` makes of row ``i``
    of an epoch's copy in epoch ``e`` for ``seed``: the draws a run with these settings makes.
    ``labels``, one per row, go beside the originals.
    """
    pictures = np.asarray(images, dtype=np.float32)
    if pictures.ndim != 3 or len(pictures) == 0:
        raise InputError(f"expected (rows, height, width) images, got shape {pictures.shape}")
    if not (shift or affine or elastic or flip):
        raise InputError(
            "no augmentation to draw: give a shift, an affine change, an elastic distortion or "
            "flips"
        )
    rows, height, width = pictures.shape
    augmentation = Augmentation(
        (height, width), shift, tuple(affine), tuple(elastic), seed, flip=bool(flip)
    )
    flat = pictures.reshape(rows, height * width)
    figure = _figure(1.0 * (variants + 1) + 0.4, 1.0 * rows + 0.8)
    grid = figure.subplots(rows, variants + 1, squeeze=False)
    low, high = float(flat.min()), float(flat.max())
    for epoch in range(variants + 1):
        made = flat.copy()
        if epoch:
            augmentation.apply(made, 0, rows, epoch - 1)
        for i in range(rows):
            axes = grid[i, epoch]
            axes.imshow(
                made[i].reshape(height, width), cmap="gray_r", vmin=low, vmax=high,
                interpolation="nearest",
            )  # fmt: skip
            axes.set_xticks([])
            axes.set_yticks([])
            if i == 0:
                axes.set_title("original" if epoch == 0 else f"epoch {epoch}", fontsize=8)
            if epoch == 0 and labels is not None:
                axes.set_ylabel(str(labels[i]), fontsize=8, rotation=0, labelpad=10)
    described = describe_augmentation(shift, affine, elastic, flip)
    figure.suptitle(f"{described} (seed {seed})", fontsize=9)
    return figure


def plot_augmented(images: ArrayLike, path: str | Path, **options: Any) -> Path:
    """Write :func:`augmented_figure` (``options`` are its keywords) to the PNG ``path``."""
    return save_figure(augmented_figure(images, **options), path)


__all__ = ["augmented_figure", "describe_augmentation", "plot_augmented"]
