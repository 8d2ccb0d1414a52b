"""Preparing data as the post does: standardized inputs and one-hot labels.

Standardizing subtracts the training set's mean pixel value and divides by its standard deviation, so
inputs are centred on zero with unit spread, the range where sigmoids are steep and gradients flow.
The statistics come from the training set only (the test set stands for data never seen) and travel
inside the model file, so a prediction years later is preprocessed exactly as training was.

The same :class:`Standardizer` carries the other scalings a run may choose (:func:`input_scaling`):
to ``[0, 1]``, as tutorials divide pixels by 255 (``mean = 0``, ``scale = 255``), and none at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from glassnet.errors import InputError


@dataclass(frozen=True)
class Standardizer:
    """``x -> (x - mean) / scale``, with statistics fitted on training data.

    Attributes
    ----------
    mean : (1,) or (n_features,) array
        One value for all pixels (the default), or one per feature.
    scale : same shape as ``mean``
        Standard deviations; always positive.
    """

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        scale = np.asarray(self.scale, dtype=np.float64).reshape(-1)
        if mean.shape != scale.shape or mean.size == 0:
            raise InputError(
                f"standardizer mean and scale must have one equal, non-empty shape, got "
                f"{mean.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise InputError("standardizer statistics must be finite, with every scale positive")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def fit(cls, X: ArrayLike, *, per_feature: bool = False, chunk: int = 4096) -> Standardizer:
        """Fit on training inputs ``X`` of shape ``(n, n_features)``.

        With ``per_feature=False`` one mean and one standard deviation cover all pixels, which keeps
        rarely inked border pixels from being blown up by a tiny per-pixel deviation. Features with
        no spread get scale 1, so they pass through centred rather than divided by zero. The
        statistics are summed in float64 over chunks of rows (mean first, then squared deviations
        from it), so 60,000 images never need a second full-size copy.
        """
        data = np.asarray(X)
        if data.ndim != 2 or data.shape[0] == 0:
            raise InputError(
                f"expected a non-empty (n_samples, n_features) array, got {data.shape}"
            )
        axis, count = (0, data.shape[0]) if per_feature else (None, data.size)

        def chunks() -> Iterator[NDArray[np.float64]]:
            for lo in range(0, data.shape[0], chunk):
                yield data[lo : lo + chunk].astype(np.float64)

        mean = np.atleast_1d(sum(c.sum(axis=axis) for c in chunks()) / count)
        var = np.atleast_1d(sum(((c - mean) ** 2).sum(axis=axis) for c in chunks()) / count)
        std = np.sqrt(var)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean, std)

    @property
    def n_features(self) -> int | None:
        """Number of features it was fitted on, or ``None`` for one statistic shared by all."""
        return None if self.mean.size == 1 else int(self.mean.size)

    def transform(self, X: ArrayLike, dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
        """Return ``(X - mean) / scale`` as a new C-contiguous array of ``dtype``, shape of ``X``."""
        out = np.array(X, dtype=dtype, order="C", copy=True)
        out -= self.mean.astype(dtype)
        out /= self.scale.astype(dtype)
        return out


def input_scaling(
    scaling: str, X: ArrayLike, *, table: bool = False, standardize: bool = True
) -> Standardizer | None:
    """The scaling a run asks for, fitted on its training inputs ``X`` ``(n, ...)``.

    Parameters
    ----------
    scaling : {"standardize", "unit", "none"}
        ``"standardize"``: mean 0 and spread 1. For images that is the training loop's own (one
        mean and spread for all pixels), so ``None`` is returned and the loop fits it; a table's
        columns are each standardized here, since their units differ. ``"unit"``: to ``[0, 1]``,
        as tutorials divide 0..255 pixels by 255, and a table's columns by their range.
        ``"none"``: the raw values, through a standardizer that changes nothing (so that the
        training loop fits none).
    X : array_like
        The training inputs: images of 0..255 pixels, or a table's rows.
    table : bool, default False
        Whether ``X`` is a table's rows rather than images.
    standardize : bool, default True
        The training loop's ``standardize`` flag: when false, ``"standardize"`` gives raw values.

    Returns
    -------
    Standardizer or None
        For the network's ``standardizer``; ``None`` leaves the choice to the training loop.
    """
    if scaling == "none":
        return Standardizer(np.zeros(1), np.ones(1))
    if scaling == "unit" and not table:
        return Standardizer(np.zeros(1), np.full(1, 255.0))
    if scaling == "standardize" and not table:
        return None
    rows = flatten_images(X)
    if scaling == "unit":
        low, high = rows.min(axis=0).astype(np.float64), rows.max(axis=0).astype(np.float64)
        spread = high - low
        return Standardizer(low, np.where(spread > 0, spread, 1.0))
    if scaling == "standardize":
        return Standardizer.fit(rows, per_feature=True) if standardize else None
    raise InputError(f"scaling must be standardize, unit or none, got {scaling!r}")


def one_hot(
    labels: ArrayLike, n_classes: int, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Labels ``(n,)`` of integers in ``[0, n_classes)`` to one-hot rows ``(n, n_classes)``."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise InputError(f"labels must be a 1-D array, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y)) or not np.all(np.equal(np.mod(y, 1), 0)):
            raise InputError("labels must be whole numbers")
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(
            f"labels must lie in [0, {n_classes - 1}], found {int(y.min())}..{int(y.max())}"
        )
    out = np.zeros((y.size, n_classes), dtype=dtype)
    out[np.arange(y.size), y.astype(np.intp)] = 1
    return out


def flatten_images(images: ArrayLike) -> NDArray[np.generic]:
    """Images ``(n, height, width)`` to rows ``(n, height * width)``; rows pass through unchanged."""
    data = np.asarray(images)
    if data.ndim == 2:
        return data
    if data.ndim < 2:
        raise InputError(f"expected images (n, h, w) or rows (n, features), got shape {data.shape}")
    return data.reshape(data.shape[0], math.prod(data.shape[1:]))  # -1 fails for an empty batch
