"""Pictures of a training run: what the numbers in the history look like.

Each picture answers one question about a run:

``curves.png``         Is it learning, and is it overfitting? Loss and accuracy per epoch, training
                       against validation and test.
``learning_rate.png``  What step size did the optimizer take in each epoch?
``gradients.png``      Does the gradient reach the first layer? The gradient of each layer's
                       weights on a log scale, from the input layer (dark) to the output layer
                       (light). When the early layers' lines lie far below the last layer's, the
                       early layers learn slowly: the *vanishing gradient*. Beside it, the
                       fraction of saturated (sigmoid, tanh) or dead (ReLU) units per hidden layer.
``weights.png``        What does the first layer look for? Each hidden unit's 784 input weights
                       drawn as a 28x28 image.
``weight_changes.png`` The same for what training changed: the weights minus their random start.
``confusion.png``      Which classes does the network confuse with which?
``mistakes.png``       The test images it gets wrong with the most confidence.

Every ``plot_*`` function writes a PNG atomically (a reader never sees half a file) and returns
its path; each ``*_figure`` function builds the same picture as a :class:`matplotlib.figure.Figure`
for a notebook. Matplotlib is an optional dependency (``pip install "glassnet[plot]"``), imported
only when a picture is drawn. Figures are drawn on the Agg canvas directly, without ``pyplot``, so
drawing keeps no global state, never opens a window and never changes a notebook's backend.
docs/plots.md explains how to read each picture.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.atomic import atomic_write_bytes
from glassnet.errors import GlassnetError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from glassnet.network import Network

Rows = Sequence[Mapping[str, Any]]

#: The files :func:`plot_run` writes into ``<run>/plots/``, in order.
RUN_PLOTS = (
    "curves.png",
    "learning_rate.png",
    "gradients.png",
    "weights.png",
    "weight_changes.png",
    "confusion.png",
    "mistakes.png",
)

DPI = 110
#: Each split keeps one colour and line style in every picture.
SPLITS = {
    "train": ("train", "C0", "-"),
    "val": ("validation", "C1", "--"),
    "test": ("test", "C2", "-"),
}


# ---------------------------------------------------------------------------------- matplotlib
def _figure(width: float, height: float) -> Figure:
    """A new figure on the Agg canvas; a one-line error if matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        hint = 'plots need matplotlib, an optional extra: pip install "glassnet[plot]"'
        raise GlassnetError(hint) from None
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Render ``figure`` to PNG bytes, then replace ``path`` with them atomically.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or Path
        The PNG file; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def _line(axes: Axes, x: Sequence[float], y: Sequence[float], **style: Any) -> None:
    """A line, with a dot per point when there are few enough to tell apart."""
    axes.plot(x, y, marker="o" if len(x) <= 25 else None, markersize=3, **style)


def _percent_axis(axes: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))


def _log_scale(axes: Axes) -> None:
    """A log-scale y axis labelled ``0.002``, ``0.3`` rather than ``2×10⁻³``, ``3×10⁻¹``."""
    from matplotlib.ticker import Formatter

    class Plain(Formatter):
        # Matplotlib's own log formatter decides which ticks get a label; this one writes it.
        def __init__(self, inner: Formatter) -> None:
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:g}" if self.inner(x, pos) else ""

    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(Plain(axes.yaxis.get_major_formatter()))
    axes.yaxis.set_minor_formatter(Plain(axes.yaxis.get_minor_formatter()))


def _epoch_axis(axes: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.grid(True, which="major", alpha=0.3)


def _spread(values: Sequence[float]) -> float:
    positive = [v for v in values if v > 0]
    return max(positive) / min(positive) if positive else 1.0


def _no_data(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="0.4")
    axes.set_xticks([])
    axes.set_yticks([])


# ---------------------------------------------------------------------------------- history rows
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
        if value is None or isinstance(value, bool) or not math.isfinite(float(value)):
            continue
        epochs.append(int(row.get("epoch") or i + 1))
        values.append(float(value))
    return epochs, values


def n_layers(rows: Rows) -> int:
    """Number of weight layers ``L`` in the history: the largest ``l`` of a ``grad_norm_l`` key."""
    keys = {key for row in rows for key in row if key.startswith("grad_norm_")}
    return max((int(k[10:]) for k in keys if k[10:].isdigit()), default=0)


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


def gradient_ratio(
    rows: Rows, layer_sizes: Sequence[int] | None = None
) -> tuple[list[int], list[float]]:
    """Per epoch, the first layer's gradient over the last layer's.

    Per weight (root mean square) when ``layer_sizes`` is given, else the ratio of the Frobenius
    norms; see :func:`gradient_series`. Far below 1, the first layer learns far more slowly than
    the last: the gradient vanishes on its way back through the network.
    """
    series = gradient_series(rows, layer_sizes)
    if len(series) < 2 or 1 not in series:
        return [], []
    first = dict(zip(*series[1], strict=True))
    last = dict(zip(*series[max(series)], strict=True))
    epochs = [e for e in first if first[e] > 0 and last.get(e, 0.0) > 0]
    return epochs, [first[e] / last[e] for e in epochs]


# ---------------------------------------------------------------------------------- curves
def curves_figure(rows: Rows, *, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch for train, validation and test (those present in ``rows``).

    Parameters
    ----------
    rows : sequence of dict
        History rows with ``train_loss``, ``val_loss``, ``test_loss``, ``train_accuracy``,
        ``val_accuracy``, ``test_accuracy``; ``None`` values are skipped.
    title : str, optional
        A heading above both panels.
    """
    figure = _figure(11, 4.2)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    all_losses = []
    for split, (name, color, style) in SPLITS.items():
        epochs, losses = column(rows, f"{split}_loss")
        if epochs:
            all_losses += losses
            label = f"{name}  {losses[-1]:.4f}"
            _line(loss_axes, epochs, losses, linestyle=style, color=color, label=label)
        epochs, accuracies = column(rows, f"{split}_accuracy")
        if epochs:
            label = f"{name}  {accuracies[-1]:.2%}"
            _line(accuracy_axes, epochs, accuracies, linestyle=style, color=color, label=label)
    log_loss = _spread(all_losses) > 20
    if log_loss:
        _log_scale(loss_axes)
    loss_axes.set_title("loss (cross-entropy" + (", log scale)" if log_loss else ")"))
    loss_axes.set_ylabel("mean loss per sample")
    accuracy_axes.set_title("accuracy")
    accuracy_axes.set_ylabel("fraction classified correctly")
    _percent_axis(accuracy_axes)
    for axes in (loss_axes, accuracy_axes):
        _epoch_axis(axes)
        if axes.lines:
            axes.legend(title="last epoch", fontsize="small", title_fontsize="small")
        else:
            _no_data(axes, "no figures recorded")
    if title:
        figure.suptitle(title)
    return figure


def plot_curves(history_rows: Rows, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`curves_figure` of ``history_rows`` to the PNG ``path`` and return the path."""
    return save_figure(curves_figure(history_rows, title=title), path)


# ---------------------------------------------------------------------------------- learning rate
def learning_rate_figure(rows: Rows, *, title: str | None = None) -> Figure:
    """The learning rate in effect at the end of each epoch (log scale if it spans 10x or more).

    Parameters
    ----------
    rows : sequence of dict
        History rows with ``learning_rate``.
    title : str, optional
    """
    figure = _figure(7, 3.6)
    axes = figure.subplots()
    epochs, rates = column(rows, "learning_rate")
    default = "learning rate"
    if epochs:
        _line(axes, epochs, rates, color="C4")
        if _spread(rates) >= 10:
            _log_scale(axes)
        else:
            axes.set_ylim(0, max(rates) * 1.15)
        constant = max(rates) == min(rates)
        default = f"learning rate (constant: {rates[0]:g})" if constant else "learning rate"
    else:
        _no_data(axes, "no learning rate recorded")
    axes.set_title(title or default)
    axes.set_ylabel("learning rate at the end of the epoch")
    _epoch_axis(axes)
    return figure


def plot_learning_rate(rows: Rows, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`learning_rate_figure` of ``rows`` to the PNG ``path`` and return the path."""
    return save_figure(learning_rate_figure(rows, title=title), path)


# ---------------------------------------------------------------------------------- gradients
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


# ---------------------------------------------------------------------------------- weights
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
    W = np.asarray(network.weights[0], dtype=np.float64)
    if initial is not None:
        start = np.asarray(initial, dtype=np.float64)
        if start.shape != W.shape:
            raise ValueError(f"initial weights of shape {start.shape}, expected {W.shape}")
        W = W - start
    height, width = image_shape
    if height * width != W.shape[0]:
        raise ValueError(f"the first layer has {W.shape[0]} inputs, not {height}x{width} pixels")
    if max_units < 1:
        raise ValueError(f"max_units must be at least 1, got {max_units}")
    n_units = W.shape[1]
    k = min(n_units, max_units)
    units = W[:, :k].T.reshape(k, height, width)
    largest = np.max(np.abs(units), axis=(1, 2), keepdims=True)
    mosaic = _tile(units / np.where(largest > 0, largest, 1.0), _grid_columns(k))
    width_in = min(11.0, max(5.0, 0.032 * mosaic.shape[1] + 1.5))
    figure = _figure(width_in + 1.6, width_in * mosaic.shape[0] / mosaic.shape[1] + 0.9)
    axes = figure.subplots()
    cmap = _colormap("RdBu_r").with_extremes(bad="white")
    image = axes.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    shown = f"all {n_units}" if k == n_units else f"the first {k} of {n_units}"
    what = "weights" if initial is None else "weight changes since initialization"
    figure.suptitle(f"first-layer {what}: {shown} hidden units, one {height}×{width} image each")
    bar = figure.colorbar(image, ax=axes, shrink=0.7, ticks=[-1, 0, 1])
    if initial is None:
        bar.ax.set_yticklabels(["−max\n(inhibits)", "0", "+max\n(excites)"])
        bar.set_label("weight ÷ the unit's largest |weight|")
    else:
        bar.ax.set_yticklabels(["−max\n(learned to\ninhibit)", "0", "+max\n(learned to\nexcite)"])
        bar.set_label("change ÷ the unit's largest |change|")
    return figure


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


# ---------------------------------------------------------------------------------- confusion
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
        raise ValueError(f"confusion matrix of shape {C.shape} for {k} class names")
    total, correct = int(C.sum()), int(np.trace(C))
    diagonal = np.eye(k, dtype=bool)
    worst = max(int(C[~diagonal].max(initial=0)), 1)
    best = max(int(C[diagonal].max(initial=0)), 1)

    side = max(6.0, 0.62 * k + 2.5)
    figure = _figure(side + 1.0, side)
    axes = figure.subplots()
    axes.imshow(np.ma.masked_array(C, mask=diagonal), cmap="Reds", vmin=0, vmax=worst)
    axes.imshow(np.ma.masked_array(C, mask=~diagonal), cmap="Greens", vmin=0, vmax=best * 1.6)
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
    accuracy = correct / total if total else math.nan
    axes.set_title(
        f"confusion matrix: {correct:,} of {total:,} right ({accuracy:.2%})\n"
        f"green: correct; red: mistakes (darkest: {worst})"
    )
    return figure


def plot_confusion(confusion: ArrayLike, class_names: Sequence[str], path: str | Path) -> Path:
    """Write :func:`confusion_figure` to the PNG ``path`` and return the path."""
    return save_figure(confusion_figure(confusion, class_names), path)


# ---------------------------------------------------------------------------------- mistakes
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
        raise ValueError(f"labels of shape {y.shape} do not match probabilities of shape {P.shape}")
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
    pictures, y, P = np.asarray(images), np.asarray(labels), np.asarray(probabilities)
    if len(pictures) != len(y):
        raise ValueError(f"{len(pictures)} images but {len(y)} labels")
    if pictures.ndim == 2:
        side = math.isqrt(pictures.shape[1])
        if image_shape is None and side * side != pictures.shape[1]:
            raise ValueError(f"images of {pictures.shape[1]} pixels need an image_shape")
        pictures = pictures.reshape(len(pictures), *(image_shape or (side, side)))
    chosen = worst_mistakes(y, P, n)
    predicted = np.argmax(P, axis=1)
    n_wrong = int(np.sum(predicted != y))
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
        axes.imshow(pictures[index], cmap="gray_r", interpolation="nearest")
        confidence = _percent(float(P[index, predicted[index]]))
        axes.set_title(
            f"true {truth}\npredicted {guess} {confidence}", fontsize=8, color="firebrick"
        )
    for axes in grid:
        axes.set_axis_off()
    figure.suptitle(
        f"the {len(chosen)} most confident of {n_wrong:,} mistakes on {len(y):,} "
        "images\n(percent: the probability given to the wrong class)"
    )
    return figure


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


# ---------------------------------------------------------------------------------- run folders
def run_label(run_dir: str | Path, settings: Mapping[str, Any]) -> str:
    """A run's name in legends: its folder name, and the preset if the name does not end with it."""
    name = Path(run_dir).resolve().name
    preset = settings.get("preset")
    return name if not preset or name.endswith(f"-{preset}") else f"{name} ({preset})"


def describe_network(settings: Mapping[str, Any]) -> str:
    """Hidden sizes and activation in short form: ``[50]*6`` and sigmoid give ``"50x6 sigmoid"``."""
    hidden = [int(h) for h in settings.get("hidden") or []]
    if not hidden:
        sizes = "no hidden layer" if "hidden" in settings else "?"
    elif len(hidden) > 1 and len(set(hidden)) == 1:
        sizes = f"{hidden[0]}x{len(hidden)}"
    else:
        sizes = "-".join(map(str, hidden))
    activation = settings.get("activation")
    return f"{sizes} {activation}" if activation else sizes


def _model_layer_sizes(folder: Path) -> list[int] | None:
    """The layer sizes in a run's model file header, or ``None`` without a readable model."""
    from glassnet import runs
    from glassnet.modelfile import read_model_header

    try:
        return [int(n) for n in read_model_header(folder / runs.MODEL)["layer_sizes"]]
    except (GlassnetError, OSError, ValueError, KeyError, TypeError):
        return None


def plot_run(
    run_dir: str | Path, *, data_dir: str | Path | None = None, log: TextIO | None = None
) -> list[Path]:
    """Draw every picture of a run folder into ``run_dir/plots/`` and return their paths.

    The history gives ``curves.png``, ``learning_rate.png`` and ``gradients.png``; the model file
    gives ``weights.png``, and with the run's seed ``weight_changes.png``; the model and the
    dataset named in the settings give ``confusion.png`` and ``mistakes.png`` from the test set.
    Whatever is missing is skipped, with one line to ``log`` (standard error by default) saying
    what and why.

    Parameters
    ----------
    run_dir : str or Path
        A folder written by ``glassnet train``.
    data_dir : str or Path, optional
        Where the dataset's files are; by default the run's own ``data_dir`` setting, else the
        dataset's default place.
    log : text stream, optional
        Where to report skipped pictures.

    Returns
    -------
    list of Path
        The PNG files written, in the order of :data:`RUN_PLOTS`.
    """
    from glassnet import runs
    from glassnet.metrics import confusion_matrix
    from glassnet.network import load

    _figure(1, 1)  # fail at once, with the install hint, if matplotlib is missing
    folder = Path(run_dir)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such run folder")
    has_history = (folder / runs.HISTORY_JSON).is_file()
    has_model = (folder / runs.MODEL).is_file()
    has_settings = (folder / runs.SETTINGS).is_file()
    if not (has_history or has_model or has_settings):
        raise ValueError(
            f"{folder}: not a run folder (no {runs.SETTINGS}, {runs.HISTORY_JSON} or {runs.MODEL})"
        )
    out, written = folder / "plots", []

    def skip(names: Sequence[str], reason: str) -> None:
        print(f"glassnet: skipped {', '.join(names)}: {reason}", file=log or sys.stderr)

    network = load(folder / runs.MODEL) if has_model else None
    settings = runs.read_settings(folder) if has_settings else {}
    if not settings and network is not None:
        settings = dict(network.training_settings)
    sizes = network.layer_sizes if network is not None else None
    activation = network.activation if network is not None else settings.get("activation")

    rows = runs.read_history(folder)["rows"] if has_history else []
    if rows:
        written.append(
            plot_curves(
                rows,
                out / "curves.png",
                title=f"{run_label(folder, settings)}: {describe_network(settings)}",
            )
        )
        written.append(plot_learning_rate(rows, out / "learning_rate.png"))
        written.append(
            plot_gradient_norms(
                rows, out / "gradients.png", layer_sizes=sizes, activation=activation
            )
        )
    else:
        missing = "no epochs in " if has_history else "no "
        skip(RUN_PLOTS[:3], f"{missing}{folder / runs.HISTORY_JSON}")

    if network is None:
        reason = f"no {folder / runs.MODEL}"
        if (folder / runs.CHECKPOINT).is_file():
            reason += " (training did not finish: glassnet train --resume continues it)"
        skip(RUN_PLOTS[3:], reason)
        return written

    data, problem = _load_dataset(settings, data_dir)
    image_shape = _image_shape(network.n_inputs, data)
    if image_shape is None:
        skip(RUN_PLOTS[3:5], f"the network's {network.n_inputs} inputs are not a square image")
    else:
        written.append(plot_first_layer_weights(network, out / "weights.png", image_shape))
        seed = settings.get("seed", 0)
        start = initial_first_layer(network, seed) if isinstance(seed, int) else None
        if start is None:
            skip(
                ["weight_changes.png"], f"the initial weights could not be rebuilt from seed {seed}"
            )
        else:
            path = out / "weight_changes.png"
            written.append(plot_first_layer_weights(network, path, image_shape, initial=start))
    if data is None:
        skip(RUN_PLOTS[5:], problem)
        return written
    images, labels, names = data.test_images, np.asarray(data.test_labels), list(data.class_names)
    n_pixels = int(np.prod(np.shape(images)[1:]))
    if n_pixels != network.n_inputs or len(names) != network.n_classes:
        skip(
            RUN_PLOTS[5:],
            f"the model takes {network.n_inputs} inputs and {network.n_classes} "
            f"classes; the test set has {n_pixels} and {len(names)}",
        )
        return written
    X = np.asarray(images)
    P = np.concatenate([network.predict_proba(X[i : i + 8192]) for i in range(0, len(X), 8192)])
    confusion = confusion_matrix(labels, np.argmax(P, axis=1), network.n_classes)
    written.append(plot_confusion(confusion, names, out / "confusion.png"))
    written.append(
        plot_mistakes(X, labels, P, names, out / "mistakes.png", image_shape=image_shape)
    )
    return written


def _load_dataset(settings: Mapping[str, Any], data_dir: str | Path | None) -> tuple[Any, str]:
    """The run's dataset, or ``None`` and the reason it could not be read."""
    from glassnet import datasets

    name = str(settings.get("dataset") or "mnist")
    where = data_dir if data_dir is not None else settings.get("data_dir")
    try:
        return datasets.load(name, data_dir=where), ""
    except (GlassnetError, OSError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return None, f"cannot read the {name} test set ({message}); give its folder with --data-dir"


def _image_shape(n_inputs: int, data: Any | None) -> tuple[int, int] | None:
    if data is not None:
        shape = np.shape(data.test_images)[1:]
        if len(shape) == 2 and shape[0] * shape[1] == n_inputs:
            return int(shape[0]), int(shape[1])
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None


# ---------------------------------------------------------------------------------- comparison
def compare_figure(run_dirs: Sequence[str | Path]) -> Figure:
    """Several runs in one picture: accuracy, training loss, and first- over last-layer gradient.

    The accuracy is the test accuracy where the run recorded it, else the validation accuracy.
    The gradient ratio (log scale) is per weight when every run has a model file to read its
    layer sizes from, else the ratio of the recorded norms (see :func:`gradient_ratio`).

    Parameters
    ----------
    run_dirs : sequence of str or Path
        Run folders written by ``glassnet train``.
    """
    from glassnet import runs

    if not run_dirs:
        raise ValueError("compare needs at least one run folder")
    loaded = []
    for run_dir in run_dirs:
        folder = Path(run_dir)
        if not folder.is_dir():
            raise ValueError(f"{folder}: no such run folder")
        if not (folder / runs.HISTORY_JSON).is_file():
            raise ValueError(f"{folder}: not a run folder with a history (no {runs.HISTORY_JSON})")
        settings = runs.read_settings(folder) if (folder / runs.SETTINGS).is_file() else {}
        loaded.append((folder, settings, runs.read_history(folder)["rows"]))
    sizes = [_model_layer_sizes(folder) for folder, _, _ in loaded]
    per_weight = all(s is not None for s in sizes)

    figure = _figure(16, 5.2)
    accuracy_axes, loss_axes, ratio_axes = figure.subplots(1, 3)
    palette = _colormap("tab10" if len(loaded) <= 10 else "tab20")
    kinds, losses = set(), []
    for i, (folder, settings, rows) in enumerate(loaded):
        color = palette(i % palette.N)
        label = f"{run_label(folder, settings)}: {describe_network(settings)}"
        kind = "test" if column(rows, "test_accuracy")[0] else "val"
        epochs, accuracies = column(rows, f"{kind}_accuracy")
        if epochs:
            kinds.add(SPLITS[kind][0])
            label += f", {SPLITS[kind][0]} {accuracies[-1]:.2%}"
            _line(accuracy_axes, epochs, accuracies, color=color)
        epochs, values = column(rows, "train_loss")
        losses += values
        _line(loss_axes, epochs, values, color=color, label=label)
        _line(ratio_axes, *gradient_ratio(rows, sizes[i] if per_weight else None), color=color)
    accuracy_axes.set_title(f"{' / '.join(sorted(kinds)) or 'held-out'} accuracy")
    accuracy_axes.set_ylabel("fraction classified correctly")
    _percent_axis(accuracy_axes)
    log_loss = _spread(losses) > 20
    if log_loss:
        _log_scale(loss_axes)
    loss_axes.set_title("training loss" + (" (log scale)" if log_loss else ""))
    loss_axes.set_ylabel("mean cross-entropy per sample")
    _log_scale(ratio_axes)
    ratio_axes.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    ratio_axes.set_title("first ÷ last layer's gradient (log scale)")
    per = "RMS gradient per weight" if per_weight else "gradient norm"
    ratio_axes.set_ylabel(f"{per}, layer 1 ÷ last layer")
    ratio_axes.text(
        0.02,
        0.03,
        "dotted line: equal; below it, the first layer learns more slowly",
        transform=ratio_axes.transAxes,
        fontsize="small",
        color="0.35",
    )
    for axes in (accuracy_axes, loss_axes, ratio_axes):
        _epoch_axis(axes)
    ncol = 1 if len(loaded) > 3 else len(loaded)
    handles, labels = loss_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize="small")
    return figure


def plot_compare(run_dirs: Sequence[str | Path], path: str | Path) -> Path:
    """Write :func:`compare_figure` of ``run_dirs`` to the PNG ``path`` and return the path."""
    return save_figure(compare_figure(run_dirs), path)


__all__ = [
    "RUN_PLOTS",
    "column",
    "compare_figure",
    "confusion_figure",
    "curves_figure",
    "describe_network",
    "gradient_norms_figure",
    "gradient_ratio",
    "gradient_series",
    "initial_first_layer",
    "learning_rate_figure",
    "mistakes_figure",
    "n_layers",
    "plot_compare",
    "plot_confusion",
    "plot_curves",
    "plot_first_layer_weights",
    "plot_gradient_norms",
    "plot_learning_rate",
    "plot_mistakes",
    "plot_run",
    "run_label",
    "save_figure",
    "weights_figure",
    "worst_mistakes",
]
