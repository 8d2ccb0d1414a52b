"""What does the first layer look for? (``weights.png`` and ``weight_changes.png``)

Each hidden unit's input weights drawn as an image (784 weights as 28x28 for MNIST), and the same
for what training changed: the weights minus their random start, rebuilt from the run's seed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import InputError
from glassnet.plots.canvas import _colormap, _figure, save_figure

if TYPE_CHECKING:
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure

    from glassnet.network import Network


def _grid_columns(k: int) -> int:
    """Columns for ``k`` tiles: near square, preferring a shape that leaves no gap at the end."""
    side = math.ceil(math.sqrt(k))
    return min(range(side, side + 4), key=lambda c: (c * math.ceil(k / c) - k, c))


def _tile(images: NDArray[np.floating], columns: int, pad: int = 1) -> NDArray[np.floating]:
    """Lay ``(k, h, w)`` images in a grid ``columns`` wide, separated by ``pad`` NaN pixels."""
    k, h, w = images.shape
    rows = math.ceil(k / columns)
    mosaic = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        mosaic[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = image
    return mosaic


def weights_figure(
    network: Network,
    image_shape: tuple[int, int] = (28, 28),
    max_units: int = 100,
    *,
    initial: ArrayLike | None = None,
) -> Figure:
    """The first layer's weights, one image per hidden unit.

    Column ``j`` of ``W_1`` (shape ``(n_inputs, n_units)``) holds the weights from every pixel to
    unit ``j``; reshaped to ``image_shape`` it shows which pixels excite the unit (red) and which
    inhibit it (blue). Each unit is scaled by its own largest absolute weight, so the colour limits
    are symmetric and every unit's pattern is visible however large its weights are.

    Parameters
    ----------
    network : Network
    image_shape : (height, width)
        ``height * width`` must equal ``network.n_inputs``.
    max_units : int
        Draw at most this many units (the first ones).
    initial : (n_inputs, n_units) array, optional
        The first layer's weights before training. Given, the picture shows ``W_1 - initial``:
        what training changed. Where the random start is large next to the change (the post's
        standard-normal start), the weights themselves look like noise and only the change shows
        what the units learned.
    """
    units, n_units = _first_layer_units(network, image_shape, max_units, initial)
    k, height, width = units.shape
    mosaic = _tile(units / _largest(units), _grid_columns(k))
    width_in = min(11.0, max(5.0, 0.032 * mosaic.shape[1] + 1.5))
    figure = _figure(width_in + 1.6, width_in * mosaic.shape[0] / mosaic.shape[1] + 0.9)
    axes = figure.subplots()
    cmap = _colormap("RdBu_r").with_extremes(bad="white")
    image = axes.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    shown = f"all {n_units}" if k == n_units else f"the first {k} of {n_units}"
    what = "weights" if initial is None else "weight changes since initialization"
    figure.suptitle(f"first-layer {what}: {shown} hidden units, one {height}×{width} image each")
    _label_colorbar(figure.colorbar(image, ax=axes, shrink=0.7, ticks=[-1, 0, 1]), initial is None)
    return figure


def _label_colorbar(bar: Colorbar, weights: bool) -> None:
    """Say what the colours mean: for the weights themselves, or for what training changed."""
    if weights:
        bar.ax.set_yticklabels(["−max\n(inhibits)", "0", "+max\n(excites)"])
        bar.set_label("weight ÷ the unit's largest |weight|")
    else:
        bar.ax.set_yticklabels(["−max\n(learned to\ninhibit)", "0", "+max\n(learned to\nexcite)"])
        bar.set_label("change ÷ the unit's largest |change|")


def _first_layer_units(
    network: Network, image_shape: tuple[int, int], max_units: int, initial: ArrayLike | None
) -> tuple[NDArray[np.float64], int]:
    """The first ``max_units`` units' input weights, minus ``initial``, as ``(k, height, width)``.

    Returns them with the layer's number of units; a ``ValueError`` if a shape does not fit.
    """
    W = np.asarray(network.weights[0], dtype=np.float64)
    if initial is not None:
        start = np.asarray(initial, dtype=np.float64)
        if start.shape != W.shape:
            raise InputError(f"initial weights of shape {start.shape}, expected {W.shape}")
        W = W - start
    height, width = image_shape
    if height * width != W.shape[0]:
        raise InputError(f"the first layer has {W.shape[0]} inputs, not {height}x{width} pixels")
    if max_units < 1:
        raise InputError(f"max_units must be at least 1, got {max_units}")
    n_units = W.shape[1]
    k = min(n_units, max_units)
    return W[:, :k].T.reshape(k, height, width), n_units


def _largest(units: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each unit's largest absolute weight, ``(k, 1, 1)``; 1 for a unit whose weights are all 0."""
    largest = np.max(np.abs(units), axis=(1, 2), keepdims=True)
    return np.where(largest > 0, largest, 1.0)


def plot_first_layer_weights(
    network: Network,
    path: str | Path,
    image_shape: tuple[int, int] = (28, 28),
    max_units: int = 100,
    *,
    initial: ArrayLike | None = None,
) -> Path:
    """Write :func:`weights_figure` of ``network`` to the PNG ``path`` and return the path."""
    return save_figure(weights_figure(network, image_shape, max_units, initial=initial), path)


def initial_first_layer(network: Network, seed: int) -> NDArray[np.floating] | None:
    """The first layer's weights before training, rebuilt from the seed the run started from.

    A network built with the same sizes, activation, initializer, dtype and seed starts from the
    same weights. The rebuilt start is trusted only if it correlates with the trained weights
    (training moves weights from their start, it does not replace them); a start drawn from
    another seed or another version's initializer is uncorrelated, and gives ``None``.

    Returns
    -------
    (n_inputs, n_units) array or None
    """
    from glassnet.network import Network

    fresh = Network(
        network.layer_sizes,
        network.activation,
        initializer=network.initializer,
        seed=seed,
        dtype=network.dtype,
    )
    start, trained = fresh.weights[0].ravel(), network.weights[0].ravel()
    if np.std(start) == 0 or np.std(trained) == 0:
        return None
    # Unrelated draws of this many weights correlate within a few hundredths; 0.2 is far beyond.
    related = float(np.corrcoef(start, trained)[0, 1]) > 0.2
    return fresh.weights[0] if related else None
