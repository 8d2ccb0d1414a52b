"""Several runs in one picture: accuracy, training loss and first- over last-layer gradient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.errors import GlassnetError
from glassnet.plots.canvas import (
    SPLITS,
    _colormap,
    _epoch_axis,
    _figure,
    _legend_below,
    _line,
    _log_scale,
    _log_scale_for_loss,
    _percent_axis,
    save_figure,
)
from glassnet.plots.gradients import _measure
from glassnet.plots.history import Rows, column, gradient_ratio
from glassnet.plots.run import _read_settings, _run_folder, _run_title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
    loaded = _read_runs(run_dirs)
    sizes = [_model_layer_sizes(folder) for folder, _, _ in loaded]
    per_weight = all(s is not None for s in sizes)
    figure = _figure(16, 5.2)
    accuracy_axes, loss_axes, ratio_axes = figure.subplots(1, 3)
    palette = _colormap("tab10" if len(loaded) <= 10 else "tab20")
    colors = [palette(i % palette.N) for i in range(len(loaded))]
    histories = [rows for _, _, rows in loaded]
    labels = [_legend_label(folder, settings, rows) for folder, settings, rows in loaded]
    _draw_accuracy(accuracy_axes, histories, colors)
    _draw_training_loss(loss_axes, histories, colors, labels)
    _draw_gradient_ratio(ratio_axes, histories, colors, sizes if per_weight else None)
    _legend_below(figure, loss_axes, ncol=1 if len(loaded) > 3 else len(loaded))
    return figure


def _read_runs(run_dirs: Sequence[str | Path]) -> list[tuple[Path, dict[str, Any], Rows]]:
    """Each run's folder, settings and history rows; a ``ValueError`` for a run without history."""
    from glassnet import runs

    if not run_dirs:
        raise ValueError("compare needs at least one run folder")
    loaded = []
    for run_dir in run_dirs:
        folder = _run_folder(run_dir)
        if not (folder / runs.HISTORY_JSON).is_file():
            raise ValueError(f"{folder}: not a run folder with a history (no {runs.HISTORY_JSON})")
        loaded.append((folder, _read_settings(folder), runs.read_history(folder)["rows"]))
    return loaded


def _model_layer_sizes(folder: Path) -> list[int] | None:
    """The layer sizes in a run's model file header, or ``None`` without a readable model."""
    from glassnet import runs
    from glassnet.modelfile import read_model_header

    try:
        return [int(n) for n in read_model_header(folder / runs.MODEL)["layer_sizes"]]
    except (GlassnetError, OSError, ValueError, KeyError, TypeError):
        return None


def _held_out_accuracy(rows: Rows) -> tuple[str, list[int], list[float]]:
    """The split's name and its accuracy per epoch: test where recorded, else validation."""
    split = "test" if column(rows, "test_accuracy")[0] else "val"
    epochs, accuracies = column(rows, f"{split}_accuracy")
    return SPLITS[split][0], epochs, accuracies


def _legend_label(folder: Path, settings: Mapping[str, Any], rows: Rows) -> str:
    """A run's name, its network and its last held-out accuracy, for the legend."""
    label = _run_title(folder, settings)
    split, epochs, accuracies = _held_out_accuracy(rows)
    return f"{label}, {split} {accuracies[-1]:.2%}" if epochs else label


def _draw_accuracy(axes: Axes, histories: Sequence[Rows], colors: Sequence[Any]) -> None:
    """Left panel: each run's held-out accuracy per epoch."""
    splits = set()
    for rows, color in zip(histories, colors, strict=True):
        split, epochs, accuracies = _held_out_accuracy(rows)
        if epochs:
            splits.add(split)
            _line(axes, epochs, accuracies, color=color)
    axes.set_title(f"{' / '.join(sorted(splits)) or 'held-out'} accuracy")
    axes.set_ylabel("fraction classified correctly")
    _percent_axis(axes)
    _epoch_axis(axes)


def _draw_training_loss(
    axes: Axes, histories: Sequence[Rows], colors: Sequence[Any], labels: Sequence[str]
) -> None:
    """Middle panel: each run's training loss per epoch; its lines carry the legend's labels."""
    losses: list[float] = []
    for rows, color, label in zip(histories, colors, labels, strict=True):
        epochs, values = column(rows, "train_loss")
        losses += values
        _line(axes, epochs, values, color=color, label=label)
    log_loss = _log_scale_for_loss(axes, losses)
    axes.set_title("training loss" + (" (log scale)" if log_loss else ""))
    axes.set_ylabel("mean cross-entropy per sample")
    _epoch_axis(axes)


def _draw_gradient_ratio(
    axes: Axes,
    histories: Sequence[Rows],
    colors: Sequence[Any],
    layer_sizes: Sequence[list[int] | None] | None,
) -> None:
    """Right panel: each run's first- over last-layer gradient, per weight given ``layer_sizes``."""
    for i, (rows, color) in enumerate(zip(histories, colors, strict=True)):
        sizes = layer_sizes[i] if layer_sizes is not None else None
        _line(axes, *gradient_ratio(rows, sizes), color=color)
    _log_scale(axes)
    axes.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    axes.set_title("first ÷ last layer's gradient (log scale)")
    axes.set_ylabel(f"{_measure(layer_sizes is not None)}, layer 1 ÷ last layer")
    axes.text(
        0.02,
        0.03,
        "dotted line: equal; below it, the first layer learns more slowly",
        transform=axes.transAxes,
        fontsize="small",
        color="0.35",
    )
    _epoch_axis(axes)


def plot_compare(run_dirs: Sequence[str | Path], path: str | Path) -> Path:
    """Write :func:`compare_figure` of ``run_dirs`` to the PNG ``path`` and return the path."""
    return save_figure(compare_figure(run_dirs), path)
