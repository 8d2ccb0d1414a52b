"""Several runs in one picture: accuracy, training loss and first- over last-layer gradient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.errors import InputError
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
from glassnet.plots.history import Rows, column, learning_speed_series
from glassnet.plots.run import _read_settings, _run_folder, _run_title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def compare_figure(run_dirs: Sequence[str | Path]) -> Figure:
    """Several runs in one picture: accuracy, training loss, and how fast the first hidden layer
    learns against the last hidden layer.

    The accuracy is the test accuracy where the run recorded it, else the validation accuracy.
    The learning-speed ratio (log scale) is :func:`glassnet.history.learning_speed_ratio`.

    Parameters
    ----------
    run_dirs : sequence of str or Path
        Run folders written by ``glassnet train``.
    """
    loaded = _read_runs(run_dirs)
    figure = _figure(16, 5.2)
    accuracy_axes, loss_axes, ratio_axes = figure.subplots(1, 3)
    palette = _colormap("tab10" if len(loaded) <= 10 else "tab20")
    colors = [palette(i % palette.N) for i in range(len(loaded))]
    histories = [rows for _, _, rows in loaded]
    labels = [_legend_label(folder, settings, rows) for folder, settings, rows in loaded]
    _draw_accuracy(accuracy_axes, histories, colors)
    _draw_training_loss(loss_axes, histories, colors, labels)
    _draw_learning_speed(ratio_axes, histories, colors)
    _legend_below(figure, loss_axes, ncol=1 if len(loaded) > 3 else len(loaded))
    return figure


def _read_runs(run_dirs: Sequence[str | Path]) -> list[tuple[Path, dict[str, Any], Rows]]:
    """Each run's folder, settings and history rows; a ``ValueError`` for a run without history."""
    from glassnet import runs

    if not run_dirs:
        raise InputError("compare needs at least one run folder")
    loaded = []
    for run_dir in run_dirs:
        folder = _run_folder(run_dir)
        if not (folder / runs.HISTORY_JSON).is_file():
            raise InputError(f"{folder}: not a run folder with a history (no {runs.HISTORY_JSON})")
        loaded.append((folder, _read_settings(folder), runs.read_history(folder)["rows"]))
    return loaded


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


def _draw_learning_speed(axes: Axes, histories: Sequence[Rows], colors: Sequence[Any]) -> None:
    """Right panel: each run's learning speed of its first hidden layer over its last hidden
    layer (:func:`glassnet.history.learning_speed_ratio`)."""
    for rows, color in zip(histories, colors, strict=True):
        _line(axes, *learning_speed_series(rows), color=color)
    _log_scale(axes)
    axes.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    axes.set_title("first ÷ last hidden layer's learning speed (log scale)")
    axes.set_ylabel("‖∂C/∂b₁‖ ÷ ‖∂C/∂b‖ of the last hidden layer")
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
