"""Several runs in one picture: accuracy, training loss and first- over last-layer gradient."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from glassnet.errors import GlassnetError
from glassnet.plots.canvas import (
    SPLITS,
    _colormap,
    _epoch_axis,
    _figure,
    _line,
    _log_scale,
    _percent_axis,
    _spread,
    save_figure,
)
from glassnet.plots.history import column, gradient_ratio
from glassnet.plots.run import describe_network, run_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _model_layer_sizes(folder: Path) -> list[int] | None:
    """The layer sizes in a run's model file header, or ``None`` without a readable model."""
    from glassnet import runs
    from glassnet.modelfile import read_model_header

    try:
        return [int(n) for n in read_model_header(folder / runs.MODEL)["layer_sizes"]]
    except (GlassnetError, OSError, ValueError, KeyError, TypeError):
        return None


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
