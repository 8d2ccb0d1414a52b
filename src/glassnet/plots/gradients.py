"""Does the gradient reach the first layer? (``gradients.png``)

The gradient of each layer's weights on a log scale, from the input layer (dark) to the output
layer (light). When the early layers' lines lie far below the last layer's, the early layers learn
slowly: the *vanishing gradient*. Beside it, the fraction of saturated (sigmoid, tanh) or dead
(ReLU) units per hidden layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.plots.canvas import (
    _colormap,
    _epoch_axis,
    _figure,
    _line,
    _log_scale,
    _no_data,
    _percent_axis,
    save_figure,
)
from glassnet.plots.history import Rows, column, gradient_series, n_layers

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
        Heading; by default the last epoch's ratio of the first layer's gradient to the last's.
    """
    L = n_layers(rows)
    series = gradient_series(rows, layer_sizes)
    per_weight = layer_sizes is not None and len(layer_sizes) == L + 1
    what = "RMS gradient per weight" if per_weight else "gradient norm"
    figure = _figure(15, 5.0)
    over_time, by_depth, saturation = figure.subplots(1, 3, width_ratios=[1.25, 0.9, 1.1])
    colors = _layer_colors(L)

    for layer, (epochs, values) in series.items():
        label = _layer_label(layer, L, layer_sizes)
        _line(over_time, epochs, values, color=colors[layer - 1], label=label)
    over_time.set_title(f"{what} of each layer (log scale)")
    over_time.set_ylabel("‖∂C/∂Wₗ‖ / √(weights in layer l)" if per_weight else "‖∂C/∂Wₗ‖")
    _epoch_axis(over_time)

    layers = sorted(series)
    first_epoch = min((s[0][0] for s in series.values()), default=0)
    last_epoch = max((s[0][-1] for s in series.values()), default=0)
    if last_epoch != first_epoch:
        firsts = [series[k][1][0] for k in layers]
        by_depth.plot(layers, firsts, "--o", color="0.6", label=f"epoch {first_epoch}")
    lasts = [series[k][1][-1] for k in layers]
    by_depth.plot(layers, lasts, "-", color="0.25", label=f"epoch {last_epoch}")
    by_depth.scatter(layers, lasts, c=[colors[k - 1] for k in layers], s=40, zorder=3)
    by_depth.set_title(f"{what} by depth (log scale)")
    by_depth.set_xlabel("layer (1 = input side)")
    by_depth.set_xticks(layers)
    by_depth.grid(True, which="major", alpha=0.3)

    for axes in (over_time, by_depth):
        if series:
            _log_scale(axes)
        else:
            _no_data(axes, "no gradients recorded")
    if len(by_depth.lines) > 1:
        by_depth.legend(fontsize="small")

    kind = {"relu": "dead", "leaky_relu": "dead", "sigmoid": "saturated", "tanh": "saturated"}
    units = kind.get(activation or "", "saturated or dead")
    for layer in range(1, L):
        epochs, fractions = column(rows, f"saturation_{layer}")
        if epochs:
            _line(saturation, epochs, fractions, color=colors[layer - 1])
    if saturation.lines:
        saturation.set_ylim(-0.02, 1.02)
        _percent_axis(saturation)
    else:
        _no_data(saturation, "no hidden layers" if L == 1 else "no saturation recorded")
    saturation.set_title(f"{units} units in each hidden layer's output")
    saturation.set_ylabel(f"fraction of the layer's units {units}")
    _epoch_axis(saturation)
    # One legend for all three panels: a layer keeps its colour, and a hidden layer's saturation
    # line is drawn in the colour of the layer that computes it.
    handles, labels = over_time.get_legend_handles_labels()
    if handles:
        ncol = min(len(handles), 4 if len(handles) > 8 else 8)
        figure.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize="small")

    if title is None and len(layers) >= 2 and layers[0] == 1:
        ratio = lasts[0] / lasts[-1] if lasts[-1] > 0 else math.nan
        subject = "a weight in layer 1 gets" if per_weight else "layer 1's gradient norm is"
        title = f"epoch {last_epoch}: {subject} {_times(ratio)} of "
        title += f"the gradient of a weight in layer {L}" if per_weight else f"layer {L}'s"
    if title:
        figure.suptitle(title)
    return figure


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
