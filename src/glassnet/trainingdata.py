"""Training data, checked once and laid out the way the engines read it.

Before the first step, :func:`prepare` checks the inputs and labels (shapes, dtypes, finite values,
labels in range), holds out a validation split when asked, fits the standardizer on the training
rows only, and writes every set as standardized rows with a last column of ones, ``[X, 1]``, in the
network's dtype (see :mod:`glassnet.engine.base`). Nothing in the epochs that follow checks or
converts again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import InputError
from glassnet.preprocess import Standardizer, flatten_images, one_hot

if TYPE_CHECKING:
    from glassnet.config import TrainConfig
    from glassnet.history import TrainingState
    from glassnet.network import Network

Array = NDArray[np.floating[Any]]
Labels = NDArray[np.int64]


@dataclass
class TrainingData:
    """A run's data, checked and prepared once: rows ``[X, 1]`` of the network's dtype."""

    X: Array  # (n, n_inputs + 1), standardized, with the ones column the engines read
    Y: Array  # (n, n_classes), one-hot
    labels: Labels
    val: tuple[Array, Labels] | None
    test: tuple[Array, Labels] | None
    image_shape: tuple[int, int] | None
    fill: float  # the value of a blank pixel after standardization, for shifted images
    weights: Array | None = None  # (n,): each sample's weight in the loss, or None for all alike
    blank: Array | None = None  # (n_inputs,): each input's value where the raw input is 0
    unit: Array | None = None  # (n_inputs,): each input's change per raw unit, where they differ


def prepare(
    network: Network,
    config: TrainConfig,
    X: ArrayLike,
    y: ArrayLike,
    validation_data: tuple[ArrayLike, ArrayLike] | None,
    test_data: tuple[ArrayLike, ArrayLike] | None,
    resume: TrainingState | None,
    image_shape: tuple[int, int] | None,
    sample_weight: ArrayLike | None = None,
    class_weight: str = "none",
) -> TrainingData:
    """Check the data, hold out a validation split, fit the standardizer, lay the rows out."""
    rows, labels = _check_data(network, X, y, "training")
    weights = _sample_weights(sample_weight, labels, network.n_classes, class_weight)
    if image_shape is None:
        image_shape = _image_shape(np.shape(X), network.n_inputs)
    asked = [
        name
        for name in ("augment_shift", "augment_affine", "augment_elastic", "augment_flip")
        if getattr(config, name)
    ]
    if asked and image_shape is None:
        raise InputError(
            f"{asked[0].replace('_', ' ')} changes images: it needs square images or an "
            f"image_shape, and these {network.n_inputs} inputs are not one"
        )
    if validation_data is None and config.validation_split > 0:
        order = np.random.default_rng(config.seed + 1).permutation(len(rows))
        n_val = max(1, round(len(rows) * config.validation_split))
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        validation_data = (rows[val_idx], labels[val_idx])
        rows, labels = rows[train_idx], labels[train_idx]
        weights = None if weights is None else weights[train_idx]
    if len(rows) == 0:
        raise InputError(
            "no training samples"
            + (" left after the validation split" if config.validation_split else "")
        )
    if resume is not None:
        network.standardizer = resume.standardizer
    elif config.standardize and network.standardizer is None:
        network.standardizer = Standardizer.fit(rows)

    def held_out(
        pair: tuple[ArrayLike, ArrayLike] | None, what: str
    ) -> tuple[Array, Labels] | None:
        if pair is None:
            return None
        held_rows, held_labels = _check_data(network, *pair, what)
        if len(held_rows) == 0:
            raise InputError(f"{what} data has no samples")
        return with_ones_standardized(network, held_rows), held_labels

    zero = network.prepare(np.zeros((1, network.n_inputs)))[0]
    unit = network.prepare(np.ones((1, network.n_inputs)))[0] - zero
    return TrainingData(
        X=with_ones_standardized(network, rows),
        Y=one_hot(labels, network.n_classes, network.dtype),
        labels=labels,
        val=held_out(validation_data, "validation"),
        test=held_out(test_data, "test"),
        image_shape=image_shape,
        fill=float(zero[0]),
        weights=None if weights is None else weights.astype(network.dtype),
        blank=zero,
        unit=None if np.all(unit == unit[0]) else unit,
    )


def _sample_weights(
    sample_weight: ArrayLike | None, labels: Labels, n_classes: int, class_weight: str
) -> NDArray[np.float64] | None:
    """Each training sample's weight in the loss ``(1/m) Σᵢ wᵢ cᵢ``: ``sample_weight`` times the
    class weights (``balanced``: ``n / (classes · count of the class)``), or None for all alike."""
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight)
        if weights.shape != labels.shape:
            raise InputError(
                f"sample_weight must have one weight per sample, shape {labels.shape}, got "
                f"{weights.shape}"
            )
        if not np.issubdtype(weights.dtype, np.number) or np.issubdtype(
            weights.dtype, np.complexfloating
        ):
            raise InputError(f"sample_weight must be real numbers, got dtype {weights.dtype}")
        weights = weights.astype(np.float64)
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise InputError("sample_weight must be finite and at least 0")
        if not weights.any():
            raise InputError("sample_weight is 0 for every sample: nothing to learn from")
    if class_weight == "balanced":
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        present = counts > 0
        per_class = np.zeros(n_classes)
        per_class[present] = len(labels) / (present.sum() * counts[present])
        balanced = per_class[labels]
        weights = balanced if weights is None else weights * balanced
    return weights


def with_ones_standardized(network: Network, rows: NDArray[Any], chunk: int = 8192) -> Array:
    """Standardized rows with a last column of ones, ``(n, n_inputs + 1)``: the layout the engines
    train on, filled in chunks so that no second full copy is held."""
    out = np.empty((len(rows), network.n_inputs + 1), network.dtype)
    out[:, -1] = 1.0
    for lo in range(0, len(rows), chunk):
        out[lo : lo + chunk, :-1] = network.prepare(rows[lo : lo + chunk])
    return out


def _image_shape(shape: tuple[int, ...], n_inputs: int) -> tuple[int, int] | None:
    if len(shape) == 3:
        return int(shape[1]), int(shape[2])
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None


def _check_data(
    network: Network, X: ArrayLike, y: ArrayLike, what: str
) -> tuple[NDArray[Any], Labels]:
    rows = flatten_images(X)
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise InputError(f"{what} labels must be a 1-D array, got shape {labels.shape}")
    if len(rows) != len(labels):
        raise InputError(f"{what} data has {len(rows)} samples but {len(labels)} labels")
    if rows.ndim != 2 or rows.shape[1] != network.n_inputs:
        raise InputError(
            f"{what} inputs must have {network.n_inputs} features, got shape {np.shape(X)}"
        )
    if not (np.issubdtype(rows.dtype, np.number) or rows.dtype == np.bool_):
        raise InputError(f"{what} inputs must be numbers, got dtype {rows.dtype}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{what} labels must be integers, got dtype {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= network.n_classes):
        raise InputError(
            f"{what} labels must lie in 0..{network.n_classes - 1}, found "
            f"{int(labels.min())}..{int(labels.max())}"
        )
    if not np.issubdtype(rows.dtype, np.integer) and not np.all(np.isfinite(rows)):
        raise InputError(f"{what} inputs contain NaN or infinite values")
    return rows, labels.astype(np.int64)
