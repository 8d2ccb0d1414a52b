"""Does the gradient reach the first layer? (``gradients.png``)

The gradient of each layer's weights on a log scale, from the input layer (dark) to the output
layer (light). When the early layers' lines lie far below the last layer's, the early layers learn
slowly: the *vanishing gradient*. Beside it, the fraction of saturated (sigmoid, tanh) or dead
(ReLU) units per hidden layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.history import learning_speed_ratio
from glassnet.plots.canvas import (
    _colormap,
    _epoch_axis,
    _figure,
    _legend_below,
    _line,
    _log_scale,
    _no_data,
    _percent_axis,
    save_figure,
)
from glassnet.plots.history import Rows, column, gradient_series, n_layers

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Layer number ``l`` (from 1) to its ``(epochs, values)``, as :func:`gradient_series` gives them.
_Series = Mapping[int, tuple[list[int], list[float]]]


def _layer_colors(L: int) -> list[Any]:
    # Dark for the input side, light for the output side; viridis' last tenth is too pale on white.
    colors = _colormap("viridis")(np.linspace(0.0, 0.88, max(L, 2)))
    return [colors[i] for i in range(max(L, 1))]


def _layer_label(layer: int, L: int, layer_sizes: Sequence[int] | None) -> str:
    label = f"layer {layer}"
    if layer_sizes is not None and len(layer_sizes) == L + 1:
        label += f"  {layer_sizes[layer - 1]}→{layer_sizes[layer]}"
    return label + {1: " (input)", L: " (output)"}.get(layer, "")


def _times(ratio: float) -> str:
    """``0.12`` as ``"1/8.3"``, ``0.01`` as ``"1/100"``, ``1.4`` as ``"1.4×"``."""
    if not (ratio > 0 and math.isfinite(ratio)):
        return "n/a"
    if ratio >= 0.5:
        return f"{ratio:.2g}×"
    return f"1/{1 / ratio:.1f}" if ratio > 0.1 else f"1/{1 / ratio:,.0f}"


def gradient_norms_figure(
    rows: Rows,
    *,
    layer_sizes: Sequence[int] | None = None,
    activation: str | None = None,
    title: str | None = None,
) -> Figure:
    """Per-layer weight gradients (log scale) and saturated or dead units, epoch by epoch.

    Three panels: left, each layer's gradient per epoch, one line per layer coloured from the
    input layer (dark) to the output layer (light); middle, the same against depth at the first
    and last epoch, where a vanishing gradient is a line climbing from layer 1 to layer ``L``;
    right, ``saturation_1 .. saturation_{L-1}``, the fraction of each hidden layer's units that
    are saturated (sigmoid, tanh) or dead (ReLU) on the probe batch.

    Parameters
    ----------
    rows : sequence of dict
        History rows with ``grad_norm_l`` and ``saturation_l`` keys.
    layer_sizes : sequence of int, optional
        The network's ``[n_inputs, hidden..., n_classes]``. With it the gradients are shown per
        weight (root mean square, comparable across layers of different sizes; see
        :func:`gradient_series`) and each layer is labelled ``fan_in→fan_out``; without it, as
        the recorded Frobenius norms.
    activation : str, optional
        The hidden activation; says whether the right panel counts saturated or dead units.
    title : str, optional
        Heading; by default the last epoch's learning-speed ratio of the first hidden layer to the
        last (:func:`glassnet.history.learning_speed_ratio`).
    """
    L = n_layers(rows)
    series = gradient_series(rows, layer_sizes)
    per_weight = layer_sizes is not None and len(layer_sizes) == L + 1
    figure = _figure(15, 5.0)
    over_time, by_depth, saturation = figure.subplots(1, 3, width_ratios=[1.25, 0.9, 1.1])
    colors = _layer_colors(L)
    _draw_over_time(over_time, series, L, colors, layer_sizes, per_weight)
    _draw_by_depth(by_depth, series, colors, per_weight)
    _draw_saturation(saturation, rows, L, colors, activation)
    # One legend for all three panels: a layer keeps its colour, and a hidden layer's saturation
    # line is drawn in the colour of the layer that computes it.
    if series:
        _legend_below(figure, over_time, ncol=min(len(series), 4 if len(series) > 8 else 8))
    if title is None:
        title = _ratio_title(rows, series)
    if title:
        figure.suptitle(title)
    return figure


def _measure(per_weight: bool) -> str:
    """What a gradient axis shows: RMS per weight when the layer sizes are known, else the norm."""
    return "RMS gradient per weight" if per_weight else "gradient norm"


def _epoch_range(series: _Series) -> tuple[int, int]:
    """The first and the last epoch any layer has a gradient for; ``(0, 0)`` without any."""
    first = min((epochs[0] for epochs, _ in series.values()), default=0)
    last = max((epochs[-1] for epochs, _ in series.values()), default=0)
    return first, last


def _log_scale_or_empty(axes: Axes, series: _Series) -> None:
    if series:
        _log_scale(axes)
    else:
        _no_data(axes, "no gradients recorded")


def _draw_over_time(
    axes: Axes,
    series: _Series,
    L: int,
    colors: Sequence[Any],
    layer_sizes: Sequence[int] | None,
    per_weight: bool,
) -> None:
    """Left panel: each layer's gradient per epoch, one labelled line per layer."""
    for layer, (epochs, values) in series.items():
        label = _layer_label(layer, L, layer_sizes)
        _line(axes, epochs, values, color=colors[layer - 1], label=label)
    axes.set_title(f"{_measure(per_weight)} of each layer (log scale)")
    axes.set_ylabel("‖∂C/∂Wₗ‖ / √(weights in layer l)" if per_weight else "‖∂C/∂Wₗ‖")
    _epoch_axis(axes)
    _log_scale_or_empty(axes, series)


def _draw_by_depth(axes: Axes, series: _Series, colors: Sequence[Any], per_weight: bool) -> None:
    """Middle panel: each layer's gradient against its depth, at the first and the last epoch."""
    layers = sorted(series)
    first_epoch, last_epoch = _epoch_range(series)
    if last_epoch != first_epoch:
        firsts = [series[k][1][0] for k in layers]
        axes.plot(layers, firsts, "--o", color="0.6", label=f"epoch {first_epoch}")
    lasts = [series[k][1][-1] for k in layers]
    axes.plot(layers, lasts, "-", color="0.25", label=f"epoch {last_epoch}")
    axes.scatter(layers, lasts, c=[colors[k - 1] for k in layers], s=40, zorder=3)
    axes.set_title(f"{_measure(per_weight)} by depth (log scale)")
    axes.set_xlabel("layer (1 = input side)")
    axes.set_xticks(layers)
    axes.grid(True, which="major", alpha=0.3)
    _log_scale_or_empty(axes, series)
    if len(axes.lines) > 1:
        axes.legend(fontsize="small")


#: What the saturation panel counts for each hidden activation.
_UNITS = {"relu": "dead", "leaky_relu": "dead", "sigmoid": "saturated", "tanh": "saturated"}


def _draw_saturation(
    axes: Axes, rows: Rows, L: int, colors: Sequence[Any], activation: str | None
) -> None:
    """Right panel: the fraction of each hidden layer's units that are saturated or dead."""
    units = _UNITS.get(activation or "", "saturated or dead")
    for layer in range(1, L):
        epochs, fractions = column(rows, f"saturation_{layer}")
        if epochs:
            _line(axes, epochs, fractions, color=colors[layer - 1])
    if axes.lines:
        axes.set_ylim(-0.02, 1.02)
        _percent_axis(axes)
    else:
        _no_data(axes, "no hidden layers" if L == 1 else "no saturation recorded")
    axes.set_title(f"{units} units in each hidden layer's output")
    axes.set_ylabel(f"fraction of the layer's units {units}")
    _epoch_axis(axes)


def _ratio_title(rows: Rows, series: _Series) -> str | None:
    """The default heading: at the last epoch, how fast the first hidden layer learns against the
    last hidden layer (:func:`glassnet.history.learning_speed_ratio`); ``None`` where that is not
    defined (fewer than two hidden layers)."""
    recorded = [row for row in rows if learning_speed_ratio(row) is not None]
    if not recorded:
        return None
    ratio = learning_speed_ratio(recorded[-1])
    return (
        f"epoch {recorded[-1].get('epoch', _epoch_range(series)[1])}: the first hidden layer "
        f"learns {_times(ratio or math.nan)} as fast as the last hidden layer (‖∂C/∂b‖)"
    )


def plot_gradient_norms(
    rows: Rows,
    path: str | Path,
    *,
    layer_sizes: Sequence[int] | None = None,
    activation: str | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`gradient_norms_figure` of ``rows`` to the PNG ``path`` and return the path."""
    figure = gradient_norms_figure(
        rows, layer_sizes=layer_sizes, activation=activation, title=title
    )
    return save_figure(figure, path)
