"""Preparing data as the post does: standardized inputs and one-hot labels.

Standardizing subtracts the training set's mean pixel value and divides by its standard deviation, so
inputs are centred on zero with unit spread, the range where sigmoids are steep and gradients flow.
The statistics come from the training set only (the test set stands for data never seen) and travel
inside the model file, so a prediction years later is preprocessed exactly as training was.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray


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
            raise ValueError(
                f"standardizer mean and scale must have one equal, non-empty shape, got "
                f"{mean.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError("standardizer statistics must be finite, with every scale positive")
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
            raise ValueError(
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


def one_hot(
    labels: ArrayLike, n_classes: int, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Labels ``(n,)`` of integers in ``[0, n_classes)`` to one-hot rows ``(n, n_classes)``."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y)) or not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("labels must be whole numbers")
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
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
        raise ValueError(f"expected images (n, h, w) or rows (n, features), got shape {data.shape}")
    return data.reshape(data.shape[0], math.prod(data.shape[1:]))  # -1 fails for an empty batch
