"""Reading a training history: the per-epoch figures the pictures are drawn from.

A history is a list of rows, one per epoch, as :class:`glassnet.training.History` records them
(``train_loss``, ``val_accuracy``, ``learning_rate``, ``grad_norm_1 .. grad_norm_L``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from glassnet.history import learning_speed_ratio

Rows = Sequence[Mapping[str, Any]]


def column(rows: Rows, key: str) -> tuple[list[int], list[float]]:
    """The epochs and values of one history figure, leaving out epochs where it is missing.

    Parameters
    ----------
    rows : sequence of dict
        History rows, one per epoch (see :class:`glassnet.training.History`).
    key : str
        A row key such as ``"val_accuracy"`` or ``"grad_norm_1"``.

    Returns
    -------
    epochs, values : lists of equal length
        Values that are ``None`` or not finite are skipped.
    """
    epochs, values = [], []
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None or isinstance(value, bool) or not _finite(value):
            continue
        epochs.append(int(row.get("epoch") or i + 1))
        values.append(float(value))
    return epochs, values


def n_layers(rows: Rows) -> int:
    """Number of weight layers ``L`` in the history: the largest ``l`` of a ``grad_norm_l`` key."""
    keys = {key for row in rows for key in row if key.startswith("grad_norm_")}
    # At most MAX_LAYERS: a history naming grad_norm_10000000000 would have plots loop for hours.
    layers = [int(k[10:]) for k in keys if k[10:].isdigit() and len(k[10:]) <= 6]
    return min(max(layers, default=0), MAX_LAYERS)


#: The most layers whose gradients a plot draws.
MAX_LAYERS = 1000


def _finite(value: Any) -> bool:
    """A finite number a float holds (a JSON integer may be too large: ``OverflowError``)."""
    try:
        return math.isfinite(float(value))
    except (OverflowError, TypeError, ValueError):
        return False


def gradient_series(
    rows: Rows, layer_sizes: Sequence[int] | None = None
) -> dict[int, tuple[list[int], list[float]]]:
    """Each layer's weight gradient per epoch, per weight when the layer sizes are known.

    The history's ``grad_norm_l`` is the Frobenius norm ``‖∂C/∂W_l‖``, which grows with the
    square root of the number of weights: a 784x50 first layer (39,200 weights) shows a larger
    norm than a 50x10 last layer (500 weights) even when each of its weights gets a smaller
    gradient. Dividing by ``√(fan_in · fan_out)`` gives the root-mean-square gradient of one
    weight, which compares layers of any size: how fast a weight of each layer learns.

    Parameters
    ----------
    rows : sequence of dict
        History rows with ``grad_norm_1 .. grad_norm_L``.
    layer_sizes : sequence of L + 1 int, optional
        ``[n_inputs, hidden..., n_classes]``; without it the norms are returned unscaled.

    Returns
    -------
    dict
        Layer number ``l`` (from 1) to ``(epochs, values)``; layers with no values are left out.
    """
    L = n_layers(rows)
    per_weight = layer_sizes is not None and len(layer_sizes) == L + 1
    series = {}
    for layer in range(1, L + 1):
        epochs, norms = column(rows, f"grad_norm_{layer}")
        if per_weight and layer_sizes is not None:
            norms = [g / math.sqrt(layer_sizes[layer - 1] * layer_sizes[layer]) for g in norms]
        if epochs:
            series[layer] = (epochs, norms)
    return series


def learning_speed_series(rows: Rows) -> tuple[list[int], list[float]]:
    """Per epoch, how fast the first hidden layer learns against the last hidden layer:
    :func:`glassnet.history.learning_speed_ratio`, the one definition every report uses. Far below
    1, the gradient vanishes on its way back toward the input."""
    pairs = [(row.get("epoch"), learning_speed_ratio(row)) for row in rows]
    kept = [(e, r) for e, r in pairs if isinstance(e, int) and r is not None and r > 0]
    return [e for e, _ in kept], [r for _, r in kept]
